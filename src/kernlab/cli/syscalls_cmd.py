"""`kernlab syscalls`: one strace-like line per system call of a recording."""

from __future__ import annotations

from pathlib import Path

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option


@click.command(
    "syscalls",
    epilog=examples(
        "kernlab syscalls -d kernlab.data",
        "kernlab syscalls -e openat -e mmap --pid 1234",
        "kernlab syscalls --failed --json",
    ),
)
@recording_dir_option
@click.option("--pid", "pids", type=int, multiple=True, help="Only this thread id (repeatable).")
@click.option("-e", "--event", "names", multiple=True, help="Only this system call, by name (repeatable).")
@click.option("--failed", is_flag=True, help="Only calls that returned an error.")
@output_options
def syscalls(
    directory: Path, pids: tuple[int, ...], names: tuple[str, ...], failed: bool, out: Output
) -> None:
    """System calls of a recording, one line each, like strace -f -T.

    Time (s from the first record), CPU, thread id, command, the call with its arguments decoded
    with the names and types the kernel's sys_enter_<name> formats give, the return value or
    errno, and the time spent in the kernel.
    """
    from kernlab.render.views import syscalls as view
    from kernlab.reports import syscalls as reports

    report = reports.build(directory, pids=set(pids) or None, names=set(names) or None, failed_only=failed)
    out.emit(report, view.show)
