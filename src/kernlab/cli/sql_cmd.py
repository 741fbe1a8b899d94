"""`kernlab sql`: SQL over the Parquet tables of one or many recordings (DuckDB, embedded)."""

from __future__ import annotations

from pathlib import Path

import click

from kernlab.cli.common import Output, examples, output_options


@click.command(
    "sql",
    epilog=examples(
        'kernlab sql "SELECT name, count(*) AS calls FROM syscalls GROUP BY name ORDER BY calls DESC"',
        'kernlab sql "SELECT host, vma_kind, count(*) FROM faults GROUP BY ALL" a.data b.data c.data',
        'kernlab dump -d a.data --parquet a.pq && kernlab sql --parquet a.pq "SELECT * FROM tasks"',
        'kernlab sql --json "SELECT comm, sum(duration_ns) FROM syscalls GROUP BY comm" | jq .rows',
    ),
)
@click.argument("query")
@click.argument("directories", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--parquet",
    "exports",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    metavar="OUT_DIR",
    help="A Parquet export made by `kernlab dump --parquet` (repeatable).",
)
@output_options
def sql(query: str, directories: tuple[Path, ...], exports: tuple[Path, ...], out: Output) -> None:
    """Run a SQL query over recordings: tables syscalls, faults, sched, tasks, functions, kernel_paths.

    Each recording DIR (default ./kernlab.data) is exported to Parquet once, into DIR/parquet,
    and DuckDB answers over all of them at once: every row says its host, kernel and
    recording. docs/PARQUET.md lists the columns. DuckDB installs and loads no extension and
    may read only those directories.
    """
    from kernlab.render.progress import progress
    from kernlab.render.views import sql as view
    from kernlab.reports import sql as reports

    with progress("exporting recordings and running the query"):
        report = reports.build(query, list(directories), list(exports))
    view.warn_sources(report)
    out.emit(report, view.show)
