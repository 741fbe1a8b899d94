"""The process a recording follows: a command started held before its execve, or a running PID.

A command is started so that it cannot run a single instruction of its own before tracing is
armed: it is posix_spawn()ed and held in a blocking open() of a FIFO (:func:`spawn_held`), or,
where this system cannot do that, forked as a child that waits on a pipe
(:func:`spawn_waiting`). Either way kernlab gets a :class:`Child` it releases once the
instance is armed and ptrace has seized it. For ``-p PID`` nothing is started:
:func:`check_attachable` refuses what cannot be recorded and :func:`task_ids` lists the threads
to filter on and seize.
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
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import BadInput, NoSuchProcess, PermissionNeeded
from kernlab.libc import libc as shared_libc
from kernlab.recording import ptrace

__all__ = [
    "GO_FIFO",
    "Child",
    "HeldSpawn",
    "check_attachable",
    "resolve_command",
    "spawn_held",
    "spawn_waiting",
    "task_ids",
]

GO_FIFO = ".kernlab-go"
"""The FIFO a held spawn blocks on, in the recording directory, only until the release."""

PF_KTHREAD = 0x00200000


@dataclass
class Child:
    """The command's process, created but held before its execve until :meth:`release`."""

    pid: int
    release_fd: int
    """Write end of the pipe a forked child waits on (-1 for a held spawn)."""
    error_fd: int
    path: str
    held: HeldSpawn | None = None
    """Set when the child was posix_spawn()ed and waits in open() of a FIFO instead."""

    def release(self) -> None:
        """Let the child exec the command."""
        if self.held is not None:
            self.held.release(self.pid)
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

    def close(self) -> None:
        """Let go of the child's set-up: one never released (set-up failed) is made to exit
        before its execve and reaped; the pipes still open are closed."""
        if self.held is not None and self.held.fifo.exists():  # still held: never released
            self.held.abandon(self.pid)
        if self.release_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.release_fd)  # its read() returns b"" and it exits
            self.release_fd = -1
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(self.pid, 0)
        if self.error_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.error_fd)
            self.error_fd = -1


class HeldSpawn:
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

    def release(self, pid: int = 0, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                # Non-blocking: the child is the reader, unless something killed it meanwhile
                # (ENXIO then; its end shows in wait4 like any exit).
                os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
                break
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise  # the FIFO stays, so the cleanup knows to kill the held child
            # No reader yet: a child just resumed by ptrace may be re-entering its open().
            if not pid or not _alive(pid) or time.monotonic() > deadline:
                break
            time.sleep(0.0002)
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
            env = [fs(k) + b"=" + fs(v) for k, v in command_environment().items()]
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


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] not in (b"Z", b"X")


def _children_of_thread(tid: int | None) -> list[int]:
    """Children of one of kernlab's threads (/proc/self/task/TID/children; [] when unreadable)."""
    try:
        with open(f"/proc/self/task/{tid}/children", encoding="ascii") as fh:
            return [int(p) for p in fh.read().split()]
    except (OSError, ValueError):
        return []


def spawn_held(path: str, argv: list[str], directory: Path) -> Child | None:
    """The command posix_spawn()ed and held before execve (see HeldSpawn); None when this
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
    held = HeldSpawn(path, argv, fifo)
    pid = held.start()
    if not pid or held.error is not None:
        held.abandon(pid)
        if held.error is not None:
            raise BadInput(
                f"cannot run {path}: {held.error.strerror}",
                path=path,
                key="errors.record.cannot_run",
                fields={"path": str(path), "reason": held.error.strerror},
            ) from held.error
        return None
    return Child(pid, -1, -1, path, held)


def spawn_waiting(path: str, argv: list[str], ignored: frozenset[int] = frozenset()) -> Child:
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
                os.execve(path, argv, command_environment())
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.write(error_w, str(exc.errno).encode())
        finally:
            os._exit(127)
    os.close(release_r)
    os.close(error_w)
    return Child(pid, release_w, error_r, path)


def command_environment() -> dict[str, str]:
    """The environment the command gets: the user's, not the one Python changed at start-up.

    Started in the C locale, Python coerces LC_CTYPE to C.UTF-8 (PEP 538) and exports it, so a
    command run by kernlab would load locale files that the same command run from the shell does
    not (strace's `ls` opens 10 files, kernlab's 15). A variable Python added that was not in
    this process's initial environment (/proc/self/environ) is left out.
    """
    env = dict(os.environ)
    if "LC_CTYPE" in env:
        try:
            with open("/proc/self/environ", "rb") as fh:
                initial = fh.read().split(b"\0")
        except OSError:
            return env
        if not any(entry.startswith(b"LC_CTYPE=") for entry in initial):
            del env["LC_CTYPE"]
    return env


def resolve_command(command: list[str]) -> str:
    """The file the command's first word names, found on PATH like execvp would."""
    if not command:
        raise BadInput(
            "no command given: use `kernlab record -- COMMAND ...` or -p PID", key="errors.record.no_command"
        )
    name = command[0]
    path = name if "/" in name else shutil.which(name)
    if path is None:
        raise BadInput(
            f"{name}: command not found on PATH",
            key="errors.record.command_not_found",
            fields={"name": name},
        )
    if os.path.isdir(path):
        raise BadInput(
            f"{name} is a directory, not a program",
            path=path,
            key="errors.record.command_is_directory",
            fields={"name": name},
        )
    if not os.path.exists(path):
        raise BadInput(f"{name}: no such file", path=path, key="errors.no_such_file", fields={"path": name})
    if not os.access(path, os.X_OK):
        raise BadInput(
            f"{name} is not executable", path=path, key="errors.record.not_executable", fields={"name": name}
        )
    return path


def check_attachable(pid: int) -> bool:
    """Refuse, with the reason, a PID that cannot be recorded (gone, a zombie, unreadable);
    return True when it is a kernel thread (traced without ptrace: it has no user memory)."""
    if pid <= 0:
        raise BadInput(
            f"{pid} is not a process ID", pid=pid, key="errors.record.not_a_pid", fields={"value": pid}
        )
    if pid == os.getpid():
        raise BadInput("kernlab cannot record itself", pid=pid, key="errors.record.itself")
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except FileNotFoundError as exc:
        raise NoSuchProcess(pid) from exc
    except OSError as exc:
        raise NoSuchProcess(
            pid,
            exc.strerror or "unreadable",
            key="errors.record.process_unreadable",
            fields={"reason": exc.strerror or "unreadable"},
        ) from exc
    rest = stat[stat.rfind(b")") + 2 :].split()
    state, flags = rest[0].decode(), int(rest[6])
    if state in ("Z", "X"):
        raise NoSuchProcess(
            pid, "it has exited and is a zombie waiting for its parent", key="errors.record.zombie"
        )
    if flags & PF_KTHREAD:
        return True
    if not os.access(f"/proc/{pid}/maps", os.R_OK):
        raise PermissionNeeded(
            f"cannot read /proc/{pid}/maps: recording another user's process needs root",
            pid=pid,
            key="errors.record.other_user",
            fields={"pid": pid},
        )
    return False


def task_ids(pid: int) -> list[int]:
    """The thread IDs of process ``pid`` (/proc/PID/task), sorted; NoSuchProcess once it is gone."""
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if t.isdigit())
    except FileNotFoundError as exc:
        raise NoSuchProcess(
            pid, "it exited before tracing started", key="errors.record.exited_early"
        ) from exc
