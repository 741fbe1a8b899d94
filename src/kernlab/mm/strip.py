"""Presence strips: a long row of pages squeezed into a fixed number of cells.

Each cell covers an equal share of the pages and holds the fraction of them that are present,
so a strip shows *where* a file or an address range is resident, not only how much.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

# Cell characters by how full the cell is: none, some, all (data, so a renderer may swap them).
STRIP_CHARS: dict[str, str] = {"none": "·", "some": "▒", "all": "█"}


def strip_fractions(runs: Iterable[tuple[int, int]], total: int, width: int) -> list[float]:
    """Fraction of present pages in each of ``min(width, total)`` cells.

    ``runs`` are (first page, count) of present pages, in page order, within ``0..total``.
    """
    cells = max(0, min(width, total))
    if cells == 0:
        return []
    bounds = [cell * total // cells for cell in range(cells + 1)]  # first page of each cell
    present = [0] * cells
    sizes = [bounds[cell + 1] - bounds[cell] for cell in range(cells)]
    for first, count in runs:
        page, end = max(first, 0), min(first + count, total)
        while page < end:
            cell = bisect.bisect_right(bounds, page) - 1
            step = min(end, bounds[cell + 1]) - page
            present[cell] += step
            page += step
    return [present[i] / sizes[i] if sizes[i] else 0.0 for i in range(cells)]


def strip_text(fractions: Iterable[float]) -> str:
    """The strip as text: █ every page present, ▒ some, · none."""
    return "".join(
        STRIP_CHARS["all"] if f >= 1.0 else STRIP_CHARS["some"] if f > 0 else STRIP_CHARS["none"]
        for f in fractions
    )


def runs_from_flags(flags: Iterable[bool]) -> list[tuple[int, int]]:
    """(first, count) runs of True values."""
    runs: list[tuple[int, int]] = []
    start = None
    index = -1
    for index, flag in enumerate(flags):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            runs.append((start, index - start))
            start = None
    if start is not None:
        runs.append((start, index + 1 - start))
    return runs


def bitmap_to_int(bitmap_hex: str) -> int:
    """A presence bitmap (hex of little-endian bytes: bit i of the bitmap is page i) as an int."""
    return int.from_bytes(bytes.fromhex(bitmap_hex), "little")


def int_to_bitmap(bits: int, pages: int) -> str:
    """The inverse of :func:`bitmap_to_int` for ``pages`` pages."""
    return bits.to_bytes((pages + 7) // 8, "little").hex()


def bitmap_fractions(bitmap_hex: str, total: int, width: int) -> list[float]:
    """Like :func:`strip_fractions`, from a presence bitmap."""
    cells = max(0, min(width, total))
    bits = bitmap_to_int(bitmap_hex)
    out = []
    for cell in range(cells):
        lo, hi = cell * total // cells, (cell + 1) * total // cells
        count = (bits >> lo & ((1 << (hi - lo)) - 1)).bit_count()
        out.append(count / (hi - lo) if hi > lo else 0.0)
    return out


def bitmap_runs(bitmap_hex: str, total: int) -> list[tuple[int, int]]:
    """(first page, count) of each run of set bits in a presence bitmap."""
    bits = bitmap_to_int(bitmap_hex)
    text = format(bits, "b")[::-1].ljust(total, "0")[:total]  # text[i] is page i
    runs = []
    i = text.find("1")
    while i != -1:
        j = text.find("0", i)
        j = total if j == -1 else j
        runs.append((i, j - i))
        i = text.find("1", j)
    return runs
