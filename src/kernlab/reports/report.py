"""`kernlab report`: what a recording holds, its lost events, system calls and page faults, and
for a ``record --functions`` recording the functions' statistics (``uftrace report``'s table)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernlab.recording.functions import read_function_table
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.reader import LossSummary, Recording
from kernlab.reports import replay
from kernlab.reports.functions import FunctionStatistics, function_statistics, parse_sort
from kernlab.reports.recording.fault_stats import FaultStatistics, fault_statistics
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.syscall_calls import ENTER, EXIT
from kernlab.reports.recording.syscall_stats import SyscallStatistics, syscall_statistics
from kernlab.reports.recording.tasks import read_tasks

__all__ = ["FaultCounterCheck", "RecordingReport", "RecordingSummary", "build", "summarize"]

FAULT_EVENTS = ("exceptions:page_fault_user", "exceptions:page_fault_kernel")


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class FaultCounterCheck:
    """The kernel's own fault count of the command (getrusage) beside the recorded fault events.

    getrusage also counts the faults kernlab's child took before its execve; when the recorder
    measured those (``before_exec``), ``own`` is what remains for the command, and
    ``difference`` is events less own (0: the events account for every fault).
    """

    minflt: int
    majflt: int
    events: int
    before_exec: int | None
    own: int | None
    difference: int | None
    percent: float | None
    """abs(difference) as a share of own."""


@dataclass(frozen=True)
class RecordingReport:
    recording: RecordingSummary
    loss: LossSummary
    syscalls: SyscallStatistics | None
    faults: FaultStatistics | None
    fault_counter_check: FaultCounterCheck | None = None
    notes: list[str] = field(default_factory=list)
    functions: FunctionStatistics | None = None
    """Per-function calls, total and self time (``record --functions``); None without it."""


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
        events_total=sum(len(c) for c in cpus) + sum(len(c) for c in rec.probe_events()),
        duration_ns=(max(lasts) - min(firsts)) if firsts else 0,
        event_counts=rec.event_counts(),
    )


def fault_counter_check(faults: FaultStatistics) -> FaultCounterCheck | None:
    """getrusage against the events, when the recorder saved the command's rusage."""
    if faults.rusage_minflt is None:
        return None
    majflt = faults.rusage_majflt or 0
    before = faults.faults_before_exec
    if before is None:
        return FaultCounterCheck(faults.rusage_minflt, majflt, faults.total, None, None, None, None)
    own = faults.rusage_minflt + majflt - before
    difference = faults.total - own
    percent = 100.0 * abs(difference) / max(own, 1)
    return FaultCounterCheck(faults.rusage_minflt, majflt, faults.total, before, own, difference, percent)


def build(
    recording: RecordingSource = DEFAULT_DIR,
    *,
    top: int = 10,
    per_process: bool = True,
    symbolize: bool = True,
    syscall_time: str = "wall",
    sort: str | list[str] | None = None,
) -> RecordingReport:
    """Decode the recording once and compute the sections it has events for.

    ``top`` rows of faulting instructions and kernel paths; ``per_process`` adds a system-call
    table per process; ``symbolize`` opens the binaries to name faulting instructions;
    ``syscall_time`` is ``wall`` (strace -c -w) or ``cpu`` (on-CPU time inside calls, strace -c);
    ``sort``: the function table's keys, as ``uftrace report -s`` takes them (``total`` first).
    """
    rec = as_recording(recording)
    keys = parse_sort(sort)  # a bad key fails before the decoding
    tasks = read_tasks(rec)
    summary = summarize(rec)
    syscalls = None
    if ENTER in rec.by_name and EXIT in rec.by_name:
        syscalls = syscall_statistics(rec, tasks, per_process=per_process, time=syscall_time)
    faults = None
    if any(name in rec.by_name for name in FAULT_EVENTS):
        faults = fault_statistics(rec, tasks, top=top, symbolize=symbolize)
    check = fault_counter_check(faults) if faults is not None else None
    functions = None
    if read_function_table(rec.root) is not None:
        functions = function_statistics(replay.build(rec), keys)
    return RecordingReport(summary, rec.loss(), syscalls, faults, check, functions=functions)
