"""What `kernlab syscall`'s figures mean: the call's path into the kernel, what is missing and why."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.reports.syscall import (
    LibcWrapper,
    Note,
    SyscallDescription,
    SyscallList,
    SyscallWithWrapper,
    assembly_register,
)
from kernlab.syscalls.errnos import Errno

__all__ = [
    "arguments_note",
    "description_sentences",
    "errno_sentences",
    "kallsyms_note",
    "libc_sentences",
    "list_sentences",
    "not_in_table",
    "unknown_numbers",
]


def kallsyms_note(report: SyscallDescription) -> str | None:
    """Why the entry symbol was not looked for in kallsyms (None when there is no note)."""
    if report.kallsyms_note is None:
        return None
    return _note("kallsyms", report.kallsyms_note, report.kallsyms_error, report.machine, report.syscall.arch)


def arguments_note(report: SyscallDescription) -> str | None:
    """Why tracefs gave no arguments (None when there is no note)."""
    if report.arguments_note is None:
        return None
    return _note(
        "arguments", report.arguments_note, report.arguments_error, report.machine, report.syscall.arch
    )


def _note(topic: str, note: Note, error: str | None, machine: str, arch: str) -> str:
    if note is Note.UNREADABLE:
        return error or ""
    return say(f"syscall.note.{topic}.{note.value}", machine=machine, arch=arch)


def description_sentences(report: SyscallDescription) -> list[str]:
    """The number, registers and trap of the call, the kernel function serving it, and the
    table's age against the running kernel."""
    call = report.syscall
    out: list[str] = []
    if call.symbol is None:
        out.append(
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
            # A table newer than the kernel holds calls added since; an older one, calls removed.
            kallsyms_text = say(
                "syscall.kallsyms_no_newer_table" if report.table_newer else "syscall.kallsyms_no",
                release=report.running_kernel,
                table_version=report.table.kernel_version,
            )
        else:
            kallsyms_text = say("syscall.kallsyms_unknown")
        out.append(
            say(
                "syscall.summary",
                name=call.name,
                number=call.number,
                hex=call.hex,
                arch=call.arch,
                register=assembly_register(call.arch, report.number_register),
                args_text=say("syscall.args_text", registers=registers) if registers else "",
                instruction=report.instruction,
                symbol=call.symbol,
                kallsyms_text=kallsyms_text,
            )
        )
    reason = arguments_note(report)
    if report.arguments is None and reason:
        out.append(say("syscall.arguments_missing", reason=reason))
    if report.native and not report.running_kernel.startswith(report.table.kernel_version):
        out.append(
            say(
                "syscall.table_older",
                table_version=report.table.kernel_version,
                release=report.running_kernel,
            )
        )
    return out


def errno_sentences(err: Errno) -> list[str]:
    return [
        say(
            "syscall.errno",
            name=err.name,
            number=err.number,
            returned=err.returned_as,
            message=err.message,
        )
    ]


def not_in_table(listing: SyscallList) -> str:
    """The note of a row the running kernel has and the shipped table lacks: its number is
    unknown to kernlab, because the kernel is newer than the table."""
    return say("syscall.not_in_table", table_version=listing.table.series)


def unknown_numbers(numbers: list[int], table_version: str | None) -> str | None:
    """For a recording report: which system-call numbers seen are past the end of kernlab's table
    (recording.syscall_names.unknown_numbers, table_series), shown as syscall_<nr>; None if none."""
    if not numbers or table_version is None:
        return None
    return say(
        "syscall.unknown_numbers_one" if len(numbers) == 1 else "syscall.unknown_numbers_many",
        count=len(numbers),
        numbers=", ".join(str(n) for n in numbers),
        table_version=table_version,
    )


def list_sentences(listing: SyscallList) -> list[str]:
    """How many calls the table has and this kernel lists, and the calls newer than the table."""
    table_rows = [s for s in listing.syscalls if s.in_table]
    with_symbol = [s for s in table_rows if s.symbol]
    out: list[str] = []
    if listing.native:
        present = sum(1 for s in with_symbol if s.in_kallsyms)
        out.append(
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
        out.append(
            say(
                "syscall.list_summary_foreign",
                count=len(table_rows),
                arch=listing.table.arch,
                table_version=listing.table.kernel_version,
                machine=listing.machine,
            )
        )
    if listing.missing_here:
        newer = "_newer_table" if listing.table_newer else ""
        one = "_one" if len(listing.missing_here) == 1 else "_many"
        out.append(
            say(
                f"syscall.list_missing{newer}{one}",
                release=listing.running_kernel,
                table_version=listing.table.kernel_version,
                count=len(listing.missing_here),
                names=", ".join(listing.missing_here),
            )
        )
    if listing.only_in_running_kernel:
        out.append(
            say(
                "syscall.list_extra_one"
                if len(listing.only_in_running_kernel) == 1
                else "syscall.list_extra_many",
                release=listing.running_kernel,
                table_version=listing.table.series,
                count=len(listing.only_in_running_kernel),
                names=", ".join(listing.only_in_running_kernel),
            )
        )
    elif listing.tracefs_note is not None:
        reason = _note(
            "tracefs", listing.tracefs_note, listing.tracefs_error, listing.machine, listing.table.arch
        )
        out.append(say("syscall.list_tracefs_missing", reason=reason))
    else:
        out.append(say("syscall.list_no_extra", release=listing.running_kernel))
    return out


def libc_sentences(result: SyscallWithWrapper) -> list[str]:
    """Where libc's wrapper loads the number and traps, and the kernel's path to the call."""
    report, wrapper = result.syscall, result.libc
    call = wrapper.syscall
    function = wrapper.function.split("@")[0]
    if wrapper.note is None or wrapper.load is None or wrapper.trap is None:
        callees = ", ".join(wrapper.callees) or say("syscall.libc_no_callees")
        return [
            say("syscall.libc_no_syscall", symbol=function, instruction=report.instruction, callees=callees)
        ]
    entered = wrapper.entered_as or call
    out = [
        say(
            "syscall.libc_wrapper",
            symbol=function
            if wrapper.trap_disassembly is None
            else say("syscall.libc_in_callee", symbol=function, callee=wrapper.trap_function),
            hex=f"{wrapper.note.number:#x}",
            number=wrapper.note.number,
            register=assembly_register(call.arch, wrapper.number_register or report.number_register),
            instruction=wrapper.trap.mnemonic,
            path=_kernel_path_text(wrapper, entered.number, entered.symbol or entered.name),
        )
    ]
    if wrapper.entered_as is not None:
        out.append(
            say(
                "syscall.libc_other_call",
                symbol=function,
                name=call.name,
                entered=wrapper.entered_as.name,
                number=wrapper.entered_as.number,
            )
        )
    return out


def _kernel_path_text(wrapper: LibcWrapper, number: int, symbol: str) -> str:
    path = wrapper.kernel_path
    if "entry_SYSCALL_64" in path and "x64_sys_call" in path:
        return say("syscall.path_x86_64_switch", number=number, symbol=symbol)
    if wrapper.syscall.arch == "x86_64":
        return say("syscall.path_x86_64_table", number=number, symbol=symbol)
    if wrapper.syscall.arch == "aarch64":
        return say("syscall.path_aarch64", number=number, symbol=symbol)
    return say("syscall.path_generic", number=number, symbol=symbol)
