"""The C loop over known instructions (elf/disasm/_hits.c) gives every block the same rows as
its Python twin, on whole 64-bit and 32-bit libraries (32-bit branch targets wrap at 4 GiB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernlab.elf.disasm import whole
from kernlab.elf.disasm.libc import find_libc

LIB32 = Path("/usr/lib32/libc.so.6")


def _blocks(path: str) -> list[whole.Block]:
    return list(whole.list_file(path).blocks())


@pytest.mark.skipif(whole._hits is None, reason="built without the C helper (no C compiler at install)")
@pytest.mark.parametrize("which", ["libc", "lib32"])
def test_c_loop_gives_the_python_rows(monkeypatch, which):
    path = str(find_libc()) if which == "libc" else str(LIB32)
    if which == "lib32" and not LIB32.exists():
        pytest.skip("no 32-bit libc here (gcc-multilib installs one)")
    ours = _blocks(path)
    with monkeypatch.context() as patch:
        patch.setattr(whole, "_hits", None)
        theirs = _blocks(path)
    assert len(ours) == len(theirs) > 100
    for a, b in zip(ours, theirs, strict=True):
        assert a == b, f"{path}: block {a.label} at {a.address:#x} differs"
    assert sum(len(b.rows) for b in ours) > 50_000
