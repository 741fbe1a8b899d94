"""System-call number tables, generated from the kernel's own table files.

The data files ``syscalls/data/<arch>.json`` are written by ``tools/gen_syscall_tables.py`` from
a kernel source tree: ``arch/x86/entry/syscalls/syscall_64.tbl`` (x86_64, x32),
``syscall_32.tbl`` (i386), ``arch/arm/tools/syscall.tbl`` (arm) and
``scripts/syscall.tbl`` or ``include/uapi/asm-generic/unistd.h`` (aarch64, riscv64). Each records
the kernel version it came from and where that source came from (``origin``). The running kernel
may be older than the table (its newest calls are then missing from kallsyms) or newer: a number
past the table's last one is *unknown to kernlab's table* (:class:`UnknownNumber`), never given
an invented name.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from kernlab.errors import BadInput

# Names the user may type for an architecture -> the table's name.
ARCH_ALIASES: dict[str, str] = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "x86-64": "x86_64",
    "x64": "x86_64",
    "x32": "x32",
    "i386": "i386",
    "i686": "i386",
    "x86": "i386",
    "ia32": "i386",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "arm": "arm",
    "armv7l": "arm",
    "riscv64": "riscv64",
    "riscv": "riscv64",
}


# arch/x86/include/uapi/asm/unistd.h: x32 system-call numbers have this bit set.
X32_SYSCALL_BIT = 0x40000000


@dataclass(frozen=True)
class Syscall:
    """One row of a kernel system-call table."""

    arch: str
    number: int
    name: str  # the user-visible name (__NR_<name>)
    abi: str  # the .tbl abi column ("common", "64", "x32", "i386", "eabi") or "common" for asm-generic
    entry: str | None  # the C function the table points at (sys_rename); None when not implemented
    symbol: str | None  # the symbol in the kernel image (__x64_sys_rename); None when not implemented

    @property
    def hex(self) -> str:
        return f"0x{self.number:x}"

    @property
    def function(self) -> str | None:
        """The name in SYSCALL_DEFINE (rename for sys_rename, newstat for sys_newstat)."""
        if self.entry is None:
            return None
        for prefix in ("compat_sys_", "sys_"):
            if self.entry.startswith(prefix):
                return self.entry[len(prefix) :]
        return self.entry


@dataclass(frozen=True)
class TableInfo:
    """Where a shipped table came from."""

    arch: str
    kernel_version: str  # from the source tree's Makefile
    source: str  # the kernel file(s) it was generated from
    how: str  # which ABI rows / defines were applied
    count: int
    origin: str | None = None  # where the source came from ("Debian package linux-source-7.3 ...")
    last_number: int = -1  # the highest number in the table: anything above is unknown to it

    @property
    def series(self) -> str:
        """``7.3`` for ``7.3.4``: the release the table's calls come from."""
        return ".".join(self.kernel_version.split(".")[:2])


class UnknownNumber(BadInput):
    """A system-call number past the end of kernlab's table: a call newer than the table."""

    def __init__(self, number: int, info: TableInfo) -> None:
        self.number = number
        self.table = info
        super().__init__(
            f"system call number {number} ({number:#x}) is unknown to kernlab's {info.arch} table "
            f"(newer than Linux {info.series})",
            key="errors.syscalls.unknown_number",
            fields={"number": number, "hex": f"{number:#x}", "arch": info.arch, "series": info.series},
        )


def kernel_series(release: str) -> tuple[int, int] | None:
    """(6, 18) for ``6.18.44-fc-v782`` or ``6.18``; None when ``release`` is not a version."""
    match = re.match(r"(\d+)\.(\d+)", release)
    return (int(match[1]), int(match[2])) if match else None


def table_is_newer(info: TableInfo, release: str) -> bool | None:
    """True when the table's kernel series is later than ``release``'s (its newest calls may be
    missing from that kernel), False when the same or older, None when either is no version."""
    table, running = kernel_series(info.kernel_version), kernel_series(release)
    if table is None or running is None:
        return None
    return table > running


@cache
def _load(arch: str) -> tuple[TableInfo, tuple[Syscall, ...]]:
    try:
        text = resources.files("kernlab.syscalls").joinpath("data", f"{arch}.json").read_text()
    except FileNotFoundError as exc:
        raise BadInput(
            f"no system-call table for {arch!r}; kernlab ships {', '.join(ARCHES)}",
            key="errors.syscalls.no_table",
            fields={"arch": repr(arch), "choices": ", ".join(ARCHES)},
        ) from exc
    doc = json.loads(text)
    rows = tuple(
        Syscall(arch, r["number"], r["name"], r["abi"], r.get("entry"), r.get("symbol"))
        for r in doc["syscalls"]
    )
    info = TableInfo(
        arch,
        doc["kernel_version"],
        doc["source"],
        doc.get("how", ""),
        len(rows),
        doc.get("origin"),
        max((r.number for r in rows), default=-1),
    )
    return info, rows


ARCHES: tuple[str, ...] = ("x86_64", "x32", "i386", "aarch64", "riscv64", "arm")


def normalize_arch(arch: str | None) -> str:
    """The table name for ``arch`` (``None`` means this machine's architecture)."""
    if arch is None:
        arch = platform.machine()
    name = ARCH_ALIASES.get(arch.lower())
    if name is None:
        raise BadInput(
            f"unknown architecture {arch!r}; choose one of {', '.join(ARCHES)}",
            key="errors.syscalls.unknown_arch",
            fields={"arch": repr(arch), "choices": ", ".join(ARCHES)},
        )
    return name


def table(arch: str | None = "x86_64") -> list[Syscall]:
    """Every system call of ``arch``, in number order."""
    return list(_load(normalize_arch(arch))[1])


def table_info(arch: str | None = "x86_64") -> TableInfo:
    """Which kernel version and file the table of ``arch`` was generated from."""
    return _load(normalize_arch(arch))[0]


def _parse_number(text: str) -> int | None:
    text = text.strip().lower()
    try:
        if text.startswith("0x"):
            return int(text, 16)
        if text.isdigit():
            return int(text)
    except ValueError:
        return None
    return None


def lookup(name_or_number: str | int, arch: str | None = "x86_64") -> Syscall:
    """The system call named (``rename``, ``sys_rename``, ``__x64_sys_rename``) or numbered
    (82, ``"82"``, ``"0x52"``) in the table of ``arch``; BadInput when there is none."""
    arch = normalize_arch(arch)
    info, rows = _load(arch)
    number = name_or_number if isinstance(name_or_number, int) else _parse_number(name_or_number)
    if number is not None:
        if arch == "x32" and number < X32_SYSCALL_BIT:
            number |= X32_SYSCALL_BIT  # x32 numbers carry the bit; accept them without it too
        for row in rows:
            if row.number == number:
                return row
        if number > info.last_number:
            raise UnknownNumber(number, info)
        raise BadInput(
            f"no system call number {number} ({number:#x}) in the {arch} table (Linux {info.kernel_version})",
            key="errors.syscalls.no_number",
            fields={"number": number, "hex": f"{number:#x}", "arch": arch, "version": info.kernel_version},
        )
    name = str(name_or_number).strip()
    for row in rows:
        if name in (row.name, row.entry, row.symbol):
            return row
    for row in rows:
        if row.function == name:
            return row
    raise BadInput(
        f"no system call named {name!r} in the {arch} table (Linux {info.kernel_version})",
        key="errors.syscalls.no_name",
        fields={"name": repr(name), "arch": arch, "version": info.kernel_version},
    )


def is_unknown_number(number: int, arch: str | None = "x86_64") -> bool:
    """``number`` is past the end of the table of ``arch``: a call newer than the table, which
    kernlab cannot name (a number inside the table but in no row is unassigned instead)."""
    return number > table_info(arch).last_number


def by_number(arch: str | None = "x86_64") -> dict[int, Syscall]:
    """Number -> system call, for annotating disassembly."""
    return {row.number: row for row in table(arch)}
