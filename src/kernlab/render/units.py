"""Sizes and shares as people read them; one spelling across every command."""

from __future__ import annotations

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


def percent_text(part: float, whole: float) -> str:
    """``part`` as a whole-number percentage of ``whole``: "42%" ("0%" when whole is 0)."""
    return f"{100.0 * part / whole:.0f}%" if whole else "0%"
