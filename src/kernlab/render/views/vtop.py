"""`kernlab vtop` for a person: one address layer by layer, or a range's pages with a strip.

Names such as ``[stack]`` and ``[heap]`` are data: every line here is printed as plain text
(print_fields, table cells, sentences), so nothing is escaped for rich markup.
"""

from __future__ import annotations

import click
from rich.markup import escape

from kernlab.explain import text
from kernlab.explain import vtop as explain
from kernlab.mm.strip import bitmap_fractions, strip_text
from kernlab.proc.cmdline import printable
from kernlab.render.output import Output
from kernlab.render.table import plain_table
from kernlab.render.terminal import format_hex, print_fields, print_heading, print_line, print_table
from kernlab.reports.vtop import AddressReport, PagesReport

__all__ = ["show", "show_pages"]

_size = explain.size_text


LARGE_TABLE = 500
"""Rows beyond which a rich table takes seconds (60,000 VMAs: over a minute): plain columns then."""


def _yes(flag: bool) -> str:
    return text("common.view.yes" if flag else "common.view.no")


def show(r: AddressReport, out: Output) -> None:
    mode = r.paging
    print_fields(
        [
            (text("vtop.view.process"), f"{r.target.pid} ({printable(r.target.comm)})"),
            (text("vtop.view.address"), format_hex(r.address)),
            (text("vtop.view.paging"), explain.paging_line(mode)),
            (text("vtop.view.evidence"), "; ".join(explain.evidence_texts(mode))),
        ],
        title="kernlab vtop",
    )
    _indices(r)
    if r.vma is None:
        _kernel(r)
        _growth(r)
        _nearest(r)
        out.sentences(explain.no_vma_sentences(r))
        return
    _area(r)
    _pagemap(r)
    out.sentences(explain.address_sentences(r))


def _indices(r: AddressReport) -> None:
    mode = r.paging
    huge_level = "PMD" if r.huge is not None and r.huge.pmd_mapped else None
    rows: list[list[object]] = []
    for li in r.split.indices:
        skipped = huge_level is not None and li.shift < mode.level_shift(huge_level)
        bits = f"{li.shift + li.bits - 1}–{li.shift}"
        rows.append([li.level, "—" if skipped else li.index, bits, _size(mode.entry_span(li.level))])
    offset = text("vtop.view.offset")
    if huge_level and r.huge is not None:
        rows.append(
            [
                offset,
                format_hex(r.huge.offset),
                f"{mode.level_shift(huge_level) - 1}–0",
                text("vtop.view.in_huge_page"),
            ]
        )
    else:
        rows.append([offset, format_hex(r.split.offset), f"{mode.page_shift - 1}–0", ""])
    print_heading(text("vtop.view.indices_title"))
    index = text("vtop.view.index")
    print_table(
        [text("vtop.view.level"), index, text("vtop.view.address_bits"), text("vtop.view.entry_maps")],
        rows,
        right=[index],
    )


def _kernel(r: AddressReport) -> None:
    k = r.kernel
    if k is None:
        return
    fields: list[tuple[str, object]] = [
        (text("vtop.view.half"), explain.value_text("half", k.half)),
        (text("vtop.view.user_half_ends"), format_hex(k.user_top)),
        (text("vtop.view.kernel_half_starts"), format_hex(k.kernel_start)),
    ]
    if k.region is not None:
        # The area's key (kernel_image, direct_map …) is the name kernlab's JSON uses too.
        area = f"{k.region.key} {format_hex(k.region.start)}-{format_hex(k.region.end)}"
        fields.append((text("vtop.view.area"), area))
        fields.append((text("vtop.view.area_source"), explain.value_text("source", k.region.source)))
    if k.image_part is not None:
        fields.append((text("vtop.view.image_part"), explain.value_text("image_part", k.image_part)))
    if k.symbol is not None:
        module = f" [{k.symbol.module}]" if k.symbol.module else ""
        symbol = f"{k.symbol.name}+{k.symbol.offset:#x} ({k.symbol.type}){module}"
        fields.append((text("vtop.view.symbol"), symbol))
    print_heading(text("vtop.view.kernel_title"))
    print_fields(fields)


def _growth(r: AddressReport) -> None:
    g = r.growth
    if g is None:
        return
    print_heading(text("vtop.view.growth_title"))
    below = explain.vma_text(g.below) if g.below is not None else text("vtop.view.none")
    limit = explain.value_text("limited_by", g.limited_by)
    print_fields(
        [
            (text("vtop.view.stack"), explain.vma_text(g.stack)),
            (text("vtop.view.verdict"), explain.value_text("verdict", g.verdict)),
            (
                text("vtop.view.stack_after"),
                f"{format_hex(g.new_start)}-{format_hex(g.stack.end)} ({_size(g.new_size)})",
            ),
            ("RLIMIT_STACK", text("vtop.stack.unlimited") if g.rlimit is None else _size(g.rlimit)),
            (text("vtop.view.guard_gap"), explain.guard_gap_text(r)),
            (text("vtop.view.mapping_below"), below),
            (text("vtop.view.lowest"), text("vtop.view.lowest_value", lowest=format_hex(g.lowest), by=limit)),
        ]
    )


def _nearest(r: AddressReport) -> None:
    sides = []
    if r.below is not None:
        sides.append((text("vtop.view.below"), r.below, r.address - r.below.end + 1))
    if r.above is not None:
        sides.append((text("vtop.view.above"), r.above, r.above.start - r.address))
    if not sides:
        return
    print_heading(text("vtop.view.nearest_title"))
    print_table(
        [
            text("vtop.view.side"),
            text("vtop.view.range"),
            text("vtop.view.perms"),
            text("vtop.view.name"),
            text("vtop.view.distance"),
        ],
        [[side, f"{v.start:#x}-{v.end:#x}", v.perms, v.label, _size(dist)] for side, v, dist in sides],
    )


def _area(r: AddressReport) -> None:
    vma = r.vma
    assert vma is not None
    size = f"{_size(vma.size)} / {vma.rss} KiB" if vma.rss is not None else _size(vma.size)
    fields: list[tuple[str, object]] = [
        ("VMA", f"#{r.vma_index}: {explain.vma_text(vma)}"),
        # The kind (stack, binary-text, anon-mmap …) is the keyword `kernlab maps` shows too.
        (text("vtop.view.kind"), vma.kind),
        (text("vtop.view.size_rss"), size),
    ]
    if r.file is not None and vma.memory_object is not None:
        # Shared memory on a kernel-internal mount: its "(deleted)" file never had a name.
        memory = text(f"vtop.view.memory.{vma.memory_object}", label=printable(vma.memory_label))
        fields.append((text("vtop.view.memory_object"), memory))
        fields.append((text("vtop.view.object_offset"), format_hex(r.file.file_offset)))
    elif r.file is not None:
        deleted = text("vtop.view.file_deleted") if r.file.deleted else ""
        fields.append((text("vtop.view.file_offset"), format_hex(r.file.file_offset) + deleted))
    if r.file is not None and (r.file.in_page_cache is not None or r.file.page_cache_note):
        if r.file.in_page_cache is None:
            cached = text("vtop.view.unknown_because", reason=r.file.page_cache_note)
        else:
            cached = _yes(r.file.in_page_cache)
        fields.append((text("vtop.view.in_page_cache"), cached))
    if r.elf is not None:
        bias = text(
            "vtop.view.elf_address_value",
            address=format_hex(r.elf.elf_vaddr),
            bias=format_hex(r.elf.load_bias),
        )
        fields.append((text("vtop.view.elf_address"), bias))
        fields.append((text("vtop.view.section"), r.elf.section or text("vtop.view.between_sections")))
        if r.elf.symbol:
            fields.append((text("vtop.view.symbol"), f"{r.elf.symbol}+{r.elf.symbol_offset:#x}"))
    print_heading(text("vtop.view.area_title"))
    print_fields(fields)


def _pagemap(r: AddressReport) -> None:
    print_heading("pagemap")
    e = r.pagemap
    if e is None:
        print_fields([(text("vtop.view.entry"), text("vtop.view.no_entry"))])
    else:
        pm: list[tuple[str, object]] = [
            (text("vtop.view.raw"), f"{e.raw:#018x}"),
            (text("vtop.view.state"), explain.value_text("state", e.state)),
        ]
        if e.present:
            pfn = format_hex(e.pfn) if e.pfn is not None else text("vtop.view.pfn_hidden")
            pm.append(("PFN", pfn))
        if e.swapped:
            swap = text("vtop.view.swap_value", type=e.swap_type, offset=f"{e.swap_offset:#x}")
            pm.append((text("vtop.view.swap"), swap))
        # The pagemap bits keep the names of the kernel's Documentation/admin-guide/mm/pagemap.rst.
        pm += [
            ("soft-dirty", _yes(e.soft_dirty)),
            ("exclusive", _yes(e.exclusive)),
            ("file/shared-anon", _yes(e.file_or_shared_anon)),
        ]
        if e.uffd_wp:
            pm.append(("uffd-wp", _yes(True)))
        if e.guard:
            pm.append((text("vtop.view.guard_region"), _yes(True)))
        print_fields(pm)
    if r.page is None:
        return
    print_heading(text("vtop.view.page_title"))
    page_fields: list[tuple[str, object]] = [
        (text("vtop.view.flags"), ", ".join(r.page.names) or text("vtop.view.none")),
        (text("vtop.view.map_count"), r.page.mapcount),
    ]
    if r.huge is not None:
        mapped = "PMD-mapped" if r.huge.pmd_mapped else "PTE-mapped"
        # kind (thp, hugetlb) and the evidence are the reader's own keywords and file names.
        page_fields.append(
            (
                text("vtop.view.huge_page"),
                f"{r.huge.kind}, {_size(r.huge.size)}, {mapped} ({r.huge.evidence})",
            )
        )
    print_fields(page_fields)


def show_pages(report: PagesReport, out: Output, *, width: int) -> None:
    t = report.total
    rows: list[list[object]] = []
    for part in report.vmas:
        c, vma = part.counts, part.vma
        # An unnamed area is called by what it is (binary-bss, anon-mmap) rather than "[anon]".
        name = vma.label.rsplit("/", 1)[-1] if vma.path else vma.name or f"({vma.kind})"
        huge = "?" if c.huge is None else c.huge
        rows.append(
            [
                part.index,
                f"{c.start:x}",
                vma.perms,
                name,
                c.pages,
                c.present,
                c.swapped,
                c.never_touched,
                huge,
            ]
        )
    right = [
        "#",
        text("vtop.view.pages"),
        "RAM",
        text("vtop.view.swap"),
        text("vtop.view.never"),
        text("vtop.view.huge"),
    ]
    columns = ["#", text("vtop.view.start"), text("vtop.view.perms"), text("vtop.view.name"), *right[1:]]
    # A table title is rich markup, and a task can name itself "x[/b]".
    title = text("vtop.view.pages_title", pid=report.pid, comm=escape(printable(report.comm)))
    if len(rows) > LARGE_TABLE:
        print_heading(title)
        click.echo(plain_table(columns, rows, set(right)))
    else:
        print_table(columns, rows, title=title, right=right)
    totals = [
        text("vtop.view.pages"),
        text("vtop.view.present"),
        text("vtop.view.swapped"),
        text("vtop.view.never_touched"),
        text("vtop.view.no_vma"),
        text("vtop.view.huge"),
    ]
    print_table(
        [*totals, text("vtop.view.page_size")],
        [
            [
                t.pages,
                t.present,
                t.swapped,
                t.never_touched,
                t.unmapped,
                "?" if t.huge is None else t.huge,
                _size(report.page_size),
            ]
        ],
        title=text("vtop.view.total_title"),
        right=totals,
    )
    print_heading(text("vtop.view.presence_title"))
    if report.scope == "all":
        # One strip per VMA: the whole process end to end would hide which area is which.
        label_width = max(len(str(p.index)) for p in report.vmas) + 1
        lines = []
        for part in report.vmas:
            c = part.counts
            strip = strip_text(bitmap_fractions(c.present_bitmap, c.pages, width))
            lines.append(f"{'#' + str(part.index):>{label_width}} {strip}")
        if len(lines) > LARGE_TABLE:
            click.echo("\n".join(lines))
        else:
            for line in lines:
                print_line(line)
    else:
        print_line(strip_text(bitmap_fractions(t.present_bitmap, t.pages, width)))
    out.sentences(explain.pages_sentences(report))
