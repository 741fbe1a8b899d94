"""RELR relocations and e_flags words, each against GNU readelf on files built or patched here."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from kernlab.elf.reader import open_elf
from tests.conftest import need_tool

RELR_C = (
    "static int a, b, c;\n"
    "int *table[] = {&a, &b, &c, &a, 0, &b, "
    + ", ".join(["&a"] * 70)
    + ", 0, 0, &c};\nint *last = &b;\nint get(int i) { return *table[i] + *last; }\n"
)


def _readelf_relr_offsets(path: Path, section: str) -> list[int]:
    text = subprocess.run(["readelf", "-rW", str(path)], capture_output=True, text=True, check=True).stdout
    block = text.split(f"Relocation section '{section}'")[1]
    block = block.split("\nRelocation section")[0]
    return [int(line, 16) for line in block.splitlines()[2:] if re.fullmatch(r"[0-9a-f]{8,16}", line.strip())]


@pytest.mark.parametrize("target", ["x86_64-linux-gnu", "i386-linux-gnu", "aarch64-linux-gnu"])
def test_relr_offsets_match_readelf(target, tmp_path):
    need_tool("readelf")
    if shutil.which("clang") is None or shutil.which("ld.lld") is None:
        pytest.skip("clang and ld.lld build the RELR library")
    src = tmp_path / "relr.c"
    src.write_text(RELR_C)
    lib = tmp_path / f"{target}.so"
    built = subprocess.run(
        ["clang", f"--target={target}", "-O1", "-fPIC", "-shared", "-nostdlib", "-fuse-ld=lld",
         "-Wl,--pack-dyn-relocs=relr", str(src), "-o", str(lib)],
        capture_output=True, text=True,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.skip(f"cannot link a RELR library for {target}: {built.stderr.strip()[:200]}")
    image = open_elf(lib)
    relr = [s.name for s in image.sections if s.type == "RELR"]
    assert relr, "lld --pack-dyn-relocs=relr writes .relr.dyn"
    ours = image.relocations(relr[0])
    assert [r.offset for r in ours] == _readelf_relr_offsets(lib, relr[0])
    assert len(ours) > 70
    assert {r.type_name for r in ours} == {
        {"x86_64-linux-gnu": "R_X86_64_RELATIVE", "i386-linux-gnu": "R_386_RELATIVE"}.get(
            target, "R_AARCH64_RELATIVE"
        )
    }
    # relocation_sections() keeps listing REL/RELA only (RELR packs addresses, not entries).
    assert relr[0] not in {s.name for s in image.relocation_sections()}


# Every word readelf 2.40 prints for MIPS and PowerPC e_flags, one or several per value.
MIPS_FLAGS = [
    0x70001007, 0x80000027, 0x72001007, 0x90001407, 0x700012B7, 0x0C000101, 0x60000000,
    0xA0002000, 0x50003000, 0x40004000, 0x3000F000, 0x20810000, 0x108A0000, 0x00A40000,
    0x00FF0000, 0xF0000000, 0x009E0000, 0x008D0210,
]  # fmt: skip
PPC_FLAGS = [0x0, 0x80000000, 0x00010000, 0x00008000, 0x80018000]
PPC64_FLAGS = [0x0, 0x1, 0x2, 0x3]


def _patched(obj: Path, flags: int, out: Path) -> Path:
    data = bytearray(obj.read_bytes())
    wide, big = data[4] == 2, data[5] == 2
    offset = 48 if wide else 36  # e_flags
    struct.pack_into(">I" if big else "<I", data, offset, flags)
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize(
    ("target", "values"),
    [
        ("mips-linux-gnu", MIPS_FLAGS),
        ("mips64el-linux-gnuabi64", MIPS_FLAGS[:4]),
        ("powerpc-linux-gnu", PPC_FLAGS),
        ("powerpc64-linux-gnu", PPC64_FLAGS),
    ],
)
def test_flags_words_match_readelf(target, values, tmp_path):
    need_tool("readelf")
    need_tool("clang")
    src = tmp_path / "f.c"
    src.write_text("int f(int x) { return x + 1; }\n")
    obj = tmp_path / "f.o"
    if subprocess.run(["clang", f"--target={target}", "-c", str(src), "-o", str(obj)]).returncode:
        pytest.skip(f"clang cannot build for {target}")
    for flags in values:
        path = _patched(obj, flags, tmp_path / f"f_{flags:x}.o")
        text = subprocess.run(["readelf", "-hW", str(path)], capture_output=True, text=True).stdout
        expected = re.search(r"Flags:\s+(.*)", text)[1].strip()
        h = open_elf(path).header
        assert (f"{h.flags:#x}, {h.flags_text}" if h.flags_text else f"{h.flags:#x}") == expected, hex(flags)
