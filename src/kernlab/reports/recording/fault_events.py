"""The page-fault events of a recording, as records or as columns.

The events are ``exceptions:page_fault_user`` and ``exceptions:page_fault_kernel`` (x86,
arch/x86/mm/fault.c ``trace_page_fault_entries``), fields ``address`` (the faulting address,
CR2), ``ip`` (the instruction) and ``error_code`` (the CPU's error code, decoded by
kernlab.mm.fault_codes).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from kernlab.recording.reader import Recording
from kernlab.reports.recording.probe_faults import has_fetching_probes, probe_fetch_faults

__all__ = [
    "ADD_TO_CACHE",
    "ANON_KINDS",
    "FILEMAP_FAULT",
    "INTERRUPT_FLAGS",
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

INTERRUPT_FLAGS = 0x08 | 0x10 | 0x40
"""ftrace's TRACE_FLAG_HARDIRQ, _SOFTIRQ and _NMI (the same bits on every kernel since 4.x): a
kernel-mode fault taken in interrupt context is the interrupt's work on the user stack — perf's
user call-chain walk for sampling (kernlab's own -K samples among them) — done with page
faults disabled: no page is mapped, the task's fault counters do not count it."""

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


def fault_records(rec: Recording, *, user: bool = True) -> list[FaultRecord]:
    """Every fault event in time order (kernel-mode ones only with ``user=False``), less the
    ones kernlab's own probes caused."""
    out: list[FaultRecord] = []
    for name, kernel_mode in ((USER, False), (KERNEL, True)) if user else ((KERNEL, True),):
        fmt = rec.by_name.get(name)
        if fmt is None:
            continue
        layout = fmt.unpacker(["common_flags", "common_pid", "address", "ip", "error_code"])
        unpack = layout.unpack_from
        for cpu in rec.cpu_events():
            raw, offsets, lengths = cpu.raw, cpu.offsets_for({fmt.id}), cpu.lengths
            stamps = cpu.stamps_for({fmt.id})
            for i in cpu.indices_of({fmt.id}):
                if lengths[i] >= layout.size:
                    flags, pid, address, ip, code = unpack(raw, offsets[i])
                    if kernel_mode and flags & INTERRUPT_FLAGS:
                        continue  # interrupt work on the task's stack, not the task's fault
                    out.append(FaultRecord(stamps[i], cpu.cpu, pid, kernel_mode, address, ip, code))
    out.sort(key=lambda f: (f.ts, f.cpu))
    start = rec.command_start_ts
    if start:
        out = [f for f in out if f.ts >= start]
    kernel = [(f.ts, f.pid, f.address) for f in out if f.kernel_mode]
    probes = probe_fetch_faults(rec, kernel) if has_fetching_probes(rec) else set()
    if probes:
        out = [f for f in out if not (f.kernel_mode and (f.ts, f.pid) in probes)]
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
    """The fault events ``name`` from execve on, as columns (no per-event Python objects).
    Kernel-mode faults kernlab's own probes caused are left out (probe_faults.py)."""
    if name == KERNEL:
        cols = rec.column_arrays(
            name, ["common_flags", "common_pid", "address", "ip", "error_code"], since=rec.command_start_ts
        )
        if any(flags & INTERRUPT_FLAGS for flags in cols["common_flags"]):
            keep = [not flags & INTERRUPT_FLAGS for flags in cols["common_flags"]]
            cols = {key: list(itertools.compress(values, keep)) for key, values in cols.items()}
    else:
        cols = rec.column_arrays(
            name, ["common_pid", "address", "ip", "error_code"], since=rec.command_start_ts
        )
    if name == KERNEL and len(cols["common_pid"]) and has_fetching_probes(rec):
        # Kernel-mode faults are few: taken record by record to know their times.
        kept = fault_records(rec, user=False)
        if len(kept) != len(cols["common_pid"]):
            pids, addresses = [f.pid for f in kept], [f.address for f in kept]
            return FaultColumns(pids, addresses, [f.ip for f in kept], [f.error_code for f in kept])
    return FaultColumns(cols["common_pid"], cols["address"], cols["ip"], cols["error_code"])
