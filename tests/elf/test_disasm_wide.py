"""The disassembler on many inputs it was not tuned for: random libc functions against objdump,
and arbitrary byte sequences (misaligned starts) that must decode without an exception."""

from __future__ import annotations

import random
import re
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernlab.elf.disasm import disassemble_function, disassemble_range
from kernlab.elf.disasm.libc import find_libc
from kernlab.elf.reader import open_elf
from tests.conftest import need_tool


def _libc_text() -> tuple[str, int, int]:
    path = find_libc()
    image = open_elf(path)
    if image.arch != "x86_64":
        pytest.skip("reads an x86_64 libc")
    text = next(s for s in image.sections if s.name == ".text")
    return path, text.address, text.size


@pytest.mark.slow
def test_random_libc_functions_match_objdump():
    need_tool("objdump")
    path, _, _ = _libc_text()
    image = open_elf(path)
    functions = sorted(
        {
            (s.name, s.value, s.size)
            for s in image.symbols(".dynsym")
            if s.type == "FUNC" and s.shndx != "UND" and 0 < s.size < 2000
        }
    )
    chosen = random.Random(20251125).sample(functions, 40)
    for name, value, size in chosen:
        out = subprocess.run(
            [
                "objdump",
                "-d",
                "--no-show-raw-insn",
                f"--start-address={value:#x}",
                f"--stop-address={value + size:#x}",
                path,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        theirs = [
            (int(a, 16), " ".join(t.split())) for a, t in re.findall(r"^\s+([0-9a-f]+):\s+(.*)$", out, re.M)
        ]
        mine = [
            (i.address, " ".join(i.text.split())) for i in disassemble_range(path, value, size).instructions
        ]
        assert mine == theirs, name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(min_value=0, max_value=10**9), length=st.integers(min_value=1, max_value=64))
def test_any_start_inside_libc_text_decodes(offset, length):
    path, start, size = _libc_text()
    address = start + offset % max(size - 80, 1)
    dis = disassemble_range(path, address, length)
    assert dis.instructions[0].address == address
    assert all(i.raw for i in dis.instructions)
    assert all(isinstance(i.text, str) for i in dis.instructions)
    assert dis.instructions[-1].address < address + length


def test_intel_syntax_decodes_a_whole_function():
    path, _, _ = _libc_text()
    dis = disassemble_function(path, "rename", "intel")
    assert dis.instructions[0].mnemonic == "mov" and dis.instructions[0].operands.startswith("eax,")
