"""Sizes for sentences: KiB figures as short binary-unit text ("7.2 MiB")."""

from __future__ import annotations


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
    """``part`` as a whole-number percentage of ``whole`` (0 when whole is 0)."""
    return round(100 * part / whole) if whole else 0
