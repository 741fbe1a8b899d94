"""`kernlab syscall` for a person: one call's facts and arguments, the whole table, libc's
wrapper as objdump would list it, or an error number."""

from __future__ import annotations

from kernlab.explain import syscall as explain
from kernlab.render.listing import print_listing
from kernlab.render.output import Output
from kernlab.render.terminal import print_fields, print_heading, print_table
from kernlab.reports.syscall import (
    SyscallCommandReport,
    SyscallDescription,
    SyscallList,
    SyscallWithWrapper,
    assembly_register,
)
from kernlab.syscalls.errnos import Errno
from kernlab.syscalls.tables import TableInfo

__all__ = ["show", "show_description", "show_errno", "show_list", "show_with_libc"]


def show(report: SyscallCommandReport, out: Output) -> None:
    if isinstance(report, SyscallDescription):
        show_description(report, out)
    elif isinstance(report, SyscallList):
        show_list(report, out)
    elif isinstance(report, SyscallWithWrapper):
        show_with_libc(report, out)
    else:
        show_errno(report, out)


def show_description(report: SyscallDescription, out: Output) -> None:
    call = report.syscall
    if report.in_kallsyms is None:
        present = explain.kallsyms_note(report) or "not checked"
    else:
        present = "yes" if report.in_kallsyms else "no"
    print_fields(
        [
            ("Number", f"{call.number} ({call.hex})"),
            ("ABI", call.abi),
            ("Table entry", call.entry or "(none: not implemented)"),
            ("Kernel symbol", call.symbol or "-"),
            ("In /proc/kallsyms", present),
            (
                "Trap",
                f"{report.instruction}, number in {assembly_register(call.arch, report.number_register)}",
            ),
            ("Table source", _table_source(report.table)),
        ],
        title=f"{call.name} ({call.arch})",
    )
    if report.arguments is not None:
        print_heading(f"Arguments (events/syscalls/sys_enter_{call.function or call.name}/format)")
        print_table(
            ["#", "register", "name", "type"],
            [(a.position, a.register, a.name, a.type) for a in report.arguments],
            right=["#"],
        )
    out.sentences(explain.description_sentences(report))


def _table_source(info: TableInfo) -> str:
    """Linux 7.3.4: linux-source-7.3.tar.xz:arch/... (Debian package linux-source-7.3 ...)."""
    origin = f" ({info.origin})" if info.origin else ""
    return f"Linux {info.kernel_version}: {info.source}{origin}"


def show_errno(err: Errno, out: Output) -> None:
    print_fields(
        [
            ("Number", str(err.number)),
            ("Also called", ", ".join(err.aliases) or "-"),
            ("Message (strerror)", err.message),
            ("Kernel header comment", err.kernel_comment or "-"),
            (
                "Returned by the kernel",
                f"{err.returned_as} ({err.returned_as & (2**64 - 1):#x} in a 64-bit register)",
            ),
        ],
        title=err.name,
    )
    out.sentences(explain.errno_sentences(err))


def _mark(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def show_list(listing: SyscallList, out: Output) -> None:
    rows = []
    for s in listing.syscalls:
        number = "" if s.number is None else str(s.number)
        hexnum = "" if s.number is None else f"{s.number:#x}"
        note = "" if s.in_table else explain.not_in_table(listing)
        rows.append((number, hexnum, s.name, s.symbol or "-", _mark(s.in_kallsyms), note))
    print_table(
        ["nr", "hex", "name", "kernel symbol", "in kallsyms", "note"],
        rows,
        title=f"{listing.table.arch} system calls (Linux {listing.table.kernel_version})",
        right=["nr", "hex"],
    )
    out.sentences(explain.list_sentences(listing))


def show_with_libc(result: SyscallWithWrapper, out: Output) -> None:
    wrapper = result.libc
    show_description(result.syscall, out)
    print_heading(f"libc's wrapper ({wrapper.libc})")
    marks = {i.address for i in (wrapper.load, wrapper.trap) if i is not None}
    print_listing(wrapper.disassembly, marks)
    if wrapper.trap_disassembly is not None:
        print_heading(f"called from it: {wrapper.trap_function}")
        print_listing(wrapper.trap_disassembly, marks)
    out.sentences(explain.libc_sentences(result))
