"""System calls of a recording counted like ``strace -c``: calls, errors and time per call.

Counting follows ``strace -c``, which counts a call when it returns: an enter followed by its
exit is one call. Calls that never return while traced (``exit_group``, a call still blocked at
the end) are counted apart as *unfinished*; an exit with no enter before it (the call was already
running when tracing started, or a new thread returning from ``clone``) adds no call.

Time per call is, by default, wall time from the enter record to the exit record: what
``strace -c -w`` sums. Plain ``strace -c`` sums *system CPU time* instead (the tracee's
``ru_stime`` difference across the call). With ``time="cpu"`` the time a thread spent switched
out inside a call — from a ``sched:sched_switch`` with it as ``prev_pid`` to the next one with
it as ``next_pid`` — is subtracted, which leaves the time it ran on a CPU inside the call: the
same quantity, measured exactly rather than from tick-sampled accounting. Wall time leaves out
only the recorder's own ptrace stops inside a call (reports/recording/off_cpu.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernlab.recording.reader import Recording
from kernlab.recording.syscall_names import (
    MAX_ERRNO,
    RESTART_CODES,
    errno_name,
    exec_numbers,
    syscall_namer,
    table_series,
    unknown_numbers,
)
from kernlab.reports.recording.off_cpu import SWITCH, off_cpu_intervals
from kernlab.reports.recording.syscall_calls import syscall_records
from kernlab.reports.recording.tasks import Tasks, read_tasks

__all__ = [
    "SWITCH",
    "ProcessSyscalls",
    "SyscallStat",
    "SyscallStatistics",
    "SyscallSummary",
    "off_cpu_intervals",
    "syscall_statistics",
]


@dataclass(frozen=True)
class SyscallStat:
    """One row of the summary: one system call's calls, errors and time (strace -c's columns)."""

    nr: int
    name: str
    calls: int = 0
    errors: int = 0
    total_ns: int = 0
    max_ns: int = 0
    timed: int = 0
    """Calls with both enter and exit recorded (the ones time is summed over)."""
    errnos: dict[str, int] = field(default_factory=dict)
    percent_time: float = 0.0
    unfinished: int = 0
    """Entered but never seen returning (exit_group, or still running when tracing stopped)."""

    @property
    def avg_ns(self) -> int:
        return self.total_ns // self.timed if self.timed else 0


@dataclass(frozen=True)
class SyscallSummary:
    """strace -c for one process (or all of them): rows sorted by time, and totals."""

    rows: list[SyscallStat]
    calls: int
    errors: int
    total_ns: int
    unfinished: int
    """Calls entered but never seen returning (exit_group, execve replaced, still running at the end)."""
    unpaired_exits: int
    """Returns with no enter recorded (already running at the start, or a new thread leaving clone)."""

    def by_name(self) -> dict[str, SyscallStat]:
        return {r.name: r for r in self.rows}


@dataclass(frozen=True)
class ProcessSyscalls:
    pid: int
    """The process (thread-group id)."""
    comm: str
    threads: list[int]
    """Thread ids of this process that made system calls."""
    summary: SyscallSummary


@dataclass(frozen=True)
class SyscallStatistics:
    """System calls of a recording: combined and per process."""

    combined: SyscallSummary
    per_process: list[ProcessSyscalls]
    arch: str
    enter_events: int
    exit_events: int
    time: str = "wall"
    """What the seconds are: ``wall`` (enter to exit, strace -c -w) or ``cpu`` (on-CPU time inside
    the call: wall time less the time switched out, strace -c)."""
    time_asked: str = "wall"
    """What was asked; differs from ``time`` when CPU time could not be measured (no sched_switch)."""
    unknown_numbers: list[int] = field(default_factory=list)
    """Numbers seen past the end of kernlab's table (a kernel newer than it): shown as syscall_<nr>."""
    table_version: str | None = None
    """The kernel release kernlab's table comes from ("7.3")."""
    ptrace_stops_ns: int = 0
    """kernlab's own ptrace stops (fork, clone, exec) found inside calls and left out of their time."""


class _Acc:
    __slots__ = ("calls", "errnos", "errors", "max_ns", "timed", "total_ns", "unfinished")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.total_ns = 0
        self.max_ns = 0
        self.timed = 0
        self.errnos: dict[int, int] = {}
        self.unfinished = 0


def _summary(accs: dict[int, _Acc], names: dict[int, str], unfinished: int, unpaired: int) -> SyscallSummary:
    rows = []
    total_ns = sum(a.total_ns for a in accs.values())
    for nr, a in accs.items():
        if a.calls == 0 and a.unfinished == 0:
            continue
        rows.append(
            SyscallStat(
                nr=nr,
                name=names.get(nr, f"syscall_{nr}"),
                calls=a.calls,
                errors=a.errors,
                total_ns=a.total_ns,
                max_ns=a.max_ns,
                timed=a.timed,
                errnos={errno_name(k): v for k, v in sorted(a.errnos.items(), key=lambda kv: -kv[1])},
                percent_time=(100.0 * a.total_ns / total_ns) if total_ns else 0.0,
                unfinished=a.unfinished,
            )
        )
    rows.sort(key=lambda r: (-r.total_ns, -r.calls, r.name))
    return SyscallSummary(
        rows=rows,
        calls=sum(r.calls for r in rows),
        errors=sum(r.errors for r in rows),
        total_ns=total_ns,
        unfinished=unfinished,
        unpaired_exits=unpaired,
    )


def syscall_statistics(
    rec: Recording, tasks: Tasks | None = None, per_process: bool = True, time: str = "wall"
) -> SyscallStatistics:
    """Count calls, errors and time per system call, for all threads and (``per_process``) for
    each process; ``tasks`` (read from the recording when not given) groups threads into
    processes and names them. ``time`` is ``wall`` or ``cpu`` (see the module's docstring); CPU
    time needs sched_switch events, and without them the statistics say ``wall``."""
    if time not in ("wall", "cpu"):
        raise ValueError(f"time must be wall or cpu, not {time!r}")
    off_cpu = off_cpu_intervals(rec) if time == "cpu" else None
    # Wall time still leaves out the recorder's own ptrace stops (CPU time leaves out every
    # switched-out interval, those included).
    stops = off_cpu_intervals(rec, traced_only=True) if off_cpu is None else None
    stopped_ns = 0
    names = syscall_namer(rec.meta.machine)
    execs = exec_numbers(names)
    combined: dict[int, _Acc] = {}
    per_pid: dict[int, dict[int, _Acc]] = {}
    unfinished: dict[int, int] = {}
    unpaired: dict[int, int] = {}
    pending: dict[int, tuple[int, int]] = {}
    enters = exits = 0
    # The per-call syscalls:sys_exit_* events (recording/arming.py) never fire for rt_sigreturn:
    # it restores orig_ax = -1 before the exit tracepoint looks up the call. It did return (into
    # the interrupted code): counted, as strace counts it, with no time.
    no_exit = {nr for nr, name in names.items() if name == "rt_sigreturn"} if rec.per_call_syscalls else set()

    def untimed(pid: int, nr: int) -> None:
        for table in (combined, per_pid.setdefault(pid, {})):
            acc = table.get(nr)
            if acc is None:
                acc = table[nr] = _Acc()
            acc.calls += 1

    def never_returned(pid: int, nr: int) -> None:
        if nr in no_exit:
            untimed(pid, nr)
            return
        unfinished[pid] = unfinished.get(pid, 0) + 1
        for table in (combined, per_pid.setdefault(pid, {})):
            acc = table.get(nr)
            if acc is None:
                acc = table[nr] = _Acc()
            acc.unfinished += 1

    def returned(pid: int, nr: int, duration: int, ret: int) -> None:
        failed = -MAX_ERRNO <= ret < 0
        for table in (combined, per_pid.setdefault(pid, {})):
            acc = table.get(nr)
            if acc is None:
                acc = table[nr] = _Acc()
            acc.calls += 1
            acc.timed += 1
            acc.total_ns += duration
            if duration > acc.max_ns:
                acc.max_ns = duration
            if failed:
                acc.errors += 1
                acc.errnos[-ret] = acc.errnos.get(-ret, 0) + 1

    # A call that returns a kernel-internal restart code (-ERESTARTSYS ...) and is the thread's
    # last system call event was cut short by the thread's death (another thread's exit_group or
    # execve killed it): no tracer sees that return, so it stays unfinished. Until the thread
    # makes another call, such a return is held here.
    held: dict[int, tuple[int, int, int]] = {}
    for ts, _cpu, kind, pid, nr, ret in syscall_records(rec, with_args=False):
        if pid in held:
            if kind == 1 and nr in execs and pid not in pending:
                # another thread's execve took over this pid: the held call died with the thread
                never_returned(pid, held.pop(pid)[0])
            else:
                returned(pid, *held.pop(pid))
        if kind == 0:
            enters += 1
            if pid in pending:
                never_returned(pid, pending[pid][1])
            pending[pid] = (ts, nr)
            continue
        exits += 1
        started = pending.pop(pid, None)
        if started is None and nr in execs:
            # A non-leader thread's execve returns as the thread-group leader (de_thread()
            # gives the exec'ing thread the leader's pid): take that thread's pending execve.
            other = next((p for p, (_t, n) in pending.items() if n == nr), None)
            if other is not None:
                started = pending.pop(other)
                pid = other
        if started is not None and nr == -1:
            nr = started[1]  # rt_sigreturn restores orig_ax = -1 before the exit tracepoint reads it
        if started is None or started[1] != nr:
            if started is not None:
                never_returned(pid, started[1])
            unpaired[pid] = unpaired.get(pid, 0) + 1
            continue
        took = ts - started[0]
        if off_cpu is not None:
            took -= off_cpu.within(pid, started[0], ts)
        elif stops:
            stopped = stops.within(pid, started[0], ts)
            took -= stopped
            stopped_ns += stopped
        if -ret in RESTART_CODES:
            held[pid] = (nr, took, ret)
        else:
            returned(pid, nr, took, ret)
    for pid, (_ts, nr) in pending.items():
        never_returned(pid, nr)
    for pid, (nr, _duration, _ret) in held.items():
        never_returned(pid, nr)
    if tasks is None and per_process:
        tasks = read_tasks(rec)
    by_process: dict[int, list[int]] = {}
    if tasks is not None and per_process:
        for tid in per_pid:
            by_process.setdefault(tasks.process_of(tid), []).append(tid)
    processes = []
    for pid, tids in sorted(by_process.items()):
        merged: dict[int, _Acc] = {}
        for tid in tids:
            for nr, acc in per_pid[tid].items():
                into = merged.get(nr)
                if into is None:
                    into = merged[nr] = _Acc()
                into.calls += acc.calls
                into.errors += acc.errors
                into.total_ns += acc.total_ns
                into.max_ns = max(into.max_ns, acc.max_ns)
                into.timed += acc.timed
                into.unfinished += acc.unfinished
                for code, n in acc.errnos.items():
                    into.errnos[code] = into.errnos.get(code, 0) + n
        summary = _summary(
            merged, names, sum(unfinished.get(t, 0) for t in tids), sum(unpaired.get(t, 0) for t in tids)
        )
        processes.append(ProcessSyscalls(pid, tasks.name(pid) if tasks else "", sorted(tids), summary))
    return SyscallStatistics(
        combined=_summary(combined, names, sum(unfinished.values()), sum(unpaired.values())),
        per_process=processes,
        arch=rec.meta.machine,
        enter_events=enters,
        exit_events=exits,
        time="cpu" if off_cpu is not None else "wall",
        time_asked=time,
        unknown_numbers=unknown_numbers(combined, rec.meta.machine),
        table_version=table_series(rec.meta.machine),
        ptrace_stops_ns=stopped_ns,
    )
