"""`kernlab syscall`: one system call as the shipped table, kallsyms and tracefs see it; the whole
table against the running kernel; libc's wrapper for a call; an error number.

The facts come from their readers: the number tables and errno names from
:mod:`kernlab.syscalls`, entry symbols from :mod:`kernlab.kernel.kallsyms`, argument names and
types from the sys_enter event formats (:mod:`kernlab.tracing`), libc's code from
:mod:`kernlab.elf.disasm.libc`. Where a figure is missing the report says why with a
:class:`Note` (and the reader's error message when one failed), never with a sentence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path

from kernlab.elf.disasm.libc import WrapperCode, find_libc, find_wrapper
from kernlab.errors import BadInput, KernlabError, NotSupported, PermissionNeeded
from kernlab.kernel.kallsyms import KALLSYMS, addresses_hidden, lookup_kallsyms
from kernlab.syscalls.errnos import Errno, lookup_errno
from kernlab.syscalls.tables import (
    Syscall,
    TableInfo,
    UnknownNumber,
    lookup,
    normalize_arch,
    table,
    table_info,
    table_is_newer,
)
from kernlab.tracing.formats import EventFormat, parse_format
from kernlab.tracing.tracefs import read_text, tracefs_root

__all__ = [
    "Argument",
    "ArgumentInfo",
    "LibcWrapper",
    "ListedSyscall",
    "Note",
    "SyscallCommandReport",
    "SyscallDescription",
    "SyscallList",
    "SyscallWithWrapper",
    "arguments_from_tracefs",
    "assembly_register",
    "build",
    "describe",
    "list_table",
    "running_kernel_syscalls",
    "syscall_arguments",
    "with_libc",
]

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

# Entry symbols a call passes in each architecture's kernel, looked up in kallsyms for --libc.
ENTRY_PATHS: dict[str, tuple[str, ...]] = {
    "x86_64": ("entry_SYSCALL_64", "do_syscall_64"),
    "aarch64": ("el0_svc", "invoke_syscall"),
    "i386": ("entry_INT80_32", "do_int80_syscall_32"),
}


class Note(StrEnum):
    """Why a figure is missing, or what to know about it."""

    FOREIGN_KERNEL = "foreign_kernel"  # the running kernel is of another architecture
    NO_ENTRY_POINT = "no_entry_point"  # the table gives the call no kernel function
    ADDRESSES_HIDDEN = "addresses_hidden"  # kptr_restrict: kallsyms lists names, addresses are 0
    UNREADABLE = "unreadable"  # the reader failed; its message is in the matching *_error field


@dataclass(frozen=True)
class Argument:
    """One argument of a system call, from ``events/syscalls/sys_enter_<name>/format``."""

    position: int  # 0-based: the register it arrives in (rdi, rsi, rdx, r10, r8, r9 on x86_64)
    name: str
    type: str  # the C type as the format file writes it ("const char *")
    size: int  # bytes in the trace record
    signed: bool


@dataclass(frozen=True)
class ArgumentInfo:
    position: int
    register: str  # where the argument travels on this architecture ("stack" past the sixth)
    name: str
    type: str


@dataclass(frozen=True)
class SyscallDescription:
    """``kernlab syscall NAME``: one call, with what the running kernel says about it."""

    syscall: Syscall
    table: TableInfo
    instruction: str  # the trap instruction of the ABI
    number_register: str
    running_kernel: str  # uname -r
    native: bool  # the table is one the running kernel serves
    in_kallsyms: bool | None  # the entry symbol is in /proc/kallsyms (None: not checked, see note)
    kallsyms_note: Note | None
    arguments: list[ArgumentInfo] | None  # None when tracefs could not tell
    arguments_note: Note | None  # why arguments are missing
    machine: str  # uname -m of the running kernel
    kallsyms_error: str | None = None  # kallsyms_note UNREADABLE: the reader's message
    arguments_error: str | None = None  # arguments_note UNREADABLE: the reader's message
    table_newer: bool | None = None  # the table's kernel is later than the running one (None: unknown)


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
    tracefs_note: Note | None  # why the running kernel's names could not be compared
    only_in_running_kernel: list[str]  # SYSCALL_DEFINE names tracefs has and the table lacks
    machine: str  # uname -m of the running kernel
    tracefs_error: str | None = None  # tracefs_note UNREADABLE: the reader's message
    missing_here: list[str] = field(default_factory=list)  # table calls whose symbol kallsyms lacks
    table_newer: bool | None = None  # the table's kernel is later than the running one (None: unknown)


@dataclass(frozen=True)
class LibcWrapper(WrapperCode):
    """libc's wrapper for one call, and the entry symbols of the running kernel it leads to."""

    kernel_path: list[str] = field(default_factory=list)  # entry symbols found in kallsyms


@dataclass(frozen=True)
class SyscallWithWrapper:
    """``kernlab syscall NAME --libc``: the call, and libc's code that makes it."""

    syscall: SyscallDescription
    libc: LibcWrapper


SyscallCommandReport = SyscallDescription | SyscallList | SyscallWithWrapper | Errno
"""What `kernlab syscall` shows, by the option given."""


def build(
    call: str | None = None,
    *,
    list_all: bool = False,
    arch: str | None = None,
    show_libc: bool = False,
    libc_path: str | None = None,
    errno_key: str | None = None,
) -> SyscallCommandReport:
    """The report `kernlab syscall` prints for these options."""
    if errno_key is not None:
        if call is not None or list_all or show_libc:
            raise BadInput("--errno takes no CALL, --list or --libc", key="errors.report.errno_alone")
        return lookup_errno(errno_key)
    if list_all:
        if call is not None or show_libc:
            raise BadInput("--list takes no CALL and no --libc", key="errors.report.list_alone")
        return list_table(arch)
    if call is None:
        raise BadInput("give a system call NAME or NUMBER, or --list", key="errors.report.syscall_what")
    description = describe(call, arch)
    return with_libc(description, libc_path) if show_libc else description


# --------------------------------------------------------------------------- one call


def describe(name_or_number: str, arch: str | None = None, kallsyms: str = KALLSYMS) -> SyscallDescription:
    """One system call of ``arch`` (default: this machine's)."""
    arch = normalize_arch(arch)
    try:
        call = lookup(name_or_number, arch)
    except UnknownNumber:
        raise  # already says the number is past the table: newer than Linux X.Y
    except BadInput as exc:
        hint = _newer_kernel_hint(str(name_or_number), arch)
        if not hint:
            raise  # keeps its catalog key: said in the user's language
        # The hint is said only for a name the table lacks: the one sentence with both parts.
        raise BadInput(
            f"{exc}{hint}",
            key="errors.report.syscall_newer_kernel" if exc.key == "errors.syscalls.no_name" else None,
            fields={
                **exc.fields,
                "release": os.uname().release,
                "event": f"sys_enter_{name_or_number}",
                "series": table_info(arch).series,
            },
        ) from None
    native = _native(arch)
    instruction, number_register, registers = CONVENTIONS[arch]
    presence, kallsyms_note, kallsyms_error = _kallsyms_presence(
        [call.symbol] if call.symbol else [], native, kallsyms
    )
    in_kallsyms = None if presence is None or call.symbol is None else presence[call.symbol]
    if call.symbol is None:
        kallsyms_note, kallsyms_error = Note.NO_ENTRY_POINT, None

    arguments: list[ArgumentInfo] | None = None
    arguments_note: Note | None = None
    arguments_error: str | None = None
    if not native:
        arguments_note = Note.FOREIGN_KERNEL
    elif call.entry is None:
        arguments_note = Note.NO_ENTRY_POINT
    else:
        try:
            arguments = [
                ArgumentInfo(
                    a.position,
                    registers[a.position] if a.position < len(registers) else "stack",
                    a.name,
                    a.type,
                )
                for a in arguments_from_tracefs(call.function or call.name)
            ]
        except KernlabError as exc:
            arguments_note, arguments_error = Note.UNREADABLE, str(exc)
    return SyscallDescription(
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
        machine=os.uname().machine,
        kallsyms_error=kallsyms_error,
        arguments_error=arguments_error,
        table_newer=table_is_newer(table_info(arch), os.uname().release) if native else None,
    )


def assembly_register(arch: str, register: str) -> str:
    """A register as that architecture's assembly writes it (AT&T %rax on x86, x8 elsewhere)."""
    return f"%{register}" if arch in ("x86_64", "x32", "i386") else register


def _native(arch: str) -> bool:
    return arch in NATIVE_TABLES.get(os.uname().machine, ())


def _kallsyms_presence(
    symbols: list[str], native: bool, kallsyms: str
) -> tuple[dict[str, bool] | None, Note | None, str | None]:
    """Which ``symbols`` kallsyms lists, with a note (and an error message when unreadable)."""
    if not native:
        return None, Note.FOREIGN_KERNEL, None
    try:
        found = lookup_kallsyms(symbols, kallsyms)
    except KernlabError as exc:
        return None, Note.UNREADABLE, str(exc)
    note = Note.ADDRESSES_HIDDEN if addresses_hidden(kallsyms) else None
    return {name: found.get(name) is not None for name in symbols}, note, None


def _newer_kernel_hint(name: str, arch: str) -> str:
    if not _native(arch) or name.strip().isdigit():
        return ""
    try:
        names = running_kernel_syscalls()
    except KernlabError:
        return ""
    if name in names:
        return (
            f"; the running kernel {os.uname().release} has it (tracefs event sys_enter_{name}), "
            f"but its number is unknown to kernlab's table (newer than Linux {table_info(arch).series})"
        )
    return ""


# --------------------------------------------------------------------------- tracefs


def _syscall_events() -> Path:
    """tracefs's ``events/syscalls``: with CONFIG_FTRACE_SYSCALLS every call defined with
    SYSCALL_DEFINEn has a ``sys_enter_<name>`` event there, named without ``sys_``."""
    base = tracefs_root() / "events" / "syscalls"
    try:
        present = base.is_dir()
    except PermissionError as exc:
        raise PermissionNeeded(
            f"cannot read {base}: tracefs needs root",
            key="errors.report.tracefs_read_root",
            fields={"path": str(base)},
        ) from exc
    if not present:
        raise NotSupported(
            f"{base} does not exist: this kernel lacks CONFIG_FTRACE_SYSCALLS",
            key="errors.report.no_ftrace_syscalls",
            fields={"path": str(base)},
        )
    return base


def syscall_arguments(fmt: EventFormat) -> list[Argument]:
    """The arguments of a sys_enter event: its fields after ``__syscall_nr``, in order."""
    names = [f.name for f in fmt.fields]
    if "__syscall_nr" not in names:
        return []
    after = fmt.fields[names.index("__syscall_nr") + 1 :]
    return [Argument(i, f.name, f.type, f.size, f.signed) for i, f in enumerate(after)]


def arguments_from_tracefs(name: str) -> list[Argument]:
    """Argument names and types of system call ``name`` (a SYSCALL_DEFINE name: ``rename``).

    Raises NotSupported when tracefs or the event is missing, PermissionNeeded when unreadable.
    """
    path = _syscall_events() / f"sys_enter_{name}" / "format"
    if not path.exists():
        raise NotSupported(
            f"the running kernel has no trace event sys_enter_{name} ({path})",
            key="errors.report.no_enter_event",
            fields={"name": name, "path": str(path)},
        )
    return syscall_arguments(parse_format(read_text(path), "syscalls"))


def running_kernel_syscalls() -> set[str]:
    """SYSCALL_DEFINE names the running kernel has trace events for (``sys_enter_<name>``)."""
    base = _syscall_events()
    try:
        entries = os.listdir(base)
    except PermissionError as exc:
        raise PermissionNeeded(
            f"cannot list {base}: tracefs needs root",
            key="errors.report.tracefs_list_root",
            fields={"path": str(base)},
        ) from exc
    return {e[len("sys_enter_") :] for e in entries if e.startswith("sys_enter_")}


# --------------------------------------------------------------------------- the table


def list_table(arch: str | None = None, kallsyms: str = KALLSYMS) -> SyscallList:
    """Every call of the shipped table for ``arch``, marked with kallsyms presence, followed by
    the calls the running kernel's tracefs names that the table lacks."""
    arch = normalize_arch(arch)
    rows = table(arch)
    native = _native(arch)
    extra: list[str] = []
    tracefs_note: Note | None = None
    tracefs_error: str | None = None
    if native and arch == normalize_arch(None):
        try:
            running = running_kernel_syscalls()
            known = {r.function for r in rows if r.function} | {r.name for r in rows}
            extra = sorted(running - known)
        except KernlabError as exc:
            tracefs_note, tracefs_error = Note.UNREADABLE, str(exc)
    else:
        tracefs_note = Note.FOREIGN_KERNEL
    prefix = _symbol_prefix(rows)
    extra_symbols = {name: f"{prefix}sys_{name}" if prefix is not None else None for name in extra}
    symbols = [r.symbol for r in rows if r.symbol] + [s for s in extra_symbols.values() if s]
    # One pass over kallsyms for every symbol of the table.
    presence, _note, _error = _kallsyms_presence(symbols, native, kallsyms)

    def present(symbol: str | None) -> bool | None:
        return None if presence is None or symbol is None else presence[symbol]

    listed = [ListedSyscall(r.number, r.name, r.symbol, present(r.symbol), True) for r in rows]
    listed += [
        ListedSyscall(None, name, extra_symbols[name], present(extra_symbols[name]), False) for name in extra
    ]
    return SyscallList(
        table_info(arch),
        os.uname().release,
        native,
        listed,
        tracefs_note,
        extra,
        os.uname().machine,
        tracefs_error,
        missing_here=[s.name for s in listed if s.in_table and s.in_kallsyms is False],
        table_newer=table_is_newer(table_info(arch), os.uname().release) if native else None,
    )


def _symbol_prefix(rows: list[Syscall]) -> str | None:
    """The wrapper prefix of a table (``__x64_``), from its first ``sys_`` row."""
    for row in rows:
        if row.symbol and row.entry and row.entry.startswith("sys_") and row.symbol.endswith(row.entry):
            return row.symbol[: -len(row.entry)]
    return None


# --------------------------------------------------------------------------- libc


def with_libc(description: SyscallDescription, libc_path: str | None = None) -> SyscallWithWrapper:
    """The call and libc's wrapper for it, followed to the trap and into the running kernel."""
    call = description.syscall
    code = find_wrapper(call, libc_path or find_libc(call.arch))
    values = {f.name: getattr(code, f.name) for f in fields(WrapperCode)}
    return SyscallWithWrapper(description, LibcWrapper(**values, kernel_path=_kernel_path(call)))


def _kernel_path(call: Syscall) -> list[str]:
    """Entry symbols of the running kernel a call of ``call`` passes, as found in kallsyms."""
    if call.arch != normalize_arch(None):
        return []
    names = [*ENTRY_PATHS.get(call.arch, ()), "x64_sys_call", "sys_call_table"]
    if call.symbol:
        names.append(call.symbol)
    try:
        found = lookup_kallsyms(names)
    except KernlabError:
        return []
    return [n for n in names if found.get(n) is not None]
