"""What `kernlab vtop`'s figures mean: where an address leads, and what a range's pages say."""

from __future__ import annotations

import re

from kernlab.explain import count, has, say
from kernlab.mm.paging import PagingMode
from kernlab.proc.cmdline import printable
from kernlab.proc.maps import Vma
from kernlab.reports.vtop import AddressReport, PageKind, PagesReport
from kernlab.units import format_bytes, percent_text

__all__ = [
    "address_sentences",
    "evidence_texts",
    "growth_sentences",
    "guard_gap_text",
    "kernel_sentences",
    "method_text",
    "no_vma_sentences",
    "pages_sentences",
    "paging_line",
    "paging_phrase",
    "size_text",
    "value_text",
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
        method=method_text(mode),
    )


# mm.paging words its method and evidence in English; each known phrase has a catalog key
# (vtop.paging_how.<key>). A phrase that is only code (CONFIG_PGTABLE_LEVELS=5, /proc/cpuinfo
# mmu: sv48) is the same in every language and is shown as it is.
_PAGING_PHRASES = {
    "mmap probe above 2^47": "mmap_probe",
    "CONFIG_PGTABLE_LEVELS and CPU flag la57": "config_and_la57",
    "CONFIG_ARM64_VA_BITS and page size": "arm64_va_bits",
    "CONFIG_X86_PAE absent": "no_pae",
    "no CONFIG_X86_PAE": "no_pae",
    "CONFIG_PGTABLE_LEVELS unknown": "levels_unknown",
    "CPU flag la57 present": "la57_present",
    "CPU flag la57 absent": "la57_absent",
    "mmap probe failed": "probe_failed",
}
_ASSUMED = re.compile(r"VA bits assumed to fill (\d+) levels")


def paging_phrase(phrase: str) -> str:
    """One of mm.paging's English phrases (a method or an observation) in the current language."""
    key = _PAGING_PHRASES.get(phrase)
    if key is not None:
        return say(f"vtop.paging_how.{key}")
    assumed = _ASSUMED.fullmatch(phrase)
    if assumed is not None:
        return say("vtop.paging_how.assumed", levels=count("vtop.n.level", int(assumed.group(1))))
    return phrase


def method_text(mode: PagingMode) -> str:
    """How the level count was found, in the current language."""
    return paging_phrase(mode.method)


def evidence_texts(mode: PagingMode) -> list[str]:
    """The observations behind the method, the mmap probe's answer last."""
    out = [paging_phrase(e) for e in mode.evidence]
    p = mode.probe
    if p is not None:
        key = "vtop.paging_how.probe_above" if p.above_4level_top else "vtop.paging_how.probe_below"
        out.append(say(key, hint=f"{p.hint:#x}", granted=f"{p._granted:#x}"))
    return out


def value_text(group: str, value: str) -> str:
    """A reader's keyword (a verdict, a state, a half) as the view shows it: the catalog's word
    (vtop.value.<group>.<value>) where it has one, else the keyword itself."""
    key = f"vtop.value.{group}.{value}"
    return say(key) if has(key) else value


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
        return say("vtop.walk_huge", walk=walk_text(r), size=size_text(r.huge.size), table="PMD")
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
    if r.file is not None and r.vma is not None and r.vma.memory_object is not None:
        return say(
            f"vtop.where.{r.vma.memory_object}",
            label=printable(r.vma.memory_label),
            offset=f"{r.file.file_offset:#x}",
        )
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
    mappers = 1 if r.page is None or r.page.mapcount is None else r.page.mapcount
    if kind is PageKind.ANON_SHARED:
        return say("vtop.kind.anon_shared", mappings=count("vtop.n.other_mapping", mappers - 1))
    if kind in (PageKind.SHMEM, PageKind.FILE_SHARED):
        return say(f"vtop.kind.{kind.value}", times=count("vtop.n.time", mappers))
    return say(f"vtop.kind.{kind.value}")


def _paging_sentence(mode: PagingMode) -> str | None:
    """Say so when the kernel runs fewer page-table levels than it was built for."""
    if not mode.configured_levels or mode.configured_levels == mode.levels:
        return None
    reason = say("vtop.paging_reason_no_la57" if mode.cpu_la57 is False else "vtop.paging_reason_boot")
    return say(
        "vtop.paging_configured",
        configured=count("vtop.n.level", mode.configured_levels),
        levels=mode.levels,
        reason=reason,
    )


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def no_vma_sentences(r: AddressReport) -> list[str]:
    """The address is in no VMA: the kernel half, the hole between the halves, a stack that
    would grow there, or nothing — then which areas are nearest, and how far."""
    if r.kernel is not None:
        return kernel_sentences(r)
    if r.growth is not None:
        out = growth_sentences(r)
    else:
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


def _limit_text(limit: int | None) -> str:
    return say("vtop.stack.unlimited") if limit is None else size_text(limit)


def guard_gap_text(r: AddressReport) -> str:
    g = r.growth
    assert g is not None
    key = "vtop.stack.gap_cmdline" if g.guard_gap.from_cmdline else "vtop.stack.gap_default"
    return say(key, size=size_text(g.guard_gap.bytes), pages=g.guard_gap.pages)


def growth_sentences(r: AddressReport) -> list[str]:
    """What an access below a stack that grows down does, and how far down it can grow."""
    g = r.growth
    assert g is not None
    fields = {
        "address": f"{r.address:#x}",
        "stack": vma_text(g.stack),
        "new_start": f"{g.new_start:#x}",
        "new_size": size_text(g.new_size),
        "rlimit": _limit_text(g.rlimit),
        "gap": guard_gap_text(r),
        "below": vma_text(g.below) if g.below is not None else "",
        "left": size_text(max(0, g.new_start - g.below.end)) if g.below is not None else "",
        "min_addr": f"{g.mmap_min_addr:#x}",
    }
    out = [say(f"vtop.stack.{g.verdict}", **fields)]
    lowest = {**fields, "lowest": f"{g.lowest:#x}"}
    out.append(say(f"vtop.stack.lowest.{g.limited_by}", **lowest))
    return out


def kernel_sentences(r: AddressReport) -> list[str]:
    """An address outside the user half: the non-canonical hole, or the kernel half's area and
    symbol (or why kallsyms names none)."""
    k = r.kernel
    assert k is not None
    if k.half == "non_canonical":
        return [
            say(
                "vtop.kernel.non_canonical",
                address=f"{r.address:#x}",
                va_bits=r.paging.va_bits,
                sign_bit=r.paging.va_bits - 1,
                user_top=f"{k.user_top:#x}",
                kernel_start=f"{k.kernel_start:#x}",
            )
        ]
    out = [
        say(
            "vtop.kernel.summary",
            address=f"{r.address:#x}",
            kernel_start=f"{k.kernel_start:#x}",
            region=_region_text(r),
            pid=r.target.pid,
        )
    ]
    if k.symbol is not None:
        module = say("vtop.kernel.in_module", module=k.symbol.module) if k.symbol.module else ""
        out.append(
            say(
                "vtop.kernel.symbol",
                symbol=k.symbol.name,
                offset=f"{k.symbol.offset:#x}",
                type=k.symbol.type,
                module=module,
            )
        )
    elif k.region is None or k.region.key in ("kernel_image", "modules"):
        # Only the image and modules have symbols; elsewhere no name is missing.
        access = k.access
        if access is not None and access.shown is not True:
            cause = access.cause if access.shown is False else "unknown"
            paranoid = "unknown" if access.perf_event_paranoid is None else access.perf_event_paranoid
            out.append(say(f"vtop.kernel.hidden.{cause}", paranoid=paranoid))
        else:
            out.append(say("vtop.kernel.no_symbol"))
    return out


def _region_text(r: AddressReport) -> str:
    k = r.kernel
    assert k is not None
    if k.region is None:
        return say("vtop.kernel.region.unknown_arch", arch=r.paging.arch)
    key = k.region.key
    if key == "kernel_image" and k.image_part is not None:
        key = k.image_part
    return say(
        f"vtop.kernel.region.{key}",
        start=f"{k.region.start:#x}",
        end=f"{k.region.end:#x}",
        note=say(f"vtop.kernel.bases.{k.bases_note or 'unknown'}"),
    )


def pages_sentences(report: PagesReport) -> list[str]:
    """How many pages are present, and what the others are (never touched, swapped, huge…)."""
    t = report.total
    # Each sentence's verb agrees with the pages it counts: explain.count picks .one or .many.
    pages = count("vtop.n.page", t.pages)
    percent = percent_text(t.present, t.pages)
    if report.scope == "all":
        out = [
            count(
                "vtop.range.all",
                t.present,
                pages=pages,
                percent=percent,
                pid=report.pid,
                vmas=count("vtop.n.vma", len(report.vmas)),
                rss=size_text(report.rss),
                vsz=size_text(report.vsz),
            )
        ]
    else:
        out = [count("vtop.range.summary", t.present, pages=pages, percent=percent)]
    if t.never_touched and t.never_touched + t.present == t.pages:
        out.append(count("vtop.range.never", t.never_touched))
    elif t.never_touched:
        out.append(count("vtop.range.never_some", t.never_touched))
    if t.swapped:
        out.append(count("vtop.range.swapped", t.swapped))
    if t.unmapped:
        out.append(count("vtop.range.unmapped", t.unmapped))
    if t.no_entry:
        out.append(count("vtop.range.no_entry", t.no_entry))
    if t.huge:
        out.append(
            count(
                "vtop.range.huge",
                t.huge,
                huge_percent=percent_text(t.huge, t.present),
                source=t.huge_source,
            )
        )
    if t.zero_page:
        out.append(count("vtop.range.zero_page", t.zero_page, rss=size_text(report.rss)))
    if t.present and not t.pfn_readable:
        out.append(say("vtop.range.pfn_hidden"))
    return out
