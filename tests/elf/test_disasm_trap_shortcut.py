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
        patch.setattr(whole, "_loaded_just_before", lambda *args: None)
        whole._TRAP_NOTES.clear()
        tracked = _notes(path)
    whole._TRAP_NOTES.clear()
    assert quick == tracked
    if path == str(find_libc()):
        assert len(quick) > 300  # libc's wrappers: hundreds of known system calls


def test_shortcut_leaves_other_abis_traps_to_the_tracker(tmp_path):
    """int $0x80 in 64-bit code and syscall in 32-bit code are not the architecture's system
    call for the tracker: right after mov $N,%eax they get the tracker's answer (none)."""
    import subprocess

    from tests.conftest import need_tool

    need_tool("gcc")
    source = tmp_path / "traps.s"
    source.write_text(
        ".globl _start\n_start:\nmov $60,%eax\nint $0x80\nmov $39,%eax\nsyscall\nmov $20,%eax\nsysenter\n"
    )
    built = {}
    for bits in ("64", "32"):
        out = tmp_path / f"traps{bits}"
        done = subprocess.run(
            ["gcc", f"-m{bits}", "-nostdlib", "-static", "-o", str(out), str(source)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"gcc -m{bits} cannot link here: {done.stderr.decode()[:200]}")
        built[bits] = str(out)
    for bits, path in built.items():
        whole._TRAP_NOTES.clear()
        quick = _notes(path)
        whole._TRAP_NOTES.clear()
        import unittest.mock

        with unittest.mock.patch.object(whole, "_loaded_just_before", lambda *a: None):
            tracked = _notes(path)
        whole._TRAP_NOTES.clear()
        assert quick == tracked, path
        # 64-bit code: syscall only; 32-bit code: int $0x80 and sysenter
        assert len(quick) == (1 if bits == "64" else 2), quick
