"""`kernlab disasm` for a person: the file and section, objdump's listing, what it means."""

from __future__ import annotations

from kernlab.explain import disasm as explain
from kernlab.render.listing import print_listing, print_listing_line
from kernlab.render.output import Output
from kernlab.reports.disasm import DisasmReport

__all__ = ["show"]

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
