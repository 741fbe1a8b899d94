"""`kernlab kernel`: the running kernel in one record — release, the config facts other commands
depend on, the paging mode, the KASLR offset and the addresses of the symbols a system call
passes through."""

from __future__ import annotations

import os
from dataclasses import dataclass

from kernlab.errors import KernlabError
from kernlab.kernel.config import find_kernel_config, read_kernel_config
from kernlab.kernel.cpu import cpu_flags
from kernlab.kernel.kallsyms import (
    KALLSYMS,
    KallsymsAccess,
    addresses_hidden,
    kallsyms_access,
    lookup_kallsyms,
    read_kptr_restrict,
)
from kernlab.kernel.kaslr import KaslrOffset, kaslr_offset
from kernlab.kernel.release import KernelRelease, read_release
from kernlab.mm.paging import detect_paging
from kernlab.syscalls.tables import table_info

__all__ = [
    "CONFIG_FACTS",
    "DEFAULT_SYMBOLS",
    "SYMBOLS",
    "ConfigFact",
    "KernelReport",
    "Paging",
    "SymbolAddress",
    "build",
]

# Config options later commands depend on (the meaning of each is in catalog/<lang>/kernel.toml
# under config.<OPTION>).
CONFIG_FACTS: tuple[str, ...] = (
    "CONFIG_PGTABLE_LEVELS",
    "CONFIG_X86_5LEVEL",
    "CONFIG_RANDOMIZE_BASE",
    "CONFIG_KALLSYMS_ALL",
    "CONFIG_IKCONFIG_PROC",
    "CONFIG_FTRACE_SYSCALLS",
    "CONFIG_FUNCTION_TRACER",
    "CONFIG_FUNCTION_GRAPH_TRACER",
    "CONFIG_DYNAMIC_FTRACE",
    "CONFIG_KPROBES",
    "CONFIG_KPROBE_EVENTS",
    "CONFIG_UPROBES",
    "CONFIG_UPROBE_EVENTS",
    "CONFIG_DEBUG_INFO_BTF",
    "CONFIG_BPF_SYSCALL",
    "CONFIG_TRANSPARENT_HUGEPAGE",
    "CONFIG_IA32_EMULATION",
    "CONFIG_PROC_PAGE_MONITOR",
)

# The symbols on the road of a system call on each architecture, in the order it is taken.
SYMBOLS: dict[str, tuple[str, ...]] = {
    "x86_64": (
        "_text",
        "_stext",
        "start_kernel",
        "entry_SYSCALL_64",
        "do_syscall_64",
        "x64_sys_call",
        "sys_call_table",
    ),
    "aarch64": ("_text", "_stext", "start_kernel", "vectors", "el0_svc", "invoke_syscall", "sys_call_table"),
    "riscv64": ("_text", "_stext", "start_kernel", "handle_exception", "do_trap_ecall_u", "sys_call_table"),
}
DEFAULT_SYMBOLS = ("_text", "_stext", "start_kernel", "sys_call_table")

# The table kernlab falls back on for an architecture it ships no table for.
FALLBACK_TABLE_ARCH = "x86_64"


@dataclass(frozen=True)
class ConfigFact:
    option: str
    value: str | None  # "y", "m", "n", a number; None when the config does not mention it


@dataclass(frozen=True)
class SymbolAddress:
    name: str
    address: int | None  # None when kallsyms lacks it or hides it
    type: str | None  # nm's letter; None when kallsyms lacks the symbol


@dataclass(frozen=True)
class Paging:
    """Page-table levels: configured, and in use when kernlab.mm.paging could detect it."""

    configured_levels: int | None
    levels_in_use: int | None
    cpu_la57: bool | None
    method: str


@dataclass(frozen=True)
class KernelReport:
    release: KernelRelease
    config_source: str | None  # /proc/config.gz or /boot/config-<release>
    config_error: str | None  # why the config could not be read
    config: tuple[ConfigFact, ...]
    paging: Paging
    kallsyms_path: str
    kallsyms_hidden: bool
    kallsyms_error: str | None
    symbols: tuple[SymbolAddress, ...]
    kaslr: KaslrOffset
    kptr_restrict: int | None  # kernel.kptr_restrict; None when unreadable
    syscall_table_version: str  # the Linux release kernlab's system-call table comes from
    # kallsyms_show_value() applied to this process: whether, and why, it sees addresses
    access: KallsymsAccess | None = None

    def symbol(self, name: str) -> SymbolAddress | None:
        return next((s for s in self.symbols if s.name == name), None)

    def address(self, name: str) -> int | None:
        found = self.symbol(name)
        return None if found is None else found.address

    def config_value(self, option: str) -> str | None:
        return next((f.value for f in self.config if f.option == option), None)

    @property
    def missing_symbols(self) -> tuple[str, ...]:
        """Symbols kallsyms does not list (nothing is missing when it hides every address)."""
        if self.kallsyms_hidden:
            return ()
        return tuple(s.name for s in self.symbols if s.type is None)


def build(kallsyms_path: str | None = None, config_path: str | None = None) -> KernelReport:
    """Everything ``kernlab kernel`` shows, read from uname, the config and kallsyms.

    With the default files a missing or unreadable one is reported in the result; a file the
    caller names explicitly must be readable, else its error is raised.
    """
    release = read_release()
    if config_path is not None:
        read_kernel_config(config_path)  # raises for a file the user named
    if kallsyms_path is not None:
        addresses_hidden(kallsyms_path, strict=True)
    kallsyms_path = kallsyms_path or KALLSYMS
    config: dict[str, str] = {}
    source: str | None = None
    config_error: str | None = None
    try:
        source = config_path or find_kernel_config(release.release)
        config = read_kernel_config(source)
    except KernlabError as exc:
        config_error = str(exc)
        source = None
    facts = tuple(ConfigFact(option, config.get(option)) for option in CONFIG_FACTS) if config else ()

    names = SYMBOLS.get(release.machine, DEFAULT_SYMBOLS)
    kallsyms_error = None
    try:
        found = lookup_kallsyms(names, kallsyms_path)
        hidden = addresses_hidden(kallsyms_path)
    except KernlabError as exc:
        found, hidden, kallsyms_error = dict.fromkeys(names), False, str(exc)
    symbols = tuple(
        SymbolAddress(name, None if (e is None or hidden) else e.address, None if e is None else e.type)
        for name, e in ((n, found.get(n)) for n in names)
    )
    text = found.get("_text")
    kaslr = kaslr_offset(release.machine, config, None if text is None else text.address, hidden)
    return KernelReport(
        release=release,
        config_source=source,
        config_error=config_error,
        config=facts,
        paging=_paging(config, release.machine),
        kallsyms_path=os.fspath(kallsyms_path),
        kallsyms_hidden=hidden,
        kallsyms_error=kallsyms_error,
        symbols=symbols,
        kaslr=kaslr,
        kptr_restrict=read_kptr_restrict(),
        syscall_table_version=_table_version(release.machine),
        access=kallsyms_access(),
    )


def _paging(config: dict[str, str], machine: str) -> Paging:
    raw = config.get("CONFIG_PGTABLE_LEVELS")
    configured = int(raw) if raw and raw.isdigit() else None
    try:
        mode = detect_paging()
    except (KernlabError, OSError):
        # Without the detector, say what config and CPU allow; `kernlab vtop` tells the mode in use.
        flags = cpu_flags() if machine == "x86_64" else None
        la57 = None if flags is None else "la57" in flags
        return Paging(configured, None, la57, "CONFIG_PGTABLE_LEVELS and the la57 CPU flag only")
    return Paging(configured, mode.levels, mode.cpu_la57, mode.method)


def _table_version(machine: str) -> str:
    try:
        return table_info(machine).kernel_version
    except KernlabError:
        return table_info(FALLBACK_TABLE_ARCH).kernel_version
