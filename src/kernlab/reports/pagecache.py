"""`kernlab pagecache FILE…`: how much of each file is in the page cache, before and after an action.

The figures are the reader's own (kernlab.mm.pagecache measures residency with mmap + mincore
and does the evicting, loading or dropping), so the report is its PageCacheReport.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kernlab.mm.pagecache import ACTIONS, FileReport, PageCacheReport, examine_files

__all__ = ["ACTIONS", "FileReport", "PageCacheReport", "build"]


def build(
    paths: Sequence[str], action: str | None = None, on_bytes: Callable[[int], None] | None = None
) -> PageCacheReport:
    """Residency of every file in ``paths``; with ``action`` ("evict", "load", "drop-all") it is
    measured before and after doing it."""
    return examine_files(list(paths), action, on_bytes)
