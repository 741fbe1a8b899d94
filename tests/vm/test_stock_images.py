"""The seed's vmlinux exercises on Debian's installed stock kernels.

`readelf -l vmlinux` in the seed is `kernlab elf /boot/vmlinuz-<ver> -l` here: kernlab
decompresses the image in process, and must agree with readelf on the vmlinux that the kernel's
own scripts/extract-vmlinux produces. `objdump -d vmlinux | less` to find start_kernel is
`kernlab disasm /boot/vmlinuz-<ver> start_kernel` (and `--section .init.text`): the same
instructions as objdump on the extracted vmlinux, with names, although the vmlinux is stripped
and Debian's /boot/System.map-<ver> is a one-line placeholder. The names come from the kallsyms
tables inside the image; the oracle for them is the kernel itself: one short boot of each stock
kernel under qemu (tests/vm/guest.py) copies its /proc/kallsyms, /proc/version and uname out,
and a System.map is made from that /proc/kallsyms minus the KASLR offset.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import assert_clean_error, need_tool, run_kernlab
from tests.vm.guest import GENERATIONS, stock_release

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # a boot can take minutes

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


# ---------------------------------------------------------------------- shared: images and guests


@pytest.fixture(scope="module")
def extracted(extract_vmlinux, tmp_path_factory) -> dict[str, Path]:
    """generation -> the vmlinux extract-vmlinux makes of its /boot/vmlinuz (once per module)."""

    class Lazy(dict):
        def __missing__(self, generation: str) -> Path:
            image = _image(generation)
            out = tmp_path_factory.mktemp(f"vmlinux-{generation}") / "vmlinux"
            with out.open("wb") as fh:
                subprocess.run([str(extract_vmlinux), str(image)], stdout=fh, check=True, timeout=300)
            self[generation] = out
            return out

    return Lazy()


def _image(generation: str) -> Path:
    release = stock_release(generation)
    if release is None:
        pytest.skip(f"Debian's stock {generation} kernel is not installed (.ci/run installs it)")
    return Path(f"/boot/vmlinuz-{release}")


@pytest.fixture(scope="module")
def guests(stock_guests: dict[tuple[str, bool], Path]) -> dict[str, Path]:
    """generation -> a folder with what that kernel said about itself when booted: kallsyms,
    version (/proc/version), release and build (uname -r, -v) — from the session's one boot of
    it (tests/vm/conftest.py) — and System.map (its kallsyms at link addresses)."""

    class Lazy(dict[str, Path]):
        def __missing__(self, generation: str) -> Path:
            out = stock_guests[(generation, True)]
            if not (out / "System.map").exists():
                _write_system_map(out)
            self[generation] = out
            return out

    return Lazy()


def _kallsyms(path: Path) -> list[tuple[int, str, str]]:
    """(address, type, name) of the core kernel's lines (modules, BPF and ftrace trampolines,
    which carry a [module] column, left out)."""
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            out.append((int(parts[0], 16), parts[1], parts[2]))
    return out


def _write_system_map(guest: Path) -> None:
    """System.map-<release> as the -dbg package's would hold it: kallsyms at link addresses.
    Per-CPU symbols (type A, linked at 0) are not moved by KASLR; every other one is moved by
    the running _text's distance from its link address (LINK_TEXT, checked against the
    extracted vmlinux's .text)."""
    lines = _kallsyms(guest / "kallsyms")
    text = next(a for a, _t, n in lines if n == "_text")
    offset = text - LINK_TEXT
    with (guest / "System.map").open("w") as fh:
        for address, kind, name in lines:
            fh.write(f"{(address if kind in 'Aa' else address - offset):016x} {kind} {name}\n")
    (guest / "offset").write_text(str(offset))


# x86_64's link address of _text (arch/x86/kernel/vmlinux.lds.S: __START_KERNEL_map +
# LOAD_PHYSICAL_ADDR); the tests check it against the extracted vmlinux's .text address.
LINK_TEXT = 0xFFFFFFFF81000000


def _system_map(guest: Path) -> dict[str, set[int]]:
    """name -> its addresses (static functions of different files share names)."""
    out: dict[str, set[int]] = {}
    for line in (guest / "System.map").read_text().splitlines():
        address, _kind, name = line.split()
        out.setdefault(name, set()).add(int(address, 16))
    return out


def _resolve(names: dict[str, set[int]], label: str) -> set[int]:
    """The addresses ``name``, ``name+0x10`` or ``name-0x10`` may stand for."""
    match = re.fullmatch(r"(.+?)(?:([+-])0x([0-9a-f]+))?", label)
    assert match, label
    delta = int(match[3], 16) if match[3] else 0
    return {base + delta if match[2] != "-" else base - delta for base in names[match[1]]}


def _section_address(vmlinux: Path, name: str) -> int:
    text = subprocess.run(["readelf", "-SW", str(vmlinux)], capture_output=True, text=True, check=True).stdout
    for line in text.splitlines():
        match = re.search(rf"\]\s+{re.escape(name)}\s+\S+\s+([0-9a-f]+)", line)
        if match:
            return int(match[1], 16)
    raise AssertionError(f"readelf lists no {name} in {vmlinux}")


# objdump on a vmlinux without symbols writes addresses as 0x...: a branch target, a RIP-relative
# comment. kernlab names them (ffffffff81076650 <__fentry__>); comparing, the names are taken
# out of kernlab's text and resolved separately, and objdump's 0x is dropped. Immediates ($0x),
# displacements (-0x10(, %gs:0x28) keep theirs.
_BARE = re.compile(r"(?<![$\w:*-])0x([0-9a-f]+)(?![0-9a-f(])")
_NAMED = re.compile(r"([0-9a-f]+) <([^>]+)>")


def _objdump_text(text: str) -> str:
    return " ".join(_BARE.sub(r"\1", text).split())


def _kernlab_text(text: str, names: dict[str, int]) -> str:
    """The text without its <name> parts, each name checked to stand for the address before it."""
    for address, label in _NAMED.findall(text):
        assert int(address, 16) in _resolve(names, label), f"{label} is not {address} in the System.map"
    return " ".join(_NAMED.sub(r"\1", text).split())


# ------------------------------------------------------------------------------------ the tests


@pytest.mark.vm
@pytest.mark.parametrize("generation", sorted(GENERATIONS))
def test_kallsyms_tables_of_the_image_are_the_running_kernels_kallsyms(generation, guests, extracted):
    from kernlab.elf.reader import open_elf
    from kernlab.reports.kernel import image_symbols

    image = _image(generation)
    guest = guests[generation]
    found = image_symbols(str(image), open_elf(str(image)))
    assert found.source == "kallsyms_table"  # Debian's System.map is a placeholder
    assert found.placeholder == f"/boot/System.map-{image.name.removeprefix('vmlinuz-')}"
    assert _section_address(extracted[generation], ".text") == LINK_TEXT
    offset = int((guest / "offset").read_text())
    running = [(a if t in "Aa" else a - offset, t, n) for a, t, n in _kallsyms(guest / "kallsyms")]
    assert [(e.address, e.type, e.name) for e in found.entries] == running


@pytest.mark.vm
@pytest.mark.parametrize("generation", sorted(GENERATIONS))
def test_disasm_start_kernel_of_vmlinuz_equals_objdump_on_the_extracted_vmlinux(
    generation, guests, extracted, tmp_path
):
    need_tool("objdump")
    image = _image(generation)
    names = _system_map(guests[generation])
    result = run_kernlab("disasm", str(image), "start_kernel", "--json", timeout=300)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kernel_symbols"]["source"] == "kallsyms_table"
    start, size = report["start"], report["size"]
    assert {start} == names["start_kernel"]
    # Its end is the next symbol's address in the kernel's own list.
    assert start + size == min(a for addresses in names.values() for a in addresses if a > start)
    out = subprocess.run(
        [
            "objdump",
            "-d",
            "--no-show-raw-insn",
            f"--start-address={start:#x}",
            f"--stop-address={start + size:#x}",
            str(extracted[generation]),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = [
        (int(m[1], 16), _objdump_text(m[2]))
        for m in (re.match(r"\s*([0-9a-f]+):\s+(.*)$", line) for line in out.splitlines())
        if m
    ]

    def text(i: dict) -> str:
        body = i["mnemonic"] if not i["operands"] else f"{i['mnemonic']:<6} {i['operands']}"
        return body + (f"        {i['comment']}" if i["comment"] else "")

    ours = [(i["address"], _kernlab_text(text(i), names)) for i in report["instructions"]]
    assert ours == theirs
    # The ftrace hook at its entry (after endbr64 on IBT kernels) is named.
    fentry = [i for i in report["instructions"][:2] if i["target_name"] == "__fentry__"]
    assert fentry and {fentry[0]["target"]} == names["__fentry__"]
    assert "__fentry__" in report["calls"]

    # A real System.map beside the image is used instead of the tables, and names the same.
    folder = tmp_path / "boot"
    folder.mkdir()
    (folder / image.name).symlink_to(image)
    release = image.name.removeprefix("vmlinuz-")
    (folder / f"System.map-{release}").write_bytes((guests[generation] / "System.map").read_bytes())
    beside = run_kernlab("disasm", str(folder / image.name), "start_kernel", "--json", timeout=300)
    assert beside.code == 0, beside.stderr
    mapped = json.loads(beside.stdout)
    assert mapped["kernel_symbols"]["source"] == "system_map"
    assert mapped["kernel_symbols"]["path"] == str(folder / f"System.map-{release}")
    assert [text(i) for i in mapped["instructions"]] == [text(i) for i in report["instructions"]]
    # Debian's placeholder given explicitly is refused in one line.
    placeholder = run_kernlab(
        "disasm", str(image), "start_kernel", "--system-map", f"/boot/System.map-{release}"
    )
    assert_clean_error(placeholder, 3)


@pytest.mark.vm
@pytest.mark.parametrize("generation", sorted(GENERATIONS))
def test_disasm_init_text_of_vmlinuz_is_objdump_j_with_labels(generation, guests, extracted):
    """The seed's `objdump -d vmlinux | less`, looking for start_kernel: one section of it."""
    need_tool("objdump")
    image = _image(generation)
    names = _system_map(guests[generation])
    theirs = subprocess.run(
        ["objdump", "-d", "-j", ".init.text", str(extracted[generation])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = run_kernlab("disasm", str(image), "--section", ".init.text", timeout=300)
    assert result.code == 0, result.stderr
    instruction = re.compile(r"^[0-9a-f]+:\t")
    expected = [_objdump_text(line) for line in theirs.splitlines() if instruction.match(line)]
    ours = [_kernlab_text(line, names) for line in result.stdout.splitlines() if instruction.match(line)]
    assert ours == expected
    labels = re.findall(r"^([0-9a-f]+) <([^>]+)>:$", result.stdout, re.M)
    assert (f"{min(names['start_kernel']):016x}", "start_kernel") in labels
    for address, label in labels:
        assert int(address, 16) in _resolve(names, label), label


@pytest.mark.parametrize("generation", sorted(GENERATIONS))
def test_kernel_image_says_which_kernel_it_is(generation, extracted):
    need_tool("file")
    image = _image(generation)
    release = image.name.removeprefix("vmlinuz-")
    result = run_kernlab("kernel", "--image", str(image), "--json", timeout=300)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["release"] == release
    assert report["format"] == "bzImage"
    # `file` names the compressed stream at the payload offset; the decompressed size is the
    # size of what extract-vmlinux writes.
    with image.open("rb") as fh:
        fh.seek(report["payload_offset"])
        head = fh.read(4096)
    kind = subprocess.run(["file", "-b", "-"], input=head, capture_output=True, check=True).stdout.decode()
    assert kind.lower().startswith({"xz": "xz", "zstd": "zstandard", "gzip": "gzip"}[report["compression"]])
    assert report["decompressed_size"] == extracted[generation].stat().st_size
    assert 0 < report["compressed_size"] <= image.stat().st_size - report["payload_offset"]
    # Not this machine's kernel: uname -r and /proc/version say which one runs.
    assert report["running_release"] == os.uname().release
    assert report["running_version"] == Path("/proc/version").read_text().strip()
    assert report["running"] is (report["banner"] == report["running_version"])
    assert report["same_release"] is (release == os.uname().release)


@pytest.mark.vm
@pytest.mark.parametrize("generation", sorted(GENERATIONS))
def test_kernel_image_is_the_running_one_inside_its_guest(generation, guests):
    """Booted, the kernel's /proc/version is the image's banner and uname -v its build, so the
    image report made with that kernel's uname says it is the running one."""
    from kernlab.kernel.release import KernelRelease
    from kernlab.reports.kernel import build_image

    guest = guests[generation]
    image = _image(generation)
    version = (guest / "version").read_text().strip()
    release, build = (guest / "release").read_text().strip(), (guest / "build").read_text().strip()
    report = build_image(str(image), running=KernelRelease(release, build, "x86_64", "guest", version))
    assert report.banner == version
    assert report.build == build
    assert report.running and report.same_release
    other = build_image(
        str(image), running=KernelRelease(release, "#2 SMP other", "x86_64", "g", version + "x")
    )
    assert not other.running and other.same_release


def test_kernel_image_of_a_file_that_is_no_kernel_is_one_line_exit_3(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a kernel\n")
    for path in (str(text), "/bin/ls"):
        assert_clean_error(run_kernlab("kernel", "--image", path), 3)
