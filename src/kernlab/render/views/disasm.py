"""`kernlab disasm` for a person: the file and section, objdump's listing, what it means."""

from __future__ import annotations

from kernlab.explain import disasm as explain
from kernlab.render.listing import FileLines, file_header, print_listing, print_listing_line, section_header
from kernlab.render.output import Output
from kernlab.reports.disasm import DisasmReport, FileDisasmReport

__all__ = ["show", "show_file"]

SYNTAX_NAMES = {"att": "AT&T syntax", "intel": "Intel syntax"}


def show(report: DisasmReport, out: Output) -> None:
    from rich.markup import escape

    syntax = SYNTAX_NAMES.get(report.syntax, "")
    print_listing_line(
        escape(f"{report.path}: {report.arch}, section {report.section}, {report.size} bytes")
        + (f", {syntax}" if syntax else "")
    )
    print_listing(report)
    out.sentences(explain.sentences(report))


def show_file(report: FileDisasmReport, out: Output) -> None:
    """objdump -d's listing of the whole file, written block by block as it is decoded (so a
    pager shows the first page at once), then the sentences."""
    import sys

    from kernlab.render.terminal import console

    con = console()
    colour = con.is_terminal and not con.no_color and con.color_system is not None
    lines = FileLines(report.address_bits // 4, colour)
    widths = {s.name: s.address_width for s in report.sections}
    write = sys.stdout.write
    write(file_header(report.path, report.file_format))
    current = None
    for block in report.stream():
        if block.section != current:
            current = block.section
            write(section_header(current))
        write(lines.block(block, widths[current]))
    sys.stdout.flush()
    out.sentences(explain.file_sentences(report))
