"""`kernlab sql` for a person: the result as a table, then where it came from; and what
`kernlab dump --parquet` wrote."""

from __future__ import annotations

import sys
from typing import Any

from kernlab.explain import sql as explain
from kernlab.render.output import Output
from kernlab.reports.parquet import ParquetExport
from kernlab.reports.sql import SqlReport

__all__ = ["cell", "show", "show_export", "warn_sources"]

_NUMERIC = ("INT", "FLOAT", "DOUBLE", "DECIMAL", "REAL", "NUMERIC")


def cell(value: Any) -> str:
    """One value as a table shows it: NULL empty, floats as DuckDB's shell prints them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def warn_sources(report: SqlReport) -> None:
    """One line on stderr per source cut short or damaged, with --json too (stdout stays the
    result; the JSON lists them in ``incomplete``) and with --quiet (a warning, not a sentence)."""
    for line in explain.source_warnings(report):
        sys.stderr.write(line + "\n")


def show(report: SqlReport, out: Output) -> None:
    from kernlab.render.terminal import print_table

    if report.columns:
        right = [
            c
            for c, t in zip(report.columns, report.types, strict=True)
            if t.upper().startswith(_NUMERIC) or "INT" in t.upper()
        ]
        print_table(report.columns, ([cell(v) for v in row] for row in report.rows), right=right)
    out.sentences(explain.result_sentences(report))


def show_export(report: ParquetExport, out: Output) -> None:
    """``dump --parquet``: first, as every export says it, a recording cut short or damaged;
    then each table's file and rows, then the sentence."""
    from kernlab.render.terminal import print_table
    from kernlab.render.views.recording_text import show_truth

    show_truth(report.completeness, report.damage)
    columns = [explain.label(c) for c in ("table", "rows", "row_groups", "bytes", "file")]
    print_table(
        columns,
        ([t.name, f"{t.rows:,}", t.row_groups, f"{t.bytes:,}", t.path] for t in report.tables),
        right=columns[1:4],
    )
    out.sentences(explain.export_sentences(report))
