"""One system call as the shipped table, the running kernel's kallsyms and tracefs see it, and
the whole table compared with what the running kernel has."""

from __future__ import annotations

import os
from dataclasses import dataclass

from kernlab.errors import BadInput, KernlabError
from kernlab.kernel.kallsyms import KALLSYMS, addresses_hidden, lookup_kallsyms
from kernlab.syscalls.tables import Syscall, TableInfo, lookup, normalize_arch, table, table_info
from kernlab.syscalls.tracefs import Argument, arguments_from_tracefs, syscall_names_in_running_kernel

# The table of the running kernel's own architecture, and of the 32-bit ABI it may also run.
NATIVE_TABLES: dict[str, tuple[str, ...]] = {
    "x86_64": ("x86_64", "i386", "x32"),
    "aarch64": ("aarch64", "arm"),
    "riscv64": ("riscv64",),
    "i686": ("i386",),
    "armv7l": ("arm",),
}

# The registers that carry the number and the arguments (syscall(2), "Architecture calling
# conventions"); a data table so other architectures are one line each.
CONVENTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # arch: (instruction, number register, argument registers)
    "x86_64": ("syscall", "rax", ("rdi", "rsi", "rdx", "r10", "r8", "r9")),
    "x32": ("syscall", "rax", ("rdi", "rsi", "rdx", "r10", "r8", "r9")),
    "i386": ("int $0x80", "eax", ("ebx", "ecx", "edx", "esi", "edi", "ebp")),
    "aarch64": ("svc #0", "x8", ("x0", "x1", "x2", "x3", "x4", "x5")),
    "arm": ("swi #0", "r7", ("r0", "r1", "r2", "r3", "r4", "r5")),
    "riscv64": ("ecall", "a7", ("a0", "a1", "a2", "a3", "a4", "a5")),
}


@dataclass(frozen=True)
class ArgumentInfo:
    position: int
    register: str  # where the argument travels on this architecture
    name: str
    type: str


@dataclass(frozen=True)
class SyscallReport:
    """``kernlab syscall NAME``: one call, with what the running kernel says about it."""

    syscall: Syscall
    table: TableInfo
    instruction: str  # the trap instruction of the ABI
    number_register: str
    running_kernel: str  # uname -r
    native: bool  # the table is one the running kernel serves
    in_kallsyms: bool | None  # the entry symbol is in /proc/kallsyms (None: not checked, see note)
    kallsyms_note: str | None
    arguments: list[ArgumentInfo] | None  # None when tracefs could not tell
    arguments_note: str | None  # why arguments are missing


@dataclass(frozen=True)
class ListedSyscall:
    number: int | None  # None for calls the running kernel has but the shipped table lacks
    name: str
    symbol: str | None
    in_kallsyms: bool | None
    in_table: bool  # False: named by the running kernel's tracefs only


@dataclass(frozen=True)
class SyscallList:
    """``kernlab syscall --list``: the table, plus calls only the running kernel knows."""

    table: TableInfo
    running_kernel: str
    native: bool
    syscalls: list[ListedSyscall]
    tracefs_note: str | None  # why the running kernel's names could not be compared
    only_in_running_kernel: list[str]  # SYSCALL_DEFINE names tracefs has and the table lacks


def _native(arch: str) -> bool:
    return arch in NATIVE_TABLES.get(os.uname().machine, ())


def _kallsyms_presence(
    symbols: list[str], native: bool, kallsyms: str
) -> tuple[dict[str, bool] | None, str | None]:
    if not native:
        return None, f"the running kernel is {os.uname().machine}: its kallsyms cannot hold these entries"
    try:
        found = lookup_kallsyms(symbols, kallsyms)
    except KernlabError as exc:
        return None, str(exc)
    note = (
        "kallsyms addresses are hidden (kptr_restrict), names are still listed"
        if addresses_hidden(kallsyms)
        else None
    )
    return {name: found.get(name) is not None for name in symbols}, note


def describe_syscall(name_or_number: str, arch: str | None = None, kallsyms: str = KALLSYMS) -> SyscallReport:
    """The report for one system call of ``arch`` (default: this machine's)."""
    arch = normalize_arch(arch)
    try:
        call = lookup(name_or_number, arch)
    except BadInput as exc:
        raise BadInput(f"{exc}{_newer_kernel_hint(str(name_or_number), arch)}") from None
    native = _native(arch)
    instruction, number_register, registers = CONVENTIONS[arch]
    presence, kallsyms_note = _kallsyms_presence([call.symbol] if call.symbol else [], native, kallsyms)
    in_kallsyms = None if presence is None or call.symbol is None else presence[call.symbol]
    if call.symbol is None:
        kallsyms_note = "not implemented in this table (no entry point)"

    arguments: list[ArgumentInfo] | None = None
    arguments_note: str | None = None
    event_name = call.function or call.name
    if not native:
        arguments_note = f"tracefs describes the running {os.uname().machine} kernel, not {arch}"
    elif call.entry is None:
        arguments_note = "no entry point, so no trace event"
    else:
        try:
            raw: list[Argument] = arguments_from_tracefs(event_name)
            arguments = [
                ArgumentInfo(
                    a.position,
                    registers[a.position] if a.position < len(registers) else "stack",
                    a.name,
                    a.type,
                )
                for a in raw
            ]
        except KernlabError as exc:
            arguments_note = str(exc)
    return SyscallReport(
        syscall=call,
        table=table_info(arch),
        instruction=instruction,
        number_register=number_register,
        running_kernel=os.uname().release,
        native=native,
        in_kallsyms=in_kallsyms,
        kallsyms_note=kallsyms_note,
        arguments=arguments,
        arguments_note=arguments_note,
    )


def _newer_kernel_hint(name: str, arch: str) -> str:
    if not _native(arch) or name.strip().isdigit():
        return ""
    try:
        names = syscall_names_in_running_kernel()
    except KernlabError:
        return ""
    if name in names:
        return (
            f"; the running kernel {os.uname().release} has it (tracefs event sys_enter_{name}), "
            "but its number is not in the shipped table"
        )
    return ""


def list_syscalls(arch: str | None = None, kallsyms: str = KALLSYMS) -> SyscallList:
    """Every call of the shipped table for ``arch``, marked with kallsyms presence, followed by
    the calls the running kernel's tracefs names that the table lacks."""
    arch = normalize_arch(arch)
    rows = table(arch)
    native = _native(arch)
    extra: list[str] = []
    tracefs_note = None
    if native and arch == normalize_arch(None):
        try:
            running = syscall_names_in_running_kernel()
            known = {r.function for r in rows if r.function} | {r.name for r in rows}
            extra = sorted(running - known)
        except KernlabError as exc:
            tracefs_note = str(exc)
    else:
        tracefs_note = f"tracefs names the running {os.uname().machine} kernel's calls, not {arch}'s"
    prefix = _symbol_prefix(rows)
    extra_symbols = {name: f"{prefix}sys_{name}" if prefix is not None else None for name in extra}
    symbols = [r.symbol for r in rows if r.symbol] + [s for s in extra_symbols.values() if s]
    # One pass over kallsyms for every symbol of the table.
    presence, _note = _kallsyms_presence(symbols, native, kallsyms)

    def present(symbol: str | None) -> bool | None:
        return None if presence is None or symbol is None else presence[symbol]

    listed = [ListedSyscall(r.number, r.name, r.symbol, present(r.symbol), True) for r in rows]
    listed += [
        ListedSyscall(None, name, extra_symbols[name], present(extra_symbols[name]), False) for name in extra
    ]
    return SyscallList(table_info(arch), os.uname().release, native, listed, tracefs_note, extra)


def _symbol_prefix(rows: list[Syscall]) -> str | None:
    """The wrapper prefix of a table (``__x64_``), from its first ``sys_`` row."""
    for row in rows:
        if row.symbol and row.entry and row.entry.startswith("sys_") and row.symbol.endswith(row.entry):
            return row.symbol[: -len(row.entry)]
    return None
