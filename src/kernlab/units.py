"""Sizes and shares as people read them: one spelling for every command, view and sentence.

Pure functions of numbers (no I/O, no language): the lowest layer, so readers' tests, reports,
explanations and views all spell "4.2 KiB" and "42%" the same way.
"""

from __future__ import annotations

__all__ = ["format_bytes", "format_kib", "percent", "percent_text"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(size: int, *, trim_zero: bool = False) -> str:
    """Bytes in the largest binary unit that keeps the value ≥ 1, one decimal: 600 B, 4.2 KiB.

    ``trim_zero`` drops a ".0" (2 MiB rather than 2.0 MiB) where exact powers are common, as in
    page-table reach and page sizes.
    """
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{size} B"
            if trim_zero and value == int(value):
                return f"{value:.0f} {unit}"
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def format_kib(kib: int) -> str:
    """``kib`` KiB as text in the largest binary unit that keeps it ≥ 1 (one decimal below 10)."""
    value = float(kib)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "KiB" or value >= 10:
                return f"{value:,.0f} {unit}"
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{kib} KiB"


def percent(part: float, whole: float) -> int:
    """``part`` as a whole-number percentage of ``whole`` (0 when whole is 0), half to even."""
    return round(100 * part / whole) if whole else 0


def percent_text(part: float, whole: float) -> str:
    """:func:`percent` with its sign: "42%" ("0%" when whole is 0)."""
    return f"{percent(part, whole)}%"
