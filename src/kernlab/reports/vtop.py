"""`kernlab vtop`: one address through every layer, or page presence over a range of addresses.

The readers (kernlab.mm.vtop) gather the facts; this module adds the conclusions drawn from
them: what kind of page backs the address (the shared zero page, a huge page, shmem, a private
copy of a file page…) and, over a range, the RSS the pages make once the zero page is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Literal

from kernlab.mm import vtop as walk
from kernlab.mm.ranges import RangeReport
from kernlab.mm.vtop import VtopResult

__all__ = [
    "AddressReport",
    "PageKind",
    "PagesReport",
    "Scope",
    "build",
    "build_pages",
    "page_kind",
    "pages_to_read",
]

Scope = Literal["range", "vma", "all"]


class PageKind(StrEnum):
    """What backs an address, as kpageflags, kpagecount and the VMA tell it."""

    ZERO = "zero"  # the shared zero page: read, never written
    HUGETLB = "hugetlb"
    THP_PMD = "thp_pmd"  # a transparent huge page mapped by one PMD entry
    LARGE_FOLIO = "large_folio"
    THP_PTE = "thp_pte"  # a transparent huge page mapped page by page
    FILE_PRIVATE_COPY = "file_private_copy"  # an anonymous copy of a file page (written MAP_PRIVATE)
    ANON_SHARED = "anon_shared"  # anonymous, still shared with other processes after fork
    ANON = "anon"
    SHMEM = "shmem"
    FILE_SHARED = "file_shared"  # the page cache's own page of the file


@dataclass(frozen=True)
class AddressReport(VtopResult):
    """Everything kernlab knows about one address, and what kind of page backs it."""

    page_kind: PageKind | None = None


@dataclass(frozen=True)
class PagesReport(RangeReport):
    """Page presence over a range, a VMA or the whole process, with the sums a person reads."""

    rss: int = 0  # bytes: present pages without the shared zero page, as RSS counts them
    vsz: int = 0  # bytes: the VMAs' full sizes (scope "all": the process's VSZ)


def build(pid: int | str, address: int) -> AddressReport:
    """Follow ``address`` of process ``pid`` through every layer."""
    result = walk.vtop(pid, address)
    copied = {f.name: getattr(result, f.name) for f in fields(result)}
    return AddressReport(**copied, page_kind=page_kind(result))


def build_pages(
    pid: int | str,
    scope: Scope,
    *,
    address: int = 0,
    size: int = 0,
    vma_index: int = 0,
    on_pages: Callable[[int], None] | None = None,
) -> PagesReport:
    """Count present, swapped and never-touched pages over ``scope``."""
    if scope == "range":
        counted = walk.vtop_range(pid, address, size, on_pages)
    elif scope == "vma":
        counted = walk.vtop_vma(pid, vma_index, on_pages)
    else:
        counted = walk.vtop_all(pid, on_pages)
    total = counted.total
    copied = {f.name: getattr(counted, f.name) for f in fields(counted)}
    return PagesReport(
        **copied,
        rss=(total.present - (total.zero_page or 0)) * counted.page_size,
        vsz=sum(part.vma.size for part in counted.vmas),
    )


def pages_to_read(
    pid: int | str, scope: Scope, *, address: int = 0, size: int = 0, vma_index: int = 0
) -> int:
    """How many pages :func:`build_pages` will read: the total of a progress bar."""
    return walk.total_pages(pid, scope, address, size, vma_index)


def page_kind(r: VtopResult) -> PageKind | None:
    """The kind of page at the address; None when no physical page can be looked at."""
    page = r.page
    if page is not None and page.has("ZERO_PAGE"):
        return PageKind.ZERO
    if r.huge is not None:
        if r.huge.kind == "hugetlb":
            return PageKind.HUGETLB
        if r.huge.pmd_mapped:
            return PageKind.THP_PMD
        if r.huge.kind == "large-folio":
            return PageKind.LARGE_FOLIO
        return PageKind.THP_PTE
    if page is None:
        return None
    count = page.mapcount if page.mapcount is not None else 1
    if page.has("ANON"):
        if r.file is not None:
            return PageKind.FILE_PRIVATE_COPY
        return PageKind.ANON_SHARED if count > 1 else PageKind.ANON
    if page.has("SWAPBACKED"):
        return PageKind.SHMEM
    if r.file is not None:
        return PageKind.FILE_SHARED
    return None
