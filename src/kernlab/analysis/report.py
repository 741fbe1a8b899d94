"""Everything ``kernlab report`` shows, computed from one recording."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernlab.analysis.fault_stats import FaultReport, fault_report
from kernlab.analysis.syscall_stats import SyscallReport, syscall_report
from kernlab.analysis.tasks import read_tasks
from kernlab.recording.reader import LossSummary, Recording


@dataclass
class RecordingSummary:
    """What was recorded: command, kernel, events, and how many records each event has."""

    directory: str
    command: list[str]
    root_pid: int
    kernel_release: str
    machine: str
    clock: str
    cpus: int
    pages: int
    events_total: int
    duration_ns: int
    """From the first to the last record (trace clock)."""
    event_counts: dict[str, int]


@dataclass
class Report:
    recording: RecordingSummary
    loss: LossSummary
    syscalls: SyscallReport | None
    faults: FaultReport | None
    notes: list[str] = field(default_factory=list)


def summarize(rec: Recording) -> RecordingSummary:
    cpus = rec.cpu_events()
    firsts = [c.stamp(0) for c in cpus if len(c)]
    lasts = [c.stamp(len(c) - 1) for c in cpus if len(c)]
    return RecordingSummary(
        directory=str(rec.root),
        command=list(rec.meta.command),
        root_pid=rec.meta.root_pid,
        kernel_release=rec.meta.kernel_release,
        machine=rec.meta.machine,
        clock=rec.meta.clock,
        cpus=len(cpus),
        pages=sum(c.pages for c in cpus),
        events_total=sum(len(c) for c in cpus),
        duration_ns=(max(lasts) - min(firsts)) if firsts else 0,
        event_counts=rec.event_counts(),
    )


def build_report(rec: Recording, top: int = 10, per_process: bool = True, symbolize: bool = True) -> Report:
    """Decode the recording once and compute the syscall and fault sections that it has events for."""
    tasks = read_tasks(rec)
    summary = summarize(rec)
    syscalls = None
    if "raw_syscalls:sys_enter" in rec.by_name and "raw_syscalls:sys_exit" in rec.by_name:
        syscalls = syscall_report(rec, tasks.comm, tasks.process_of)
        if not per_process:
            syscalls.per_process = []
    faults = None
    if "exceptions:page_fault_user" in rec.by_name or "exceptions:page_fault_kernel" in rec.by_name:
        faults = fault_report(rec, tasks, top=top, symbolize=symbolize)
    return Report(summary, rec.loss(), syscalls, faults)
