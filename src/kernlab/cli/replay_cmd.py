"""`kernlab replay`: the call tree of a `record --functions` recording, as uftrace replay shows it."""

from __future__ import annotations

from pathlib import Path

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option


@click.command(
    "replay",
    epilog=examples(
        "kernlab record --functions -- ./prog && kernlab replay",
        "kernlab replay -F '^main$' -D 3          main and three levels below it",
        "kernlab replay -N printf -t 10us --tid 1234",
        "kernlab replay --json",
        "kernlab record -K 5 -- mv a b && kernlab replay   the kernel functions beneath its system calls",
    ),
)
@recording_dir_option
@click.option(
    "-F",
    "--filter",
    "include",
    multiple=True,
    metavar="REGEX",
    help="Only these functions and what they call.",
)
@click.option(
    "-N",
    "--notrace",
    "exclude",
    multiple=True,
    metavar="REGEX",
    help="Not these functions, nor what they call.",
)
@click.option("-D", "--depth", type=click.IntRange(min=1), default=None, help="Calls up to this depth.")
@click.option(
    "-t",
    "--time-filter",
    "time_filter",
    metavar="TIME",
    default=None,
    help="Hide calls shorter than TIME (10us, 1.5ms).",
)
@click.option("--tid", "tids", type=int, multiple=True, help="Only this thread (repeatable).")
@click.option("--no-faults", is_flag=True, help="Leave page faults out of the tree.")
@click.option("--no-kernel", is_flag=True, help="Leave the kernel functions (record -K) out of the tree.")
@output_options
def replay(
    directory: Path,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    depth: int | None,
    time_filter: str | None,
    tids: tuple[int, ...],
    no_faults: bool,
    no_kernel: bool,
    out: Output,
) -> None:
    """The calls of the program's functions, one tree per thread, as `uftrace replay` prints them.

    System calls (with their decoded arguments) and page faults appear inside the function that
    made them. Needs a recording made with `kernlab record --functions` or `-K DEPTH` (the kernel
    functions beneath each system call and fault, without durations).
    """
    from kernlab.render.views import replay as view
    from kernlab.reports import replay as reports

    report = reports.build(
        directory,
        include=list(include),
        exclude=list(exclude),
        depth=depth,
        time_ns=reports.parse_time(time_filter) if time_filter else 0,
        tids=set(tids) or None,
        faults=not no_faults,
        kernel=not no_kernel,
    )
    out.emit(report, view.show)
