"""What `kernlab vtop`'s figures mean: where an address leads, and what a range's pages say."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.mm.paging import PagingMode
from kernlab.proc.maps import Vma
from kernlab.reports.vtop import AddressReport, PageKind, PagesReport
from kernlab.units import format_bytes, percent_text

__all__ = [
    "address_sentences",
    "no_vma_sentences",
    "pages_sentences",
    "paging_line",
    "size_text",
    "vma_text",
    "walk_text",
]


def size_text(size: int) -> str:
    return format_bytes(size, trim_zero=True)


def vma_text(vma: Vma) -> str:
    return f"{vma.start:#x}-{vma.end:#x} {vma.perms} {vma.label}"


def paging_line(mode: PagingMode) -> str:
    """The paging in use, in one line: levels, their names, VA bits, page size, how found."""
    return say(
        "vtop.paging",
        levels=mode.levels,
        names=" → ".join(mode.level_names),
        va_bits=mode.va_bits,
        page=size_text(mode.page_size),
        method=mode.method,
    )


def walk_text(r: AddressReport) -> str:
    """The indices the walk uses, top level first; a PMD-mapped huge page ends the walk there."""
    indices = r.split.indices
    if r.huge is not None and r.huge.pmd_mapped:
        shift = r.paging.level_shift("PMD")
        indices = tuple(li for li in indices if li.shift >= shift)
    return " → ".join(f"{li.level} {li.index}" for li in indices)


def address_sentences(r: AddressReport) -> list[str]:
    """Where the address leads and in what state, what kind of page it is, and the paging."""
    sentences = [
        say(
            "vtop.summary",
            address=f"{r.address:#x}",
            where=_where(r),
            walk=_walk(r),
            offset=f"{r.huge.offset:#x}"
            if r.huge is not None and r.huge.pmd_mapped
            else f"{r.split.offset:#x}",
            state=_state(r),
        )
    ]
    kind = _kind_sentence(r)
    if kind:
        sentences.append(kind)
    paging = _paging_sentence(r.paging)
    if paging:
        sentences.append(paging)
    return sentences


def _walk(r: AddressReport) -> str:
    if r.huge is not None and r.huge.pmd_mapped:
        return say("vtop.walk_huge", walk=walk_text(r), size=size_text(r.huge.size), level="PMD")
    return walk_text(r)


def _where(r: AddressReport) -> str:
    if r.elf is not None and r.elf.section and r.elf.symbol:
        return say(
            "vtop.where.elf_symbol",
            file=_base(r.elf.path),
            section=r.elf.section,
            symbol=f"{r.elf.symbol}+{r.elf.symbol_offset:#x}",
        )
    if r.elf is not None and r.elf.section:
        return say("vtop.where.elf_section", file=_base(r.elf.path), section=r.elf.section)
    if r.file is not None:
        return say("vtop.where.file", file=r.file.path, offset=f"{r.file.file_offset:#x}")
    if r.vma is not None and r.vma.name:
        return say("vtop.where.named", label=r.vma.name)
    return say("vtop.where.anon")


def _state(r: AddressReport) -> str:
    e = r.pagemap
    if e is None:
        return say("vtop.state.no_entry")
    if e.present and e.pfn is None:
        return say("vtop.state.present_hidden")
    if e.present and r.page is not None:
        return say("vtop.state.present_pfn", pfn=f"{e.pfn:#x}", flags=", ".join(r.page.names) or "none")
    if e.present:
        return say("vtop.state.present_pfn_noflags", pfn=f"{e.pfn:#x}")
    if e.swapped:
        return say("vtop.state.swapped", type=e.swap_type, offset=f"{e.swap_offset:#x}")
    if r.file is None:
        return say("vtop.state.absent_anon")
    if r.file.in_page_cache is True:
        return say("vtop.state.absent_file_cached")
    if r.file.in_page_cache is False:
        return say("vtop.state.absent_file_uncached")
    return say("vtop.state.absent_file")


def _kind_sentence(r: AddressReport) -> str | None:
    kind = r.page_kind
    if kind is None:
        return None
    if kind in (PageKind.HUGETLB, PageKind.THP_PMD, PageKind.LARGE_FOLIO, PageKind.THP_PTE):
        return say(f"vtop.kind.{kind.value}", size=size_text(r.huge.size if r.huge else 0))
    count = 1 if r.page is None or r.page.mapcount is None else r.page.mapcount
    if kind is PageKind.ANON_SHARED:
        return say("vtop.kind.anon_shared", others=count - 1)
    if kind in (PageKind.SHMEM, PageKind.FILE_SHARED):
        return say(f"vtop.kind.{kind.value}", count=count)
    return say(f"vtop.kind.{kind.value}")


def _paging_sentence(mode: PagingMode) -> str | None:
    """Say so when the kernel runs fewer page-table levels than it was built for."""
    if not mode.configured_levels or mode.configured_levels == mode.levels:
        return None
    reason = say("vtop.paging_reason_no_la57" if mode.cpu_la57 is False else "vtop.paging_reason_boot")
    return say("vtop.paging_configured", configured=mode.configured_levels, levels=mode.levels, reason=reason)


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def no_vma_sentences(r: AddressReport) -> list[str]:
    """The address is in no VMA: which areas are nearest, and how far."""
    out = [say("vtop.no_vma.summary", address=f"{r.address:#x}", pid=r.target.pid)]
    below, above = r.below, r.above
    if below is not None and above is not None:
        out.append(
            say(
                "vtop.no_vma.between",
                below=vma_text(below),
                above=vma_text(above),
                below_gap=size_text(r.address - below.end + 1),
                above_gap=size_text(above.start - r.address),
            )
        )
    elif below is not None:
        out.append(
            say(
                "vtop.no_vma.below_only",
                below=vma_text(below),
                below_gap=size_text(r.address - below.end + 1),
            )
        )
    elif above is not None:
        out.append(
            say("vtop.no_vma.above_only", above=vma_text(above), above_gap=size_text(above.start - r.address))
        )
    return out


def pages_sentences(report: PagesReport) -> list[str]:
    """How many pages are present, and what the others are (never touched, swapped, huge…)."""
    t = report.total

    def n(value: int) -> str:
        return f"{value:,}"

    if report.scope == "all":
        out = [
            say(
                "vtop.range.all",
                present=n(t.present),
                pages=n(t.pages),
                percent=percent_text(t.present, t.pages),
                pid=report.pid,
                vmas=len(report.vmas),
                rss=size_text(report.rss),
                vsz=size_text(report.vsz),
            )
        ]
    else:
        out = [
            say(
                "vtop.range.summary",
                present=n(t.present),
                pages=n(t.pages),
                percent=percent_text(t.present, t.pages),
            )
        ]
    if t.never_touched and t.never_touched + t.present == t.pages:
        out.append(say("vtop.range.never", never=n(t.never_touched)))
    elif t.never_touched:
        out.append(say("vtop.range.never_some", never=n(t.never_touched)))
    if t.swapped:
        out.append(say("vtop.range.swapped", swapped=n(t.swapped)))
    if t.unmapped:
        out.append(say("vtop.range.unmapped", unmapped=n(t.unmapped)))
    if t.no_entry:
        out.append(say("vtop.range.no_entry", count=n(t.no_entry)))
    if t.huge:
        out.append(
            say(
                "vtop.range.huge",
                huge=n(t.huge),
                huge_percent=percent_text(t.huge, t.present),
                source=t.huge_source,
            )
        )
    if t.zero_page:
        out.append(say("vtop.range.zero_page", zero=n(t.zero_page), rss=size_text(report.rss)))
    if t.present and not t.pfn_readable:
        out.append(say("vtop.range.pfn_hidden"))
    return out
