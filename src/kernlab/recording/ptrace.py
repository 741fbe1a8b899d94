"""Just enough ptrace (through libc) to stop a traced process at exec, clone and exit.

kernlab seizes the processes it records with PTRACE_SEIZE and only the EXEC, FORK, VFORK,
CLONE and EXIT options: the kernel then stops a tracee at those moments and at signal delivery,
never at system calls, so tracing costs nothing per system call. At each stop the recorder saves
/proc/<pid>/maps while the address space still exists.

An exec is the exception: a PTRACE_EVENT_EXEC stop happens *inside* execve (exec_binprm), so
its length would be counted in execve's time. The maps of a new image are therefore copied at
execve's syscall-exit-stop instead (PTRACE_SYSCALL for that one call): the kernel reports it
after the ``sys_exit`` tracepoint has fired (syscall_exit_work) and before a single
instruction of the new image runs, and a syscall-enter-stop comes before ``sys_enter`` fires
(syscall_trace_enter) — so neither lies inside any call's recorded time.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from dataclasses import dataclass

from kernlab.libc import libc

PTRACE_CONT = 7
PTRACE_SYSCALL = 24
PTRACE_SETOPTIONS = 0x4200
PTRACE_GET_SYSCALL_INFO = 0x420E
PTRACE_DETACH = 17
PTRACE_GETEVENTMSG = 0x4201
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208

PTRACE_O_TRACESYSGOOD = 0x01
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
    PTRACE_O_TRACESYSGOOD
    | PTRACE_O_TRACEFORK
    | PTRACE_O_TRACEVFORK
    | PTRACE_O_TRACECLONE
    | PTRACE_O_TRACEEXEC
    | PTRACE_O_TRACEEXIT
)
PRE_EXEC_OPTIONS = SEIZE_OPTIONS & ~PTRACE_O_TRACEEXEC
"""For a command held before its first execve: that exec is seen at its syscall-exit-stop
(PTRACE_SYSCALL), so no PTRACE_EVENT_EXEC stop lands inside it."""

SYSCALL_STOP = 0x80 | signal.SIGTRAP
"""WSTOPSIG of a syscall-enter/exit-stop with PTRACE_O_TRACESYSGOOD."""

SYSCALL_INFO_ENTRY = 1
SYSCALL_INFO_EXIT = 2

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


def seize(pid: int, options: int = SEIZE_OPTIONS) -> None:
    """Attach to ``pid`` without stopping it, asking for exec/fork/clone/exit stops only."""
    ptrace(PTRACE_SEIZE, pid, 0, options)


def set_options(pid: int, options: int) -> None:
    """PTRACE_SETOPTIONS on a stopped tracee."""
    ptrace(PTRACE_SETOPTIONS, pid, 0, options)


def resume_to_syscall(pid: int, sig: int = 0) -> None:
    """PTRACE_SYSCALL: let a stopped tracee go on (delivering ``sig``) until its next
    system-call entry or exit."""
    with contextlib.suppress(ProcessLookupError):
        ptrace(PTRACE_SYSCALL, pid, 0, sig)


@dataclass(frozen=True)
class SyscallInfo:
    """PTRACE_GET_SYSCALL_INFO (Linux 5.3): which side of a call a syscall stop is."""

    op: int
    """SYSCALL_INFO_ENTRY, SYSCALL_INFO_EXIT, or 0 (not a syscall stop)."""
    nr: int = -1
    """The call's number (entry only)."""
    rval: int = 0
    is_error: bool = False
    """Exit only: the return value, and whether it is an error."""


class _RawSyscallInfo(ctypes.Structure):
    # struct ptrace_syscall_info (include/uapi/linux/ptrace.h); the union read as 7 u64s.
    _fields_ = [
        ("op", ctypes.c_uint8),
        ("pad", ctypes.c_uint8 * 3),
        ("arch", ctypes.c_uint32),
        ("instruction_pointer", ctypes.c_uint64),
        ("stack_pointer", ctypes.c_uint64),
        ("data", ctypes.c_uint64 * 7),
    ]


def syscall_info(pid: int) -> SyscallInfo:
    """Which call a syscall-stopped tracee is entering or leaving (OSError: EIO before 5.3)."""
    raw = _RawSyscallInfo()
    ptrace(PTRACE_GET_SYSCALL_INFO, pid, ctypes.sizeof(raw), ctypes.addressof(raw))
    if raw.op == SYSCALL_INFO_ENTRY:
        return SyscallInfo(raw.op, nr=int(raw.data[0]))
    if raw.op == SYSCALL_INFO_EXIT:
        rval = ctypes.c_int64(raw.data[0]).value
        return SyscallInfo(raw.op, rval=rval, is_error=bool(raw.data[1] & 0xFF))
    return SyscallInfo(raw.op)


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
