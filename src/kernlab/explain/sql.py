"""What `kernlab sql` answered, and what `dump --parquet` wrote, in words."""

from __future__ import annotations

from kernlab.explain import count, say, text
from kernlab.reports.parquet import ParquetExport
from kernlab.reports.sql import SqlReport, SqlSource

__all__ = ["export_sentences", "label", "result_sentences", "source_warning", "source_warnings"]


def result_sentences(report: SqlReport) -> list[str]:
    """How many rows came from how many recordings, and which were exported by this run."""
    out = [
        say(
            "sql.result",
            rows=count("sql.n.row", len(report.rows)),
            recordings=count("sql.n.recording", len(report.sources)),
        )
    ]
    exported = [s for s in report.sources if s.exported]
    cached = [s for s in exported if s.parquet is not None]
    if cached:
        out.append(
            say("sql.exported", recordings=count("sql.n.recording", len(cached)), cache=cached[0].parquet)
        )
    in_memory = len(exported) - len(cached)
    if in_memory:
        out.append(say("sql.in_memory", recordings=count("sql.n.recording", in_memory)))
    return out


def export_sentences(report: ParquetExport) -> list[str]:
    """``dump --parquet``: where the tables went and how to query them."""
    return [
        say(
            "sql.parquet_written",
            path=report.directory,
            tables=count("sql.n.table", len(report.tables)),
            rows=count("sql.n.row", report.rows),
            version=report.schema_version,
        )
    ]


def source_warning(source: SqlSource) -> str | None:
    """One line for a source cut short or damaged (its rows are not all there); None when whole."""
    if source.whole:
        return None
    cause = say(f"sql.cause.{source.cause or 'unknown'}") if not source.complete else ""
    files = ", ".join(source.damaged_files)
    if not source.complete and source.damaged_files:
        message = say("sql.warning.cut_short_damaged", directory=source.directory, cause=cause, files=files)
    elif not source.complete:
        message = say("sql.warning.cut_short", directory=source.directory, cause=cause)
    else:
        message = say("sql.warning.damaged", directory=source.directory, files=files)
    return say("sql.warning.line", message=message)


def source_warnings(report: SqlReport) -> list[str]:
    """A line for each source the query read that is cut short or damaged, in their order."""
    return [line for line in map(source_warning, report.sources) if line is not None]


def label(key: str) -> str:
    """A column header of `dump --parquet`'s table of files."""
    return text(f"sql.label.{key}")
