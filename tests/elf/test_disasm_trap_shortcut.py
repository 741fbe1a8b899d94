"""A trap right after ``mov $N,%eax`` gets its note from those bytes (whole._loaded_just_before)
without decoding the instructions before it again: every note of a whole libc is the one the
tracker finds by decoding them (64-bit, and a 32-bit libc's int $0x80)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernlab.elf.disasm import whole
from kernlab.elf.disasm.libc import find_libc


def _notes(path: str) -> list[tuple[int, object]]:
    return [
        (row[0], row[3])
        for block in whole.list_file(path).blocks()
        for row in block.rows
        if row[3] is not None
    ]


@pytest.mark.parametrize("path", [str(find_libc()), "/usr/lib32/libc.so.6"])
def test_shortcut_notes_are_the_trackers(monkeypatch, path):
    if not Path(path).exists():
        pytest.skip(f"no {path} here")
    whole._TRAP_NOTES.clear()
    quick = _notes(path)
    with monkeypatch.context() as patch:
        patch.setattr(whole, "_loaded_just_before", lambda arch, rows, address: None)
        whole._TRAP_NOTES.clear()
        tracked = _notes(path)
    whole._TRAP_NOTES.clear()
    assert quick == tracked
    if path == str(find_libc()):
        assert len(quick) > 300  # libc's wrappers: hundreds of known system calls
