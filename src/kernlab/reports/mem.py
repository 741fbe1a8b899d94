"""`kernlab mem`: free(1)'s figures from one read of /proc/meminfo, and every meminfo field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernlab.proc.free import FreeFigures, compute_free, scale_size
from kernlab.proc.meminfo import Meminfo, read_meminfo

__all__ = ["FREE_COLUMNS", "WIDE_COLUMNS", "MemReport", "MeminfoEntry", "build"]

FREE_COLUMNS = ("total", "used", "free", "shared", "buff/cache", "available")
WIDE_COLUMNS = ("total", "used", "free", "shared", "buffers", "cache", "available")


@dataclass(frozen=True)
class MeminfoEntry:
    """One /proc/meminfo line."""

    name: str
    value: int
    unit: str


@dataclass(frozen=True)
class MemReport:
    """free's table (numbers and free's own spelling of them) and, when asked, every field."""

    source: str
    unit: str  # "kibi", "mebi", … or "human"
    si: bool
    columns: tuple[str, ...]
    free: FreeFigures
    display: dict[str, list[str]]  # row label -> cells exactly as free prints them
    meminfo: tuple[MeminfoEntry, ...] | None = None
    _cached: int = 0  # Cached alone, for the --meminfo sentence


def build(
    *,
    unit: str = "kibi",
    human: bool = False,
    si: bool = False,
    wide: bool = False,
    lohi: bool = False,
    with_total: bool = False,
    committed: bool = False,
    with_meminfo: bool = False,
    meminfo_file: str | Path | None = None,
) -> MemReport:
    """Read /proc/meminfo (or a saved copy) once and compute what free(1) would print."""
    info = read_meminfo(meminfo_file)
    figures = compute_free(info)
    rows = free_rows(figures, wide=wide, lohi=lohi, with_total=with_total, committed=committed)
    display = {label: [scale_size(v, unit, human=human, si=si) for v in values] for label, values in rows}
    return MemReport(
        source=info.source,
        unit="human" if human else unit,
        si=si,
        columns=WIDE_COLUMNS if wide else FREE_COLUMNS,
        free=figures,
        display=display,
        meminfo=_entries(info) if with_meminfo else None,
        _cached=info.get("Cached"),
    )


def free_rows(
    f: FreeFigures, *, wide: bool, lohi: bool, with_total: bool, committed: bool
) -> list[tuple[str, list[int]]]:
    """free's rows in its order: Mem, [Low, High], Swap, [Total], [Comm], values in KiB."""
    mem_row = [f.total, f.used, f.free, f.shared]
    mem_row += [f.buffers, f.cache] if wide else [f.buff_cache]
    mem_row.append(f.available)
    rows: list[tuple[str, list[int]]] = [("Mem", mem_row)]
    if lohi:
        rows.append(("Low", [f.low_total, f.low_used, f.low_free]))
        rows.append(("High", [f.high_total, f.high_used, f.high_free]))
    rows.append(("Swap", [f.swap_total, f.swap_used, f.swap_free]))
    if with_total:
        rows.append(("Total", [f.total + f.swap_total, f.used + f.swap_used, f.free + f.swap_free]))
    if committed:
        rows.append(("Comm", [f.commit_limit, f.committed_as, f.commit_limit - f.committed_as]))
    return rows


def _entries(info: Meminfo) -> tuple[MeminfoEntry, ...]:
    return tuple(MeminfoEntry(f.name, f.value, f.unit) for f in info.fields)
