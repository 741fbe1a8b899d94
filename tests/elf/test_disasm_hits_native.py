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


@pytest.mark.skipif(whole._hits is None, reason="built without the C helper (no C compiler at install)")
@pytest.mark.parametrize("path", [str(find_libc()), "/usr/bin/ls", str(LIB32)])
def test_c_namer_names_as_the_symbolizer(path):
    """_hits.name over Symbolizer.namer_tables gives Symbolizer.namer's name for every
    symbol address and its neighbours, every GOT slot, and random addresses, in each code
    section and outside any (section None)."""
    import random

    from kernlab.elf.disasm.decode import _opened

    if not Path(path).exists():
        pytest.skip(f"no {path} here")
    image, symbolizer = _opened(path)
    rng = random.Random(path)
    probes = set(symbolizer.relocated)
    for value in symbolizer.addresses:
        probes.update((value - 1, value, value + 1, value + 0x10))
    lo, hi = min(symbolizer.addresses), max(symbolizer.addresses)
    probes.update(rng.randrange(max(lo - 0x1000, 0), hi + 0x1000) for _ in range(20_000))
    probes = {p for p in probes if 0 <= p < 1 << 64}
    sections = [s.name for s in image.sections if "X" in s.flags] + [None]
    for section in sections:
        tables = symbolizer.namer_tables(section)
        assert tables is not None
        python = symbolizer.namer(section)
        for address in probes:
            assert whole._hits.name(tables, address) == python(address), f"{section} {address:#x}"
