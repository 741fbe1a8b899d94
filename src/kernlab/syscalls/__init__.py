"""System calls: the kernel's own number tables, shipped as data, and what this kernel says about them.

* :mod:`kernlab.syscalls.tables` -- ``table(arch)``, ``lookup(name_or_number, arch)``;
* :mod:`kernlab.syscalls.tracefs` -- argument names and types from tracefs event formats;
* :mod:`kernlab.syscalls.describe` -- one call as seen by the table, kallsyms and tracefs;
* :mod:`kernlab.syscalls.libc` -- libc's wrapper for a call, disassembled;
* :mod:`kernlab.syscalls.errnos` -- error numbers, from the kernel's asm-generic errno headers.
"""

from kernlab.syscalls.tables import ARCHES, Syscall, TableInfo, lookup, table, table_info
from kernlab.syscalls.tracefs import Argument, arguments_from_tracefs, syscall_names_in_running_kernel

__all__ = [
    "ARCHES",
    "Argument",
    "Syscall",
    "TableInfo",
    "arguments_from_tracefs",
    "lookup",
    "syscall_names_in_running_kernel",
    "table",
    "table_info",
]
