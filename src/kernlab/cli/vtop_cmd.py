"""`kernlab vtop PID ADDRESS`: one address through page table, VMA, file, pagemap and page flags."""

from __future__ import annotations

from typing import Any

import click

from kernlab.cli.common import ADDRESS, Output, examples, output_options, strip_width_option
from kernlab.units import format_bytes, percent_text

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class SizeType(click.ParamType):
    """A size in bytes: 8192, 0x2000, 8K, 2M, 1G (binary units)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().replace("_", "")
        for suffix in ("ib", "b"):
            if text.endswith(suffix) and text[: -len(suffix)][-1:].isalpha():
                text = text[: -len(suffix)]
        try:
            if text.startswith("0x"):
                return int(text, 16)
            unit = text[-1:] if text[-1:] in _UNITS and text[-1:] else ""
            number = text[:-1] if unit else text
            return int(float(number) * _UNITS[unit]) if "." in number else int(number) * _UNITS[unit]
        except (ValueError, KeyError):
            self.fail(f"{value!r} is not a size (use 8192, 0x2000, 8K, 2M or 1G)", param, ctx)


SIZE = SizeType()


def _size_text(size: int) -> str:
    return format_bytes(size, trim_zero=True)


@click.command(
    "vtop",
    epilog=examples(
        "kernlab vtop 1234 0x7f3a12345678              one address through every layer",
        "kernlab vtop 1234 0x55d0c0000000 --range 4M   present / swapped / never-touched pages",
        "kernlab vtop 1234 --vma 5                     the 6th line of /proc/1234/maps, page by page",
        "kernlab vtop 1234 --all --json                every VMA of the process",
    ),
)
@click.argument("pid", type=str)
@click.argument("address", type=ADDRESS, required=False)
@click.option("--range", "size", type=SIZE, help="Count pages over SIZE bytes from ADDRESS (8K, 2M, 0x1000).")
@click.option(
    "--vma",
    "vma_index",
    type=int,
    metavar="N",
    help="Count pages over VMA number N (0 = first line of maps).",
)
@click.option("--all", "whole", is_flag=True, help="Count pages over every VMA of the process.")
@strip_width_option
@output_options
def vtop(
    pid: str,
    address: int | None,
    size: int | None,
    vma_index: int | None,
    whole: bool,
    width: int,
    out: Output,
) -> None:
    """Follow ADDRESS of process PID through every layer: page-table indices for the paging in
    use, the VMA, the file and ELF symbol, the pagemap entry, the page flags and page cache.

    With --range, --vma or --all: how many pages are present, swapped or never touched, and a
    presence strip showing where.
    """
    from kernlab.errors import BadInput

    chosen = sum(x for x in (size is not None, vma_index is not None, whole))
    if chosen > 1:
        raise BadInput("choose one of --range, --vma and --all")
    if address is None and (size is not None or chosen == 0):
        raise BadInput("give an ADDRESS (or use --vma N or --all)")
    if address is not None and (vma_index is not None or whole):
        raise BadInput("--vma and --all count whole areas: leave out ADDRESS, or use ADDRESS --range SIZE")
    if chosen == 0:
        from kernlab.mm.vtop import vtop as follow

        result = follow(pid, address)  # type: ignore[arg-type]
        out.emit(result, _render_one)
        return
    from kernlab.mm import vtop as lib
    from kernlab.render.progress import progress

    scope = "range" if size is not None else "vma" if vma_index is not None else "all"
    pages = lib.total_pages(pid, scope, address or 0, size or 0, vma_index or 0)
    with progress("reading pagemap", total=pages or None) as bar:
        if scope == "range":
            report = lib.vtop_range(pid, address or 0, size or 0, bar.advance)
        elif scope == "vma":
            report = lib.vtop_vma(pid, vma_index or 0, bar.advance)
        else:
            report = lib.vtop_all(pid, bar.advance)
    out.emit(report, lambda r, o: _render_range(r, o, width))


# --- one address ---------------------------------------------------------------------------------


def _bits(li: Any) -> str:
    return f"{li.shift + li.bits - 1}–{li.shift}"


def _vma_text(vma: Any) -> str:
    return f"{vma.start:#x}-{vma.end:#x} {vma.perms} {vma.label}"


def _render_one(r: Any, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import format_hex, print_fields, print_heading, print_table

    mode = r.paging
    print_fields(
        [
            ("process", f"{r.target.pid} ({r.target.comm})"),
            ("address", format_hex(r.address)),
            (
                "paging",
                say(
                    "vtop.paging",
                    levels=mode.levels,
                    names=" → ".join(mode.level_names),
                    va_bits=mode.va_bits,
                    page=_size_text(mode.page_size),
                    method=mode.method,
                ),
            ),
            ("evidence", "; ".join(mode.evidence)),
        ],
        title="kernlab vtop",
    )
    huge_level = "PMD" if r.huge is not None and r.huge.pmd_mapped else None
    rows = []
    for li in r.split.indices:
        skipped = huge_level is not None and li.shift < mode.level_shift(huge_level)
        rows.append(
            [li.level, "—" if skipped else li.index, _bits(li), _size_text(mode.entry_span(li.level))]
        )
    if huge_level:
        rows.append(
            ["offset", format_hex(r.huge.offset), f"{mode.level_shift(huge_level) - 1}–0", "in the huge page"]
        )
    else:
        rows.append(["offset", format_hex(r.split.offset), f"{mode.page_shift - 1}–0", ""])
    print_heading("Page-table indices")
    print_table(["LEVEL", "INDEX", "ADDRESS BITS", "ONE ENTRY MAPS"], rows, right=["INDEX"])

    if r.vma is None:
        if r.below or r.above:
            print_heading("Nearest VMAs")
            print_table(
                ["SIDE", "RANGE", "PERMS", "NAME", "DISTANCE"],
                [
                    [side, f"{v.start:#x}-{v.end:#x}", v.perms, _esc(v.label), _size_text(dist)]
                    for side, v, dist in (
                        ("below", r.below, r.address - r.below.end + 1 if r.below else 0),
                        ("above", r.above, r.above.start - r.address if r.above else 0),
                    )
                    if v is not None
                ],
            )
        for sentence in _no_vma_sentences(r, say):
            out.sentence(_esc(sentence))
        return

    vma = r.vma
    fields = [
        ("VMA", f"#{r.vma_index}: {_vma_text(vma)}"),
        ("kind", vma.kind),
        (
            "size / RSS",
            f"{_size_text(vma.size)} / {vma.rss} KiB" if vma.rss is not None else _size_text(vma.size),
        ),
    ]
    if r.file is not None:
        fields.append(
            ("file offset", format_hex(r.file.file_offset) + (" (file deleted)" if r.file.deleted else ""))
        )
        cached = {True: "yes", False: "no", None: f"unknown ({r.file.page_cache_note})"}[r.file.in_page_cache]
        fields.append(("in page cache", cached))
    if r.elf is not None:
        fields.append(
            ("ELF address", format_hex(r.elf.elf_vaddr) + f" (load bias {format_hex(r.elf.load_bias)})")
        )
        fields.append(("section", r.elf.section or "none (between sections)"))
        if r.elf.symbol:
            fields.append(("symbol", f"{r.elf.symbol}+{r.elf.symbol_offset:#x}"))
    print_heading("Virtual memory area")
    print_fields(fields)

    print_heading("pagemap")
    e = r.pagemap
    if e is None:
        print_fields([("entry", "none (above TASK_SIZE)")])
    else:
        pm = [("raw", f"{e.raw:#018x}"), ("state", e.state)]
        if e.present:
            pm.append(("PFN", format_hex(e.pfn) if e.pfn is not None else "hidden (needs CAP_SYS_ADMIN)"))
        if e.swapped:
            pm.append(("swap", f"type {e.swap_type}, offset {e.swap_offset:#x}"))
        pm += [
            ("soft-dirty", _yes(e.soft_dirty)),
            ("exclusive", _yes(e.exclusive)),
            ("file/shared-anon", _yes(e.file_or_shared_anon)),
        ]
        if e.uffd_wp:
            pm.append(("uffd-wp", "yes"))
        if e.guard:
            pm.append(("guard region", "yes"))
        print_fields(pm)
    if r.page is not None:
        print_heading("Physical page (kpageflags, kpagecount)")
        page_fields = [("flags", ", ".join(r.page.names) or "none"), ("map count", r.page.mapcount)]
        if r.huge is not None:
            page_fields.append(
                (
                    "huge page",
                    f"{r.huge.kind}, {_size_text(r.huge.size)}, "
                    f"{'PMD-mapped' if r.huge.pmd_mapped else 'PTE-mapped'} ({r.huge.evidence})",
                )
            )
        print_fields(page_fields)
    for sentence in _one_sentences(r, say):
        out.sentence(_esc(sentence))


def _esc(text: str) -> str:
    """Keep [heap], [anon] and the like from being read as rich markup."""
    from rich.markup import escape

    return escape(text)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _walk_text(r: Any) -> str:
    walk = " → ".join(f"{li.level} {li.index}" for li in r.split.indices)
    if r.huge is not None and r.huge.pmd_mapped:
        shift = r.paging.level_shift("PMD")
        walk = " → ".join(f"{li.level} {li.index}" for li in r.split.indices if li.shift >= shift)
    return walk


def _one_sentences(r: Any, say: Any) -> list[str]:
    vma = r.vma
    if r.elf is not None and r.elf.section and r.elf.symbol:
        where = say(
            "vtop.where.elf_symbol",
            file=_base(r.elf.path),
            section=r.elf.section,
            symbol=f"{r.elf.symbol}+{r.elf.symbol_offset:#x}",
        )
    elif r.elf is not None and r.elf.section:
        where = say("vtop.where.elf_section", file=_base(r.elf.path), section=r.elf.section)
    elif r.file is not None:
        where = say("vtop.where.file", file=r.file.path, offset=f"{r.file.file_offset:#x}")
    elif vma.name:
        where = say("vtop.where.named", label=vma.name)
    else:
        where = say("vtop.where.anon")
    walk = _walk_text(r)
    if r.huge is not None and r.huge.pmd_mapped:
        walk = say("vtop.walk_huge", walk=walk, size=_size_text(r.huge.size), level="PMD")
        offset = f"{r.huge.offset:#x}"
    else:
        offset = f"{r.split.offset:#x}"
    e = r.pagemap
    if e is None:
        state = say("vtop.state.no_entry")
    elif e.present and e.pfn is None:
        state = say("vtop.state.present_hidden")
    elif e.present and r.page is not None:
        state = say("vtop.state.present_pfn", pfn=f"{e.pfn:#x}", flags=", ".join(r.page.names) or "none")
    elif e.present:
        state = say("vtop.state.present_pfn_noflags", pfn=f"{e.pfn:#x}")
    elif e.swapped:
        state = say("vtop.state.swapped", type=e.swap_type, offset=f"{e.swap_offset:#x}")
    elif r.file is None:
        state = say("vtop.state.absent_anon")
    elif r.file.in_page_cache is True:
        state = say("vtop.state.absent_file_cached")
    elif r.file.in_page_cache is False:
        state = say("vtop.state.absent_file_uncached")
    else:
        state = say("vtop.state.absent_file")
    sentences = [
        say("vtop.summary", address=f"{r.address:#x}", where=where, walk=walk, offset=offset, state=state)
    ]
    kind = _page_kind(r, say)
    if kind:
        sentences.append(kind)
    paging = _paging_sentence(r.paging, say)
    if paging:
        sentences.append(paging)
    return sentences


def _paging_sentence(mode: Any, say: Any) -> str | None:
    """Say so when the kernel runs fewer page-table levels than it was built for."""
    if not mode.configured_levels or mode.configured_levels == mode.levels:
        return None
    reason = say("vtop.paging_reason_no_la57" if mode.cpu_la57 is False else "vtop.paging_reason_boot")
    return say("vtop.paging_configured", configured=mode.configured_levels, levels=mode.levels, reason=reason)


def _page_kind(r: Any, say: Any) -> str | None:
    page = r.page
    if page is not None and page.has("ZERO_PAGE"):
        return say("vtop.kind.zero")
    if r.huge is not None:
        if r.huge.kind == "hugetlb":
            return say("vtop.kind.hugetlb", size=_size_text(r.huge.size))
        if r.huge.pmd_mapped:
            return say("vtop.kind.thp_pmd", size=_size_text(r.huge.size))
        if r.huge.kind == "large-folio":
            return say("vtop.kind.large_folio", size=_size_text(r.huge.size))
        return say("vtop.kind.thp_pte", size=_size_text(r.huge.size))
    if page is None:
        return None
    count = page.mapcount if page.mapcount is not None else 1
    if page.has("ANON"):
        if r.file is not None:
            return say("vtop.kind.file_private_copy")
        if count > 1:
            return say("vtop.kind.anon_shared", others=count - 1)
        return say("vtop.kind.anon")
    if page.has("SWAPBACKED"):
        return say("vtop.kind.shmem", count=count)
    if r.file is not None:
        return say("vtop.kind.file_shared", count=count)
    return None


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _no_vma_sentences(r: Any, say: Any) -> list[str]:
    out = [say("vtop.no_vma.summary", address=f"{r.address:#x}", pid=r.target.pid)]
    below = r.below
    above = r.above
    if below is not None and above is not None:
        out.append(
            say(
                "vtop.no_vma.between",
                below=_vma_text(below),
                above=_vma_text(above),
                below_gap=_size_text(r.address - below.end + 1),
                above_gap=_size_text(above.start - r.address),
            )
        )
    elif below is not None:
        out.append(
            say(
                "vtop.no_vma.below_only",
                below=_vma_text(below),
                below_gap=_size_text(r.address - below.end + 1),
            )
        )
    elif above is not None:
        out.append(
            say(
                "vtop.no_vma.above_only",
                above=_vma_text(above),
                above_gap=_size_text(above.start - r.address),
            )
        )
    return out


# --- ranges --------------------------------------------------------------------------------------


def _render_range(report: Any, out: Output, width: int) -> None:
    from kernlab.catalog import say
    from kernlab.mm.strip import bitmap_fractions, strip_text
    from kernlab.render.terminal import print_heading, print_line, print_table

    t = report.total
    rows = []
    for part in report.vmas:
        c = part.counts
        vma = part.vma
        # An unnamed area is called by what it is (binary-bss, anon-mmap) rather than "[anon]".
        name = _esc(_base(vma.label) if vma.path else vma.name or f"({vma.kind})")
        rows.append(
            [
                part.index,
                f"{c.start:x}",
                part.vma.perms,
                name,
                c.pages,
                c.present,
                c.swapped,
                c.never_touched,
                "?" if c.huge is None else c.huge,
            ]
        )
    right = ["#", "PAGES", "RAM", "SWAP", "NEVER", "HUGE"]
    columns = ["#", "START", "PERMS", "NAME", *right[1:]]
    print_table(columns, rows, title=f"PID {report.pid} ({report.comm}): pages by VMA", right=right)
    print_table(
        ["PAGES", "PRESENT", "SWAPPED", "NEVER TOUCHED", "NO VMA", "HUGE", "PAGE SIZE"],
        [
            [
                t.pages,
                t.present,
                t.swapped,
                t.never_touched,
                t.unmapped,
                "?" if t.huge is None else t.huge,
                _size_text(report.page_size),
            ]
        ],
        title="Total",
        right=["PAGES", "PRESENT", "SWAPPED", "NEVER TOUCHED", "NO VMA", "HUGE"],
    )
    print_heading("Presence (█ every page present, ▒ some, · none)")
    if report.scope == "all":
        # One strip per VMA: the whole process end to end would hide which area is which.
        label_width = max(len(str(p.index)) for p in report.vmas) + 1
        for part in report.vmas:
            c = part.counts
            strip = strip_text(bitmap_fractions(c.present_bitmap, c.pages, width))
            print_line(f"{'#' + str(part.index):>{label_width}} {strip}")
    else:
        print_line(strip_text(bitmap_fractions(t.present_bitmap, t.pages, width)))
    for sentence in _range_sentences(report, say):
        out.sentence(_esc(sentence))


def _range_sentences(report: Any, say: Any) -> list[str]:
    t = report.total
    n = lambda v: f"{v:,}"  # noqa: E731
    if report.scope == "all":
        vsz = sum(p.vma.size for p in report.vmas)
        out = [
            say(
                "vtop.range.all",
                present=n(t.present),
                pages=n(t.pages),
                percent=percent_text(t.present, t.pages),
                pid=report.pid,
                vmas=len(report.vmas),
                rss=_size_text((t.present - (t.zero_page or 0)) * report.page_size),
                vsz=_size_text(vsz),
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
        out.append(
            say(
                "vtop.range.zero_page",
                zero=n(t.zero_page),
                rss=_size_text((t.present - t.zero_page) * report.page_size),
            )
        )
    if t.present and not t.pfn_readable:
        out.append(say("vtop.range.pfn_hidden"))
    return out
