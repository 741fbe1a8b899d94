"""`kernlab maps` for a person: the VMA listing, sums by kind, a picture of the address space,
pmap -x's layout, and every process's totals."""

from __future__ import annotations

import math

import click
from rich.markup import escape

from kernlab.explain import count, text
from kernlab.explain import maps as explain
from kernlab.proc.cmdline import printable
from kernlab.proc.maps import GATE_NAMES, Gap, Vma, with_gaps
from kernlab.render.output import Output
from kernlab.render.table import plain_table
from kernlab.render.terminal import console, print_heading, print_table, styled, write_text
from kernlab.reports.maps import AllMapsReport, MapsReport
from kernlab.units import format_kib, percent

__all__ = ["show", "show_all", "show_pmap"]

# Glyph and colour of each kind in the address-space picture; the glyph alone tells kinds apart
# when colour is unavailable (not a terminal).
KIND_STYLE: dict[str, tuple[str, str]] = {
    "binary-text": ("T", "bold red"),
    "binary-rodata": ("R", "red"),
    "binary-data": ("D", "magenta"),
    "binary-bss": ("B", "bright_magenta"),
    "shared-lib": ("L", "blue"),
    "heap": ("H", "green"),
    "stack": ("S", "yellow"),
    "anon-mmap": ("A", "bright_green"),
    "file-mmap": ("F", "cyan"),
    "vdso": ("V", "bright_blue"),
    "vvar": ("v", "bright_blue"),
    "vsyscall": ("Y", "bright_blue"),
    "special": ("?", "white"),
}
BAR_WIDTH = 40
PMAP_NAMES = {"[stack]": "  [ stack ]"}
COLUMNS = [
    "ADDRESS",
    "KiB",
    "PERM",
    "OFFSET",
    "DEV",
    "INODE",
    "KIND",
    "RSS",
    "PSS",
    "DIRTY",
    "ANON",
    "SWAP",
    "THP",
]
WIDE_COLUMNS = ["SHR_CL", "SHR_DT", "PRV_CL", "PRV_DT", "LOCKED"]
LEFT = {"ADDRESS", "PERM", "OFFSET", "DEV", "KIND", "MAPPING"}


def _said_empty(report: MapsReport, out: Output) -> bool:
    sentence = explain.empty_sentence(report)
    if sentence is not None:
        out.sentence(sentence)
    return sentence is not None


def show(
    report: MapsReport, out: Output, *, wide: bool = False, picture: bool = True, columns: bool = False
) -> None:
    vmas = count("maps.view.vmas", len(report.vmas))
    # A heading is rich markup, and a task can name itself "x[/b]".
    print_heading(text("maps.view.heading", pid=report.pid, comm=escape(printable(report.comm)), vmas=vmas))
    if _said_empty(report, out):
        return
    names = COLUMNS + (WIDE_COLUMNS if wide else []) + ["MAPPING"]
    rows = []
    for v in report.vmas:
        row: list[object] = [
            f"{v.start:012x}-{v.end:012x}",
            v.size_kib,
            v.perms,
            f"{v.offset:08x}",
            v.dev,
            v.inode,
            v.kind,
            v.rss,
            v.pss,
            v.dirty,
            v.anonymous,
            v.swap,
            v.anon_huge_pages,
        ]
        if wide:
            row += [v.shared_clean, v.shared_dirty, v.private_clean, v.private_dirty, v.locked]
        row.append(v.label)
        rows.append(row)
    click.echo(plain_table(names, rows, set(names) - LEFT))
    if columns:
        print_table(
            [text("common.view.column"), text("common.view.source")],
            [[n, explain.column_source(n)] for n in explain.COLUMN_KEYS],
            title=text("common.view.column_sources"),
        )
    _kinds_table(report)
    if picture:
        _picture(report.vmas, out)
    out.sentences(explain.totals_sentences(report))


def _cell(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _kinds_table(report: MapsReport) -> None:
    totals = report.totals
    rows = [
        [
            k.kind,
            k.count,
            f"{k.size:,}",
            f"{percent(k.size, totals.size)}%",
            _cell(k.rss),
            "" if k.rss is None or not totals.rss else f"{percent(k.rss, totals.rss)}%",
            _cell(k.pss),
        ]
        for k in report.kinds
    ]
    rows.append(
        [
            text("common.view.total"),
            totals.count,
            f"{totals.size:,}",
            "100%",
            _cell(totals.rss),
            "100%" if totals.rss else "",
            _cell(totals.pss),
        ]
    )
    of_vsz, of_rss = text("maps.view.of_vsz"), text("maps.view.of_rss")
    right = [text("maps.view.vma_count"), "KiB", of_vsz, "RSS KiB", of_rss, "PSS KiB"]
    print_table([text("maps.view.kind"), *right], rows, title=text("maps.view.by_kind"), right=right)


def _picture(vmas: tuple[Vma, ...], out: Output) -> None:
    rows = with_gaps(vmas)
    con = console()
    gap_glyph = "·" if con.is_terminal else "."  # plain ASCII when piped or redirected
    longest = max(math.log2(max(r.size, 4096)) for r in rows) - 11  # 4 KiB -> 1
    print_heading(text("maps.view.address_space"))
    # Lines written as text with the console's own codes for each colour: rich renders a
    # Text line by line (2.4 s for 60,000 VMAs), a string join takes milliseconds.
    styles = {style: styled(con, style) for style in {c for _g, c in KIND_STYLE.values()} | {"dim", "white"}}
    gap_labels = {to_kernel: explain.gap_label(to_kernel=to_kernel) for to_kernel in (False, True)}
    lines: list[str] = []
    for index in range(len(rows) - 1, -1, -1):
        row = rows[index]
        length = max(1, round((math.log2(max(row.size, 4096)) - 11) / longest * BAR_WIDTH))
        size = format_kib(row.size // 1024)
        if isinstance(row, Gap):
            dots = (gap_glyph * min(length, 3)).ljust(BAR_WIDTH)
            # The area after a gap is the next row: with_gaps puts a gap only between two VMAs.
            following = rows[index + 1] if index + 1 < len(rows) else None
            to_kernel = isinstance(following, Vma) and following.name in GATE_NAMES
            start, end = styles["dim"]
            lines.append(f"{start}{row.end:016x} {dots} {size:>9}  {gap_labels[to_kernel]}{end}")
            continue
        glyph, colour = KIND_STYLE.get(row.kind, ("?", "white"))
        bar = (glyph * length).ljust(BAR_WIDTH)
        start, end = styles[colour]
        # A file's name may hold control characters (an escape sequence): shown as ps does.
        lines.append(f"{start}{row.end:016x} {bar} {size:>9}  {row.kind:<13} {printable(row.label)}{end}")
    write_text("\n".join(lines) + "\n")
    legend = "  ".join(f"{g}={k}" for k, (g, _) in KIND_STYLE.items())
    con.print(legend, markup=False)
    out.sentence(explain.picture_sentence())


def _pmap_name(vma: Vma) -> str:
    if vma.path is not None:
        base = vma.path.rsplit("/", 1)[-1]
        return f"{base} (deleted)" if vma.deleted else base
    return PMAP_NAMES.get(vma.name, "  [ anon ]")


def pmap_title(report: MapsReport) -> str:
    """pmap's first line: the arguments, or "[comm]" (with " <defunct>" for a zombie) without any.

    procps-ng's ``escape_command`` with ESC_BRACKETS and ESC_DEFUNCT: kernel threads, zombies and
    processes that cleared their argument area have an empty /proc/PID/cmdline.
    """
    if report.cmdline:
        return f"{report.pid}:   {report.cmdline}"
    defunct = " <defunct>" if report.zombie else ""
    return f"{report.pid}:   [{printable(report.comm)}]{defunct}"


def show_pmap(report: MapsReport, out: Output) -> None:
    """pmap -x's layout, line for line (an empty address space still gets its header and zero total)."""
    lines = [pmap_title(report), "Address           Kbytes     RSS   Dirty Mode  Mapping"]
    for v in report.vmas:
        mode = v.perms[:3] + ("s" if v.shared else "-") + "-"
        lines.append(
            f"{v.start:016x} {v.size_kib:>7} {v.rss or 0:>7} {v.dirty or 0:>7} {mode} {_pmap_name(v)}"
        )
    t = report.totals
    lines.append("---------------- ------- ------- ------- ")
    lines.append(f"{'total kB':<16} {t.size:>7} {t.rss or 0:>7} {t.dirty or 0:>7}")
    click.echo("\n".join(lines))
    if not _said_empty(report, out):
        out.sentence(explain.pmap_note())


def show_all(report: AllMapsReport, out: Output) -> None:
    columns = ["PID", "VMAs", "VSZ", "RSS", "PSS", "DIRTY", "ANON", "SWAP", "COMMAND"]
    rows = [
        (
            p.pid,
            p.totals.count,
            p.totals.size,
            p.totals.rss,
            p.totals.pss,
            p.totals.dirty,
            p.totals.anonymous,
            p.totals.swap,
            printable(p.comm),
        )
        for p in report.processes
    ]
    click.echo(plain_table(columns, rows, set(columns) - {"COMMAND"}))
    out.sentence(explain.all_sentence(report))
