"""Fixed-width text tables as ps and pmap print them: natural width, every token whole."""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = ["plain_table"]


def plain_table(columns: Sequence[str], rows: Sequence[Sequence[object]], right: Collection[str]) -> str:
    """Columns padded to their widest cell; names in ``right`` right-aligned (numbers).

    Fast for thousands of rows, unlike a rich table, and never wider or narrower than the data:
    the last column is not padded, so a long command line stays one line.
    """
    # Column by column: `maps` of a process with 60,000 VMAs is 60,000 rows of 14 cells.
    texts = [[str(name)] for name in columns]
    if rows:
        for column, values in zip(texts, zip(*rows, strict=True), strict=True):
            column.extend("" if v is None else str(v) for v in values)
    last = len(columns) - 1
    padded: list[list[str]] = []
    for i, column in enumerate(texts):
        width = max(map(len, column))
        if columns[i] in right:
            padded.append([value.rjust(width) for value in column])
        elif i == last:
            padded.append(column)
        else:
            padded.append([value.ljust(width) for value in column])
    return "\n".join(map(" ".join, zip(*padded, strict=True)))
