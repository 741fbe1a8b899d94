"""What the numbers of ``raw_syscalls`` records name: system calls and errnos.

``raw_syscalls:sys_enter`` and ``sys_exit`` carry the call's number (``id``) and the return
value (``ret``); the names come from the kernel's syscall table for the recording's
architecture (``meta.machine``), and a return value between -4095 and -1 is an error
(``IS_ERR_VALUE``), -ret its errno.

A number past the end of kernlab's table belongs to a kernel newer than the table: it has no
name here (reports show it as ``syscall_<nr>``, strace's convention) and
:func:`unknown_numbers` finds such numbers so that a report can say so, with
:func:`table_series` for "newer than Linux X.Y".
"""

from __future__ import annotations

import errno
from collections.abc import Iterable

from kernlab.errors import KernlabError

__all__ = [
    "KERNEL_ERRNOS",
    "MAX_ERRNO",
    "RESTART_CODES",
    "errno_name",
    "exec_numbers",
    "syscall_namer",
    "table_series",
    "unknown_numbers",
]

MAX_ERRNO = 4095

# Kernel-internal codes (include/linux/errno.h) that a system call can return to the exit
# tracepoint, before signal handling turns them into a restart or EINTR.
KERNEL_ERRNOS: dict[int, str] = {
    512: "ERESTARTSYS",
    513: "ERESTARTNOINTR",
    514: "ERESTARTNOHAND",
    515: "ENOIOCTLCMD",
    516: "ERESTART_RESTARTBLOCK",
    517: "EPROBE_DEFER",
    518: "EOPENSTALE",
    519: "ENOPARAM",
}
RESTART_CODES = frozenset({512, 513, 514, 516})


def errno_name(code: int) -> str:
    """``ENOENT`` for 2, ``ERESTARTSYS`` for 512; ``E<n>`` for a number nobody names."""
    return errno.errorcode.get(code) or KERNEL_ERRNOS.get(code, f"E{code}")


def syscall_namer(machine: str) -> dict[int, str]:
    """Number -> name for ``machine`` (uname -m of the recording), from kernlab.syscalls' tables."""
    from kernlab.syscalls.tables import by_number

    try:
        return {nr: row.name for nr, row in by_number(machine or None).items()}
    except KernlabError:  # an arch kernlab has no table for: numbers stay numbers
        return {}


def exec_numbers(names: dict[int, str]) -> set[int]:
    """The numbers of execve and execveat: their exit is seen under another thread's id."""
    return {nr for nr, name in names.items() if name in ("execve", "execveat")}


def unknown_numbers(numbers: Iterable[int], machine: str) -> list[int]:
    """The ``numbers`` past the end of kernlab's table for ``machine``, sorted: calls of a kernel
    newer than the table, which kernlab cannot name. Empty when kernlab has no table for
    ``machine`` (then no number has a name, and none is newer than anything)."""
    from kernlab.syscalls.tables import table_info

    try:
        last = table_info(machine or None).last_number
    except KernlabError:
        return []
    return sorted({nr for nr in numbers if nr > last})


def table_series(machine: str) -> str | None:
    """``7.3``: the kernel release kernlab's table for ``machine`` comes from (None: no table)."""
    from kernlab.syscalls.tables import table_info

    try:
        return table_info(machine or None).series
    except KernlabError:
        return None
