"""The page-fault events of a recording, as records or as columns.

The events are ``exceptions:page_fault_user`` and ``exceptions:page_fault_kernel`` (x86,
arch/x86/mm/fault.c ``trace_page_fault_entries``), fields ``address`` (the faulting address,
CR2), ``ip`` (the instruction) and ``error_code`` (the CPU's error code, decoded by
kernlab.mm.fault_codes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kernlab.recording.reader import Recording

__all__ = [
    "ADD_TO_CACHE",
    "ANON_KINDS",
    "FILEMAP_FAULT",
    "KERNEL",
    "SYS_ENTER",
    "USER",
    "FaultColumns",
    "FaultRecord",
    "fault_columns",
    "fault_records",
    "first_anon_write",
]

USER = "exceptions:page_fault_user"
KERNEL = "exceptions:page_fault_kernel"
ADD_TO_CACHE = "filemap:mm_filemap_add_to_page_cache"
SYS_ENTER = "raw_syscalls:sys_enter"
FILEMAP_FAULT = "filemap:mm_filemap_fault"

# VMA classes whose pages start as zero-filled anonymous memory (do_anonymous_page)
ANON_KINDS: frozenset[str] = frozenset({"heap", "stack", "anon-mmap", "binary-bss"})


def first_anon_write(code: int, arch: str) -> bool:
    """Whether an x86 error code says "not present, write" (P bit 0 clear, W bit 1 set)."""
    return arch.startswith(("x86", "i")) and not (code & 1) and bool(code & 2)


@dataclass
class FaultRecord:
    """One fault, for ``kernlab faults``."""

    ts: int
    cpu: int
    pid: int
    kernel_mode: bool
    address: int
    ip: int
    error_code: int


def fault_records(rec: Recording) -> list[FaultRecord]:
    """Every fault event in time order."""
    out: list[FaultRecord] = []
    for name, kernel_mode in ((USER, False), (KERNEL, True)):
        fmt = rec.by_name.get(name)
        if fmt is None:
            continue
        layout = fmt.unpacker(["common_pid", "address", "ip", "error_code"])
        unpack = layout.unpack_from
        for cpu in rec.cpu_events():
            raw, offsets, lengths = cpu.raw, cpu.offsets_for({fmt.id}), cpu.lengths
            stamps = cpu.stamps_for({fmt.id})
            for i in cpu.indices_of({fmt.id}):
                if lengths[i] >= layout.size:
                    pid, address, ip, code = unpack(raw, offsets[i])
                    out.append(FaultRecord(stamps[i], cpu.cpu, pid, kernel_mode, address, ip, code))
    out.sort(key=lambda f: (f.ts, f.cpu))
    start = rec.command_start_ts
    if start:
        out = [f for f in out if f.ts >= start]
    return out


@dataclass
class FaultColumns:
    """Faults of one mode (user or kernel) as parallel columns, from execve on (unsorted):
    ``array.array`` (or lists, see Recording.column_arrays)."""

    pids: Sequence[int]
    addresses: Sequence[int]
    ips: Sequence[int]
    codes: Sequence[int]


def fault_columns(rec: Recording, name: str) -> FaultColumns:
    """The fault events ``name`` from execve on, as columns (no per-event Python objects)."""
    cols = rec.column_arrays(name, ["common_pid", "address", "ip", "error_code"], since=rec.command_start_ts)
    return FaultColumns(cols["common_pid"], cols["address"], cols["ip"], cols["error_code"])
