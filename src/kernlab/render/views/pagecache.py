"""`kernlab pagecache` for a person: residency per file, stat and df -T, and a residency strip.

Paths are data: table cells and lines are printed as plain text, so ``[stack]`` or ``a[1]``
print as themselves (nothing is escaped for rich markup).
"""

from __future__ import annotations

from kernlab.explain import pagecache as explain
from kernlab.explain import text
from kernlab.mm.strip import strip_fractions, strip_text
from kernlab.proc.cmdline import hex_escaped
from kernlab.render.output import Output
from kernlab.render.terminal import print_heading, print_line, print_table
from kernlab.reports.pagecache import PageCacheReport
from kernlab.units import format_bytes, percent_text

__all__ = ["show"]

_STRIP_BESIDE_NAME = 80
"""A name and its strip share a line only within this many columns."""


def show(report: PageCacheReport, out: Output, *, width: int) -> None:
    acted = report.action is not None
    columns = ["FILE", "SIZE", "PAGES", "RESIDENT", "RES", "%"] + (["BEFORE"] if acted else [])
    rows: list[list[object]] = []
    for f in report.files:
        r = f.residency
        row: list[object] = [
            hex_escaped(r.file.path),
            r.file.size,
            r.pages,
            r.resident_pages,
            format_bytes(r.resident_bytes),
            percent_text(r.resident_pages, r.pages),
        ]
        rows.append(row + ([f.before_resident_pages] if acted else []))
    if len(report.files) > 1:
        total: list[object] = [
            text("common.view.total"),
            report.total_size,
            report.total_pages,
            report.total_resident_pages,
            format_bytes(report.total_resident_bytes),
            percent_text(report.total_resident_pages, report.total_pages),
        ]
        rows.append(total + ([""] if acted else []))
    print_table(columns, rows, title=text("pagecache.view.title"), right=columns[1:])

    print_table(
        ["FILE", "INODE", "BLOCKS", "DEVICE", "TYPE", "MOUNTED ON", "SOURCE"],
        [
            [
                hex_escaped(f.residency.file.path),
                f.residency.file.inode,
                f.residency.file.blocks,
                f.residency.file.device,
                f.residency.file.fstype or "?",
                f.residency.file.mount_point or "?",
                f.residency.file.mount_source or "?",
            ]
            for f in report.files
        ],
        title=text("pagecache.view.stat_df"),
        right=["INODE", "BLOCKS"],
    )
    print_heading(text("pagecache.view.residency", width=width))
    name_width = max(len(hex_escaped(f.residency.file.path)) for f in report.files)
    for f in report.files:
        r = f.residency
        strip = strip_text(strip_fractions(r.resident_ranges, r.pages, width)) or text("pagecache.view.empty")
        if name_width + 2 + width <= _STRIP_BESIDE_NAME:
            print_line(f"{hex_escaped(r.file.path):<{name_width}}  {strip}")
        else:  # a long name gets its own line so the strip is not wrapped
            print_line(hex_escaped(r.file.path))
            print_line(f"  {strip}")

    for f in report.files:
        out.sentences(explain.file_sentences(f, report.action))
    if len(report.files) > 1:
        out.sentence(explain.total_sentence(report))
