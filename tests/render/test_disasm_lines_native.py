"""The C writer of objdump's lines (render/_lines.c) writes the same bytes as FileWriter's
Python lines, for every kind of row: plain, longer than 7 bytes (continuation lines), a run of
zeros, a trap with its note, a marked load in colour, names that are not ASCII or not UTF-8."""

from __future__ import annotations

import shutil

import pytest

from kernlab.elf.disasm import SyscallNote
from kernlab.elf.disasm.whole import Block
from kernlab.render.views import disasm as view

NOTE = SyscallNote(39, "getpid", "x86_64", 0x1180)


def _rows() -> list[tuple[int, bytes, str, SyscallNote | None]]:
    return [
        (0x1180, bytes.fromhex("b827000000"), "mov    $0x27,%eax", None),
        (0x1185, bytes.fromhex("0f05"), "syscall", NOTE),
        (0x1187, bytes.fromhex("c3"), "ret", None),
        (0x1188, bytes.fromhex("48b8efcdab8967452301"), "movabs $0x123456789abcdef,%rax", None),
        (0x1192, bytes.fromhex("66662e0f1f840000000000"), "data16 cs nopw 0x0(%rax,%rax,1)", None),
        (0x119D, bytes(range(1, 16)), "(bad)", None),
        (0x11AC, bytes.fromhex("9090909090909090909090909090909090909090"), ".byte", None),
        (0x11C0, b"", "...", None),
        (0x11D0, bytes.fromhex("e8000000"), "call   11d4 <für_строка>", None),
        (0x11D4, bytes.fromhex("e9000000"), "jmp    11d8 <bad\udcff_name>", None),
        (0x11D8, bytes.fromhex("4889e5"), "mov    %rsp,%rbp", None),
        (0xFFFFFFFF81000000, bytes.fromhex("0f0b"), "ud2", None),
    ]


def _python_lines(monkeypatch: pytest.MonkeyPatch, block: Block, width: int, colour: bool) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(view, "_lines", None)
        return view.FileWriter(16, colour).block(block, width)


@pytest.mark.skipif(view._lines is None, reason="built without the C helper (no C compiler at install)")
@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("width", [0, 4, 8, 16])
def test_c_lines_are_the_python_lines(monkeypatch, width, colour):
    marked = frozenset({0x1180, 0x11C0, 0x11D8})
    for block in (
        Block(".text", 0x1180, "raw_getpid", _rows(), marked),
        Block(".text", 0x1180, None, _rows(), frozenset()),
        Block(".text", 0x1180, "empty", [], frozenset()),
    ):
        ours = view.FileWriter(16, colour).block(block, width)
        assert ours == _python_lines(monkeypatch, block, width, colour)
    # the lines themselves, as objdump writes them
    lines = view.FileWriter(16, False).block(Block(".text", 0x1180, "f", _rows(), marked), 5).splitlines()
    assert lines[2] == " 1180:\tb8 27 00 00 00       \tmov    $0x27,%eax"
    assert lines[5] == " 1188:\t48 b8 ef cd ab 89 67 \tmovabs $0x123456789abcdef,%rax"
    assert lines[6] == " 118f:\t45 23 01 "
    assert "\t...\n" in view.FileWriter(16, False).block(Block(".text", 0x1180, "f", _rows(), marked), 5)


def test_the_c_helpers_are_built_where_a_compiler_is():
    """pip builds them at install (setup.py, optional): where a C compiler and Python's
    headers are, a missing helper is a broken build, not a slower machine."""
    import sysconfig
    from pathlib import Path

    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: kernlab runs its Python twins")
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        pytest.skip("no Python.h for this interpreter (Debian: python3-dev): kernlab runs its Python twins")
    from kernlab.elf.disasm import whole

    assert view._lines is not None
    assert whole._hits is not None
