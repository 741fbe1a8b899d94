"""`kernlab faults`: one line per page fault of a recording."""

from __future__ import annotations

from pathlib import Path

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option


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
    from kernlab.render.views import faults as view
    from kernlab.reports import faults as reports

    report = reports.build(
        directory, pids=set(pids) or None, vma_kinds=set(kinds) or None, symbolize=not no_symbols
    )
    out.emit(report, view.show)
