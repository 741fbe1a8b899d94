"""Presence strips and bitmaps, checked against a page-by-page count."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kernlab.mm.strip import (
    bitmap_fractions,
    bitmap_runs,
    int_to_bitmap,
    runs_from_flags,
    strip_fractions,
    strip_text,
)


def _cells(flags: list[bool], width: int) -> list[float]:
    total = len(flags)
    cells = min(width, total)
    out = []
    for c in range(cells):
        lo, hi = c * total // cells, (c + 1) * total // cells
        out.append(sum(flags[lo:hi]) / (hi - lo))
    return out


@given(st.lists(st.booleans(), min_size=0, max_size=300), st.integers(min_value=1, max_value=80))
def test_fractions_from_runs_and_bitmap_equal_a_direct_count(flags, width):
    expected = _cells(flags, width)
    runs = runs_from_flags(flags)
    assert strip_fractions(runs, len(flags), width) == expected
    bits = sum(1 << i for i, f in enumerate(flags) if f)
    bitmap = int_to_bitmap(bits, len(flags))
    assert bitmap_fractions(bitmap, len(flags), width) == expected
    assert bitmap_runs(bitmap, len(flags)) == runs


def test_strip_characters():
    assert strip_text([1.0, 0.5, 0.0]) == "█▒·"
    assert strip_text([]) == ""
