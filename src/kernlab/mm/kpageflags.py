"""Physical page facts by PFN: /proc/kpageflags (what the page is) and /proc/kpagecount.

Flag bits 0-26 are the stable ABI of include/uapi/linux/kernel-page-flags.h; 32 and up are
"kernel hacking assistances" from include/linux/kernel-page-flags.h that fs/proc/page.c only
reports on some configurations. Both files need CAP_SYS_ADMIN and are indexed by PFN, 8 bytes
per frame. kpagecount is the number of times the page is mapped (page_mapcount).
"""

from __future__ import annotations

import bisect
import os
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from kernlab.errors import NotSupported, OSFailure, PermissionNeeded

KPAGEFLAGS = "/proc/kpageflags"
KPAGECOUNT = "/proc/kpagecount"
_GAP = 64  # frames between two wanted ones that are still read in the same pread
_SPAN = 1 << 16  # frames per pread at most (512 KiB)

# bit -> name, as page-types(1) and the kernel headers spell them (without the KPF_ prefix).
KPF_NAMES: dict[int, str] = {
    0: "LOCKED",
    1: "ERROR",
    2: "REFERENCED",
    3: "UPTODATE",
    4: "DIRTY",
    5: "LRU",
    6: "ACTIVE",
    7: "SLAB",
    8: "WRITEBACK",
    9: "RECLAIM",
    10: "BUDDY",
    11: "MMAP",
    12: "ANON",
    13: "SWAPCACHE",
    14: "SWAPBACKED",
    15: "COMPOUND_HEAD",
    16: "COMPOUND_TAIL",
    17: "HUGE",
    18: "UNEVICTABLE",
    19: "HWPOISON",
    20: "NOPAGE",
    21: "KSM",
    22: "THP",
    23: "OFFLINE",
    24: "ZERO_PAGE",
    25: "IDLE",
    26: "PGTABLE",
    # kernel-internal, unstable
    32: "RESERVED",
    33: "MLOCKED",
    34: "MAPPEDTODISK",
    35: "PRIVATE",
    36: "PRIVATE_2",
    37: "OWNER_PRIVATE",
    38: "ARCH",
    39: "UNCACHED",
    40: "SOFTDIRTY",
    41: "ARCH_2",
    42: "ARCH_3",
}
KPF_BITS: dict[str, int] = {name: bit for bit, name in KPF_NAMES.items()}


@dataclass(frozen=True)
class PageFlags:
    """The /proc/kpageflags word of one PFN and its flag names (low bit first)."""

    pfn: int
    raw: int
    names: tuple[str, ...]
    mapcount: int | None = None  # /proc/kpagecount, when it was read

    def has(self, name: str) -> bool:
        return bool(self.raw >> KPF_BITS[name] & 1)

    @property
    def is_thp(self) -> bool:
        return self.has("THP")

    @property
    def is_compound_head(self) -> bool:
        return self.has("COMPOUND_HEAD")

    @property
    def is_compound_tail(self) -> bool:
        return self.has("COMPOUND_TAIL")


def flag_names(raw: int) -> tuple[str, ...]:
    """Names of the bits set in a kpageflags word; unknown bits appear as ``BIT<n>``."""
    return tuple(KPF_NAMES.get(bit, f"BIT{bit}") for bit in range(64) if raw >> bit & 1)


def _open(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY)
    except PermissionError as exc:
        raise PermissionNeeded(
            f"reading {path} needs CAP_SYS_ADMIN (run as root)",
            path=path,
            key="errors.mm.needs_sys_admin",
            fields={"path": path},
        ) from exc
    except FileNotFoundError as exc:
        raise NotSupported(
            f"{path} does not exist (kernel built without CONFIG_PROC_PAGE_MONITOR)",
            path=path,
            key="errors.mm.no_page_monitor",
            fields={"path": path},
        ) from exc
    except OSError as exc:
        raise OSFailure(
            f"cannot open {path}: {exc.strerror}",
            path=path,
            key="errors.mm.cannot_open",
            fields={"path": path, "reason": exc.strerror},
        ) from exc


def _read_words(path: str, pfns: Iterable[int]) -> dict[int, int]:
    """8-byte words at index ``pfn`` of ``path``; neighbouring PFNs are read with one pread."""
    wanted = sorted(set(pfns))
    out: dict[int, int] = {}
    if not wanted:
        return out
    # Clusters of frames close together (a THP is 512 neighbours; pages of one process often
    # sit a few frames apart) are read with one pread each.
    breaks = [k for k in range(1, len(wanted)) if wanted[k] - wanted[k - 1] > _GAP]
    bounds = zip([0, *breaks], [*breaks, len(wanted)], strict=True)
    fd = _open(path)
    try:
        for lo, hi in bounds:
            while lo < hi:
                first = wanted[lo]
                end = bisect.bisect_left(wanted, first + _SPAN, lo, hi)
                cluster = wanted[lo:end]
                try:
                    data = os.pread(fd, 8 * (cluster[-1] - first + 1), 8 * first)
                except PermissionError as exc:
                    raise PermissionNeeded(
                        f"reading {path} needs CAP_SYS_ADMIN (run as root)",
                        path=path,
                        key="errors.mm.needs_sys_admin",
                        fields={"path": path},
                    ) from exc
                except OSError as exc:
                    raise OSFailure(
                        f"cannot read {path} at PFN {first:#x}: {exc.strerror}",
                        path=path,
                        key="errors.mm.cannot_read_pfn",
                        fields={"path": path, "pfn": f"{first:#x}", "reason": exc.strerror},
                    ) from exc
                words = array("Q")
                words.frombytes(data[: len(data) - len(data) % 8])
                if len(words) == cluster[-1] - first + 1:
                    out.update(zip(cluster, [words[p - first] for p in cluster], strict=True))
                else:  # the file ended early: PFNs past the end of memory are left out
                    out.update((p, words[p - first]) for p in cluster if p - first < len(words))
                lo = end
    finally:
        os.close(fd)
    return out


def read_kpageflags(pfns: Iterable[int]) -> dict[int, int]:
    """Raw /proc/kpageflags words for each PFN (PFNs beyond the end of memory are left out)."""
    return _read_words(KPAGEFLAGS, pfns)


def read_kpagecount(pfns: Iterable[int]) -> dict[int, int]:
    """/proc/kpagecount for each PFN: how many page-table entries map that frame."""
    return _read_words(KPAGECOUNT, pfns)


def page_flags(pfn: int, with_count: bool = True) -> PageFlags:
    """Flags (and map count) of one physical page."""
    raw = read_kpageflags([pfn]).get(pfn)
    if raw is None:
        raise NotSupported(
            f"PFN {pfn:#x} is beyond the end of {KPAGEFLAGS}",
            key="errors.mm.pfn_past_end",
            fields={"pfn": f"{pfn:#x}", "path": KPAGEFLAGS},
        )
    count = read_kpagecount([pfn]).get(pfn) if with_count else None
    return PageFlags(pfn, raw, flag_names(raw), count)
