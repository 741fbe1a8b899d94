"""kernlab record: trace a command or a running process into a recording directory."""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.recording.recorder import RecordResult

EPILOG = examples(
    "kernlab record -- ls -l /               trace ls: syscalls, faults, scheduling",
    "kernlab record -d run1 -e pagecache -- cat big.iso > /dev/null",
    "kernlab record --kstack page_fault_user -- ./prog   kernel stacks of user faults",
    "kernlab record -p 1234 --duration 5      a running process for 5 seconds",
    "kernlab report                           then read what was recorded",
    "kernlab record --report -- ./prog        record, then print the report at once",
)


def _split(values: tuple[str, ...]) -> list[str]:
    return [item for value in values for item in value.split(",") if item.strip()]


@click.command(
    "record",
    epilog=EPILOG,
    context_settings={"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]},
)
@click.option(
    "-d", "--output", default="kernlab.data", show_default=True, help="Recording directory to write."
)
@click.option(
    "-e",
    "--events",
    "groups",
    multiple=True,
    metavar="GROUPS",
    help="More event groups (pagecache, block, fs, kmem) or system:event, comma-separated.",
)
@click.option("--only", is_flag=True, help="Record only the -e events, not the default set.")
@click.option(
    "--kstack",
    multiple=True,
    metavar="EVENTS",
    help="Record a kernel stack trace with these events (e.g. page_fault_user), or 'all'.",
)
@click.option("-p", "--pid", type=int, default=None, help="Record a running process instead of a command.")
@click.option("--duration", type=float, default=None, help="With -p: stop after this many seconds.")
@click.option("--buffer-size", "buffer_kb", type=int, default=None, help="Ring buffer per CPU, in KiB.")
@click.option(
    "--clock",
    default="local",
    show_default=True,
    help="Trace clock (one of tracefs trace_clock: local, mono, global, ...).",
)
@click.option(
    "--no-ptrace",
    is_flag=True,
    help="Do not follow with ptrace (no maps snapshots), so the command may itself be strace or gdb.",
)
@click.option(
    "--report",
    "then_report",
    is_flag=True,
    help="When the recording ends, print `kernlab report` of it (in the same process).",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@output_options
def record(
    out: Output,
    output: str,
    groups: tuple[str, ...],
    only: bool,
    kstack: tuple[str, ...],
    pid: int | None,
    duration: float | None,
    buffer_kb: int | None,
    clock: str,
    no_ptrace: bool,
    then_report: bool,
    command: tuple[str, ...],
) -> None:
    """Trace COMMAND (or the process -p PID) into a recording directory.

    The command runs with its own stdin/stdout/stderr; kernlab's summary goes to stderr and
    kernlab exits with the command's exit status. With --report, the report of the recording
    (what `kernlab report -d DIR` prints, --json included) follows on stdout instead of the
    summary, like `strace -c` or `perf trace -s` at the end of a run.
    """
    from kernlab.errors import BadInput
    from kernlab.recording.recorder import RecordOptions
    from kernlab.recording.recorder import record as run_record

    if pid is None and not command:
        raise BadInput("nothing to record: give a command after -- or -p PID")
    options = RecordOptions(
        output=Path(output),
        command=list(command),
        pid=pid,
        duration=duration,
        groups=_split(groups),
        only=only,
        kstack=_split(kstack),
        buffer_size_kb=buffer_kb,
        clock=clock,
        use_ptrace=not no_ptrace,
    )
    preload = _Preload(out) if then_report else None
    # The instance's removal (~0.1 s of kernel grace periods) overlaps the summary or report.
    result = run_record(options, on_phase=preload.start if preload else None, background_removal=True)
    try:
        if preload is not None:
            preload.join()
            from kernlab.cli.report_cmd import show_report

            show_report(result.directory, out)
        else:
            out.emit(result, _render)
    finally:
        result.finish_cleanup()
    if result.meta.exit_code is not None and not result.meta.attached:
        sys.exit(result.meta.exit_code)


class _Preload:
    """Imports what --report needs in a thread while the command runs.

    The main thread only waits for the command then, so the imports (~0.1 s of CPU, mostly
    building classes) come off the time between the command's end and the report.
    """

    def __init__(self, out: Output) -> None:
        self._modules = [
            "kernlab.analysis.report",
            "kernlab.cli.report_cmd",
            "kernlab.mm.fault_codes",  # imported lazily by the fault analysis
            "kernlab.elf.reader",  # symbolization of the faulting instructions
        ]
        self._modules.append("kernlab.render.jsonout" if out.json else "kernlab.render.terminal")
        self._thread: threading.Thread | None = None

    def start(self, phase: str) -> None:
        if phase == "armed" and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kernlab-preload", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        import importlib

        for name in self._modules:
            with contextlib.suppress(Exception):  # the real import, later, reports any error
                importlib.import_module(name)

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _render(result: RecordResult, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import error_console

    meta = result.meta
    console = error_console()  # stdout belongs to the traced command
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, title=f"Recording {result.directory}", title_justify="left")
    for name in ("CPU", "raw bytes", "events read", "overrun", "dropped", "lost"):
        table.add_column(name, justify="right")
    for cpu in meta.loss:
        table.add_row(
            str(cpu.cpu),
            f"{cpu.bytes_raw:,}",
            f"{cpu.read:,}",
            str(cpu.overrun),
            str(cpu.dropped),
            str(cpu.lost),
        )
    console.print(table)
    console.print(
        f"  events: {', '.join(meta.events)}\n"
        f"  buffer: {meta.buffer_size_kb} KiB per CPU, clock {meta.clock}",
        markup=False,
        highlight=False,
    )
    for note in meta.notes:
        console.print(f"  note: {note}", markup=False, highlight=False)
    if out.quiet:
        return
    events = sum(c.read for c in meta.loss)
    what = (
        say("record.what_command", command=" ".join(meta.command))
        if meta.command
        else say("record.what_pid", pid=meta.root_pid)
    )
    lost_cpus = [str(c.cpu) for c in meta.loss if c.lost]
    loss = (
        say("record.loss", lost=meta.lost_events, cpus=", ".join(lost_cpus))
        if meta.lost_events
        else say("record.no_loss")
    )
    sentences = [
        say(
            "record.summary",
            events=f"{events:,}",
            size=_size(result.raw_bytes),
            what=what,
            directory=result.directory,
            loss=loss,
        )
    ]
    if meta.rusage is not None:
        sentences.append(say("record.faults", minflt=meta.rusage.minflt, majflt=meta.rusage.majflt))
    if meta.attached:
        seconds = (meta.end_time_ns - meta.start_time_ns) / 1e9
        sentences.append(say("record.attached", pid=meta.root_pid, seconds=f"{seconds:.1f}"))
    elif meta.exit_code is not None:
        sentences.append(say("record.exit", code=meta.exit_code))
    for text in sentences:
        console.print(f"[italic cyan]→ {text}[/italic cyan]", highlight=False)
