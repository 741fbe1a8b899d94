"""`kernlab vtop` for a person: one address layer by layer, or a range's pages with a strip.

Names such as ``[stack]`` and ``[heap]`` are data: every line here is printed as plain text
(print_fields, table cells, sentences), so nothing is escaped for rich markup.
"""

from __future__ import annotations

from kernlab.explain import vtop as explain
from kernlab.mm.strip import bitmap_fractions, strip_text
from kernlab.render.output import Output
from kernlab.render.terminal import format_hex, print_fields, print_heading, print_line, print_table
from kernlab.reports.vtop import AddressReport, PagesReport

__all__ = ["show", "show_pages"]

_size = explain.size_text


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def show(r: AddressReport, out: Output) -> None:
    mode = r.paging
    print_fields(
        [
            ("process", f"{r.target.pid} ({r.target.comm})"),
            ("address", format_hex(r.address)),
            ("paging", explain.paging_line(mode)),
            ("evidence", "; ".join(mode.evidence_text())),
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
    if huge_level and r.huge is not None:
        rows.append(
            ["offset", format_hex(r.huge.offset), f"{mode.level_shift(huge_level) - 1}–0", "in the huge page"]
        )
    else:
        rows.append(["offset", format_hex(r.split.offset), f"{mode.page_shift - 1}–0", ""])
    print_heading("Page-table indices")
    print_table(["LEVEL", "INDEX", "ADDRESS BITS", "ONE ENTRY MAPS"], rows, right=["INDEX"])


def _kernel(r: AddressReport) -> None:
    k = r.kernel
    if k is None:
        return
    fields: list[tuple[str, object]] = [
        ("half", k.half.replace("_", "-")),
        ("user half ends", format_hex(k.user_top)),
        ("kernel half starts", format_hex(k.kernel_start)),
    ]
    if k.region is not None:
        fields.append(("area", f"{k.region.key} {format_hex(k.region.start)}-{format_hex(k.region.end)}"))
        fields.append(("area bounds from", k.region.source))
    if k.image_part is not None:
        fields.append(("image part", k.image_part))
    if k.symbol is not None:
        module = f" [{k.symbol.module}]" if k.symbol.module else ""
        fields.append(("symbol", f"{k.symbol.name}+{k.symbol.offset:#x} ({k.symbol.type}){module}"))
    print_heading("Outside the user half")
    print_fields(fields)


def _growth(r: AddressReport) -> None:
    g = r.growth
    if g is None:
        return
    print_heading("Stack growth (VM_GROWSDOWN)")
    print_fields(
        [
            ("stack", explain.vma_text(g.stack)),
            ("verdict", g.verdict),
            (
                "stack after growing",
                f"{format_hex(g.new_start)}-{format_hex(g.stack.end)} ({_size(g.new_size)})",
            ),
            ("RLIMIT_STACK", "unlimited" if g.rlimit is None else _size(g.rlimit)),
            ("guard gap", explain.guard_gap_text(r)),
            ("mapping below", explain.vma_text(g.below) if g.below is not None else "none"),
            ("lowest page it can reach", f"{format_hex(g.lowest)} (limited by {g.limited_by})"),
        ]
    )


def _nearest(r: AddressReport) -> None:
    sides = []
    if r.below is not None:
        sides.append(("below", r.below, r.address - r.below.end + 1))
    if r.above is not None:
        sides.append(("above", r.above, r.above.start - r.address))
    if not sides:
        return
    print_heading("Nearest VMAs")
    print_table(
        ["SIDE", "RANGE", "PERMS", "NAME", "DISTANCE"],
        [[side, f"{v.start:#x}-{v.end:#x}", v.perms, v.label, _size(dist)] for side, v, dist in sides],
    )


def _area(r: AddressReport) -> None:
    vma = r.vma
    assert vma is not None
    size = f"{_size(vma.size)} / {vma.rss} KiB" if vma.rss is not None else _size(vma.size)
    fields: list[tuple[str, object]] = [
        ("VMA", f"#{r.vma_index}: {explain.vma_text(vma)}"),
        ("kind", vma.kind),
        ("size / RSS", size),
    ]
    if r.file is not None:
        deleted = " (file deleted)" if r.file.deleted else ""
        fields.append(("file offset", format_hex(r.file.file_offset) + deleted))
        cached = {True: "yes", False: "no", None: f"unknown ({r.file.page_cache_note})"}[r.file.in_page_cache]
        fields.append(("in page cache", cached))
    if r.elf is not None:
        fields.append(
            ("ELF address", f"{format_hex(r.elf.elf_vaddr)} (load bias {format_hex(r.elf.load_bias)})")
        )
        fields.append(("section", r.elf.section or "none (between sections)"))
        if r.elf.symbol:
            fields.append(("symbol", f"{r.elf.symbol}+{r.elf.symbol_offset:#x}"))
    print_heading("Virtual memory area")
    print_fields(fields)


def _pagemap(r: AddressReport) -> None:
    print_heading("pagemap")
    e = r.pagemap
    if e is None:
        print_fields([("entry", "none (above TASK_SIZE)")])
    else:
        pm: list[tuple[str, object]] = [("raw", f"{e.raw:#018x}"), ("state", e.state)]
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
    if r.page is None:
        return
    print_heading("Physical page (kpageflags, kpagecount)")
    page_fields: list[tuple[str, object]] = [
        ("flags", ", ".join(r.page.names) or "none"),
        ("map count", r.page.mapcount),
    ]
    if r.huge is not None:
        mapped = "PMD-mapped" if r.huge.pmd_mapped else "PTE-mapped"
        page_fields.append(
            ("huge page", f"{r.huge.kind}, {_size(r.huge.size)}, {mapped} ({r.huge.evidence})")
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
    right = ["#", "PAGES", "RAM", "SWAP", "NEVER", "HUGE"]
    columns = ["#", "START", "PERMS", "NAME", *right[1:]]
    print_table(columns, rows, title=f"PID {report.pid} ({report.comm}): pages by VMA", right=right)
    totals = ["PAGES", "PRESENT", "SWAPPED", "NEVER TOUCHED", "NO VMA", "HUGE"]
    print_table(
        [*totals, "PAGE SIZE"],
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
        title="Total",
        right=totals,
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
    out.sentences(explain.pages_sentences(report))
