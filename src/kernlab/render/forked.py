"""Text made by forked children while the parent writes its own, written after it, in order.

A whole libc's listing is about a second of Python on one CPU; a child process can make the
second half of the text on another CPU meanwhile. The child keeps its text until the parent
says its turn has come, then writes it to the same standard output itself (nothing is copied
between the processes but a few bytes of state), so the output is byte for byte the one a
single process writes, and a pager still shows the parent's first page at once.

Two processes can share the work by :class:`Meeting`: the parent takes jobs from the front,
the child from the back, until they meet, so neither waits for the other however the work is
spread over the jobs.

Every way the child can fail leaves the parent in charge: it reports "failed" before writing
anything, and the parent makes that text itself. A parent that stops early (an error, Ctrl-C,
a closed pipe) kills the child before it has written a byte.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import signal
import struct
import sys
from collections.abc import Callable, Iterator

__all__ = ["Child", "Deliver", "Meeting", "spare_cpus", "start"]

_READY = b"R"  # the child made its text
_FAILED = b"F"  # it could not: the parent makes it
_GO = b"G"  # the parent's text is out: write yours
_PIPE = b"P"  # the child's write found the reader gone
_LENGTH = struct.Struct("<Q")

# Given the parent's word at the child's turn, the bytes the child writes and its result.
Deliver = Callable[[bytes], tuple[bytes, bytes]]


def spare_cpus() -> int:
    """How many more processes would run now without waiting: the CPUs this process may use,
    less one for itself, less the other tasks that are busy. A task counts as busy when it is
    both runnable at this moment (/proc/loadavg's fourth field, itself included) and in the
    load average's whole part: the load average alone lags a minute behind (a command run
    twice in a row would see its own first run), the runnable count alone catches a kernel
    thread that happens to run this microsecond."""
    try:
        cpus = len(os.sched_getaffinity(0))
        load = int(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            others = int(f.read().split()[3].split("/")[0]) - 1
    except (OSError, ValueError, IndexError):
        others = load
    return max(0, cpus - 1 - min(others, load))


def _writable_stdout() -> bool:
    """Whether standard output is a file descriptor the child can write to as well (not a
    test's or an embedding program's in-memory stream)."""
    try:
        sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


class Meeting:
    """Jobs 0 to count-1 shared by two processes without a lock: the parent takes them from
    the front (:meth:`front`), the child from the back (:meth:`back`), each saying which job it
    is about to do in a shared page before it looks at the other's.

    The parent does job i only while the child's is above i; the child does job j while the
    parent's is at most j. Whatever order the two stores and loads are seen in, every job is
    done by one of them, and one at most may be done by both: the parent's count of jobs
    (:attr:`reached`, given to the child at its turn) says where its part ends, and the child
    writes only its jobs from there.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.shared = mmap.mmap(-1, 16)  # anonymous and shared: the child sees the same page
        self._put(0, 0)  # the parent's next job
        self._put(8, count)  # the child's
        self.reached = 0  # jobs 0..reached-1 are the parent's

    def _put(self, at: int, value: int) -> None:
        struct.pack_into("<q", self.shared, at, value)

    def _get(self, at: int) -> int:
        value: int = struct.unpack_from("<q", self.shared, at)[0]
        return value

    def front(self) -> Iterator[int]:
        """The parent's jobs, in order; :attr:`reached` counts them."""
        for i in range(self.count):
            self._put(0, i)
            if self._get(8) <= i:
                return
            yield i
            self.reached = i + 1

    def back(self) -> Iterator[int]:
        """The child's jobs, from the last down."""
        for j in range(self.count - 1, -1, -1):
            self._put(8, j)
            if self._get(0) > j:
                return
            yield j


class Child:
    """A forked child holding its text until :meth:`finish`."""

    def __init__(self, pid: int, go: int, result: int) -> None:
        self.pid = pid
        self.go = go
        self.result = result
        self.done = False
        _running.append(self)

    def finish(self, word: bytes = b"") -> bytes | None:
        """Let the child write its text after everything written so far, telling it ``word``;
        its result (bytes), or None when it failed and wrote nothing. BrokenPipeError when the
        reader has gone."""
        sys.stdout.flush()
        try:
            status = os.read(self.result, 1)
            if status != _READY:
                self._reap()
                return None
            _write_all(self.go, _GO + _LENGTH.pack(len(word)) + word)
            head = _read_exactly(self.result, 1)
            if head == _PIPE:
                raise BrokenPipeError("standard output closed")
            size = _read_exactly(self.result, _LENGTH.size) if head == _READY else None
            result = _read_exactly(self.result, _LENGTH.unpack(size)[0]) if size is not None else None
            if result is None:
                raise OSError("the listing's second process stopped while writing")
        except BaseException:
            self.cancel()  # Ctrl-C or kill while the child writes: it stops too
            raise
        # Its result is in: the child is exiting, and the wait for that would be spent on its
        # address space being torn down. Reaped now if it has gone, else later.
        self._reap(wait=False)
        return result

    def cancel(self) -> None:
        """Kill the child unless it has finished (the parent is stopping early)."""
        if not self.done:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()

    def _reap(self, wait: bool = True) -> None:
        if self.done:
            return
        self.done = True
        _running.remove(self)
        for fd in (self.go, self.result):
            os.close(fd)
        _exited.append(self.pid)
        _reap_exited(wait)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    out = b""
    while len(out) < size:
        chunk = os.read(fd, size - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when the parent dies (SIGKILL, SIGTERM with no handler):
    otherwise it would finish its part for nobody. Linux's PR_SET_PDEATHSIG; elsewhere the
    child still ends, at its next write to the parent."""
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (AttributeError, OSError):
        return
    prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the call
        os._exit(1)


_running: list[Child] = []  # children not reaped yet: a later child closes their pipes
_exited: list[int] = []  # children done with, not yet waited for


def _reap_exited(wait: bool = False) -> None:
    """Wait for the children done with (without blocking unless ``wait``): no zombie is left
    for longer than until the next listing, or the process's exit."""
    for pid in list(_exited):
        try:
            gone, _status = os.waitpid(pid, 0 if wait else os.WNOHANG)
        except ChildProcessError:
            gone = pid
        if gone == pid:
            _exited.remove(pid)


def encoded(text: str) -> bytes:
    """``text`` as standard output would write it: its encoding and error handler."""
    return text.encode(sys.stdout.encoding, sys.stdout.errors or "strict")


def start(work: Callable[[], Deliver]) -> Child | None:
    """Fork a child that runs ``work`` now and, when :meth:`Child.finish` says its turn has
    come, writes the bytes its result gives for the parent's word. None where there is no
    fork, or no standard output a second process can share."""
    if not hasattr(os, "fork") or not _writable_stdout():
        return None
    _reap_exited()
    sys.stdout.flush()
    sys.stderr.flush()
    go_r, go_w = os.pipe()
    result_r, result_w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid:
        os.close(go_r)
        os.close(result_w)
        return Child(pid, go_w, result_r)
    # The child: never returns into the caller, never runs the parent's exit handlers.
    status = 1
    try:
        _die_with(parent)
        os.close(go_w)
        os.close(result_r)
        for sibling in _running:  # so each sibling sees the parent go when it does
            os.close(sibling.go)
            os.close(sibling.result)
        try:
            deliver = work()
        except BaseException:
            os.write(result_w, _FAILED)
            raise
        os.write(result_w, _READY)
        head = _read_exactly(go_r, 1 + _LENGTH.size)
        if head is not None and head[:1] == _GO:
            word = _read_exactly(go_r, _LENGTH.unpack_from(head, 1)[0]) or b""
            data, result = deliver(word)
            try:
                _write_all(sys.stdout.fileno(), data)
            except BrokenPipeError:
                os.write(result_w, _PIPE)
            else:
                _write_all(result_w, _READY + _LENGTH.pack(len(result)) + result)
        status = 0
    finally:
        os._exit(status)
