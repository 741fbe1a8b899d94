"""`kernlab faults`: one line per page fault of a recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option
from kernlab.cli.event_lines import print_event_lines

KINDS = {True: "major", False: "minor", None: ""}


def format_line(ln: Any) -> str:
    from kernlab.analysis.kstacks import ARROW

    stack = f" kstack: {ARROW.join(ln.kernel_stack)}" if ln.kernel_stack else ""
    return (
        f"{ln.time_s:12.6f} [{ln.cpu:03d}] {ln.pid:>7} {ln.comm:<15.15} {ln.mode:<6} {KINDS[ln.major]:<5} "
        f"addr={ln.address:#x} ip={ln.ip:#x} code={ln.error_code:#x} ({ln.meaning}) "
        f"{ln.vma_kind} {ln.vma or ''} at {ln.where}{stack}"
    )


def render(listing: Any, out: Output) -> None:
    from kernlab.catalog import say

    if not print_event_lines(listing, format_line, out):
        out.sentence(say("report.lines.faults_none"))
        return
    out.sentence(
        say(
            "report.lines.faults",
            shown=listing.total_faults,
            first=listing.first_anon_writes,
            file=listing.file_backed,
            kernel=listing.kernel_mode,
        )
    )


@click.command(
    "faults",
    epilog=examples(
        "kernlab faults -d kernlab.data",
        "kernlab faults --vma heap --vma anon-mmap",
        "kernlab faults --pid 1234 --json",
    ),
)
@recording_dir_option
@click.option("--pid", "pids", type=int, multiple=True, help="Only this thread id (repeatable).")
@click.option(
    "--vma",
    "kinds",
    multiple=True,
    help="Only faults in this kind of area: binary-text, binary-data, binary-bss, shared-lib, heap, stack, "
    "anon-mmap, file-mmap, vdso, unknown (repeatable).",
)
@click.option("--no-symbols", is_flag=True, help="Do not open binaries to name the faulting instructions.")
@output_options
def faults(
    directory: Path, pids: tuple[int, ...], kinds: tuple[str, ...], no_symbols: bool, out: Output
) -> None:
    """Page faults of a recording, one line each, like perf trace -F all.

    Time, CPU, thread, user or kernel mode, the faulting address and instruction, the error code
    in words, the kind of memory area (from the saved /proc/PID/maps) and the instruction's
    binary+symbol+offset.
    """
    from kernlab.analysis.listing import list_faults
    from kernlab.recording.reader import open_recording

    rec = open_recording(directory)
    listing = list_faults(rec, set(pids) or None, set(kinds) or None, symbolize=not no_symbols)
    out.emit(listing, render)
