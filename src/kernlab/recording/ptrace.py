"""Just enough ptrace (through libc) to stop a traced process at exec, clone and exit.

kernlab seizes the processes it records with PTRACE_SEIZE and only the EXEC, FORK, VFORK,
CLONE and EXIT options: the kernel then stops a tracee at those moments and at signal delivery,
never at system calls, so tracing costs nothing per system call. At each stop the recorder saves
/proc/<pid>/maps while the address space still exists.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from dataclasses import dataclass

from kernlab.libc import libc

PTRACE_CONT = 7
PTRACE_DETACH = 17
PTRACE_GETEVENTMSG = 0x4201
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208

PTRACE_O_TRACEFORK = 0x02
PTRACE_O_TRACEVFORK = 0x04
PTRACE_O_TRACECLONE = 0x08
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEEXIT = 0x40

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_STOP = 0x80

WALL = 0x40000000  # __WALL: wait for threads and for tracees that are not our children

SEIZE_OPTIONS = (
    PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT
)

EVENT_NAMES = {
    PTRACE_EVENT_FORK: "fork",
    PTRACE_EVENT_VFORK: "vfork",
    PTRACE_EVENT_CLONE: "clone",
    PTRACE_EVENT_EXEC: "exec",
    PTRACE_EVENT_EXIT: "exit",
    PTRACE_EVENT_STOP: "stop",
}

STOP_SIGNALS = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})


def ptrace(request: int, pid: int, addr: int = 0, data: int = 0) -> int:
    """Call ptrace(2); raise OSError with the errno on failure."""
    result = libc().ptrace(request, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))
    if result == -1:
        err = ctypes.get_errno()
        if err:
            raise OSError(err, os.strerror(err))
    return result


def seize(pid: int) -> None:
    """Attach to ``pid`` without stopping it, asking for exec/fork/clone/exit stops only."""
    ptrace(PTRACE_SEIZE, pid, 0, SEIZE_OPTIONS)


def event_message(pid: int) -> int:
    """PTRACE_GETEVENTMSG: the new pid at a fork/clone stop, the exit status at an exit stop."""
    value = ctypes.c_ulong(0)
    ptrace(PTRACE_GETEVENTMSG, pid, 0, ctypes.addressof(value))
    return value.value


def resume(pid: int, sig: int = 0) -> None:
    """Let a stopped tracee go on, delivering ``sig`` (0 for none). A vanished tracee is fine."""
    with contextlib.suppress(ProcessLookupError):
        ptrace(PTRACE_CONT, pid, 0, sig)


def listen(pid: int) -> None:
    """Leave a tracee in its group-stop (SIGSTOP/SIGTSTP) the way it would be without us."""
    with contextlib.suppress(ProcessLookupError):
        ptrace(PTRACE_LISTEN, pid, 0, 0)


def interrupt(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        ptrace(PTRACE_INTERRUPT, pid, 0, 0)


def detach(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        ptrace(PTRACE_DETACH, pid, 0, 0)


@dataclass(frozen=True)
class Stop:
    """What one wait status says: a ptrace event stop, a signal stop, or the end of a task."""

    pid: int
    kind: str
    """``exited``, ``killed``, ``event`` or ``signal``."""
    event: int = 0
    signal: int = 0
    status: int = 0


def decode_status(pid: int, status: int) -> Stop:
    """Turn a raw wait status into a :class:`Stop` (see ptrace(2), "Stopped states")."""
    if os.WIFEXITED(status):
        return Stop(pid, "exited", status=status)
    if os.WIFSIGNALED(status):
        return Stop(pid, "killed", signal=os.WTERMSIG(status), status=status)
    sig = os.WSTOPSIG(status)
    event = (status >> 16) & 0xFFFF
    if event:
        return Stop(pid, "event", event=event, signal=sig, status=status)
    return Stop(pid, "signal", signal=sig, status=status)
