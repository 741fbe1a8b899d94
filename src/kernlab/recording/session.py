"""One recording session, step by step: prepare, start the command, arm, follow, stop, finish.

:func:`record` checks the options, then a :class:`RecordingSession` runs the steps in order.
Whatever happens after the signal handlers are installed, the stop and clean-up steps run
(``finally``): tracing off, the pages left drained, a held command killed before its execve,
traced tasks detached, the tracefs instance removed. Only a recording that got that far is
finished: the metadata of its end is added and meta.json written again.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kernlab.errors import BadInput, KernlabError, PermissionNeeded, TracingError
from kernlab.recording import layout
from kernlab.recording.arming import arm_events, copy_headers, exclude_pids, set_up_buffers, sync_marker
from kernlab.recording.directory import prepare_output
from kernlab.recording.drain import Drainer, read_loss
from kernlab.recording.events import EventChoice, resolve_events
from kernlab.recording.finish import finish_meta
from kernlab.recording.follow import follow_attached, follow_untraced, run_command, wait_for_interrupted
from kernlab.recording.functions import FunctionFilters, FunctionProbes
from kernlab.recording.kernel_paths import KernelPathSource, choose_source, write_settings
from kernlab.recording.kernel_tables import TablesCopied, TablesCopier
from kernlab.recording.layout import RecordingMeta, TracedProcess
from kernlab.recording.notes import note
from kernlab.recording.probe_buffer import BUFFER_NAME, ProbeBuffer
from kernlab.recording.signals import Signals
from kernlab.recording.snapshot import process_faults
from kernlab.recording.spawn import (
    Child,
    check_attachable,
    resolve_command,
    spawn_held,
    spawn_waiting,
    task_ids,
)
from kernlab.recording.watcher import ProcessWatcher
from kernlab.tracing.instance import Instance, clean_stale
from kernlab.tracing.tracefs import available_events, tracefs_root

__all__ = [
    "DRAIN_INTERVAL_S",
    "BackgroundRemoval",
    "RecordOptions",
    "RecordResult",
    "RecordingSession",
    "SpawnHeld",
    "check_options",
    "record",
]

DRAIN_INTERVAL_S = 0.1

SpawnHeld = Callable[[str, list[str], Path], Child | None]
"""How the command is started held before its execve (None: this system cannot; fork instead)."""


@dataclass
class RecordOptions:
    """What to record and where."""

    output: Path = Path(layout.DEFAULT_DIR)
    command: list[str] = field(default_factory=list)
    pid: int | None = None
    duration: float | None = None
    groups: list[str] = field(default_factory=list)
    """Extra event groups or ``system:event`` names (added to the defaults unless ``only``)."""
    only: bool = False
    kstack: list[str] = field(default_factory=list)
    """Events that also record a kernel stack trace; ``all`` for every event."""
    buffer_size_kb: int | None = None
    drain_interval: float = DRAIN_INTERVAL_S
    clock: str = "local"
    """Trace clock. ``local`` (the kernel's default) is the cheapest per event; sync markers
    written at start and end tie it to CLOCK_MONOTONIC (see docs/recording-format.md)."""
    use_ptrace: bool = True
    """Follow the command with ptrace for maps snapshots; off lets the command be a debugger."""
    system_wide: bool = False
    """``-a``: every task of the system, as ``cat trace_pipe`` shows (no pid filter, no ptrace)."""
    functions: FunctionFilters | None = None
    """``--functions``: probe the main executable's functions (see recording/functions.py)."""
    kernel_depth: int | None = None
    """``-K DEPTH``: the kernel functions beneath system calls and faults (recording/kernel_paths.py)."""
    kernel_sources: list[str] = field(default_factory=list)
    """``--kernel-source``: the -K sources asked for ([]: chosen by trying, samples included)."""


@dataclass
class RecordResult:
    """The finished recording: its directory, metadata, and the size of the raw data."""

    directory: Path
    meta: RecordingMeta
    raw_bytes: int
    elapsed_s: float
    target: str = "command"
    """What was recorded: ``command``, ``process`` (-p), ``kernel_thread`` (-p of one) or
    ``system`` (-a)."""
    previous: Path | None = None
    """Where the recording that was at ``directory`` before was kept (``DIR.old``)."""
    _cleanup: BackgroundRemoval | None = field(default=None, repr=False)

    def finish_cleanup(self) -> None:
        """Wait until the instance is gone (see ``record(..., background_removal=True)``).

        Raises the removal's TracingError, if it failed; does nothing when it already ran.
        """
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup.join()


class BackgroundRemoval:
    """rmdir of the instance in a thread, so its RCU grace periods (~0.1 s) overlap other work.

    The thread is not a daemon: even an exception that ends the program waits for it. Until
    :meth:`join`, SIGINT/SIGTERM/SIGHUP raise RecordingInterrupted in the main thread (so the
    program unwinds through ``finally`` and joins) instead of killing the process mid-removal.
    """

    def __init__(self, instances: list[Instance], signals: Signals) -> None:
        self._instances = instances
        self._signals = signals
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kernlab-remove-instance")
        self._thread.start()

    def _run(self) -> None:
        try:
            _remove_all(self._instances)
        except BaseException as exc:  # broad on purpose: whatever ends the thread, join() re-raises it
            self._error = exc

    def join(self) -> None:
        try:
            self._thread.join()
        finally:
            self._signals.restore()
        if self._error is not None:
            raise self._error


def _remove_all(instances: list[Instance]) -> None:
    """Remove each instance; the first failure is raised once all were tried."""
    failure: BaseException | None = None
    for instance in instances:
        try:
            instance.remove()
        except BaseException as exc:  # re-raised below, after the others were tried
            failure = failure or exc
    if failure is not None:
        raise failure


def record(
    options: RecordOptions,
    on_phase: Callable[[str], None] | None = None,
    background_removal: bool = False,
    start_held: SpawnHeld = spawn_held,
) -> RecordResult:
    """Make one recording as ``options`` say; an OSError becomes one clear TracingError.

    A signal during set-up raises RecordingInterrupted (after cleaning up); during the run it
    is passed to the command (or, with ``-p``, ends the recording), and the recording is kept.
    ``on_phase("armed")`` is called once tracing is on. With ``background_removal`` the
    instance (already stopped, its pages saved) is removed by a thread while the caller goes
    on, e.g. to decode the recording: the caller must then call ``result.finish_cleanup()``
    (in a ``finally``) before it exits. ``start_held`` starts the command held before its
    execve (returning None makes kernlab fork a waiting child instead).
    """
    try:
        command_path = check_options(options)
        return RecordingSession(options, command_path).run(on_phase, background_removal, start_held)
    except OSError as exc:
        reason = str(exc.strerror or exc)
        if exc.filename:
            raise TracingError(
                f"recording failed: {exc.filename} {reason}",
                path=str(exc.filename),
                key="errors.record.failed_on",
                fields={"path": str(exc.filename), "reason": reason},
            ) from exc
        raise TracingError(
            f"recording failed: {reason}", key="errors.record.failed", fields={"reason": reason}
        ) from exc


def check_options(options: RecordOptions) -> str:
    """Refuse options that do not fit together; return the command's file ("" for -p PID, -a)."""
    if options.system_wide and (options.pid is not None or options.command):
        raise BadInput(
            "-a records the whole system: give no -p PID and no command with it",
            key="errors.record.system_wide_alone",
        )
    if options.pid is not None and options.command:
        raise BadInput("give either -p PID or a command, not both", key="errors.record.pid_or_command")
    if options.pid is None and not options.system_wide and options.duration is not None:
        raise BadInput(
            "--duration applies to -p PID or -a; a command is recorded until it exits",
            key="errors.record.duration_needs_target",
        )
    if options.duration is not None and options.duration <= 0:
        raise BadInput(
            "--duration must be a positive number of seconds", key="errors.record.duration_positive"
        )
    if options.functions is not None and options.system_wide:
        raise BadInput(
            "--functions probes one program: give a command or -p PID, not -a",
            key="errors.record.functions_not_system_wide",
        )
    if options.buffer_size_kb is not None and options.buffer_size_kb < 4:
        raise BadInput("--buffer-size must be at least 4 KiB", key="errors.record.buffer_too_small")
    if options.pid is not None:
        check_attachable(options.pid)
        return ""
    if options.system_wide:
        return ""
    return resolve_command(options.command)


class RecordingSession:
    """The state of one recording between its steps; :meth:`run` takes them in order."""

    def __init__(self, options: RecordOptions, command_path: str) -> None:
        """Check tracefs access, clean stale instances, choose the events, prepare the directory."""
        self.options = options
        self.command_path = command_path
        self.attach_pid: int | None = options.pid
        """-p PID; None when a command is recorded."""
        self.kernel_thread = options.pid is not None and check_attachable(options.pid)
        """-p of a kernel thread: no ptrace, no maps; a kernel stack with every event."""
        self.system_wide = options.system_wide
        self.target = (
            "system"
            if options.system_wide
            else "kernel_thread"
            if self.kernel_thread
            else "process"
            if options.pid is not None
            else "command"
        )
        self.root = tracefs_root()
        if os.geteuid() != 0 and not os.access(self.root / "instances", os.W_OK):
            raise PermissionNeeded(
                f"recording needs root: cannot create instances in {self.root / 'instances'}",
                path=self.root / "instances",
                key="errors.record.needs_root",
                fields={"path": str(self.root / "instances")},
            )
        clean_stale(self.root)
        self.functions: FunctionProbes | None = None
        if options.functions is not None:  # chosen now: a refusal comes before the directory is touched
            exe = command_path or os.readlink(f"/proc/{options.pid}/exe").removesuffix(" (deleted)")
            self.functions = FunctionProbes(
                self.root, os.path.realpath(exe), options.functions, pid=options.pid
            )
        available = available_events(self.root)
        self.choice: EventChoice = resolve_events(
            options.groups, available, include_defaults=not options.only
        )
        self.kernel_paths: KernelPathSource | None = None
        if options.kernel_depth is not None:  # its events join the choice, so their formats are saved
            self.kernel_paths = choose_source(
                options.kernel_depth,
                available,
                self.root,
                system_wide=options.system_wide,
                sources=options.kernel_sources,
            )
            extra = [e for e in self.kernel_paths.extra_events() if e not in self.choice.events]
            self.choice = EventChoice(self.choice.events + extra, self.choice.missing)
        self.directory = Path(options.output)
        from kernlab.recording.state import claiming  # lock + state.json (kept local: one hook)

        with claiming(self.directory):  # refuses a directory another recorder holds
            prepared = prepare_output(self.directory)
        self.previous = prepared.previous
        """Where a recording that was at the directory was kept (``DIR.old``), or None."""
        self.tables = TablesCopier(self.root, self.directory, self.choice.events, prepared.to_delete)
        self.signals = Signals()
        self.instance: Instance | None = None
        self.probe_buffer: ProbeBuffer | None = None
        """The function probes' own instance (recording/probe_buffer.py), when they have one."""
        self.drainer: Drainer | None = None
        self.child: Child | None = None
        self.tids: list[int] = []
        """-p: the threads of the process when tracing was armed."""
        self.start_faults = (0, 0)
        self.copied = TablesCopied()
        self.t0 = 0.0
        self.meta = RecordingMeta(
            format_version=layout.FORMAT_VERSION,
            command=list(options.command),
            root_pid=options.pid or 0,
            attached=options.pid is not None or options.system_wide,
            events=self.choice.events,
            kstack_events=[],
            kernel_release=os.uname().release,
            host=os.uname().nodename,
            machine=os.uname().machine,
            page_size=0,
            cpus=0,
            clock="",
            buffer_size_kb=0,
            start_time_ns=0,
            end_time_ns=0,
            wall_start=time.time(),
            exit_code=None,
            config={},  # filled in from the copier, which reads /proc/config.gz off the critical path
        )
        for missing in self.choice.missing:
            self.meta.add_note(
                note(
                    "record.note.event_missing",
                    "event {event} is not available on this kernel",
                    event=missing,
                )
            )
        self.watcher = ProcessWatcher(self.directory, self.meta.add_note)

    def run(
        self, on_phase: Callable[[str], None] | None, background_removal: bool, start_held: SpawnHeld
    ) -> RecordResult:
        """All the steps; return once the recording is saved (the instance maybe still going)."""
        self.signals.install()
        self.t0 = time.monotonic()
        finished_normally = False
        try:
            if self.attach_pid is None and not self.system_wide:
                self.start_command(start_held)
            self.start_table_copier()
            # File names behind path arguments, read by BPF while tracing is on (kept local: one
            # hook); only when system calls are recorded: its programs run on every call.
            from kernlab.recording.path_strings import capture

            syscalls = any(e.startswith(("raw_syscalls:", "syscalls:")) for e in self.choice.events)
            with capture(self.directory, self.meta.root_pid) if syscalls else contextlib.nullcontext():
                self.arm(on_phase)
                self.follow()
            finished_normally = True
        finally:
            # A second Ctrl-C must not cut the cleanup short: from here signals are only noted.
            self.signals.hold()
            try:
                self.stop()
            finally:
                try:
                    self.remove_probes()
                finally:
                    cleanup = self.remove_instance(background_removal and finished_normally)
        return self.finish(cleanup)

    def start_command(self, start_held: SpawnHeld) -> None:
        """The command's process, held before its execve until tracing is armed.

        posix_spawn held on a FIFO; else a fork waiting on a pipe, made while kernlab still
        has one thread (the copier starts only after this).
        """
        argv = self.options.command
        self.child = start_held(self.command_path, argv, self.directory) or spawn_waiting(
            self.command_path, argv, self.signals.ignored_at_start()
        )
        self.meta.root_pid = self.child.pid

    def start_table_copier(self) -> None:
        """kallsyms, syscall formats and printk_formats are copied while the instance is set up
        and the command runs (by a forked process, which must not keep the release pipe)."""
        child = self.child
        self.tables.start(
            close_fds=(child.release_fd,) if child is not None and child.release_fd >= 0 else (),
            guard=(child.pid, child.held.fifo) if child is not None and child.held is not None else None,
        )

    def arm(self, on_phase: Callable[[str], None] | None) -> None:
        """Create and set up the instance, filter on the root's pid(s), enable the events,
        start draining and turn tracing on."""
        meta, options = self.meta, self.options
        self.instance = instance = Instance.create(self.root)
        meta.instance = instance.name
        buffers = set_up_buffers(instance, options.buffer_size_kb, options.clock)
        meta.cpus, meta.buffer_size_kb = buffers.cpus, buffers.buffer_size_kb
        meta.page_size, meta.clock = buffers.page_size, buffers.clock
        if self.system_wide:
            # No pid filter; kernlab's own threads (and the copier's) are left out of it.
            exclude_pids(instance, self._own_pids())
        else:
            instance.set_event_pids(self._filter_pids())
        if self.functions is not None:  # defined before the command is released, enabled here only
            table = self.functions.table
            if self._probes_apart():
                self.probe_buffer = ProbeBuffer(self.root, self.directory, options.buffer_size_kb, meta.clock)
                table.buffer, table.buffer_page_size = BUFFER_NAME, self.probe_buffer.page_size
                table.traced_at_start = self._filter_pids()
            self.functions.define(self.directory)
            probes_in = self.probe_buffer.instance if self.probe_buffer is not None else instance
            self.functions.enable(probes_in, syscalls=instance)
            if self.functions.note is not None:
                meta.add_note(self.functions.note)
        # A kernel thread has no user stack and no maps: its kernel stacks say where it works.
        kstack = ["all"] if self.kernel_thread and not options.kstack else options.kstack
        probes = self.probe_buffer.instance if self.probe_buffer is not None else None
        meta.kstack_events = arm_events(instance, self.choice.events, kstack, probes)
        if self.kernel_paths is not None:
            stacked = meta.kstack_events
            meta.kstack_events = stacked + [
                e for e in self.kernel_paths.arm(instance, stacked) if e not in stacked
            ]
        copy_headers(instance, self.directory)
        if self.kernel_paths is not None:
            # Before the instance's buffer is opened: a tracer cannot change while a reader is;
            # and before the command is released: perf events opened now sample its first instruction.
            self.kernel_paths.start(instance, self.directory, self._graph_pids(), meta.clock)
            settings = self.kernel_paths.settings()
            write_settings(self.directory, settings)
            for phrase in settings.note_phrases:
                meta.add_note(phrase)
        layout.write_meta(self.directory, meta)

        self.drainer = Drainer(
            instance, self.directory, meta.page_size, meta.buffer_size_kb, options.drain_interval
        )
        self.drainer.start()
        if self.probe_buffer is not None:
            self.probe_buffer.start(options.drain_interval)
        meta.start_time_ns = time.monotonic_ns()
        meta.wall_start = time.time()
        instance.tracing_on(True)
        meta.clock_sync_ns.append(sync_marker(instance))
        if on_phase:
            on_phase("armed")

    def _probes_apart(self) -> bool:
        """Whether the function probes get their own unfiltered instance: every probe in the
        program's file (only processes running it hit them), and fork events recorded (the reader
        follows the traced tasks through them)."""
        assert self.functions is not None
        return (
            not self.system_wide
            and "sched:sched_process_fork" in self.choice.events
            and bool(self.functions.table.functions)
            and self.functions.table.only_in_program()
        )

    def _graph_pids(self) -> list[int]:
        """The tasks function_graph follows (their children through options/function-fork)."""
        if self.attach_pid is not None:
            return self.tids or [self.attach_pid]
        return [self.child.pid] if self.child is not None else []

    def _own_pids(self) -> list[int]:
        """kernlab's threads now and the table copier's process (threads started later follow
        through options/event-fork)."""
        pids = task_ids(os.getpid())
        copier = self.tables.pid
        return pids + ([copier] if copier else [])

    def _filter_pids(self) -> list[int]:
        """set_event_pid: every thread of a -p process, or the held child (its children follow)."""
        if self.attach_pid is not None:
            self.tids = task_ids(self.attach_pid)
            return self.tids
        assert self.child is not None, "start_command() runs before arm()"
        return [self.child.pid]

    def follow(self) -> None:
        """Run the command to its end, or follow the -p process until it ends or is let go."""
        pid = self.attach_pid
        if self.system_wide or self.kernel_thread:
            if self.kernel_thread:
                untraced = note(
                    "record.note.untraced_kthread",
                    "kernel thread {pid} recorded without ptrace: no maps snapshots (a kernel thread has "
                    "no user address space); kernel stacks with every event",
                    pid=pid or 0,
                )
            else:
                untraced = note(
                    "record.note.untraced_system",
                    "the whole system recorded without ptrace: no maps snapshots of the processes seen; "
                    "user addresses are not attributed to files",
                )
            self.meta.add_note(untraced)
            follow_untraced(pid, self.options.duration, self.signals)
        elif pid is not None:
            self.start_faults = process_faults(pid)
            self.watcher.processes[pid] = TracedProcess(pid=pid)
            self.watcher.snapshot(pid, "attach")
            follow_attached(pid, self.tids, self.watcher, self.options.duration, self.signals)
        else:
            assert self.child is not None, "start_command() runs before follow()"
            run_command(self.child, self.watcher, self.signals, self.options.use_ptrace)

    def stop(self) -> None:
        """Tracing off, the last pages and the loss counters saved, the traced tasks let go;
        the kernel-path source switched off and every setting it changed restored."""
        try:
            self._stop_tracing()
        finally:
            if self.kernel_paths is not None:
                try:
                    self.kernel_paths.stop()
                finally:
                    if self.instance is not None:  # started: its settings now have the losses
                        with contextlib.suppress(OSError):
                            write_settings(self.directory, self.kernel_paths.settings())

    def _stop_tracing(self) -> None:
        instance, meta, drainer = self.instance, self.meta, self.drainer
        if instance is not None:
            with contextlib.suppress(KernlabError, OSError):
                if meta.clock_sync_ns:
                    meta.clock_sync_ns.append(sync_marker(instance))
            with contextlib.suppress(KernlabError):
                instance.tracing_on(False)
        meta.end_time_ns = time.monotonic_ns()
        # Every step runs whatever the one before it raised (a full disk fails the main drain
        # first): the probe buffer left running keeps its trace_pipe_raw files open and its
        # instance could not be removed. The first error is raised once all have run.
        first: BaseException | None = None
        if drainer is not None:
            try:
                drainer.finish()
            except BaseException as exc:  # re-raised below, after the other steps
                first = exc
            finally:
                meta.loss = read_loss(instance, drainer)
                drainer.close()
        if self.probe_buffer is not None:
            try:
                meta.loss += self.probe_buffer.stop()
            except BaseException as exc:  # re-raised below, after the other steps
                first = first or exc
        try:
            if self.child is not None:
                self.child.close()
                wait_for_interrupted(self.child.pid, self.watcher)
            if self.watcher.tasks:
                self.watcher.detach_all()
        except BaseException as exc:  # re-raised below
            first = first or exc
        if first is not None:
            raise first

    def remove_probes(self) -> None:
        """Disable the function probes in the instance, then remove them (before the instance)."""
        if self.functions is not None:
            self.functions.disable(
                self.probe_buffer.instance if self.probe_buffer is not None else self.instance
            )
            self.meta.notes.extend(self.functions.remove())

    def remove_instance(self, in_background: bool) -> BackgroundRemoval | None:
        """Remove the instance, now or in a thread (returned), and wait for the table copier."""
        cleanup: BackgroundRemoval | None = None
        instances = [i for i in (self.instance, self.probe_buffer and self.probe_buffer.instance) if i]
        try:
            if instances:
                if in_background:
                    cleanup = BackgroundRemoval(instances, self.signals)
                else:
                    _remove_all(instances)
        finally:
            if cleanup is None:
                self.signals.restore()
            self.copied = self.tables.join()  # returns at once when it never started
        return cleanup

    def finish(self, cleanup: BackgroundRemoval | None) -> RecordResult:
        """Add what is known only at the end to meta.json; the result carries the removal."""
        meta = self.meta
        try:
            finish_meta(
                meta,
                self.watcher,
                self.start_faults,
                self.directory,
                self.root,
                self.copied,
                snapshots=self.target in ("command", "process"),
            )
            meta.__post_init__()
            layout.write_meta(self.directory, meta)
        except BaseException:  # broad on purpose: the removal thread is joined on every way out
            if cleanup is not None:
                cleanup.join()
            raise
        if cleanup is not None:
            self.signals.interrupting()
        raw = sum(c.bytes_raw for c in meta.loss)
        return RecordResult(
            directory=self.directory,
            meta=meta,
            raw_bytes=raw,
            elapsed_s=time.monotonic() - self.t0,
            target=self.target,
            previous=self.previous,
            _cleanup=cleanup,
        )
