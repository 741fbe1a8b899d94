"""`kernlab syscall NAME|NUMBER`, `kernlab syscall --list`: system-call numbers and entry points."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.syscalls.describe import SyscallList, SyscallReport
    from kernlab.syscalls.errnos import Errno
    from kernlab.syscalls.libc import LibcWrapper, SyscallWithWrapper


ARCH_CHOICES = ("x86_64", "x32", "i386", "aarch64", "arm64", "riscv64", "arm")


@click.command(
    "syscall",
    epilog=examples(
        "kernlab syscall rename               number 82 (0x52), __x64_sys_rename, arguments",
        "kernlab syscall 0x52                 the same call, by number",
        "kernlab syscall rename --libc        libc's wrapper: mov $0x52,%eax; syscall",
        "kernlab syscall --list               the whole table, and calls newer than it",
        "kernlab syscall --list --arch aarch64",
        "kernlab syscall --errno ENOENT       what a failed call returns: -2",
    ),
)
@click.argument("call", required=False)
@click.option("--list", "list_all", is_flag=True, help="List every system call of the table.")
@click.option(
    "--arch",
    type=click.Choice(ARCH_CHOICES, case_sensitive=False),
    default=None,
    help="Table to use (default: this machine's).",
)
@click.option("--libc", "show_libc", is_flag=True, help="Disassemble libc's wrapper for the call.")
@click.option("--libc-path", default=None, help="Use this libc.so.6 instead of the one /bin/sh loads.")
@click.option("--errno", "errno_key", default=None, help="Explain an error number or name (2, ENOENT).")
@output_options
def syscall(
    call: str | None,
    list_all: bool,
    arch: str | None,
    show_libc: bool,
    libc_path: str | None,
    errno_key: str | None,
    out: Output,
) -> None:
    """A system call by NAME or NUMBER (decimal or 0x hex): its number, the kernel function
    that serves it and whether this kernel's kallsyms has it, its arguments from the running
    kernel's trace event format, and with --libc the libc instructions that make the call."""
    from kernlab.errors import BadInput

    if errno_key is not None:
        if call is not None or list_all or show_libc:
            raise BadInput("--errno takes no CALL, --list or --libc")
        from kernlab.syscalls.errnos import lookup_errno

        out.emit(lookup_errno(errno_key), render_errno)
        return
    if list_all:
        if call is not None or show_libc:
            raise BadInput("--list takes no CALL and no --libc")
        from kernlab.render.progress import progress
        from kernlab.syscalls.describe import list_syscalls

        with progress("Reading kallsyms and tracefs"):
            listing = list_syscalls(arch)
        out.emit(listing, render_list)
        return
    if call is None:
        raise BadInput("give a system call NAME or NUMBER, or --list")
    from kernlab.syscalls.describe import describe_syscall

    report = describe_syscall(call, arch)
    if not show_libc:
        out.emit(report, render_report)
        return
    from kernlab.render.progress import progress
    from kernlab.syscalls.libc import SyscallWithWrapper, libc_wrapper

    with progress(f"Disassembling libc's {report.syscall.name}"):
        wrapper = libc_wrapper(report.syscall.name, libc_path, report.syscall.arch)
    out.emit(SyscallWithWrapper(report, wrapper), render_with_libc)


def render_report(report: SyscallReport, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_fields, print_heading, print_table

    call = report.syscall
    if report.in_kallsyms is None:
        present = report.kallsyms_note or "not checked"
    else:
        present = "yes" if report.in_kallsyms else "no"
    print_fields(
        [
            ("Number", f"{call.number} ({call.hex})"),
            ("ABI", call.abi),
            ("Table entry", call.entry or "(none: not implemented)"),
            ("Kernel symbol", call.symbol or "-"),
            ("In /proc/kallsyms", present),
            ("Trap", f"{report.instruction}, number in {_reg(report.syscall.arch, report.number_register)}"),
            ("Table source", f"Linux {report.table.kernel_version}: {report.table.source}"),
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
    if call.symbol is None:
        out.sentence(
            say(
                "syscall.summary_unimplemented",
                name=call.name,
                number=call.number,
                hex=call.hex,
                arch=call.arch,
            )
        )
    else:
        registers = ", ".join(a.register for a in report.arguments or [])
        if report.in_kallsyms is True:
            kallsyms_text = say("syscall.kallsyms_yes")
        elif report.in_kallsyms is False:
            kallsyms_text = say(
                "syscall.kallsyms_no",
                release=report.running_kernel,
                table_version=report.table.kernel_version,
            )
        else:
            kallsyms_text = say("syscall.kallsyms_unknown")
        out.sentence(
            say(
                "syscall.summary",
                name=call.name,
                number=call.number,
                hex=call.hex,
                arch=call.arch,
                register=_reg(call.arch, report.number_register),
                args_text=say("syscall.args_text", registers=registers) if registers else "",
                instruction=report.instruction,
                symbol=call.symbol,
                kallsyms_text=kallsyms_text,
            )
        )
    if report.arguments is None and report.arguments_note:
        out.sentence(say("syscall.arguments_missing", reason=report.arguments_note))
    if report.native and not report.running_kernel.startswith(report.table.kernel_version):
        out.sentence(
            say(
                "syscall.table_older",
                table_version=report.table.kernel_version,
                release=report.running_kernel,
            )
        )


def render_errno(err: Errno, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_fields

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
    out.sentence(
        say(
            "syscall.errno",
            name=err.name,
            number=err.number,
            returned=err.returned_as,
            message=err.message,
        )
    )


def render_list(listing: SyscallList, out: Output) -> None:
    import os

    from kernlab.catalog import say
    from kernlab.render.terminal import print_table

    def mark(value: bool | None) -> str:
        return "" if value is None else ("yes" if value else "no")

    rows = []
    for s in listing.syscalls:
        number = "" if s.number is None else str(s.number)
        hexnum = "" if s.number is None else f"{s.number:#x}"
        note = "" if s.in_table else say("syscall.not_in_table")
        rows.append((number, hexnum, s.name, s.symbol or "-", mark(s.in_kallsyms), note))
    print_table(
        ["nr", "hex", "name", "kernel symbol", "in kallsyms", "note"],
        rows,
        title=f"{listing.table.arch} system calls (Linux {listing.table.kernel_version})",
        right=["nr", "hex"],
    )
    table_rows = [s for s in listing.syscalls if s.in_table]
    with_symbol = [s for s in table_rows if s.symbol]
    if listing.native:
        present = sum(1 for s in with_symbol if s.in_kallsyms)
        out.sentence(
            say(
                "syscall.list_summary",
                count=len(table_rows),
                arch=listing.table.arch,
                table_version=listing.table.kernel_version,
                present=present,
                with_symbol=len(with_symbol),
            )
        )
    else:
        out.sentence(
            say(
                "syscall.list_summary_foreign",
                count=len(table_rows),
                arch=listing.table.arch,
                table_version=listing.table.kernel_version,
                machine=os.uname().machine,
            )
        )
    if listing.only_in_running_kernel:
        out.sentence(
            say(
                "syscall.list_extra",
                release=listing.running_kernel,
                count=len(listing.only_in_running_kernel),
                names=", ".join(listing.only_in_running_kernel),
            )
        )
    elif listing.tracefs_note:
        out.sentence(say("syscall.list_tracefs_missing", reason=listing.tracefs_note))
    else:
        out.sentence(say("syscall.list_no_extra", release=listing.running_kernel))


def render_with_libc(result: SyscallWithWrapper, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.cli.disasm_cmd import render_listing
    from kernlab.render.terminal import print_heading

    report, wrapper = result.syscall, result.libc
    render_report(report, out)
    print_heading(f"libc's wrapper ({wrapper.libc})")
    marks = {i.address for i in (wrapper.load, wrapper.trap) if i is not None}
    render_listing(wrapper.disassembly, marks)
    if wrapper.trap_disassembly is not None:
        print_heading(f"called from it: {wrapper.trap_function}")
        render_listing(wrapper.trap_disassembly, marks)
    call = wrapper.syscall
    function = wrapper.function.split("@")[0]
    if wrapper.note is None or wrapper.load is None or wrapper.trap is None:
        callees = ", ".join(wrapper.callees) or "nothing it names"
        out.sentence(
            say("syscall.libc_no_syscall", symbol=function, instruction=report.instruction, callees=callees)
        )
        return
    entered = wrapper.entered_as or call
    out.sentence(
        say(
            "syscall.libc_wrapper",
            symbol=function
            if wrapper.trap_disassembly is None
            else f"{function} (in {wrapper.trap_function})",
            hex=f"{wrapper.note.number:#x}",
            number=wrapper.note.number,
            register=_reg(call.arch, wrapper.number_register or report.number_register),
            instruction=wrapper.trap.mnemonic,
            path=_kernel_path_text(wrapper, entered.number, entered.symbol or entered.name),
        )
    )
    if wrapper.entered_as is not None:
        out.sentence(
            say(
                "syscall.libc_other_call",
                symbol=function,
                name=call.name,
                entered=wrapper.entered_as.name,
                number=wrapper.entered_as.number,
            )
        )


def _reg(arch: str, register: str) -> str:
    """A register as that architecture's assembly writes it (AT&T %rax on x86, x8 elsewhere)."""
    return f"%{register}" if arch in ("x86_64", "x32", "i386") else register


def _kernel_path_text(wrapper: LibcWrapper, number: int, symbol: str) -> str:
    from kernlab.catalog import say

    path = wrapper.kernel_path
    if "entry_SYSCALL_64" in path and "x64_sys_call" in path:
        return say("syscall.path_x86_64_switch", number=number, symbol=symbol)
    if wrapper.syscall.arch == "x86_64":
        return say("syscall.path_x86_64_table", number=number, symbol=symbol)
    if wrapper.syscall.arch == "aarch64":
        return say("syscall.path_aarch64", number=number, symbol=symbol)
    return say("syscall.path_generic", number=number, symbol=symbol)
