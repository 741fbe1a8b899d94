"""``kernlab record``: trace a command (or a running process) into a recording directory.

How a recording is made, and why:

1. Instances left behind by dead kernlab runs are removed (their owner pid/start time is gone).
2. A private tracefs instance gets the events, a per-CPU buffer and ``options/event-fork`` so the
   children of traced tasks are followed; the global tracer is never touched.
3. For a command, kernlab forks a child that waits on a pipe. Its pid goes into
   ``set_event_pid``, the events are enabled, ptrace seizes it (exec/fork/clone/exit stops only),
   and only then is the child released to exec: no start-up event is lost and kernlab's own pid
   stays out of the filter.
4. A drain thread copies each CPU's ``trace_pipe_raw`` pages into ``cpus/cpu<N>.raw`` without
   parsing them (as trace-cmd's recorder does), waking a few times a second.
5. At the end tracing is turned off, the remaining (partial) pages are read, the per-CPU loss
   counters are saved, the instance is removed, and meta.json is written.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernlab.errors import BadInput, KernlabError, NoSuchProcess, NotSupported, PermissionNeeded, TracingError
from kernlab.libc import libc as shared_libc
from kernlab.recording import layout, ptrace
from kernlab.recording.drain import Drainer
from kernlab.recording.events import resolve_events
from kernlab.recording.kernel_tables import TablesCopied, TablesCopier
from kernlab.recording.layout import CpuLoss, MapsSnapshot, RecordingMeta, Rusage, TracedProcess
from kernlab.recording.snapshot import (
    describe_binaries,
    executable_paths,
    process_faults,
    process_ppid,
    read_argv,
    take_maps_snapshot,
)
from kernlab.tracing.instance import Instance, clean_stale, parse_cpu_stats
from kernlab.tracing.tracefs import available_events, read_text, tracefs_root

DEFAULT_BUFFER_KB = 64 * 1024
MIN_BUFFER_KB = 1024
DRAIN_INTERVAL_S = 0.1
OLD_ENTRIES = ".kernlab-old"
"""Where a previous recording's files wait to be deleted (inside the recording directory)."""
KNOWN_ENTRIES = (
    layout.META,
    layout.HEADER_PAGE,
    layout.HEADER_EVENT,
    layout.FORMATS_DIR,
    layout.CPUS_DIR,
    layout.MAPS_DIR,
    layout.KALLSYMS,
    layout.SAVED_CMDLINES,
    layout.SYSCALL_FORMATS,
    layout.PRINTK_FORMATS,
)


class RecordingInterrupted(KernlabError):
    """A signal ended the recording before the command did (the recording is still saved)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


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


@dataclass
class RecordResult:
    """The finished recording: its directory, metadata, and the size of the raw data."""

    directory: Path
    meta: RecordingMeta
    raw_bytes: int
    elapsed_s: float
    _cleanup: _BackgroundRemoval | None = field(default=None, repr=False)

    def finish_cleanup(self) -> None:
        """Wait until the instance is gone (see ``record(..., background_removal=True)``).

        Raises the removal's TracingError, if it failed; does nothing when it already ran.
        """
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup.join()


class _BackgroundRemoval:
    """rmdir of the instance in a thread, so its RCU grace periods (~0.1 s) overlap other work.

    The thread is not a daemon: even an exception that ends the program waits for it. Until
    :meth:`join`, SIGINT/SIGTERM/SIGHUP raise RecordingInterrupted in the main thread (so the
    program unwinds through ``finally`` and joins) instead of killing the process mid-removal.
    """

    def __init__(self, instance: Instance, signals: _Signals) -> None:
        self._instance = instance
        self._signals = signals
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kernlab-remove-instance")
        self._thread.start()

    def _run(self) -> None:
        try:
            self._instance.remove()
        except BaseException as exc:  # reported by join(), in the main thread
            self._error = exc

    def join(self) -> None:
        try:
            self._thread.join()
        finally:
            self._signals.restore()
        if self._error is not None:
            raise self._error


# ---------------------------------------------------------------------------------------------
# buffer sizing, output directory


def mem_available_kb() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_buffer_kb(cpus: int) -> int:
    """64 MiB per CPU, but never more than an eighth of MemAvailable in total."""
    available = mem_available_kb()
    if available is None:
        return DEFAULT_BUFFER_KB
    return max(MIN_BUFFER_KB, min(DEFAULT_BUFFER_KB, available // (8 * max(cpus, 1))))


def prepare_output(directory: Path) -> Path | None:
    """Create the recording directory, or move a previous recording in it out of the way.

    Only the files a recording consists of are touched; a non-empty directory that is not a
    recording is refused so kernlab never deletes a user's files. The previous recording's
    files are renamed into ``directory/.kernlab-old`` (returned), which the kernel-tables
    copier deletes while the command runs: deleting tens of MB of pages takes 0.1–0.3 s.
    """
    if directory.exists() and not directory.is_dir():
        raise BadInput(f"{directory} exists and is not a directory")
    old: Path | None = None
    if directory.is_dir():
        try:
            entries = os.listdir(directory)
        except OSError as exc:
            raise BadInput(f"cannot use {directory} as the recording directory: {exc.strerror}") from None
        leftovers = {OLD_ENTRIES, GO_FIFO, layout.CPUS_DIR, layout.MAPS_DIR}  # of a killed run
        if entries and layout.META not in entries and not set(entries) <= leftovers:
            raise BadInput(f"{directory} exists, is not empty and is not a kernlab recording; choose -d")
        if GO_FIFO in entries:
            with contextlib.suppress(OSError):
                os.unlink(directory / GO_FIFO)
        if OLD_ENTRIES in entries:  # left by a run that was killed before deleting it
            shutil.rmtree(directory / OLD_ENTRIES, ignore_errors=True)
        for name in entries:
            if name in KNOWN_ENTRIES or name == layout.META + ".tmp":
                old = directory / OLD_ENTRIES
                old.mkdir(exist_ok=True)
                os.replace(directory / name, old / name)
    try:
        (directory / layout.CPUS_DIR).mkdir(parents=True, exist_ok=True)
        (directory / layout.MAPS_DIR).mkdir(exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create recording directory {directory}: {exc.strerror}") from None
    return old


# ---------------------------------------------------------------------------------------------
# signals


class _Signals:
    """SIGINT/SIGTERM/SIGHUP while recording.

    While setting up, a signal raises RecordingInterrupted so ``finally`` cleans up. While a
    command runs, the signal is passed on to it (a terminal's Ctrl-C already reached it) and
    kernlab waits for it to end; a second signal kills it. With ``-p`` a signal ends the
    recording and leaves the process alone.
    """

    HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.forward_to: int | None = None
        self.received: int | None = None
        self.stop_mode = False
        """-p: a signal (or the --duration alarm) asks the wait loop to stop."""
        self.stop_requested = False
        self.waiting = False
        """True only around a blocking wait, the one place a stop may raise."""
        self._count = 0
        self._saved: dict[int, Any] = {}

    def request_stop(self) -> None:
        self.stop_requested = True
        if self.waiting:
            # Raising anywhere else could leave a tracee stopped between two ptrace calls.
            raise _StopWaiting

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.HANDLED:
            self._saved[sig] = signal.signal(sig, self._handle)
            if self._saved[sig] == signal.SIG_IGN:
                signal.signal(sig, signal.SIG_IGN)  # started under nohup: stay deaf to it

    def ignored_at_start(self) -> frozenset[int]:
        """The handled signals that were ignored (SIG_IGN) before kernlab installed its own."""
        return frozenset(sig for sig, handler in self._saved.items() if handler == signal.SIG_IGN)

    def hold(self) -> None:
        """Note signals without acting on them (while cleaning up)."""
        for sig, handler in self._saved.items():
            if handler != signal.SIG_IGN:
                signal.signal(sig, self._note)

    def interrupting(self) -> None:
        """From now on a signal raises RecordingInterrupted (nothing left to forward it to)."""
        self.forward_to = None
        self.stop_mode = False
        for sig, handler in self._saved.items():
            if handler != signal.SIG_IGN:
                signal.signal(sig, self._handle)

    def _note(self, signum: int, frame: object) -> None:
        self.received = signum

    def restore(self) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()

    def _handle(self, signum: int, frame: object) -> None:
        self.received = signum
        self._count += 1
        if self.stop_mode:
            self.request_stop()
            return
        if self.forward_to is None:
            raise RecordingInterrupted(signum)
        if signum == signal.SIGINT and _terminal_sent_it():
            return  # Ctrl-C reached the command too (same foreground group): do not double it
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.forward_to, signal.SIGKILL if self._count > 1 else signum)


def _terminal_sent_it() -> bool:
    """True when kernlab runs in its terminal's foreground group, where Ctrl-C hits everyone."""
    for fd in (0, 1, 2):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


# ---------------------------------------------------------------------------------------------
# the ptrace side: following processes to snapshot their maps


class ProcessWatcher:
    """Waits for ptrace stops of the traced tasks and snapshots maps at exec and exit."""

    def __init__(self, directory: Path, notes: list[str]) -> None:
        self.directory = directory
        self.notes = notes
        self.snapshots: list[MapsSnapshot] = []
        self.processes: dict[int, TracedProcess] = {}
        self.tasks: set[int] = set()
        self._started: set[int] = set()
        self._seq = 0
        self.root_status: int | None = None
        self.root_rusage: Any = None
        self.pre_exec_faults: list[int] | None = None

    def snapshot(self, pid: int, when: str) -> None:
        snap = take_maps_snapshot(self.directory, pid, self._seq, when)
        self._seq += 1
        if snap is None:
            self.notes.append(f"no {when} maps snapshot of pid {pid}: it was already gone")
            return
        self.snapshots.append(snap)
        proc = self.processes.setdefault(pid, TracedProcess(pid=pid))
        proc.comm, proc.exe = snap.comm or proc.comm, snap.exe or proc.exe
        if when in ("exec", "attach"):
            proc.argv = read_argv(pid)
            proc.ppid = process_ppid(pid)

    def _is_leader(self, tid: int) -> bool:
        try:
            with open(f"/proc/{tid}/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Tgid:"):
                        return int(line.split()[1]) == tid
        except (OSError, ValueError):
            return False
        return False

    def handle(self, pid: int, status: int, rusage: Any, root: int) -> None:
        """React to one wait status of a traced task."""
        stop = ptrace.decode_status(pid, status)
        if stop.kind in ("exited", "killed"):
            self.tasks.discard(pid)
            if pid in self.processes:
                self.processes[pid].exit_status = status
            if pid == root:
                self.root_status, self.root_rusage = status, rusage
            return
        if stop.kind == "signal":
            self.tasks.add(pid)
            self._started.add(pid)
            ptrace.resume(pid, stop.signal)
            return
        event = stop.event
        if event in (ptrace.PTRACE_EVENT_FORK, ptrace.PTRACE_EVENT_VFORK, ptrace.PTRACE_EVENT_CLONE):
            with contextlib.suppress(OSError):
                child = ptrace.event_message(pid)
                self.tasks.add(child)
                if event != ptrace.PTRACE_EVENT_CLONE:
                    self.processes.setdefault(child, TracedProcess(pid=child, ppid=pid))
            ptrace.resume(pid)
        elif event == ptrace.PTRACE_EVENT_EXEC:
            self.snapshot(pid, "exec")
            ptrace.resume(pid)
        elif event == ptrace.PTRACE_EVENT_EXIT:
            if self._is_leader(pid):
                self.snapshot(pid, "exit")
            ptrace.resume(pid)
        elif event == ptrace.PTRACE_EVENT_STOP:
            if pid not in self._started:
                # The first stop of a task ptrace attached for us (a new child or thread).
                self._started.add(pid)
                self.tasks.add(pid)
                ptrace.resume(pid)
            elif stop.signal in ptrace.STOP_SIGNALS:
                ptrace.listen(pid)  # a real group-stop (Ctrl-Z): stay stopped, as without us
            else:
                ptrace.resume(pid)
        else:
            ptrace.resume(pid)

    def detach_all(self, timeout: float = 1.0) -> None:
        """Let go of every task still traced (for -p, or children that outlive the command)."""
        pending = set()
        for tid in self.tasks:
            try:
                ptrace.ptrace(ptrace.PTRACE_DETACH, tid, 0, 0)  # works when it is in a ptrace stop
            except ProcessLookupError:
                pending.add(tid)  # running (or gone): stop it first
            except OSError:
                continue
        for tid in pending:
            ptrace.interrupt(tid)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            try:
                pid, status, _ = os.wait4(-1, os.WNOHANG | ptrace.WALL)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.005)
                continue
            stop = ptrace.decode_status(pid, status)
            pending.discard(pid)
            if stop.kind in ("exited", "killed"):
                continue
            # Detach, handing back a signal that arrived meanwhile (not our own interrupt).
            sig = stop.signal if stop.kind == "signal" else 0
            with contextlib.suppress(OSError):
                ptrace.ptrace(ptrace.PTRACE_DETACH, pid, 0, sig)
        self.tasks.clear()


# ---------------------------------------------------------------------------------------------
# the command's child process


@dataclass
class _Child:
    pid: int
    release_fd: int
    """Write end of the pipe a forked child waits on (-1 for a held spawn)."""
    error_fd: int
    path: str
    held: _HeldSpawn | None = None
    """Set when the child was posix_spawn()ed and waits in open() of a FIFO instead."""

    def release(self) -> None:
        """Let the child exec the command."""
        if self.held is not None:
            self.held.release()
            return
        os.write(self.release_fd, b"\x01")
        os.close(self.release_fd)
        self.release_fd = -1

    def exec_errno(self) -> int | None:
        """The errno of a failed execve, once the child has ended (None when it ran)."""
        if self.held is not None:
            return self.held.exec_errno()
        # The CLOEXEC pipe is closed by a successful exec; after a failed one it holds the errno.
        # Read only now: a child stopped by ptrace at its exit still holds the pipe open.
        report = os.read(self.error_fd, 16)
        os.close(self.error_fd)
        self.error_fd = -1
        return int(report) if report.strip().isdigit() else None


GO_FIFO = ".kernlab-go"
"""The FIFO a held spawn blocks on, in the recording directory, only until the release."""


class _HeldSpawn:
    """posix_spawn() of the command, held before its execve by a blocking open() of a FIFO.

    glibc's posix_spawn runs the file actions in a vfork-like child that shares kernlab's
    memory, so — unlike os.fork(), whose Python child takes ~200-300 copy-on-write page faults
    that the command's getrusage then counts — the command starts with only its own faults, as
    under strace or perf. The spawning call blocks until the exec, so it runs in a thread; the
    child, waiting in open(), is found as that thread's child, traced and seized, then released
    by opening the FIFO's other end. No shell is involved.
    """

    def __init__(self, path: str, argv: list[str], fifo: Path) -> None:
        self.path = path
        self.fifo = fifo
        self.pid = 0
        self.error: OSError | None = None
        self._argv = argv
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._spawn, name="kernlab-spawn", daemon=True)
        # A descriptor number free in kernlab is free in the child too: the FIFO lands there
        # and is closed before exec, so no descriptor the user passed down is touched.
        probe = os.open(os.devnull, os.O_RDONLY)
        os.close(probe)
        self._slot = probe

    def _spawn(self) -> None:
        try:
            # Python's os.posix_spawn keeps the GIL while glibc waits for the exec, which would
            # stop the very thread that must release the child: call libc through ctypes
            # (which lets the GIL go). Python ignores SIGPIPE and SIGXFSZ; the command gets the
            # defaults back. Caught signals return to default at exec; ignored ones (nohup)
            # stay ignored.
            sigdef = [sig for sig in (signal.SIGPIPE, getattr(signal, "SIGXFSZ", None)) if sig]
            self.pid = _libc_spawn().spawn(self.path, self._argv, self.fifo, self._slot, sigdef)
        except OSError as exc:
            self.error = exc
        finally:
            self._done.set()

    def start(self, timeout: float = 10.0) -> int:
        """Spawn and return the held child's pid (0 when the spawn failed before a child existed)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = _children_of_thread(self._thread.native_id)
            if found:
                return found[0]
            if self._done.wait(0.0005):
                return self.pid  # it failed early, or (no child seen) already exec'd
        return 0

    def release(self) -> None:
        try:
            # Non-blocking: the child is the reader, unless something killed it meanwhile
            # (ENXIO then; its end shows in wait4 like any exit).
            os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise  # the FIFO stays, so the cleanup knows to kill the held child
        with contextlib.suppress(OSError):
            os.unlink(self.fifo)

    def exec_errno(self) -> int | None:
        self._done.wait(5.0)
        return self.error.errno if self.error is not None else None

    def abandon(self, pid: int) -> None:
        """Never released: kill the child where it waits, so the command never runs."""
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, ptrace.WALL)
        self._done.wait(5.0)
        with contextlib.suppress(OSError):
            os.unlink(self.fifo)


class _LibcSpawn:
    """posix_spawn(3) through ctypes: a child that opens a FIFO (blocking) and execs."""

    SETSIGDEF = 0x04  # POSIX_SPAWN_SETSIGDEF, the same in glibc and musl
    SETSIGMASK = 0x08
    OPAQUE = 1024  # bytes for posix_spawn_file_actions_t / posix_spawnattr_t / sigset_t (glibc: 80/336/128)

    def __init__(self) -> None:
        libc = shared_libc()
        self.libc = libc
        p, i = ctypes.c_void_p, ctypes.c_int
        sigs = {
            "posix_spawn": [ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, p, p, p, p],
            "posix_spawn_file_actions_init": [p],
            "posix_spawn_file_actions_addopen": [p, i, ctypes.c_char_p, i, ctypes.c_uint],
            "posix_spawn_file_actions_addclose": [p, ctypes.c_int],
            "posix_spawn_file_actions_destroy": [p],
            "posix_spawnattr_init": [p],
            "posix_spawnattr_setflags": [p, ctypes.c_short],
            "posix_spawnattr_setsigdefault": [p, p],
            "posix_spawnattr_setsigmask": [p, p],
            "posix_spawnattr_destroy": [p],
            "sigemptyset": [p],
            "sigaddset": [p, ctypes.c_int],
        }
        for name, argtypes in sigs.items():
            fn = getattr(libc, name)  # AttributeError: not this libc
            fn.argtypes = argtypes
            fn.restype = ctypes.c_int

    def spawn(self, path: str, argv: list[str], fifo: Path, slot: int, sigdef: list[int]) -> int:
        libc = self.libc
        actions = ctypes.create_string_buffer(self.OPAQUE)
        attr = ctypes.create_string_buffer(self.OPAQUE)
        default_set = ctypes.create_string_buffer(self.OPAQUE)
        empty_set = ctypes.create_string_buffer(self.OPAQUE)
        libc.posix_spawn_file_actions_init(actions)
        libc.posix_spawnattr_init(attr)
        try:
            fs = os.fsencode
            libc.posix_spawn_file_actions_addopen(actions, slot, fs(str(fifo)), os.O_RDONLY, 0)
            libc.posix_spawn_file_actions_addclose(actions, slot)
            libc.sigemptyset(default_set)
            for sig in sigdef:
                libc.sigaddset(default_set, int(sig))
            libc.sigemptyset(empty_set)
            libc.posix_spawnattr_setsigdefault(attr, default_set)
            libc.posix_spawnattr_setsigmask(attr, empty_set)
            libc.posix_spawnattr_setflags(attr, self.SETSIGDEF | self.SETSIGMASK)
            args = [fs(a) for a in argv]
            env = [fs(k) + b"=" + fs(v) for k, v in os.environ.items()]
            c_argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
            c_env = (ctypes.c_char_p * (len(env) + 1))(*env, None)
            pid = ctypes.c_int(0)
            err = libc.posix_spawn(ctypes.byref(pid), fs(path), actions, attr, c_argv, c_env)
        finally:
            libc.posix_spawn_file_actions_destroy(actions)
            libc.posix_spawnattr_destroy(attr)
        if err:
            raise OSError(err, os.strerror(err), path)
        return pid.value


@functools.cache
def _libc_spawn() -> _LibcSpawn:
    return _LibcSpawn()


def _children_of_thread(tid: int | None) -> list[int]:
    """Children of one of kernlab's threads (/proc/self/task/TID/children; [] when unreadable)."""
    try:
        with open(f"/proc/self/task/{tid}/children", encoding="ascii") as fh:
            return [int(p) for p in fh.read().split()]
    except (OSError, ValueError):
        return []


def _spawn_held(path: str, argv: list[str], directory: Path) -> _Child | None:
    """The command posix_spawn()ed and held before execve (see _HeldSpawn); None when this
    system cannot (no FIFOs in the recording directory, no posix_spawn), for a forked child."""
    try:
        _libc_spawn()
    except (OSError, AttributeError):
        return None  # no posix_spawn in this libc (or no dlopen of it): fork instead
    if not os.path.exists(f"/proc/self/task/{threading.get_native_id()}/children"):
        return None  # no CONFIG_PROC_CHILDREN: the held child could not be found
    fifo = directory / GO_FIFO
    with contextlib.suppress(FileNotFoundError):
        fifo.unlink()
    try:
        os.mkfifo(fifo, 0o600)
    except OSError:
        return None
    held = _HeldSpawn(path, argv, fifo)
    pid = held.start()
    if not pid or held.error is not None:
        held.abandon(pid)
        if held.error is not None:
            raise BadInput(f"cannot run {path}: {held.error.strerror}")
        return None
    return _Child(pid, -1, -1, path, held)


def _spawn_waiting(path: str, argv: list[str], ignored: frozenset[int] = frozenset()) -> _Child:
    """Fork a child that blocks until released, then execs ``path`` (no shell)."""
    release_r, release_w = os.pipe()
    error_r, error_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # child: no Python-level work beyond waiting and exec
        try:
            # The command gets the dispositions kernlab was started with (nohup's SIG_IGN stays).
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN if sig in ignored else signal.SIG_DFL)
            # Python ignores SIGPIPE and SIGXFSZ; the command must get the default back.
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            if hasattr(signal, "SIGXFSZ"):
                signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            os.close(release_w)
            os.close(error_r)
            if os.read(release_r, 1) == b"\x01":
                os.close(release_r)
                os.execv(path, argv)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.write(error_w, str(exc.errno).encode())
        finally:
            os._exit(127)
    os.close(release_r)
    os.close(error_w)
    return _Child(pid, release_w, error_r, path)


def resolve_command(command: list[str]) -> str:
    """The file the command's first word names, found on PATH like execvp would."""
    if not command:
        raise BadInput("no command given: use `kernlab record -- COMMAND ...` or -p PID")
    name = command[0]
    path = name if "/" in name else shutil.which(name)
    if path is None:
        raise BadInput(f"{name}: command not found on PATH")
    if os.path.isdir(path):
        raise BadInput(f"{name} is a directory, not a program")
    if not os.path.exists(path):
        raise BadInput(f"{name}: no such file")
    if not os.access(path, os.X_OK):
        raise BadInput(f"{name} is not executable")
    return path


PF_KTHREAD = 0x00200000


def check_attachable(pid: int) -> None:
    """Refuse, with the reason, a PID that cannot be recorded: gone, a zombie, a kernel thread."""
    if pid <= 0:
        raise BadInput(f"{pid} is not a process ID")
    if pid == os.getpid():
        raise BadInput("kernlab cannot record itself")
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except FileNotFoundError:
        raise NoSuchProcess(pid) from None
    except OSError as exc:
        raise NoSuchProcess(pid, exc.strerror or "unreadable") from None
    rest = stat[stat.rfind(b")") + 2 :].split()
    state, flags = rest[0].decode(), int(rest[6])
    if state in ("Z", "X"):
        raise NoSuchProcess(pid, "it has exited and is a zombie waiting for its parent")
    if flags & PF_KTHREAD:
        raise BadInput(f"PID {pid} is a kernel thread: it has no user address space to record")
    if not os.access(f"/proc/{pid}/maps", os.R_OK):
        raise PermissionNeeded(f"cannot read /proc/{pid}/maps: recording another user's process needs root")


# ---------------------------------------------------------------------------------------------
# the recording itself


def _copy_headers(instance: Instance, directory: Path) -> None:
    """The page and event header layouts of this instance (its sub-buffer size may differ from
    the top instance's); the events' own formats are copied by the kernel-tables copier."""
    base = instance.path / "events"
    (directory / layout.HEADER_PAGE).write_text(read_text(base / "header_page"))
    (directory / layout.HEADER_EVENT).write_text(read_text(base / "header_event"))


def _rusage(ru: Any) -> Rusage | None:
    if ru is None:
        return None
    return Rusage(
        minflt=ru.ru_minflt,
        majflt=ru.ru_majflt,
        utime_s=ru.ru_utime,
        stime_s=ru.ru_stime,
        maxrss_kb=ru.ru_maxrss,
        nvcsw=ru.ru_nvcsw,
        nivcsw=ru.ru_nivcsw,
    )


def exit_code_of(status: int | None) -> int | None:
    """The shell's convention: the exit code, or 128+signal for a killed process."""
    if status is None:
        return None
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return None


@contextlib.contextmanager
def _stop_after(seconds: float | None, signals: _Signals) -> Iterator[None]:
    """Ask the wait loop to stop after ``seconds`` (SIGALRM interrupts a blocking wait4)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.signal(signal.SIGALRM, lambda signum, frame: signals.request_stop())
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, saved)


class _StopWaiting(Exception):
    """Raised out of a blocking wait when a -p recording is asked to stop."""


def record(
    options: RecordOptions,
    on_phase: Callable[[str], None] | None = None,
    background_removal: bool = False,
) -> RecordResult:
    """Make one recording as ``options`` say (see :func:`_record`); OSError becomes one clear error.

    With ``background_removal`` the instance (already stopped, its pages saved) is removed by a
    thread while the caller goes on, e.g. to decode the recording: the caller must then call
    ``result.finish_cleanup()`` (in a ``finally``) before it exits.
    """
    try:
        return _record(options, on_phase, background_removal)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise TracingError(f"recording failed:{where} {exc.strerror or exc}") from None


def _record(
    options: RecordOptions, on_phase: Callable[[str], None] | None = None, background_removal: bool = False
) -> RecordResult:
    """Make one recording as ``options`` say; return its metadata once everything is cleaned up.

    A signal during set-up raises RecordingInterrupted (after cleaning up); during the run it
    is passed to the command (or, with ``-p``, ends the recording), and the recording is kept.
    """
    attached = options.pid is not None
    if attached and options.command:
        raise BadInput("give either -p PID or a command, not both")
    if not attached and options.duration is not None:
        raise BadInput("--duration applies to -p PID; a command is recorded until it exits")
    if options.duration is not None and options.duration <= 0:
        raise BadInput("--duration must be a positive number of seconds")
    if options.buffer_size_kb is not None and options.buffer_size_kb < 4:
        raise BadInput("--buffer-size must be at least 4 KiB")
    path = "" if attached else resolve_command(options.command)
    if attached:
        check_attachable(options.pid)  # type: ignore[arg-type]

    root = tracefs_root()
    if os.geteuid() != 0 and not os.access(root / "instances", os.W_OK):
        raise PermissionNeeded(f"recording needs root: cannot create instances in {root / 'instances'}")
    clean_stale(root)
    choice = resolve_events(options.groups, available_events(root), include_defaults=not options.only)
    directory = Path(options.output)
    old_recording = prepare_output(directory)
    tables = TablesCopier(root, directory, choice.events, old_recording)

    notes = [f"event {m} is not available on this kernel" for m in choice.missing]
    signals = _Signals()
    signals.install()
    t0 = time.monotonic()
    instance: Instance | None = None
    drainer: Drainer | None = None
    child: _Child | None = None
    watcher = ProcessWatcher(directory, notes)
    meta = RecordingMeta(
        format_version=layout.FORMAT_VERSION,
        command=list(options.command),
        root_pid=options.pid or 0,
        attached=attached,
        events=choice.events,
        kstack_events=[],
        kernel_release=os.uname().release,
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
        notes=notes,
    )
    start_faults = (0, 0)
    finished_normally = False
    try:
        if not attached:
            # The command's process first, held before its execve until tracing is armed
            # (posix_spawn held on a FIFO; else a fork waiting on a pipe, made while kernlab
            # still has one thread); the copier can then start at once.
            child = _spawn_held(path, options.command, directory) or _spawn_waiting(
                path, options.command, signals.ignored_at_start()
            )
            meta.root_pid = child.pid
        # kallsyms, syscall formats and printk_formats are copied while the instance is set up
        # and the command runs (by a forked process, which must not keep the release pipe).
        tables.start(
            close_fds=(child.release_fd,) if child is not None and child.release_fd >= 0 else (),
            guard=(child.pid, child.held.fifo) if child is not None and child.held is not None else None,
        )
        instance = Instance.create(root)
        meta.instance = instance.name
        cpus = instance.cpus()
        meta.cpus = len(cpus)
        instance.tracing_on(False)
        buffer_kb = options.buffer_size_kb or default_buffer_kb(len(cpus))
        meta.buffer_size_kb = instance.set_buffer_size_kb(buffer_kb)
        meta.page_size = instance.subbuf_size()
        clocks_text = instance.read("trace_clock")
        clocks = clocks_text.replace("[", " ").replace("]", " ").split()
        if options.clock not in clocks:
            raise NotSupported(f"trace clock {options.clock!r} is not offered here ({', '.join(clocks)})")
        current = next((w[1:-1] for w in clocks_text.split() if w.startswith("[")), None)
        if current != options.clock:
            # Changing the clock resets the buffers (a grace period): only when it differs.
            instance.write("trace_clock", options.clock)
            current = next(
                (w[1:-1] for w in instance.read("trace_clock").split() if w.startswith("[")), "local"
            )
        meta.clock = current or options.clock
        instance.set_option("event-fork", True)

        if attached:
            pid = options.pid  # type: ignore[assignment]
            try:
                tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if t.isdigit())
            except FileNotFoundError:
                raise NoSuchProcess(pid, "it exited before tracing started") from None
            instance.set_event_pids(tids)
        else:
            assert child is not None
            pid = child.pid
            instance.set_event_pids([pid])

        for event in choice.events:
            instance.enable_event(*event.split(":", 1))
        meta.kstack_events = _arm_kstacks(instance, options.kstack, choice.events)
        _copy_headers(instance, directory)
        layout.write_meta(directory, meta)

        drainer = Drainer(instance, directory, meta.page_size, meta.buffer_size_kb, options.drain_interval)
        drainer.start()
        meta.start_time_ns = time.monotonic_ns()
        meta.wall_start = time.time()
        instance.tracing_on(True)
        meta.clock_sync_ns.append(_sync_marker(instance))
        if on_phase:
            on_phase("armed")

        if attached:
            start_faults = process_faults(pid)
            watcher.processes[pid] = TracedProcess(pid=pid)
            watcher.snapshot(pid, "attach")
            _follow_attached(pid, tids, watcher, options.duration, signals)
        else:
            assert child is not None
            _run_command(child, watcher, signals, options.use_ptrace)
        finished_normally = True
    finally:
        # A second Ctrl-C must not cut the cleanup short: from here signals are only noted.
        signals.hold()
        try:
            if instance is not None:
                with contextlib.suppress(KernlabError, OSError):
                    if meta.clock_sync_ns:
                        meta.clock_sync_ns.append(_sync_marker(instance))
                with contextlib.suppress(KernlabError):
                    instance.tracing_on(False)
            meta.end_time_ns = time.monotonic_ns()
            if drainer is not None:
                try:
                    drainer.finish()
                finally:
                    meta.loss = _read_loss(instance, drainer)
                    drainer.close()
            if child is not None:
                _reap_unreleased(child, watcher)
            if watcher.tasks:
                watcher.detach_all()
        finally:
            cleanup: _BackgroundRemoval | None = None
            try:
                if instance is not None:
                    if background_removal and finished_normally:
                        cleanup = _BackgroundRemoval(instance, signals)
                    else:
                        instance.remove()
            finally:
                if cleanup is None:
                    signals.restore()
                copied = tables.join()  # returns at once when it never started

    try:
        _finish_meta(meta, watcher, attached, start_faults, directory, root, copied)
        meta.__post_init__()
        layout.write_meta(directory, meta)
    except BaseException:
        if cleanup is not None:
            cleanup.join()
        raise
    if cleanup is not None:
        signals.interrupting()
    raw = sum(c.bytes_raw for c in meta.loss)
    return RecordResult(
        directory=directory, meta=meta, raw_bytes=raw, elapsed_s=time.monotonic() - t0, _cleanup=cleanup
    )


SYNC_MARKER = "kernlab-sync mono_ns="


def _sync_marker(instance: Instance) -> int:
    """Write a trace_marker line carrying CLOCK_MONOTONIC now; return the value written.

    The marker becomes an ``ftrace:print`` record stamped with the trace clock, so a reader can
    turn trace-clock timestamps into CLOCK_MONOTONIC (the clock of the maps snapshots).
    """
    now = time.monotonic_ns()
    instance.write("trace_marker", f"{SYNC_MARKER}{now}")
    return now


def _arm_kstacks(instance: Instance, requested: list[str], events: list[str]) -> list[str]:
    if not requested:
        return []
    if any(r.strip() == "all" for r in requested):
        instance.set_option("stacktrace", True)
        return list(events)
    chosen = []
    for item in requested:
        item = item.strip()
        if not item:
            continue
        matches = [e for e in events if e == item or e.split(":", 1)[1] == item or e.startswith(item + ":")]
        if not matches:
            raise BadInput(f"--kstack {item}: not one of the recorded events (add it with -e)")
        for event in matches:
            system, name = event.split(":", 1)
            instance.add_trigger(system, name, "stacktrace")
            chosen.append(event)
    return chosen


def _run_command(child: _Child, watcher: ProcessWatcher, signals: _Signals, use_ptrace: bool) -> None:
    pid = child.pid
    if not use_ptrace:
        watcher.notes.append("recorded without ptrace (--no-ptrace): no maps snapshots at exec and exit")
    else:
        try:
            ptrace.seize(pid)
            watcher.tasks.add(pid)
            watcher._started.add(pid)
        except OSError as exc:
            watcher.notes.append(f"ptrace was refused ({exc.strerror}): no maps snapshots at exec and exit")
    watcher.processes[pid] = TracedProcess(pid=pid, ppid=os.getpid(), argv=[])
    signals.forward_to = pid
    # Faults of the child before execve count in the command's getrusage: a couple for a
    # held spawn, ~200-300 for a forked Python child. Note them so a report can tell them apart.
    minflt, majflt = process_faults(pid)
    watcher.pre_exec_faults = [minflt, majflt] if minflt or majflt else None  # zeros: unreadable
    child.release()
    while True:
        try:
            got, status, ru = os.wait4(-1, ptrace.WALL)
        except ChildProcessError:
            break
        watcher.handle(got, status, ru, pid)
        if got == pid and watcher.root_status is not None:
            break
    signals.forward_to = None
    exec_errno = child.exec_errno()
    if exec_errno is not None:
        raise BadInput(f"cannot run {child.path}: {os.strerror(exec_errno)}")


def _reap_unreleased(child: _Child, watcher: ProcessWatcher) -> None:
    """A child never released (setup failed): make it exit and reap it."""
    if child.held is not None and child.held.fifo.exists():  # still held: never released
        child.held.abandon(child.pid)
    if child.release_fd >= 0:
        with contextlib.suppress(OSError):
            os.close(child.release_fd)  # its read() returns b"" and it exits
        child.release_fd = -1
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(child.pid, 0)
    if child.error_fd >= 0:
        with contextlib.suppress(OSError):
            os.close(child.error_fd)
        child.error_fd = -1
    if watcher.root_status is None:
        # Interrupted mid-run: the command got the signal; wait for it a moment, then stop it.
        deadline = time.monotonic() + 2.0
        while watcher.tasks and time.monotonic() < deadline:
            try:
                got, status, ru = os.wait4(-1, os.WNOHANG | ptrace.WALL)
            except ChildProcessError:
                break
            if got == 0:
                time.sleep(0.01)
                continue
            watcher.handle(got, status, ru, child.pid)
            if watcher.root_status is not None:
                break


def _follow_attached(
    pid: int, tids: list[int], watcher: ProcessWatcher, duration: float | None, signals: _Signals
) -> None:
    """Wait until the process exits, --duration passes or a signal asks to stop."""
    for tid in tids:
        try:
            ptrace.seize(tid)
            watcher.tasks.add(tid)
            watcher._started.add(tid)
        except ProcessLookupError:
            continue
        except OSError as exc:
            watcher.notes.append(f"ptrace was refused ({exc.strerror}): no maps snapshot at exit")
            break
    signals.stop_mode = True
    with _stop_after(duration, signals):
        while True:
            signals.waiting = True
            try:
                if signals.stop_requested:
                    break
                if watcher.tasks:
                    got, status, ru = os.wait4(-1, ptrace.WALL)
                else:  # not traced (ptrace refused, or it ended first): poll for its end
                    if not _process_running(pid):
                        break
                    time.sleep(0.05)
                    continue
            except (_StopWaiting, ChildProcessError):
                break
            finally:
                signals.waiting = False
            watcher.handle(got, status, ru, pid)
            if got == pid and watcher.root_status is not None:
                break


def _process_running(pid: int) -> bool:
    """False once ``pid`` is gone or a zombie (its parent, not us, may reap it much later)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state not in (b"Z", b"X")


def _read_loss(instance: Instance | None, drainer: Drainer) -> list[CpuLoss]:
    """Each CPU's loss counters from the instance's per_cpu stats (saved verbatim as well)."""
    out = []
    for cpu in sorted(drainer.bytes):
        loss = CpuLoss(cpu=cpu, bytes_raw=drainer.bytes[cpu])
        if instance is not None:
            with contextlib.suppress(KernlabError, OSError):
                text = instance.read(f"per_cpu/cpu{cpu}/stats")
                layout.cpu_stats_path(drainer.directory, cpu).write_text(text)
                stats = parse_cpu_stats(cpu, text)
                loss.entries, loss.overrun, loss.dropped = stats.entries, stats.overrun, stats.dropped
                loss.commit_overrun, loss.read = stats.commit_overrun, stats.read
        loss.__post_init__()
        out.append(loss)
    return out


def _finish_meta(
    meta: RecordingMeta,
    watcher: ProcessWatcher,
    attached: bool,
    start_faults: tuple[int, int],
    directory: Path,
    root: Path,
    copied: TablesCopied,
) -> None:
    """Fill in what is known only at the end: exit, rusage, processes, binaries, notes."""
    pid = meta.root_pid
    if (
        attached
        and _process_running(pid)
        and not any(s.pid == pid and s.when == "exit" for s in watcher.snapshots)
    ):
        watcher.snapshot(pid, "end")
    if attached:
        ends = [s for s in watcher.snapshots if s.pid == pid and s.when in ("exit", "end")]
        if ends:
            meta.notes.append(
                f"pid {pid} faulted {ends[-1].minflt - start_faults[0]} minor and "
                f"{ends[-1].majflt - start_faults[1]} major times while recorded (/proc/{pid}/stat)"
            )
    meta.exit_code = exit_code_of(watcher.root_status)
    meta.rusage = _rusage(watcher.root_rusage)
    meta.pre_exec_faults = watcher.pre_exec_faults
    meta.maps = watcher.snapshots
    meta.processes = sorted(watcher.processes.values(), key=lambda p: p.pid)
    last_maps: dict[int, str] = {}
    for snap in watcher.snapshots:
        last_maps[snap.pid] = snap.path
    paths: dict[str, None] = {}
    for rel in last_maps.values():
        with contextlib.suppress(OSError):
            for exe in executable_paths((directory / rel).read_text(errors="replace")):
                paths.setdefault(exe, None)
    meta.binaries = describe_binaries(paths)
    meta.config = copied.config
    if copied.event_formats < len(meta.events):
        meta.notes.append(
            f"only {copied.event_formats} of {len(meta.events)} event formats were saved: "
            "the events of the others cannot be decoded"
        )
    if copied.kallsyms_symbols == 0:
        meta.notes.append("kallsyms was unreadable or hidden: kernel addresses stay unnamed")
    if copied.syscall_formats == 0:
        meta.notes.append("no syscalls/sys_enter_* formats: system-call arguments stay unnamed")
    meta.notes.extend(f"copying kernel tables failed: {e}" for e in copied.errors)
    with contextlib.suppress(KernlabError, OSError):
        (directory / layout.SAVED_CMDLINES).write_text(read_text(root / "saved_cmdlines"))
