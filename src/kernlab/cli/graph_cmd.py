"""`kernlab graph FUNC`: the calls below a function merged by call path, as uftrace graph shows them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option

EMPTY_ANSWER = 8
"""Exit status when FUNC was never called (grep's "no match"; kernlab's 1 is a failure), as
`kernlab ksrc` exits on an empty answer."""


@click.command(
    "graph",
    epilog=examples(
        "kernlab record --functions -- ./prog && kernlab graph main",
        "kernlab graph middle -D 2           two levels below middle",
        "kernlab graph                       the whole graph, under the program's name",
        "kernlab graph write@syscall         a system call's backtraces (NAME@kernel: record -K)",
        "kernlab graph main --json",
    ),
)
@recording_dir_option
@click.argument("function", required=False, metavar="[FUNC]")
@click.option("-D", "--depth", type=click.IntRange(min=1), default=None, help="Levels below FUNC.")
@click.option("--tid", "tids", type=int, multiple=True, help="Only this thread (repeatable).")
@click.option("--no-kernel", is_flag=True, help="Leave the kernel functions (record -K) out.")
@output_options
def graph(
    directory: Path,
    function: str | None,
    depth: int | None,
    tids: tuple[int, ...],
    no_kernel: bool,
    out: Output,
) -> None:
    """The calls below FUNC merged by call path, with calls and total time, as `uftrace graph FUNC`.

    First the backtraces (each path that led to FUNC, how often and how long), then the graph:
    each line one call path, `(calls) name` with its total time. Without FUNC, the whole graph
    under the program's name. System calls are NAME@syscall, kernel functions NAME@kernel.
    Exits with status 8 when FUNC was never called. Needs a `kernlab record --functions`
    recording.
    """
    from kernlab.render.views import graph as view
    from kernlab.reports import graph as reports

    report = reports.build(directory, function, depth=depth, tids=set(tids) or None, kernel=not no_kernel)
    out.emit(report, view.show)
    if report.root is None:
        sys.exit(EMPTY_ANSWER)
