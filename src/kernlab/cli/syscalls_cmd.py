"""`kernlab syscalls`: one strace-like line per system call of a recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option
from kernlab.cli.event_lines import print_event_lines


def format_line(ln: Any) -> str:
    if ln.ret is None:
        result = "= ?"
    elif ln.errno:
        result = f"= -1 {ln.errno}"
    else:
        result = f"= {ln.ret:#x}" if ln.ret > 0xFFFFFF else f"= {ln.ret}"
    took = f" <{ln.duration_ns / 1e9:.6f}>" if ln.duration_ns is not None else ""
    head = f"{ln.time_s:12.6f} [{ln.cpu:03d}] {ln.pid:>7} {ln.comm:<15.15}"
    return f"{head} {ln.name}({ln.args_text}) {result}{took}"


def render(listing: Any, out: Output) -> None:
    from kernlab.catalog import say

    if not print_event_lines(listing, format_line, out):
        out.sentence(say("report.lines.syscalls_none"))
        return
    slowest = max(listing.lines, key=lambda ln: ln.duration_ns or 0)
    out.sentence(
        say(
            "report.lines.syscalls",
            shown=listing.total_calls,
            errors=listing.errors,
            name=slowest.name,
            pid=slowest.pid,
            micros=(slowest.duration_ns or 0) / 1000,
        )
    )
    if listing.args_from_live_kernel:
        out.sentence(say("report.lines.live_args"))


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
    from kernlab.analysis.listing import list_syscalls
    from kernlab.recording.reader import open_recording

    rec = open_recording(directory)
    listing = list_syscalls(rec, set(pids) or None, set(names) or None, failed)
    out.emit(listing, render)
