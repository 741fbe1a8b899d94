"""`kernlab syscall` for a person: one call's facts and arguments, the whole table, libc's
wrapper as objdump would list it, or an error number."""

from __future__ import annotations

from kernlab.explain import syscall as explain
from kernlab.explain import text
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
        present = explain.kallsyms_note(report) or text("syscall.view.not_checked")
    else:
        present = _mark(report.in_kallsyms)
    register = assembly_register(call.arch, report.number_register)
    print_fields(
        [
            (text("syscall.view.number"), f"{call.number} ({call.hex})"),
            ("ABI", call.abi),
            (text("syscall.view.table_entry"), call.entry or text("syscall.view.no_entry")),
            (text("syscall.view.kernel_symbol"), call.symbol or "-"),
            (text("syscall.view.in_kallsyms"), present),
            (
                text("syscall.view.trap"),
                text("syscall.view.trap_value", instruction=report.instruction, register=register),
            ),
            (text("syscall.view.table_source"), _table_source(report.table)),
        ],
        title=f"{call.name} ({call.arch})",
    )
    if report.arguments is not None:
        event = call.function or call.name
        print_heading(text("syscall.view.arguments", format=f"events/syscalls/sys_enter_{event}/format"))
        print_table(
            ["#", text("syscall.view.register"), text("syscall.view.name"), text("syscall.view.type")],
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
            (text("syscall.view.number"), str(err.number)),
            (text("syscall.view.aliases"), ", ".join(err.aliases) or "-"),
            # strerror's text is glibc's own (C locale), a name to grep for: kept as it prints.
            (text("syscall.view.strerror"), err.message),
            (text("syscall.view.header_comment"), err.kernel_comment or "-"),
            (
                text("syscall.view.returned"),
                text(
                    "syscall.view.returned_value",
                    value=err.returned_as,
                    register=f"{err.returned_as & (2**64 - 1):#x}",
                ),
            ),
        ],
        title=err.name,
    )
    out.sentences(explain.errno_sentences(err))


def _mark(value: bool | None) -> str:
    return "" if value is None else text("common.view.yes" if value else "common.view.no")


def show_list(listing: SyscallList, out: Output) -> None:
    rows = []
    for s in listing.syscalls:
        number = "" if s.number is None else str(s.number)
        hexnum = "" if s.number is None else f"{s.number:#x}"
        note = "" if s.in_table else explain.not_in_table(listing)
        rows.append((number, hexnum, s.name, s.symbol or "-", _mark(s.in_kallsyms), note))
    number, hexnum = text("syscall.view.nr"), text("syscall.view.hex")
    print_table(
        [
            number,
            hexnum,
            text("syscall.view.name"),
            text("syscall.view.kernel_symbol_column"),
            text("syscall.view.in_kallsyms_column"),
            text("syscall.view.note"),
        ],
        rows,
        title=text("syscall.view.list_title", arch=listing.table.arch, version=listing.table.kernel_version),
        right=[number, hexnum],
    )
    out.sentences(explain.list_sentences(listing))


def show_with_libc(result: SyscallWithWrapper, out: Output) -> None:
    wrapper = result.libc
    show_description(result.syscall, out)
    print_heading(text("syscall.view.wrapper", libc=wrapper.libc))
    marks = {i.address for i in (wrapper.load, wrapper.trap) if i is not None}
    print_listing(wrapper.disassembly, marks)
    if wrapper.trap_disassembly is not None:
        print_heading(text("syscall.view.called_from", function=wrapper.trap_function))
        print_listing(wrapper.trap_disassembly, marks)
    out.sentences(explain.libc_sentences(result))
