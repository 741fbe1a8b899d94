"""`kernlab ps` for a person: a ps-style listing, or kernel threads by family."""

from __future__ import annotations

import click

from kernlab.explain import ps as explain
from kernlab.explain import text
from kernlab.proc.cmdline import printable
from kernlab.render.output import Output
from kernlab.render.table import plain_table
from kernlab.render.terminal import print_table
from kernlab.reports.ps import COLUMNS, KthreadsReport, PsReport

__all__ = ["show", "show_kthreads"]

RIGHT = {"PID", "PPID", "VSZ", "RSS", "MINFLT", "MAJFLT", "THR"}
NAMES_SHOWN = 4
"""Names of a family listed before "… (+N)"."""


def show(report: PsReport, out: Output, *, explain_columns: bool = False) -> None:
    rows = [
        (
            p.pid,
            p.ppid,
            p.user,
            p.state,
            p.vsz,
            p.rss,
            p.min_flt,
            p.maj_flt,
            p.threads,
            "K" if p.kernel_thread else "",
            printable(p.comm),
        )
        for p in report.processes
    ]
    click.echo(plain_table(COLUMNS, rows, RIGHT))
    if explain_columns:
        print_table(
            [text("common.view.column"), text("common.view.source")],
            [[c, explain.column_source(k)] for c, k in zip(COLUMNS, explain.COLUMN_KEYS, strict=True)],
            title=text("common.view.column_sources"),
        )
    out.sentences(explain.ps_sentences(report))


def show_kthreads(report: KthreadsReport, out: Output) -> None:
    rows: list[list[object]] = []
    for fam in report.families:
        names = fam.names
        more = f", … (+{len(names) - NAMES_SHOWN})" if len(names) > NAMES_SHOWN else ""
        rows.append([fam.family, fam.count, fam.per_cpu, ", ".join(names[:NAMES_SHOWN]) + more])
    threads, per_cpu = text("ps.view.threads"), text("ps.view.per_cpu")
    print_table(
        [text("ps.view.family"), threads, per_cpu, text("ps.view.names")],
        rows,
        title=text("ps.view.kthreads_title"),
        right=[threads, per_cpu],
    )
    out.sentences(explain.kthreads_sentences(report))
