"""`kernlab faults`: the page faults of a recording, one line each (perf trace -F all)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernlab.errors import BadInput
from kernlab.mm.fault_codes import FaultCode
from kernlab.proc.maps import KINDS
from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.reports.recording.clock import first_record_ts
from kernlab.reports.recording.fault_events import ANON_KINDS, KERNEL, USER, fault_records, first_anon_write
from kernlab.reports.recording.fault_stats import decode_code
from kernlab.reports.recording.kstacks import StackKey, event_stacks
from kernlab.reports.recording.loss import Loss, recording_loss
from kernlab.reports.recording.major_faults import major_faults
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.symbolize import ProcessMaps, UserSymbolizer
from kernlab.reports.recording.tasks import read_tasks

__all__ = ["AREA_KINDS", "FaultLine", "FaultsReport", "build"]

AREA_KINDS: tuple[str, ...] = (*KINDS, "unknown")
"""What --vma accepts: the classes of kernlab.proc.maps, and ``unknown`` (no snapshot covers it)."""


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
        raise BadInput(f"--vma {', '.join(unknown)}: not an area kind (one of {', '.join(AREA_KINDS)})")
    rec = as_recording(recording)
    tasks = read_tasks(rec)
    start = first_record_ts(rec)
    arch = rec.meta.machine or "x86_64"
    maps = ProcessMaps(rec, tasks.parent)
    users = UserSymbolizer(maps)
    kernel = KernelSymbols(rec.kallsyms_path)
    codes: dict[int, FaultCode | None] = {}
    majors = major_faults(rec, maps)
    stacks = event_stacks(rec, {USER, KERNEL}, kernel)
    lines: list[FaultLine] = []
    for f in fault_records(rec):
        if pids and f.pid not in pids:
            continue
        vma = maps.find(f.pid, f.address)
        kind = vma.kind if vma else "unknown"
        if vma_kinds and kind not in vma_kinds:
            continue
        if f.error_code not in codes:
            codes[f.error_code] = decode_code(f.error_code, arch)
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
            )
        )
    first = sum(1 for ln in lines if ln.vma_kind in ANON_KINDS and first_anon_write(ln.error_code, arch))
    file_backed = sum(1 for ln in lines if ln.vma and ln.vma.startswith("/"))
    kernel_mode = sum(1 for ln in lines if ln.mode == "kernel")
    return FaultsReport(lines, len(lines), first, file_backed, kernel_mode, recording_loss(rec), arch, codes)
