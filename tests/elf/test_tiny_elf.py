"""kernlab's hello world written without a compiler (elf/tiny.py): it runs and prints its line,
readelf reads it without a warning, and `kernlab elf` sees the entry point and segment readelf does."""

from __future__ import annotations

import re
import subprocess

import pytest

from kernlab.elf import tiny
from tests.conftest import need_tool, run_kernlab


@pytest.fixture
def program(tmp_path):
    if not tiny.supported():
        pytest.skip("the tiny hello is x86-64 code")
    return tiny.write_tiny_hello(tmp_path / "hello")


def test_it_runs_and_prints_hello_world(program, tmp_path):
    done = subprocess.run([str(program)], capture_output=True, timeout=10, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"hello, world\n", b"")
    other = tiny.write_tiny_hello(tmp_path / "other", b"another line\n")
    assert subprocess.run([str(other)], capture_output=True, check=True).stdout == b"another line\n"


def _readelf(program) -> tuple[int, list[list[str]]]:
    """readelf -hlW: the entry point and the program-header rows, asserting it printed no warning."""
    readelf = need_tool("readelf")
    done = subprocess.run([readelf, "-hlW", str(program)], capture_output=True, text=True, check=True)
    assert done.stderr == ""
    assert "warning" not in done.stdout.lower() and "error" not in done.stdout.lower()
    entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)", done.stdout).group(1), 16)
    rows = [ln.split() for ln in done.stdout.splitlines() if re.match(r"^\s+[A-Z_]+\s+0x", ln)]
    return entry, rows


def test_readelf_accepts_it_without_a_warning(program):
    entry, rows = _readelf(program)
    size = program.stat().st_size
    assert entry == tiny.BASE + tiny.EHDR_SIZE + tiny.PHDR_SIZE  # the code right after the headers
    # LOAD 0x000000 0x400000 0x400000 filesz memsz R E 0x1000: one segment, the whole file
    assert len(rows) == 1
    kind, offset, vaddr, paddr, filesz, memsz, *flags, align = rows[0]
    assert kind == "LOAD" and " ".join(flags) == "R E" and int(align, 16) == 0x1000
    assert (int(offset, 16), int(vaddr, 16), int(paddr, 16)) == (0, tiny.BASE, tiny.BASE)
    assert int(filesz, 16) == int(memsz, 16) == size
    # The message sits at the end of the file, inside the segment the entry point is in.
    assert program.read_bytes().endswith(tiny.MESSAGE)
    assert tiny.BASE <= entry < tiny.BASE + size


def test_kernlab_elf_shows_readelfs_entry_and_segment(program):
    entry, rows = _readelf(program)
    result = run_kernlab("elf", str(program), "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["header"]["entry"] == doc["summary"]["entry"] == entry
    assert doc["header"]["shnum"] == 0 and doc["summary"]["interpreter"] is None
    (segment,) = doc["segments"]
    kind, offset, vaddr, paddr, filesz, memsz, *flags, align = rows[0]
    assert (segment["type"], segment["flags"]) == (kind, " ".join(flags))
    assert [segment[k] for k in ("offset", "vaddr", "paddr", "filesz", "memsz", "align")] == [
        int(v, 16) for v in (offset, vaddr, paddr, filesz, memsz, align)
    ]
    text = run_kernlab("elf", str(program))
    assert f"{entry:#x}" in text.stdout and "statically linked" in text.stdout


def test_supported_only_on_x86_64():
    assert tiny.supported("x86_64") and tiny.supported("amd64")
    assert not tiny.supported("aarch64") and not tiny.supported("riscv64")
