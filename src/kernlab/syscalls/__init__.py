"""System calls as data: the kernel's own number tables and error numbers, shipped with kernlab.

* :mod:`kernlab.syscalls.tables` -- ``table(arch)``, ``lookup(name_or_number, arch)``;
* :mod:`kernlab.syscalls.errnos` -- error numbers, from the kernel's asm-generic errno headers.

What the running kernel says about a call (kallsyms, tracefs) and libc's wrapper for it are
assembled by :mod:`kernlab.reports.syscall`.
"""

from kernlab.syscalls.tables import (
    ARCHES,
    Syscall,
    TableInfo,
    UnknownNumber,
    is_unknown_number,
    lookup,
    table,
    table_info,
)

__all__ = [
    "ARCHES",
    "Syscall",
    "TableInfo",
    "UnknownNumber",
    "is_unknown_number",
    "lookup",
    "table",
    "table_info",
]
