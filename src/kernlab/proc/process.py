"""Processes as ps(1) sees them: /proc/PID/stat (``do_task_stat``) and /proc/PID/status.

Figures and their sources (fs/proc/array.c):

* comm  — stat field 2, ``proc_task_name()``: the same text as /proc/PID/comm, including a
  workqueue worker's current work ("kworker/2:0H-kblockd"), up to 64 characters
* state, ppid, flags, minflt, majflt, num_threads — stat fields 3, 4, 9, 10, 12, 20
* VSZ   — status VmSize = ``mm->total_vm`` in KiB (ps's VSZ; stat field 23 is the same in bytes)
* RSS   — status VmRSS = RssAnon + RssFile + RssShmem in KiB, as procps-ng 4 reads it. Since the
  RSS counters became per-CPU (6.2), ``task_mem()`` sums them exactly while stat field 24 reads them
  approximately (``get_mm_rss()``), so stat can be off by a few hundred KiB on a busy process; stat
  is only the fallback when status has no Vm lines
* uid   — status "Uid:" effective ID (ps's USER); /proc/PID's owner is wrong for non-dumpable tasks
* kernel thread — ``PF_KTHREAD`` (0x00200000) in the flags field: such a task has no mm
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kernlab.errors import BadInput, NoSuchProcess, OSFailure
from kernlab.proc.cmdline import decode_name
from kernlab.proc.elfload import PAGE_SIZE
from kernlab.proc.errors import proc_errors, require_process, resolve_pid

PF_KTHREAD = 0x00200000  # include/linux/sched.h: "I am a kernel thread"
PF_WQ_WORKER = 0x00000020  # a workqueue worker (kworker)
UID_INVALID = 0xFFFFFFFF  # (uid_t)-1: "no ID" to setuid() and chown(), never a user's

# stat state letters (fs/proc/array.c task_state_array) -> words
STATE_NAMES: dict[str, str] = {
    "R": "running",
    "S": "sleeping",
    "D": "disk sleep",
    "T": "stopped",
    "t": "tracing stop",
    "X": "dead",
    "Z": "zombie",
    "P": "parked",
    "I": "idle",
}


@dataclass(frozen=True)
class ProcessInfo:
    """One process (thread-group leader) as /proc/PID/stat and /proc/PID/status describe it."""

    pid: int
    ppid: int
    state: str  # one letter of STATE_NAMES
    comm: str  # full name: stat field 2 = /proc/PID/comm, bytes that are not UTF-8 as U+FFFD
    uid: int  # effective UID (status "Uid:" second column)
    user: str  # user name for uid, or the number when it has none
    vsz: int  # KiB: status VmSize (= stat vsize / 1024)
    rss: int  # KiB: status VmRSS (stat rss × page size / 1024 only when status lacks it)
    min_flt: int  # minor faults: satisfied without I/O (page already in RAM or zero-filled)
    maj_flt: int  # major faults: needed I/O (read from a file or swap)
    threads: int
    flags: int  # task->flags (PF_*)
    kernel_thread: bool  # PF_KTHREAD set: no user address space

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, self.state)

    @property
    def workqueue_worker(self) -> bool:
        return bool(self.flags & PF_WQ_WORKER)


@lru_cache(maxsize=1024)
def user_name(uid: int) -> str:
    """The login name for ``uid`` (from the password database), or the number as text."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@dataclass(frozen=True)
class StatFields:
    """The fields of one /proc/PID/stat line that ps uses (numbering as in proc(5))."""

    pid: int  # 1
    comm: str  # 2
    state: str  # 3
    ppid: int  # 4
    flags: int  # 9
    min_flt: int  # 10
    maj_flt: int  # 12
    threads: int  # 20
    vsize: int  # 23, bytes
    rss_pages: int  # 24


def parse_stat(text: str) -> StatFields:
    """Parse one /proc/PID/stat line; BadInput when it is not one.

    comm can hold spaces and ')' so it is everything between the first '(' and the last ')'.
    """
    open_paren, close_paren = text.find("("), text.rfind(")")
    if open_paren < 0 or close_paren < open_paren:
        raise BadInput(
            f"not a /proc/PID/stat line: {text[:60]!r}",
            key="errors.proc.not_stat_line",
            fields={"text": repr(text[:60])},
        )
    rest = text[close_paren + 2 :].split()
    if len(rest) < 22:
        raise BadInput(
            f"not a /proc/PID/stat line: {text[:60]!r}",
            key="errors.proc.not_stat_line",
            fields={"text": repr(text[:60])},
        )
    # rest[0] is field 3 (state); field N is rest[N - 3].
    try:
        return StatFields(
            pid=int(text[:open_paren]),
            comm=text[open_paren + 1 : close_paren],
            state=rest[0],
            ppid=int(rest[1]),
            flags=int(rest[6]),
            min_flt=int(rest[7]),
            maj_flt=int(rest[9]),
            threads=int(rest[17]),
            vsize=int(rest[20]),
            rss_pages=int(rest[21]),
        )
    except ValueError:
        raise BadInput(
            f"not a /proc/PID/stat line: {text[:60]!r}",
            key="errors.proc.not_stat_line",
            fields={"text": repr(text[:60])},
        ) from None


def _effective_uid(status: bytes) -> int:
    start = status.find(b"\nUid:")
    if start < 0:
        raise BadInput("/proc/PID/status has no Uid: line", key="errors.proc.no_uid")
    return int(status[start + 5 :].split(None, 2)[1])


def _thread_group(status: bytes) -> int | None:
    """status "Tgid:": the process a task belongs to (its own PID for a thread-group leader)."""
    start = status.find(b"\nTgid:")
    if start < 0:
        return None
    return int(status[start + 6 :].split(None, 1)[0])


def _status_kib(status: bytes, key: bytes) -> int | None:
    """The kB value of a ``Key:`` line of /proc/PID/status, None when absent (kernel threads)."""
    start = status.find(b"\n" + key + b":")
    if start < 0:
        return None
    return int(status[start + len(key) + 2 :].split(None, 1)[0])


def _read_bytes(path: str) -> bytes:
    # One open/read/close; unbuffered so Python does not fstat or allocate a buffer first.
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


def _build(pid: int, stat_text: bytes, status: bytes) -> ProcessInfo:
    fields = parse_stat(stat_text.decode("utf-8", "surrogateescape"))
    uid = _effective_uid(status)
    vsz = _status_kib(status, b"VmSize")
    rss = _status_kib(status, b"VmRSS")
    return ProcessInfo(
        pid=pid,
        ppid=fields.ppid,
        state=fields.state,
        # The kernel cuts a name at 15 bytes, often inside a multi-byte character.
        comm=decode_name(fields.comm.encode("utf-8", "surrogateescape")),
        uid=uid,
        user=user_name(uid),
        vsz=fields.vsize // 1024 if vsz is None else vsz,
        rss=fields.rss_pages * PAGE_SIZE // 1024 if rss is None else rss,
        min_flt=fields.min_flt,
        maj_flt=fields.maj_flt,
        threads=fields.threads,
        flags=fields.flags,
        kernel_thread=bool(fields.flags & PF_KTHREAD),
    )


def read_process(pid: int | str) -> ProcessInfo:
    """One process; NoSuchProcess when it does not exist or exits while being read.

    A thread ID (/proc/TID exists although /proc does not list it) stands for the process the
    thread belongs to, as pmap reads it: the address space and its figures are the process's.
    """
    number = resolve_pid(pid)
    require_process(number)
    with proc_errors(number, f"/proc/{number}/stat"):
        stat_text = _read_bytes(f"/proc/{number}/stat")
        status = _read_bytes(f"/proc/{number}/status")
    leader = _thread_group(status)
    if leader is not None and leader != number and leader > 0:
        return read_process(leader)
    return _build(number, stat_text, status)


def list_pids() -> list[int]:
    """Every process ID now in /proc (thread-group leaders; threads live under /proc/PID/task)."""
    try:
        names = os.listdir("/proc")
    except OSError as exc:
        raise OSFailure(
            f"cannot list /proc: {exc.strerror}",
            path="/proc",
            key="errors.proc.cannot_list",
            fields={"path": "/proc", "reason": exc.strerror},
        ) from exc
    return sorted(int(name) for name in names if name.isdigit())


def iter_processes(pids: Iterable[int] | None = None) -> Iterator[ProcessInfo]:
    """Every process (or those in ``pids``), skipping any that exit while being read.

    A thread ID among ``pids`` is not a process (ps -p TID lists nothing) and is skipped too.
    """
    for pid in list_pids() if pids is None else pids:
        try:
            stat_text = _read_bytes(f"/proc/{pid}/stat")
            status = _read_bytes(f"/proc/{pid}/status")
            leader = _thread_group(status)
            if leader is not None and leader != pid:
                continue
            yield _build(pid, stat_text, status)
        except (OSError, BadInput, ValueError, IndexError):
            # ENOENT/ESRCH: it exited between listdir and read; a half-written line from a
            # dying task fails to parse the same way. Either way it is gone: skip it.
            continue


SORT_KEYS: dict[str, Callable[[ProcessInfo], Any]] = {
    "pid": lambda p: p.pid,
    "ppid": lambda p: p.ppid,
    "comm": lambda p: p.comm,
    "user": lambda p: p.user,
    "state": lambda p: p.state,
    "vsz": lambda p: p.vsz,
    "rss": lambda p: p.rss,
    "min_flt": lambda p: p.min_flt,
    "maj_flt": lambda p: p.maj_flt,
    "threads": lambda p: p.threads,
}


def sort_processes(processes: list[ProcessInfo], spec: str) -> list[ProcessInfo]:
    """Sort like ``ps --sort``: comma-separated keys of SORT_KEYS, '-' before a key for descending."""
    result = list(processes)
    for key in reversed([k.strip() for k in spec.split(",") if k.strip()]):
        descending = key.startswith("-")
        name = key.lstrip("+-")
        if name not in SORT_KEYS:
            raise BadInput(
                f"cannot sort by {name!r}; choose from {', '.join(SORT_KEYS)}",
                key="errors.proc.sort_key",
                fields={"value": repr(name), "choices": ", ".join(SORT_KEYS)},
            )
        result.sort(key=SORT_KEYS[name], reverse=descending)
    return result


def resolve_user(user: str) -> int:
    """A user name or numeric UID as a UID; BadInput when no such user exists.

    A number is taken as a UID even without a user of that number (ps -u 12345 does the same);
    it must fit uid_t, and (uid_t)-1 means "no ID" to the kernel, so ps refuses it too.
    """
    if user.isascii() and user.isdigit():
        uid = int(user)
        if uid >= UID_INVALID:
            raise BadInput(
                f"user ID {user} is out of range (user IDs are below {UID_INVALID})",
                key="ps.error.uid_out_of_range",
                fields={"uid": user, "limit": UID_INVALID},
            )
        return uid
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        raise BadInput(
            f"no user named {user!r}", key="errors.proc.no_user", fields={"user": repr(user)}
        ) from None


__all__ = [
    "PF_KTHREAD",
    "STATE_NAMES",
    "NoSuchProcess",
    "ProcessInfo",
    "StatFields",
    "iter_processes",
    "list_pids",
    "parse_stat",
    "read_process",
    "resolve_user",
    "sort_processes",
    "user_name",
]
