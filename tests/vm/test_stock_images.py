"""The seed's vmlinux exercises on Debian's installed stock kernels (host side, no VM).

`readelf -l vmlinux` in the seed is `kernlab elf /boot/vmlinuz-<ver> -l` here: kernlab
decompresses the image in process, and must agree with readelf on the vmlinux that the kernel's
own scripts/extract-vmlinux produces.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import need_tool, run_kernlab
from tests.vm.guest import GENERATIONS, stock_release

pytestmark = pytest.mark.slow

SOURCE_TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
HEX = r"0x([0-9a-f]+)"
PHDR_LINE = re.compile(rf"\s+(\w+)\s+{HEX} {HEX} {HEX} {HEX} {HEX} (.{{3}}) {HEX}$")


@pytest.fixture(scope="module")
def extract_vmlinux(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scripts/extract-vmlinux from Debian's linux-source-6.1 (the kernel's own extractor)."""
    if not SOURCE_TARBALL.exists():
        pytest.skip(f"{SOURCE_TARBALL} is missing (.ci/run installs linux-source-6.1)")
    out = tmp_path_factory.mktemp("extract") / "extract-vmlinux"
    with tarfile.open(SOURCE_TARBALL) as tar:
        member = tar.extractfile("linux-source-6.1/scripts/extract-vmlinux")
        assert member is not None
        out.write_bytes(member.read())
    out.chmod(0o755)
    return out


def _readelf_segments(path: Path) -> list[tuple[str, int, int, int, int, int, str, int]]:
    need_tool("readelf")
    text = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in text.splitlines():
        m = PHDR_LINE.match(line)
        if m:
            kind, *numbers, flags, align = m.groups()
            offset, vaddr, paddr, filesz, memsz = (int(n, 16) for n in numbers)
            rows.append((kind, offset, vaddr, paddr, filesz, memsz, flags.replace(" ", ""), int(align, 16)))
    return rows


@pytest.mark.parametrize("generation", sorted(GENERATIONS))
def test_program_headers_of_vmlinuz_equal_readelf_on_the_extracted_vmlinux(
    generation, extract_vmlinux, tmp_path
):
    release = stock_release(generation)
    if release is None:
        pytest.skip(f"Debian's stock {generation} kernel is not installed (.ci/run installs it)")
    image = Path(f"/boot/vmlinuz-{release}")
    vmlinux = tmp_path / "vmlinux"
    with vmlinux.open("wb") as fh:
        subprocess.run([str(extract_vmlinux), str(image)], stdout=fh, check=True, timeout=300)
    expected = _readelf_segments(vmlinux)
    assert expected, "readelf found no program headers in the extracted vmlinux"

    result = run_kernlab("elf", str(image), "-l", "--json", timeout=300)
    assert result.code == 0, result.stderr
    segments = json.loads(result.stdout)["segments"]
    got = [
        (
            s["type"],
            s["offset"],
            s["vaddr"],
            s["paddr"],
            s["filesz"],
            s["memsz"],
            s["flags"].replace(" ", ""),
            s["align"],
        )
        for s in segments
    ]
    assert got == expected
    # The seed's four LOADs: .text at the kernel's link address, per-CPU data linked at 0, and the
    # init segment, readable, writable and executable.
    loads = [s for s in segments if s["type"] == "LOAD"]
    assert any(s["vaddr"] == 0 and ".data..percpu" in s["sections"] for s in loads)
    assert any(s["flags"].replace(" ", "") == "RWE" and ".init.text" in s["sections"] for s in loads)
    assert ".text" in loads[0]["sections"]
