"""Fixed-width text tables as ps and pmap print them: natural width, every token whole."""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = ["plain_table"]


def plain_table(columns: Sequence[str], rows: Sequence[Sequence[object]], right: Collection[str]) -> str:
    """Columns padded to their widest cell; names in ``right`` right-aligned (numbers).

    Fast for thousands of rows, unlike a rich table, and never wider or narrower than the data:
    the last column is not padded, so a long command line stays one line.
    """
    cells = [[str(c) for c in columns]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    last = len(columns) - 1
    for row in cells:
        parts = []
        for i, value in enumerate(row):
            if columns[i] in right:
                parts.append(value.rjust(widths[i]))
            elif i == last:
                parts.append(value)
            else:
                parts.append(value.ljust(widths[i]))
        lines.append(" ".join(parts))
    return "\n".join(lines)
