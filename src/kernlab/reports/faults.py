"""`kernlab faults`: the page faults of a recording, one line each (perf trace -F all)."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

from kernlab.errors import BadInput
from kernlab.mm.fault_codes import FaultCode, fault_cause
from kernlab.proc.maps import KINDS
from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.reports.recording.address_space import (
    NO_VMA,
    SIGBUS,
    SIGSEGV,
    AddressSpaces,
    TimelineMaps,
    address_spaces,
)
from kernlab.reports.recording.clock import first_record_ts
from kernlab.reports.recording.fault_events import (
    ANON_KINDS,
    KERNEL,
    USER,
    FaultRecord,
    fault_records,
    first_anon_write,
)
from kernlab.reports.recording.fault_stats import decode_code
from kernlab.reports.recording.kstacks import StackKey, event_stacks
from kernlab.reports.recording.loss import Loss, recording_loss
from kernlab.reports.recording.major_faults import major_faults
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.symbolize import UserSymbolizer
from kernlab.reports.recording.tasks import read_tasks

__all__ = ["AREA_KINDS", "FaultLine", "FaultsReport", "build"]

AREA_KINDS: tuple[str, ...] = (*KINDS, NO_VMA, "unknown")
"""What --vma accepts: the classes of kernlab.proc.maps, ``no-vma`` (no VMA at that moment: the
kernel sends SIGSEGV) and ``unknown`` (the recording cannot place it: no snapshot)."""

CAUSE_NO_VMA = "faults.cause.no_vma"
"""A fault at an address no VMA held at that moment: bad_area(), SIGSEGV (SEGV_MAPERR)."""
CAUSE_STACK = "faults.cause.stack_growth"
"""A fault just below the stack: the kernel grew the stack down to it (expand_stack)."""


@dataclass(frozen=True)
class FaultLine:
    """One page fault, with its area, error code and the faulting instruction's name."""

    time_s: float
    cpu: int
    pid: int
    comm: str
    mode: str
    """``user`` or ``kernel``: which tracepoint (page_fault_user / page_fault_kernel) fired."""
    address: int
    ip: int
    error_code: int
    """Decoded in the report's ``codes``."""
    vma_kind: str
    vma: str | None
    where: str
    """binary:symbol+off for user instructions, kallsyms name for kernel ones."""
    major: bool | None = None
    """True when the fault read its page into the page cache (needs filemap events), else None."""
    kernel_stack: list[str] = field(default_factory=list)
    """Functions of the kernel stack recorded with the fault (``record --kstack``), innermost first."""
    perms: str = ""
    """The VMA's permissions at that moment, as maps prints them (``rw-p``; ``s``: shared)."""
    cause: str | None = None
    """What the kernel did, when it is more than bringing a page in: a key of
    kernlab.mm.fault_codes (``faults.cause.cow``, ``faults.cause.shared_write``,
    ``faults.cause.read_only`` ...), ``faults.cause.no_vma`` or ``faults.cause.stack_growth``."""
    signal: int | None = None
    """SIGSEGV/SIGBUS delivered to the thread after this fault (before its next one)."""


@dataclass(frozen=True)
class FaultsReport:
    """The faults that pass the filters, in time order, with their error codes decoded once."""

    lines: list[FaultLine]
    total_faults: int
    first_anon_writes: int
    file_backed: int
    kernel_mode: int
    loss: Loss
    arch: str
    codes: dict[int, FaultCode | None]
    """Each error code of the lines, decoded; None on an architecture with no decoder."""
    causes: dict[str, int] = field(default_factory=dict)
    """How many lines have each cause (FaultLine.cause)."""
    signal_events: bool = False
    """Whether the recording has signal events (``signal`` lines can be known)."""


def build(
    recording: RecordingSource = DEFAULT_DIR,
    *,
    pids: set[int] | None = None,
    vma_kinds: set[str] | None = None,
    symbolize: bool = True,
) -> FaultsReport:
    """Every fault of the recording (only threads ``pids``, areas ``vma_kinds``)."""
    unknown = sorted(set(vma_kinds or ()) - set(AREA_KINDS))
    if unknown:
        raise BadInput(
            f"--vma {', '.join(unknown)}: not an area kind (one of {', '.join(AREA_KINDS)})",
            key="errors.report.not_area_kind",
            fields={"value": ", ".join(unknown), "choices": ", ".join(AREA_KINDS)},
        )
    rec = as_recording(recording)
    tasks = read_tasks(rec)
    start = first_record_ts(rec)
    arch = rec.meta.machine or "x86_64"
    spaces = address_spaces(rec, tasks)
    maps = TimelineMaps(rec, tasks, spaces)
    users = UserSymbolizer(maps)
    kernel = KernelSymbols(rec.kallsyms_path)
    codes: dict[int, FaultCode | None] = {}
    majors = major_faults(rec, maps, spaces)
    stacks = event_stacks(rec, {USER, KERNEL}, kernel)
    records = fault_records(rec)
    signals = _signals_after(records, spaces)
    # where each stack started, as it grows by faults below it
    stack_low: dict[tuple[int, int], int] = {}
    lines: list[FaultLine] = []
    for n, f in enumerate(records):
        if pids and f.pid not in pids:
            continue
        found = spaces.area_at(f.pid, f.ts, f.address)
        vma = None
        cause: str | None = None
        if found is not None:
            area, kind = found
            vma = spaces.as_vma(area, kind)
        elif spaces.timeline_of(f.pid) is not None:
            kind = NO_VMA
        else:
            vma = maps.find(f.pid, f.address)
            kind = vma.kind if vma else "unknown"
        if vma_kinds and kind not in vma_kinds:
            continue
        if f.error_code not in codes:
            codes[f.error_code] = decode_code(f.error_code, arch)
        decoded = codes[f.error_code]
        if kind == NO_VMA:
            cause = CAUSE_NO_VMA
        elif found is not None and decoded is not None:
            cause = fault_cause(
                present=decoded.present,
                write=decoded.write,
                instruction=decoded.instruction,
                perms=found[0].perms,
            )
            if cause is None and found[0].name == "[stack]":
                tl = spaces.timeline_of(f.pid)
                assert tl is not None
                base = tl.base_of(tl.index_at(f.ts))
                key = (tl.pid, base)
                low = stack_low.get(key, tl.stack_starts.get(base, found[0].start))
                if f.address < low:
                    cause = CAUSE_STACK
                    stack_low[key] = f.address & -4096
        if f.kernel_mode:
            where = kernel.name(f.ip) or f"{f.ip:#x}"
        else:
            where = users.locate(f.pid, f.ip, with_symbol=symbolize).text
        lines.append(
            FaultLine(
                time_s=(f.ts - start) / 1e9,
                cpu=f.cpu,
                pid=f.pid,
                comm=tasks.name(f.pid),
                mode="kernel" if f.kernel_mode else "user",
                address=f.address,
                ip=f.ip,
                error_code=f.error_code,
                vma_kind=kind,
                vma=vma.label if vma else None,
                where=where,
                major=None if majors is None or f.kernel_mode else (f.ts, f.pid) in majors,
                kernel_stack=stacks.get(StackKey(f.cpu, f.ts), []),
                perms=vma.perms if vma else "",
                cause=cause,
                signal=signals.get(n),
            )
        )
    first = sum(1 for ln in lines if ln.vma_kind in ANON_KINDS and first_anon_write(ln.error_code, arch))
    file_backed = sum(1 for ln in lines if ln.vma_kind in FILE_KINDS)
    kernel_mode = sum(1 for ln in lines if ln.mode == "kernel")
    causes = Counter(ln.cause for ln in lines if ln.cause)
    return FaultsReport(
        lines,
        len(lines),
        first,
        file_backed,
        kernel_mode,
        recording_loss(rec),
        arch,
        codes,
        dict(causes.most_common()),
        spaces.has_signal_events,
    )


FILE_KINDS = frozenset({"binary-text", "binary-data", "binary-rodata", "shared-lib", "file-mmap"})
"""Kinds of areas backed by a file (a shared library's own .bss aside)."""


def _signals_after(records: list[FaultRecord], spaces: AddressSpaces) -> dict[int, int]:
    """Fault index -> the SIGSEGV/SIGBUS delivered to its thread after it, before the thread's
    next fault (the signal that fault raised)."""
    delivered = [s for s in spaces.signals if s.delivered and s.sig in (SIGSEGV, SIGBUS)]
    if not delivered:
        return {}
    by_tid: dict[int, list[int]] = {}
    for n, f in enumerate(records):
        by_tid.setdefault(f.pid, []).append(n)
    out: dict[int, int] = {}
    for seen in delivered:
        mine = by_tid.get(seen.tid, [])
        k = bisect.bisect_right([records[n].ts for n in mine], seen.ts) - 1
        if k >= 0:
            out.setdefault(mine[k], seen.sig)
    return out
