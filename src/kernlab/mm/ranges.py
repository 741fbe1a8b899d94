"""Page-by-page presence over a range of a process's address space: where VSZ and RSS differ.

For each page the pagemap entry says present (in RAM), swapped, or neither (never touched, or
dropped); pages outside every VMA are unmapped. Among present pages, /proc/kpageflags tells
which belong to a huge page (THP or hugetlbfs) when the PFNs are readable; otherwise smaps'
AnonHugePages/ShmemPmdMapped/FilePmdMapped (PMD-mapped bytes) stands in.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kernlab.errors import BadInput, KernlabError
from kernlab.mm.kpageflags import KPF_BITS, read_kpageflags
from kernlab.mm.pagemap import PFN_MASK, PRESENT, SWAPPED, read_pagemap_raw
from kernlab.mm.strip import bitmap_to_int, int_to_bitmap
from kernlab.proc.maps import Vma

_HUGE_MASK = 1 << KPF_BITS["THP"] | 1 << KPF_BITS["HUGE"]
_ZERO_MASK = 1 << KPF_BITS["ZERO_PAGE"]
# 16 Mi pages (64 GiB with 4 KiB pages): 128 MiB of pagemap and a few seconds of counting.
MAX_PAGES = 1 << 24


@dataclass(frozen=True)
class PageCounts:
    """Counts of pages in one stretch of address space, by pagemap state."""

    start: int
    end: int
    pages: int
    present: int  # in RAM: what RSS counts
    swapped: int
    never_touched: int  # inside a VMA, neither present nor swapped: counted by VSZ only
    unmapped: int  # in no VMA (gaps): an access there is a segmentation fault
    no_entry: int  # inside a VMA but beyond what pagemap reports (above TASK_SIZE: [vsyscall])
    huge: int | None  # present pages that belong to a huge page; None when not knowable
    huge_source: str | None  # "kpageflags" or "smaps"
    # Present pages that map the shared zero page (read but never written): pagemap calls
    # them present, RSS does not count them. None when kpageflags could not be read.
    zero_page: int | None
    pfn_readable: bool  # PFNs were shown to us (CAP_SYS_ADMIN)
    # Bitmaps of the pages from ``start``: hex of little-endian bytes, bit i = page i
    # (kernlab.mm.strip.bitmap_runs turns one into (first page, count) runs).
    present_bitmap: str
    swapped_bitmap: str


@dataclass(frozen=True)
class VmaCounts:
    """PageCounts of one VMA, with which VMA it was."""

    index: int
    vma: Vma
    counts: PageCounts


@dataclass(frozen=True)
class RangeReport:
    """Presence over a range, a VMA, or the whole process (``scope`` says which)."""

    pid: int
    comm: str
    scope: str  # "range", "vma", "all"
    page_size: int
    total: PageCounts
    vmas: tuple[VmaCounts, ...]  # the VMAs the range touches, each counted


# The state bits (63 present, 62 swapped) sit in the most significant byte of each entry.
_TOP_BYTE = 7 if sys.byteorder == "little" else 0
_PRESENT_OF_TOP = bytes(1 if b & PRESENT >> 56 else 0 for b in range(256))
_SWAPPED_OF_TOP = bytes(1 if b & SWAPPED >> 56 and not b & PRESENT >> 56 else 0 for b in range(256))
_AS_BIT_CHAR = bytes.maketrans(b"\x00\x01", b"01")


def _state_flags(raw: array) -> tuple[bytes, bytes]:
    """One byte per page (0 or 1): present, and swapped (not present), from the top bytes."""
    top = raw.tobytes()[_TOP_BYTE::8]
    return top.translate(_PRESENT_OF_TOP), top.translate(_SWAPPED_OF_TOP)


def _pack(flags: bytes, pages: int) -> str:
    """0/1 bytes (page i at index i) as a bitmap in the hex form PageCounts uses."""
    if not flags:
        return int_to_bitmap(0, pages)
    # int(..., 2) reads the most significant digit first, so page 0 goes last.
    return int_to_bitmap(int(flags[::-1].translate(_AS_BIT_CHAR), 2), pages)


def _huge_from_smaps(vmas: Sequence[Vma], page_size: int) -> int | None:
    total = 0
    for vma in vmas:
        values = (vma.anon_huge_pages, vma.shmem_pmd_mapped, vma.file_pmd_mapped)
        if all(v is None for v in values):
            return None
        total += sum(v or 0 for v in values)
    return total * 1024 // page_size


def count_pages(
    pid: int,
    start: int,
    end: int,
    vma: Vma,
    page_size: int,
    on_pages: Callable[[int], None] | None = None,
) -> PageCounts:
    """Count page states over [start, end), a page-aligned stretch inside ``vma``."""
    pages = (end - start) // page_size
    if pages > MAX_PAGES:
        raise BadInput(
            f"{vma.label} is too large to count at once (page count {pages:,}, "
            f"{(end - start) >> 30:,} GiB of address space; the limit is {MAX_PAGES:,}): "
            "choose a part with --range",
            key="errors.mm.vma_too_large",
            fields={"label": vma.label, "pages": pages, "gib": (end - start) >> 30, "most": MAX_PAGES},
        )
    raw = read_pagemap_raw(pid, start, pages, page_size, on_pages)
    have = len(raw)
    present_flags, swapped_flags = _state_flags(raw)
    present = present_flags.count(1)
    swapped = swapped_flags.count(1)
    pfns: list[int] = []
    i = present_flags.find(1)
    while i != -1:
        frame = raw[i] & PFN_MASK
        if frame:
            pfns.append(frame)
        i = present_flags.find(1, i + 1)
    never = have - present - swapped
    pfn_readable = bool(pfns) or present == 0
    huge: int | None = None
    zero: int | None = 0 if present == 0 else None
    source: str | None = None
    if pfns:
        try:
            flags = read_kpageflags(pfns)
            # A frame may be mapped at several addresses of the range: count mappings, not frames.
            huge_frames = {frame for frame, word in flags.items() if word & _HUGE_MASK}
            huge = sum(1 for frame in pfns if frame in huge_frames) if huge_frames else 0
            zero_frames = {frame for frame, word in flags.items() if word & _ZERO_MASK}
            zero = sum(1 for frame in pfns if frame in zero_frames) if zero_frames else 0
            source = "kpageflags"
        except KernlabError:
            huge = None
    if huge is None and start == vma.start and end == vma.end:
        huge = _huge_from_smaps([vma], page_size)
        source = "smaps" if huge is not None else None
    if huge is None and present == 0:
        huge, source = 0, "pagemap"
    return PageCounts(
        start=start,
        end=end,
        pages=pages,
        present=present,
        swapped=swapped,
        never_touched=never,
        unmapped=0,
        no_entry=pages - have,
        huge=huge,
        zero_page=zero,
        huge_source=source,
        pfn_readable=pfn_readable,
        present_bitmap=_pack(present_flags, pages),
        swapped_bitmap=_pack(swapped_flags, pages),
    )


def add_counts(
    parts: Sequence[PageCounts], start: int, end: int, page_size: int, skip_gaps: bool = False
) -> PageCounts:
    """One PageCounts for several parts in address order, over [start, end).

    Pages between parts count as unmapped, unless ``skip_gaps`` lays the parts end to end (the
    whole process: the gaps between VMAs are most of a 128 TiB address space).
    """
    present_bits = swapped_bits = 0
    offset = 0
    for part in parts:
        base = offset if skip_gaps else (part.start - start) // page_size
        offset += part.pages
        present_bits |= bitmap_to_int(part.present_bitmap) << base
        swapped_bits |= bitmap_to_int(part.swapped_bitmap) << base
    huge_known = all(p.huge is not None for p in parts)
    sources = {p.huge_source for p in parts if p.huge_source}
    covered = sum(p.pages for p in parts)
    pages = covered if skip_gaps else (end - start) // page_size
    return PageCounts(
        start=start,
        end=end,
        pages=pages,
        present=sum(p.present for p in parts),
        swapped=sum(p.swapped for p in parts),
        never_touched=sum(p.never_touched for p in parts),
        unmapped=sum(p.unmapped for p in parts) + pages - covered,
        no_entry=sum(p.no_entry for p in parts),
        huge=sum(p.huge or 0 for p in parts) if huge_known else None,
        zero_page=sum(p.zero_page or 0 for p in parts)
        if all(p.zero_page is not None for p in parts)
        else None,
        huge_source="+".join(sorted(sources)) or None,
        pfn_readable=all(p.pfn_readable for p in parts),
        present_bitmap=int_to_bitmap(present_bits, pages),
        swapped_bitmap=int_to_bitmap(swapped_bits, pages),
    )
