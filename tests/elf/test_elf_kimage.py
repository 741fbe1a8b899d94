"""Compressed kernel images: a stub followed by a compressed ELF, as in a bzImage, opens as
that ELF, byte for byte, whatever the compressor."""

from __future__ import annotations

import bz2
import gzip
import lzma
import subprocess
from pathlib import Path

import pytest

from kernlab.elf.reader import open_elf
from tests.conftest import need_tool, run_kernlab

# A kernel-style link: no libc, static, text at the x86-64 kernel's virtual base.
KERNEL_LINK_FLAGS = ("gcc", "-O1", "-nostdlib", "-static", "-no-pie", "-fno-pic")
KERNEL_LINK_FLAGS += ("-Wl,-Ttext=0xffffffff81000000", "-Wl,-e,startup_64")

# Bytes in front of the payload, like a bzImage's setup code (with the "HdrS" boot signature).
STUB = bytes(0x202) + b"HdrS" + bytes(range(256)) * 8


def compressors() -> dict[str, object]:
    import lz4.frame
    import zstandard

    def lz4_legacy(data: bytes) -> bytes:
        # The kernel's format (lz4 -l): magic, then 8 MiB blocks each prefixed by its size.
        import lz4.block

        out = bytearray(b"\x02\x21\x4c\x18")
        for i in range(0, len(data), 8 << 20):
            block = lz4.block.compress(data[i : i + (8 << 20)], store_size=False)
            out += len(block).to_bytes(4, "little") + block
        return bytes(out)

    return {
        "gzip": lambda d: gzip.compress(d, 9),
        "xz": lambda d: lzma.compress(d, lzma.FORMAT_XZ, check=lzma.CHECK_CRC32),
        "lzma": lambda d: lzma.compress(d, lzma.FORMAT_ALONE),
        "bzip2": lambda d: bz2.compress(d, 9),
        "lz4": lz4_legacy,
        "lz4-frame": lz4.frame.compress,
        "zstd": zstandard.ZstdCompressor(level=3).compress,
    }


@pytest.fixture(scope="module")
def vmlinux_like(tmp_path_factory) -> Path:
    """A small ELF with a start_kernel function, linked at a kernel-style address."""
    need_tool("gcc")
    folder = tmp_path_factory.mktemp("kimage")
    src = Path(__file__).parents[1] / "programs" / "elf_kernel_like.c"
    out = folder / "vmlinux"
    proc = subprocess.run(
        [*KERNEL_LINK_FLAGS, "-o", str(out), str(src)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot link a kernel-like ELF: {proc.stderr.strip()[:200]}")
    return out


@pytest.mark.parametrize("method", ["gzip", "xz", "lzma", "bzip2", "lz4", "lz4-frame", "zstd"])
def test_compressed_image_opens_as_the_inner_elf(method, vmlinux_like, tmp_path):
    original = vmlinux_like.read_bytes()
    image_file = tmp_path / f"bzImage.{method}"
    image_file.write_bytes(STUB + compressors()[method](original) + b"\x00" * 512 + b"trailer")
    image = open_elf(image_file)
    assert image.inner is not None and image.inner.startswith(method.split("-")[0])
    assert bytes(image._data) == original
    plain = open_elf(vmlinux_like)
    assert image.header == plain.header
    assert image.sections == plain.sections
    assert image.symbols() == plain.symbols()


def test_cli_on_compressed_image_names_start_kernel(vmlinux_like, tmp_path):
    image_file = tmp_path / "vmlinuz"
    image_file.write_bytes(STUB + gzip.compress(vmlinux_like.read_bytes()))
    result = run_kernlab("elf", "--json", str(image_file))
    assert result.code == 0, result.stderr
    doc = result.json()
    nm = subprocess.run(["nm", str(vmlinux_like)], capture_output=True, text=True, check=True).stdout
    start = next(int(line.split()[0], 16) for line in nm.splitlines() if line.endswith(" start_kernel"))
    assert doc["summary"]["is_kernel"] is True
    assert doc["summary"]["start_kernel"] == start
    assert doc["summary"]["start_kernel_section"] == ".text"
    assert doc["summary"]["inner"].startswith("gzip at offset ")
    entry = int(
        next(
            line
            for line in subprocess.run(
                ["readelf", "-h", str(vmlinux_like)], capture_output=True, text=True
            ).stdout.splitlines()
            if "Entry point" in line
        ).split()[-1],
        16,
    )
    assert doc["header"]["entry"] == entry
    from kernlab.explain.elf import summary_sentence
    from kernlab.reports.elf import build

    assert doc["summary"]["meaning"] == "summary.kernel"
    assert f"{start:#x}" in summary_sentence(build(image_file).summary)


def test_damaged_payload_is_bad_input(vmlinux_like, tmp_path):
    packed = bytearray(STUB + gzip.compress(vmlinux_like.read_bytes()))
    # Break the deflate stream right after its header: no ELF comes out.
    start = len(STUB) + 10
    packed[start : start + 64] = bytes(64)
    damaged = tmp_path / "damaged"
    damaged.write_bytes(bytes(packed))
    result = run_kernlab("elf", str(damaged))
    assert result.code == 3
    assert "Traceback" not in result.stderr
