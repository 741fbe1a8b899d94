"""kernlab record: trace a command or a running process into a recording directory.

Longer than the ~100 lines of a command module: the recorder has eleven options, and
``--report`` preloads the report's modules in a thread while the command runs (startup
latency, not domain logic). The recording itself is kernlab.recording.recorder's.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path

import click

from kernlab.cli.common import Output, examples, output_options

EPILOG = examples(
    "kernlab record -- ls -l /               trace ls: syscalls, faults, scheduling",
    "kernlab record -d run1 -e pagecache -- cat big.iso > /dev/null",
    "kernlab record --kstack page_fault_user -- ./prog   kernel stacks of user faults",
    "kernlab record -p 1234 --duration 5      a running process (or kernel thread) for 5 seconds",
    "kernlab record -a --duration 2           every task of the system (Ctrl-C ends it)",
    "kernlab report                           then read what was recorded",
    "kernlab record --report -- ./prog        record, then print the report at once",
    "kernlab record --functions -- ./prog     its functions too (uprobes); then `kernlab replay`",
    "kernlab record -K 5 -- mv a b            the kernel paths beneath its system calls and faults",
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
@click.option(
    "-a",
    "--system-wide",
    is_flag=True,
    help="Record every task of the system, as `cat trace_pipe` shows (no ptrace, no maps snapshots).",
)
@click.option("--duration", type=float, default=None, help="With -p or -a: stop after this many seconds.")
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
@click.option(
    "--functions",
    is_flag=True,
    help="Also record the calls of the program's own functions (uprobes), for `kernlab replay`.",
)
@click.option(
    "-F",
    "--filter",
    "fn_include",
    multiple=True,
    metavar="REGEX",
    help="--functions: only these and what they call.",
)
@click.option(
    "-N",
    "--notrace",
    "fn_exclude",
    multiple=True,
    metavar="REGEX",
    help="--functions: not these (nor what they call); matched leaves and library calls are not probed.",
)
@click.option(
    "-D",
    "--depth",
    "fn_depth",
    type=click.IntRange(min=1),
    default=None,
    help="--functions: calls up to this depth.",
)
@click.option(
    "--max-functions",
    type=click.IntRange(min=1),
    default=None,
    help="--functions: refuse to probe more functions than this (default 2000).",
)
@click.option(
    "-K",
    "--kernel-depth",
    type=click.IntRange(min=1),
    default=None,
    metavar="DEPTH",
    help="Also the kernel functions beneath each system call and fault, DEPTH deep (`kernlab replay`).",
)
@click.option(
    "--kernel-source",
    "kernel_source",
    default="auto",
    show_default=True,
    metavar="SOURCES",
    help="-K: how the kernel paths are seen: auto, or a comma list of function_graph, tracepoints, "
    "sampled (perf cpu-clock samples with call chains).",
)
@click.option(
    "--libcall/--no-libcall",
    default=True,
    show_default=True,
    help="--functions: the library calls the program makes too (probed in the program's PLT "
    "and call sites: no other process traps).",
)
@click.option(
    "--nest-libcall",
    is_flag=True,
    help="--functions: library calls made inside libraries too (probes in the libraries: every "
    "process using them traps while the recording runs).",
)
@click.option(
    "--lib",
    "libs",
    multiple=True,
    metavar="LIB:FUNCS",
    help="--functions: these functions of a loaded library too, e.g. libc:rename,puts.",
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
    system_wide: bool,
    duration: float | None,
    buffer_kb: int | None,
    clock: str,
    no_ptrace: bool,
    then_report: bool,
    functions: bool,
    fn_include: tuple[str, ...],
    fn_exclude: tuple[str, ...],
    fn_depth: int | None,
    max_functions: int | None,
    kernel_depth: int | None,
    kernel_source: str,
    libcall: bool,
    nest_libcall: bool,
    libs: tuple[str, ...],
    command: tuple[str, ...],
) -> None:
    """Trace COMMAND (or the process -p PID) into a recording directory.

    The command runs with its own stdin/stdout/stderr; kernlab's summary goes to stderr and
    kernlab exits with the command's exit status. With --report, the report of the recording
    (what `kernlab report -d DIR` prints, --json included) follows on stdout instead of the
    summary, like `strace -c` or `perf trace -s` at the end of a run.
    """
    from kernlab.errors import BadInput
    from kernlab.recording.kernel_paths import parse_sources
    from kernlab.recording.recorder import RecordOptions
    from kernlab.recording.recorder import record as run_record

    if pid is None and not command and not system_wide:
        raise BadInput(
            "nothing to record: give a command after --, -p PID or -a", key="errors.cli.nothing_to_record"
        )
    if not functions and (fn_include or fn_exclude or fn_depth or max_functions):
        raise BadInput(
            "-F, -N, -D and --max-functions filter --functions: add --functions",
            key="errors.cli.filters_need_functions",
        )
    if not functions and (nest_libcall or libs):
        raise BadInput(
            "--nest-libcall and --lib go with --functions: add --functions",
            key="errors.cli.libs_need_functions",
        )
    if kernel_source != "auto" and kernel_depth is None:
        raise BadInput(
            "--kernel-source goes with -K DEPTH: add -K", key="errors.record.kernel_source_needs_k"
        )
    if functions and (nest_libcall or libs):
        from kernlab.explain import record as explain_record

        click.echo(explain_record.library_probes_warning(), err=True)
    fn_filters = None
    if functions:
        from kernlab.recording.functions import DEFAULT_MAX_FUNCTIONS, FunctionFilters

        fn_filters = FunctionFilters(
            list(fn_include),
            list(fn_exclude),
            fn_depth,
            max_functions or DEFAULT_MAX_FUNCTIONS,
            libcalls=libcall or nest_libcall,
            nest_libcall=nest_libcall,
            libs=list(libs),
        )
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
        system_wide=system_wide,
        functions=fn_filters,
        kernel_depth=kernel_depth,
        kernel_sources=parse_sources(kernel_source),
    )
    preload = _Preload(out) if then_report else None
    # The instance's removal (~0.1 s of kernel grace periods) overlaps the summary or report.
    result = run_record(options, on_phase=preload.start if preload else None, background_removal=True)
    try:
        from kernlab.render.views import record as view
        from kernlab.reports import record as reports

        summary = reports.build(result)
        view.show_kept_previous(summary)  # on stderr, whatever the output mode
        if preload is not None:
            preload.join()
            _show_report(result.directory, out)
        else:
            out.emit(summary, view.show)
    finally:
        result.finish_cleanup()
    if result.meta.exit_code is not None and not result.meta.attached:
        sys.exit(result.meta.exit_code)


def _show_report(directory: Path, out: Output) -> None:
    """What `kernlab report -d DIRECTORY` prints, --json included."""
    from kernlab.render.progress import progress
    from kernlab.render.views import report as view
    from kernlab.reports import report as reports

    with progress("decoding recording"):
        result = reports.build(directory)
    out.emit(result, view.show)


class _Preload:
    """Imports what --report needs in a thread while the command runs.

    The main thread only waits for the command then, so the imports (~0.1 s of CPU, mostly
    building classes) come off the time between the command's end and the report.
    """

    def __init__(self, out: Output) -> None:
        self._modules = [
            "kernlab.reports.report",
            "kernlab.render.views.report",
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
