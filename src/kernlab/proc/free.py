"""free(1)'s figures, computed from one read of /proc/meminfo exactly as procps-ng computes them.

procps-ng 4.x (library/meminfo.c, ``meminfo_read_failed``):

* MemAvailable missing (kernels before 3.14) or larger than MemTotal (containers) → MemFree
* cache  = Cached + SReclaimable (slab memory the kernel can give back)
* used   = MemTotal − MemAvailable (procps-ng ≥ 4.0.1; earlier versions used
  MemTotal − MemFree − Buffers − cache, kept here as ``used_classic``)
* shared = Shmem; swap used = SwapTotal − SwapFree

Scaling follows free.c's ``scale_size``: -m/-g truncate, -h picks the first unit whose text fits in
four characters (five with the "i"), rounding through a C float.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from kernlab.proc.meminfo import Meminfo

# option -> (exponent as free.c numbers it, SI?)  exponent 0 means "as the file gives it (KiB)"
UNITS: dict[str, tuple[int, bool]] = {
    "kibi": (0, False),
    "bytes": (1, False),
    "mebi": (3, False),
    "gibi": (4, False),
    "tebi": (5, False),
    "pebi": (6, False),
    "kilo": (2, True),
    "mega": (3, True),
    "giga": (4, True),
    "tera": (5, True),
    "peta": (6, True),
}


@dataclass(frozen=True)
class FreeFigures:
    """The numbers free(1) prints, in KiB, plus the terms they are made of."""

    total: int  # MemTotal
    used: int  # MemTotal − MemAvailable (what free ≥ 4.0.1 shows)
    free: int  # MemFree: pages on the buddy allocator's free lists
    shared: int  # Shmem: tmpfs, shared anonymous memory, SysV shm
    buffers: int  # Buffers: block-device page cache (metadata)
    cache: int  # Cached + SReclaimable
    buff_cache: int  # buffers + cache
    available: int  # MemAvailable (or MemFree when missing or implausible)
    available_estimated: bool  # True when MemAvailable was missing or larger than MemTotal
    used_classic: int  # MemTotal − MemFree − Buffers − cache: used by processes and the kernel
    counted_twice: int  # used + free + buff/cache − total: buff/cache that is not available
    swap_total: int
    swap_used: int
    swap_free: int
    low_total: int  # LowTotal, or MemTotal on 64-bit kernels (no highmem)
    low_used: int
    low_free: int
    high_total: int
    high_used: int
    high_free: int
    commit_limit: int
    committed_as: int


def compute_free(info: Meminfo) -> FreeFigures:
    """free(1)'s figures from one /proc/meminfo snapshot (see module docstring for the rules)."""
    total = info.get("MemTotal")
    mem_free = info.get("MemFree")
    available = info.get("MemAvailable")
    estimated = False
    if available == 0:
        available, estimated = mem_free, True
    if available > total:
        available, estimated = mem_free, True
    cache = info.get("Cached") + info.get("SReclaimable")
    buffers = info.get("Buffers")
    used = total - available
    if used < 0:
        used = total - mem_free
    classic = total - mem_free - buffers - cache
    if classic < 0:
        classic = total - mem_free
    low_total, low_free = info.get("LowTotal"), info.get("LowFree")
    if low_total == 0:
        low_total, low_free = total, mem_free
    high_total, high_free = info.get("HighTotal"), info.get("HighFree")
    swap_total, swap_free = info.get("SwapTotal"), info.get("SwapFree")
    return FreeFigures(
        total=total,
        used=used,
        free=mem_free,
        shared=info.get("Shmem"),
        buffers=buffers,
        cache=cache,
        buff_cache=buffers + cache,
        available=available,
        available_estimated=estimated,
        used_classic=classic,
        counted_twice=used + mem_free + buffers + cache - total,
        swap_total=swap_total,
        swap_used=swap_total - swap_free if swap_free < swap_total else 0,
        swap_free=swap_free,
        low_total=low_total,
        low_used=low_total - low_free if low_free < low_total else 0,
        low_free=low_free,
        high_total=high_total,
        high_used=high_total - high_free if high_free < high_total else 0,
        high_free=high_free,
        commit_limit=info.get("CommitLimit"),
        committed_as=info.get("Committed_AS"),
    )


def _c_float(value: float) -> float:
    """``value`` rounded to a C float, as free.c's ``(float)`` cast does before printing."""
    return struct.unpack("f", struct.pack("f", value))[0]


def scale_size(kib: int, unit: str = "kibi", human: bool = False, si: bool = False) -> str:
    """One figure as free(1) prints it for the given unit option (see :data:`UNITS`).

    ``human`` is -h; ``si`` (--si, or an SI unit) uses powers of 1000.
    """
    exponent, unit_si = UNITS[unit]
    si = si or unit_si
    base = 1000.0 if si else 1024.0
    size_bytes = kib * 1024
    if not human:
        if exponent == 0:
            # free's default unit is "bytes / base": KiB, or kB (1000 bytes) under --si alone.
            return str(size_bytes // int(base))
        if exponent == 1:
            return str(size_bytes)
        return str(int(size_bytes / base ** (exponent - 1)))
    text = f"{size_bytes}B"
    if len(text) <= 4:
        return text
    suffix = "" if si else "i"
    limit = 4 if si else 5
    for power, letter in enumerate("KMGTP", start=1):
        scaled = size_bytes / base**power
        text = f"{_c_float(scaled):.1f}{letter}{suffix}"
        if len(text) <= limit:
            return text
        text = f"{int(scaled)}{letter}{suffix}"
        if len(text) <= limit:
            return text
    return text
