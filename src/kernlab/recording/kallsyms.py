"""Kernel addresses of a recording named from its copy of ``/proc/kallsyms``.

The recorder saves the text symbols of the traced kernel (``kallsyms`` in the recording), so a
recording names its kernel addresses on any machine; lookups are a bisection over the sorted
addresses.
"""

from __future__ import annotations

import bisect
from pathlib import Path

__all__ = ["KernelSymbols"]


class KernelSymbols:
    """Kernel text symbols from a kallsyms-format file, looked up by bisection."""

    def __init__(self, path: Path | None) -> None:
        self._addrs: list[int] = []
        self._names: list[str] = []
        if path is None:
            return
        rows: list[tuple[int, str]] = []
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) < 3 or parts[1] not in ("t", "T", "w", "W"):
                        continue
                    try:
                        addr = int(parts[0], 16)
                    except ValueError:
                        continue
                    if addr:
                        rows.append((addr, parts[2]))
        except OSError:
            return
        rows.sort()
        self._addrs = [a for a, _ in rows]
        self._names = [n for _, n in rows]

    def __bool__(self) -> bool:
        return bool(self._addrs)

    def name(self, address: int) -> str | None:
        """``handle_mm_fault+0x1a4``; None before the first symbol or without kallsyms."""
        index = bisect.bisect_right(self._addrs, address) - 1
        if index < 0:
            return None
        return f"{self._names[index]}+{address - self._addrs[index]:#x}"
