"""The reader's accessors other helpers build on, each against a standard tool: nm for
symbolize, readelf -x for read, readelf -r for relocations, readelf -l for address mapping."""

from __future__ import annotations

import re
import subprocess

import pytest

from kernlab.elf.model import Relocation, Symbol
from kernlab.elf.reader import ElfImage, open_elf
from tests.conftest import need_tool


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    need_tool("gcc")
    from tests.conftest import PROGRAMS, compile_c

    out = tmp_path_factory.mktemp("elf_api") / "elf_tls_api"
    return compile_c(PROGRAMS / "elf_tls.c", out, ["-O1", "-g0"])


def run(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def test_model_reexports_image_class(program):
    image = open_elf(program)
    assert isinstance(image, ElfImage)


def test_symbolize_matches_nm(program):
    """Every address inside a sized function or variable maps back to it, as nm lists them."""
    need_tool("nm")
    image = open_elf(program)
    # nm lists thread-local variables with their offset in the TLS block, not an address.
    tls = {ln.split()[-1] for ln in run("readelf", "-sW", str(program)).splitlines() if " TLS " in ln}
    checked = 0
    for line in run("nm", "-S", "--defined-only", str(program)).splitlines():
        parts = line.split()
        # Functions (T/t) and sized data in .data, .bss, .rodata (D/d, B/b, R/r).
        if len(parts) != 4 or parts[2] not in "TtDdBbRr" or int(parts[1], 16) == 0 or parts[3] in tls:
            continue
        # nm shows copy-relocated data with its version (stdout@GLIBC_2.2.5); Symbol.name has none.
        addr, size, name = int(parts[0], 16), int(parts[1], 16), parts[3].split("@")[0]
        for delta in {0, size // 2, size - 1}:
            found = image.symbolize(addr + delta)
            assert found is not None, (name, delta)
            sym, offset = found
            assert isinstance(sym, Symbol)
            assert (sym.name, offset) == (name, delta)
        checked += 1
    assert checked >= 3


def _readelf_hex(path, section: str) -> tuple[int, bytes]:
    text = run("readelf", "-x", section, str(path))
    start, data = None, bytearray()
    for line in text.splitlines():
        m = re.match(r"^\s+0x([0-9a-f]+) ((?:[0-9a-f]{2,8} ){1,4})", line)
        if m:
            if start is None:
                start = int(m[1], 16)
            data += bytes.fromhex(m[2].replace(" ", ""))
    assert start is not None
    return start, bytes(data)


@pytest.mark.parametrize("section", [".rodata", ".data", ".text"])
def test_read_matches_readelf_hex_dump(program, section):
    need_tool("readelf")
    image = open_elf(program)
    start, expected = _readelf_hex(program, section)
    assert image.read(start, len(expected)) == expected


def test_read_of_bss_is_zeros_and_mapping_follows_segments(program):
    image = open_elf(program)
    bss = image.section_by_name(".bss")
    assert bss is not None
    assert image.read(bss.address, min(bss.size, 64)) == bytes(min(bss.size, 64))
    assert image.offset_for_vaddr(bss.address + 16) is None
    text = image.section_by_name(".text")
    assert image.offset_for_vaddr(text.address) == text.offset
    assert image.vaddr_for_offset(text.offset) == text.address
    assert image.section_for_address(text.address + 1).name == ".text"


@pytest.mark.parametrize("which", ["program", "object", "object32", "libc"])
def test_relocations_match_readelf(program, which, tmp_path):
    need_tool("readelf")
    from tests.conftest import PROGRAMS, compile_c

    path = {
        "program": lambda: program,
        "object": lambda: compile_c(PROGRAMS / "elf_tls.c", tmp_path / "o.o", ["-O1", "-c"]),
        "object32": lambda: compile_c(PROGRAMS / "elf_tls.c", tmp_path / "o32.o", ["-O1", "-c", "-m32"]),
        "libc": lambda: "/lib/x86_64-linux-gnu/libc.so.6",
    }[which]()
    image = open_elf(path)
    text = run("readelf", "-rW", str(path))
    blocks = re.split(r"\nRelocation section '([^']+)'.*\n.*\n", text)
    assert len(blocks) >= 3
    with_entries = {s.name for s in image.relocation_sections()}
    for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
        if name not in with_entries:
            continue  # SHT_RELR (.relr.dyn) lists addresses, not entries
        rows = [ln.split() for ln in body.strip().splitlines() if re.match(r"^[0-9a-f]{8,16} ", ln)]
        ours = image.relocations(name)
        assert len(ours) == len(rows), name
        for rel, row in zip(ours, rows, strict=True):
            assert isinstance(rel, Relocation)
            assert rel.offset == int(row[0], 16)
            assert rel.info == int(row[1], 16)
            assert rel.type_name == row[2]
            if len(row) <= 4:  # no symbol: offset, info, type[, addend]
                assert rel.symbol_index == 0
                if len(row) == 4:
                    assert rel.addend == int(row[3], 16)
                continue
            if rel.addend is None:  # REL: offset, info, type, symbol value, symbol name
                assert rel.symbol_value == int(row[3], 16)
                assert rel.symbol_name == " ".join(row[4:])
                continue
            # offset, info, type, symbol value, symbol name, "+" or "-", addend
            sign, addend = row[-2], int(row[-1], 16)
            assert rel.symbol_value == int(row[3], 16)
            assert rel.symbol_name == " ".join(row[4:-2])
            assert rel.addend == (addend if sign == "+" else -addend)


def test_find_symbols_ignores_versions():
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    need_tool("readelf")
    image = open_elf(libc)
    found = image.find_symbols("malloc")
    assert found and all(s.name == "malloc" for s in found)
    assert image.find_symbols("malloc@@GLIBC_2.2.5") == found
    readelf_lines = [ln for ln in run("readelf", "-sW", libc).splitlines() if re.search(r" malloc@", ln)]
    assert len(found) == len(readelf_lines)


def test_dynamic_accessors_match_readelf():
    need_tool("readelf")
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    image = open_elf(libc)
    text = run("readelf", "-dW", libc)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", text)
    soname = re.findall(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", text)
    assert image.needed == needed
    assert image.soname == (soname[0] if soname else None)
    interp = re.findall(r"Requesting program interpreter: ([^\]]+)\]", run("readelf", "-lW", libc))
    assert image.interpreter == (interp[0] if interp else None)
    build_id = re.findall(r"Build ID: ([0-9a-f]+)", run("readelf", "-nW", libc))
    assert image.build_id == (build_id[0] if build_id else None)
