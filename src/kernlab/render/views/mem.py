"""`kernlab mem` for a person: free's table, the arithmetic between its columns, every field."""

from __future__ import annotations

from rich.markup import escape

from kernlab.explain import mem as explain
from kernlab.explain import text
from kernlab.render.output import Output
from kernlab.render.terminal import print_table
from kernlab.reports.mem import MemReport

__all__ = ["show"]


def show(report: MemReport, out: Output, *, explain_columns: bool = False) -> None:
    columns = list(report.columns)
    rows = [[f"{label}:", *values] for label, values in report.display.items()]
    unit = "KiB" if report.unit == "kibi" else report.unit
    print_table(
        ["", *columns],
        rows,
        # A title is rich markup: a file named "a[/b]/x" must print, not raise MarkupError.
        title=text("mem.view.free_title", source=escape(report.source), unit=unit),
        right=columns,
    )
    out.sentences(explain.free_sentences(report))
    if explain_columns:
        print_table(
            [text("common.view.column"), text("mem.view.computed_from")],
            [
                [key.replace("buff_cache", "buff/cache"), explain.column_source(key)]
                for key in explain.COLUMN_KEYS
            ],
            title=text("common.view.column_sources"),
        )
    if report.meminfo is not None:
        value = text("mem.view.value")
        print_table(
            [text("mem.view.field"), value, text("mem.view.unit"), text("mem.view.meaning")],
            [[m.name, f"{m.value:,}", m.unit, explain.field_meaning(m.name)] for m in report.meminfo],
            title=text("mem.view.every_field", source=escape(report.source)),
            right=[value],
        )
        out.sentence(explain.meminfo_sentence(report))
