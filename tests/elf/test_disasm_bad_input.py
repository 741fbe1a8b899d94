"""`kernlab disasm` on input a user can get wrong: one clear line, the right exit code."""

from __future__ import annotations

import os
import subprocess

import pytest

from kernlab.elf.disasm import disassemble_range
from kernlab.elf.reader import open_elf
from tests.conftest import assert_clean_error, need_tool, run_kernlab


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    need_tool("gcc")
    out = tmp_path_factory.mktemp("disasm_bad") / "hello"
    subprocess.run(
        ["gcc", "-O1", "-o", str(out), os.path.join(os.path.dirname(__file__), "..", "programs", "hello.c")],
        check=True,
    )
    return out


def _data_address(path) -> int:
    image = open_elf(str(path))
    section = next(s for s in image.sections if s.name == ".data")
    return section.address


def test_unknown_symbol(hello):
    result = run_kernlab("disasm", str(hello), "no_such_function")
    assert_clean_error(result, 3)
    assert "no_such_function" in result.stderr


def test_data_symbol_is_not_code(hello):
    result = run_kernlab("disasm", str(hello), "counter")
    assert_clean_error(result, 3)
    assert "not code" in result.stderr


def test_address_outside_every_section(hello):
    assert_clean_error(run_kernlab("disasm", str(hello), "--address", "0x7fffffff0000"), 3)


def test_address_in_a_data_section(hello):
    result = run_kernlab("disasm", str(hello), "--address", hex(_data_address(hello)))
    assert_clean_error(result, 3)
    assert ".data" in result.stderr


def test_bad_address_text_and_length(hello):
    assert run_kernlab("disasm", str(hello), "--address", "zzz").code == 2
    assert run_kernlab("disasm", str(hello), "--address", "0x1000", "--length", "0").code == 2


@pytest.mark.parametrize(
    "args",
    [
        ("main", "--address", "0x1000"),  # both a symbol and an address
        ("main", "--section", ".text"),  # a symbol and a whole section
        ("--length", "4"),  # a length without an address
    ],
)
def test_conflicting_arguments(hello, args):
    assert_clean_error(run_kernlab("disasm", str(hello), *args), 3)


def test_files_that_are_not_elf(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage"
    garbage.write_bytes(os.urandom(4096))
    truncated = tmp_path / "truncated"
    truncated.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (empty, garbage, truncated, fifo, tmp_path, tmp_path / "missing"):
        assert_clean_error(run_kernlab("disasm", str(path), "main"))


def test_stripped_file_works_by_address(hello, tmp_path):
    need_tool("strip")
    stripped = tmp_path / "stripped"
    subprocess.run(["strip", "-o", str(stripped), str(hello)], check=True)
    assert_clean_error(run_kernlab("disasm", str(stripped), "main"), 3)
    entry = open_elf(str(stripped)).header.entry
    dis = disassemble_range(str(stripped), entry, 16)
    assert dis.instructions and dis.instructions[0].address == entry
    result = run_kernlab("disasm", str(stripped), "--address", hex(entry), "--length", "16", "--json")
    assert result.code == 0 and result.json()["start"] == entry
