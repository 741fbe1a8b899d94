"""Translate the OS errors of reading /proc/PID/* into kernlab errors, once, at the reader boundary.

A process can exit between any two reads, and the kernel reports that in several ways: ENOENT when
the /proc/PID directory is already gone, ESRCH when a file was opened but the task died before the
read (seen on maps, smaps, stack), and an empty read of maps for a zombie. Permission problems show
up as EACCES/EPERM (ptrace access mode checks on maps/smaps/environ of other users' processes).
psutil solves the same problem with one decorator (``wrap_exceptions`` in psutil/_pslinux.py); this
module does it with one context manager, :func:`proc_errors`, used by every reader here.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kernlab.errors import BadInput, NoSuchProcess, NotSupported, OSFailure, PermissionNeeded

PROC = Path("/proc")


def resolve_pid(pid: int | str) -> int:
    """The numeric PID for ``pid`` ("self", a number, or its decimal text); BadInput otherwise."""
    if isinstance(pid, int) and not isinstance(pid, bool):
        number = pid
    else:
        text = str(pid).strip()
        if text == "self":
            return os.getpid()
        # ASCII only: str.isdigit() also accepts digits of other scripts ("٣"), which int() reads.
        if not (text.isascii() and text.isdigit()):
            raise BadInput(
                f"{pid!r} is not a process ID (use a positive number or 'self')",
                key="errors.not_a_pid",
                fields={"value": repr(pid)},
            )
        number = int(text)
    if number <= 0:
        raise BadInput(
            f"{number} is not a process ID (process IDs start at 1)",
            key="errors.pid_below_one",
            fields={"number": number},
        )
    return number


def proc_path(pid: int, name: str = "") -> Path:
    """``/proc/PID/NAME``."""
    return PROC / str(pid) / name if name else PROC / str(pid)


def process_exists(pid: int) -> bool:
    """True while /proc/PID exists (a zombie still exists until its parent reaps it)."""
    return os.path.exists(f"/proc/{pid}/stat")


def require_process(pid: int) -> None:
    """Raise NoSuchProcess when no process has this PID right now."""
    if not process_exists(pid):
        raise NoSuchProcess(pid)


@contextmanager
def proc_errors(pid: int, what: str) -> Iterator[None]:
    """Turn OSError raised while reading ``what`` (a /proc/PID file) into a kernlab error.

    The caller checks that the process existed before reading, so a later ENOENT or ESRCH means it
    exited while being read; ENOENT while /proc/PID still exists means this kernel lacks the file.
    """
    try:
        yield
    except PermissionError as exc:
        if os.geteuid() == 0:
            # Root was refused: a security module or the PID being outside our namespace.
            raise PermissionNeeded(
                f"the kernel refused reading {what} even to root ({exc.strerror}: the ptrace access "
                "check failed, e.g. a security module protects this process)",
                key="errors.proc_refused_root",
                fields={"what": what, "reason": exc.strerror},
            ) from exc
        raise PermissionNeeded(
            f"reading {what} needs root or the same user as PID {pid} (ptrace access check: {exc.strerror})",
            key="errors.proc_needs_root",
            fields={"what": what, "pid": pid, "reason": exc.strerror},
        ) from exc
    except (FileNotFoundError, ProcessLookupError) as exc:
        if process_exists(pid):
            raise NotSupported(
                f"{what} does not exist on this kernel ({exc.strerror})",
                key="errors.proc_file_missing",
                fields={"what": what, "reason": exc.strerror},
            ) from exc
        raise NoSuchProcess(pid, "exited while being read", key="errors.process_exited") from exc
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            raise NoSuchProcess(pid, "exited while being read", key="errors.process_exited") from exc
        reason = exc.strerror or str(exc)
        raise OSFailure(
            f"cannot read {what} of PID {pid}: {reason}",
            pid=pid,
            key="errors.proc_cannot_read",
            fields={"what": what, "pid": pid, "reason": reason},
        ) from exc


def read_proc_text(pid: int, name: str) -> str:
    """The whole text of /proc/PID/NAME in as few read() calls as the kernel allows."""
    path = f"/proc/{pid}/{name}"
    with proc_errors(pid, path), open(path, "rb", buffering=0) as handle:
        chunks = []
        while True:
            # seq_file hands out at most one page-sized buffer's worth per read on some
            # files, so loop until EOF rather than trusting a single read.
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "surrogateescape")
