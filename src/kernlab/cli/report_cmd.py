"""`kernlab report`: system calls (like strace -c) and page faults of a recording."""

from __future__ import annotations

from pathlib import Path

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option


@click.command(
    "report",
    epilog=examples(
        "kernlab record -- ls -la /usr && kernlab report",
        "kernlab report -d /tmp/ls.data --top 20",
        "kernlab report --json | jq '.syscalls.combined.rows[0]'",
    ),
)
@recording_dir_option
@click.option(
    "--top",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Rows of faulting instructions.",
)
@click.option("--no-per-process", is_flag=True, help="Only the combined system-call table.")
@click.option("--no-symbols", is_flag=True, help="Do not open binaries to name faulting instructions.")
@click.option(
    "--syscall-time",
    type=click.Choice(["wall", "cpu"]),
    default="wall",
    show_default=True,
    help="wall: time inside each call (strace -c -w); cpu: on-CPU time inside it (strace -c).",
)
@output_options
def report(
    directory: Path, top: int, no_per_process: bool, no_symbols: bool, syscall_time: str, out: Output
) -> None:
    """System calls (like strace -c -w, or -c with --syscall-time cpu) and page faults, explained.

    Reads the raw ring-buffer pages that `kernlab record` saved, decodes them with the event
    format files saved beside them, and shows calls/errors/time per system call, faults by
    process, kind of memory area, error code and instruction, and any lost events.
    """
    from kernlab.render.progress import progress
    from kernlab.render.views import report as view
    from kernlab.reports import report as reports

    with progress("decoding recording"):
        result = reports.build(
            directory,
            top=top,
            per_process=not no_per_process,
            symbolize=not no_symbols,
            syscall_time=syscall_time,
        )
    out.emit(result, view.show)
