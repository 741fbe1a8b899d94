"""System calls of a recording, paired and counted like ``strace -c``.

The recording holds ``raw_syscalls:sys_enter`` (fields ``id``, ``args[6]``) and
``raw_syscalls:sys_exit`` (``id``, ``ret``), emitted by ``trace_sys_enter``/``trace_sys_exit`` in
the kernel's syscall entry/exit work (kernel/entry/syscall-common.c). An enter and the next exit of
the same thread are one call; its time is the difference of their trace-clock stamps. A return
value between -4095 and -1 is an error (``IS_ERR_VALUE``), -ret its errno.

Counting follows ``strace -c``, which counts a call when it returns: an enter followed by its
exit is one call. Calls that never return while traced (``exit_group``, a call still blocked at
the end) are counted apart as *unfinished*; an exit with no enter before it (the call was already
running when tracing started, or a new thread returning from ``clone``) adds no call.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kernlab.recording.reader import Recording

MAX_ERRNO = 4095

ENTER = "raw_syscalls:sys_enter"
EXIT = "raw_syscalls:sys_exit"


@dataclass(frozen=True)
class SyscallName:
    """How a number resolves: its name from the kernel's syscall table for the recording's arch."""

    number: int
    name: str


# Kernel-internal codes (include/linux/errno.h) that a system call can return to the exit
# tracepoint, before signal handling turns them into a restart or EINTR.
KERNEL_ERRNOS: dict[int, str] = {
    512: "ERESTARTSYS",
    513: "ERESTARTNOINTR",
    514: "ERESTARTNOHAND",
    515: "ENOIOCTLCMD",
    516: "ERESTART_RESTARTBLOCK",
    517: "EPROBE_DEFER",
    518: "EOPENSTALE",
    519: "ENOPARAM",
}
RESTART_CODES = frozenset({512, 513, 514, 516})


def errno_name(code: int) -> str:
    """``ENOENT`` for 2, ``ERESTARTSYS`` for 512; ``E<n>`` for a number nobody names."""
    return errno.errorcode.get(code) or KERNEL_ERRNOS.get(code, f"E{code}")


def syscall_namer(machine: str) -> dict[int, str]:
    """Number -> name for ``machine`` (uname -m of the recording), from kernlab.syscalls' tables."""
    try:
        from kernlab.syscalls.tables import by_number

        return {nr: row.name for nr, row in by_number(machine or None).items()}
    except Exception:  # an unknown arch: numbers stay numbers
        return {}


@dataclass
class SyscallCall:
    """One system call: enter and exit paired (either may be missing at the edges of a recording)."""

    pid: int
    """The thread id (common_pid) that made the call."""
    nr: int
    name: str
    enter_ts: int | None
    exit_ts: int | None
    ret: int | None
    args: tuple[int, ...] = ()
    cpu: int = 0

    @property
    def duration_ns(self) -> int | None:
        if self.enter_ts is None or self.exit_ts is None:
            return None
        return self.exit_ts - self.enter_ts

    @property
    def error(self) -> int | None:
        """errno when the call failed, else None."""
        if self.ret is not None and -MAX_ERRNO <= self.ret < 0:
            return -self.ret
        return None


@dataclass
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


@dataclass
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


@dataclass
class ProcessSyscalls:
    pid: int
    """The process (thread-group id)."""
    comm: str
    threads: list[int]
    """Thread ids of this process that made system calls."""
    summary: SyscallSummary


@dataclass
class SyscallReport:
    """System calls of a recording: combined and per process."""

    combined: SyscallSummary
    per_process: list[ProcessSyscalls]
    arch: str
    enter_events: int
    exit_events: int


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


def _syscall_records(rec: Recording, with_args: bool) -> list[tuple]:
    """(ts, cpu, kind, pid, nr, ret_or_args) of every enter (kind 0) and exit (kind 1), time-sorted."""
    enter_fmt = rec.by_name.get(ENTER)
    exit_fmt = rec.by_name.get(EXIT)
    records: list[tuple] = []
    if enter_fmt is None or exit_fmt is None:
        return records
    enter_fields = ["common_pid", "id", "args"] if with_args else ["common_pid", "id"]
    enter_unpack = enter_fmt.unpacker(enter_fields).unpack_from
    exit_unpack = exit_fmt.unpacker(["common_pid", "id", "ret"]).unpack_from
    enter_id, exit_id = enter_fmt.id, exit_fmt.id
    start = rec.command_start_ts
    wanted = {enter_id, exit_id}
    need = {
        enter_id: enter_fmt.unpacker(enter_fields).size,
        exit_id: exit_fmt.unpacker(["common_pid", "id", "ret"]).size,
    }
    for cpu in rec.cpu_events():
        raw, cpu_no = cpu.raw, cpu.cpu
        offsets, stamps, types = cpu.offsets_for(wanted), cpu.stamps_for(wanted), cpu.types
        append = records.append
        lengths = cpu.lengths
        for i in cpu.indices_of(wanted):
            if lengths[i] < need[types[i]]:
                continue  # a damaged record, too short for its own fields
            if types[i] == enter_id:
                values = enter_unpack(raw, offsets[i])
                append((stamps[i], cpu_no, 0, values[0], values[1], values[2:] if with_args else None))
            else:
                pid, nr, ret = exit_unpack(raw, offsets[i])
                append((stamps[i], cpu_no, 1, pid, nr, ret))
    # Each CPU's list is already in time order; timsort merges those runs in near-linear time.
    records.sort(key=lambda r: (r[0], r[2]))
    if start:
        records = [r for r in records if r[0] >= start]
    return records


def iter_calls(rec: Recording, with_args: bool = True) -> Iterable[SyscallCall]:
    """Every call in time order of its enter (or of its exit when the enter was not recorded)."""
    names = syscall_namer(rec.meta.machine)
    exec_numbers = {nr for nr, name in names.items() if name in ("execve", "execveat")}
    pending: dict[int, SyscallCall] = {}
    out: list[SyscallCall] = []
    for ts, cpu, kind, pid, nr, extra in _syscall_records(rec, with_args):
        if kind == 0:
            call = SyscallCall(
                pid, nr, names.get(nr, f"syscall_{nr}"), ts, None, None, tuple(extra or ()), cpu
            )
            # A previous call still pending never returned (exit, execve by another thread): it
            # stays in the list unfinished.
            pending[pid] = call
            out.append(call)
        else:
            call = pending.pop(pid, None)
            if call is None and nr in exec_numbers:  # execve by a non-leader thread (de_thread)
                other = next((p for p, c in pending.items() if c.nr == nr), None)
                call = pending.pop(other) if other is not None else None
            if call is not None and nr == -1:
                nr = call.nr  # rt_sigreturn: the restored orig_ax (-1) hides the number at exit
            if call is not None and call.nr == nr:
                call.exit_ts = ts
                call.ret = extra
            else:
                out.append(SyscallCall(pid, nr, names.get(nr, f"syscall_{nr}"), None, ts, extra, (), cpu))
    return out


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


def syscall_report(
    rec: Recording, comms: dict[int, str] | None = None, process_of: Callable[[int], int] | None = None
) -> SyscallReport:
    """Count calls, errors and time per system call, for all threads and for each process
    (``process_of`` maps a thread id to its process; by default each thread is its own)."""
    names = syscall_namer(rec.meta.machine)
    exec_numbers = {nr for nr, name in names.items() if name in ("execve", "execveat")}
    combined: dict[int, _Acc] = {}
    per_pid: dict[int, dict[int, _Acc]] = {}
    unfinished: dict[int, int] = {}
    unpaired: dict[int, int] = {}
    pending: dict[int, tuple[int, int]] = {}
    enters = exits = 0

    def never_returned(pid: int, nr: int) -> None:
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
    for ts, _cpu, kind, pid, nr, ret in _syscall_records(rec, with_args=False):
        if pid in held:
            if kind == 1 and nr in exec_numbers and pid not in pending:
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
        if started is None and nr in exec_numbers:
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
        if -ret in RESTART_CODES:
            held[pid] = (nr, ts - started[0], ret)
        else:
            returned(pid, nr, ts - started[0], ret)
    for pid, (_ts, nr) in pending.items():
        never_returned(pid, nr)
    for pid, (nr, _duration, _ret) in held.items():
        never_returned(pid, nr)
    comms = comms or {}
    group = process_of or (lambda tid: tid)
    by_process: dict[int, list[int]] = {}
    for tid in per_pid:
        by_process.setdefault(group(tid), []).append(tid)
    per_process = []
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
        per_process.append(ProcessSyscalls(pid, comms.get(pid, ""), sorted(tids), summary))
    return SyscallReport(
        combined=_summary(combined, names, sum(unfinished.values()), sum(unpaired.values())),
        per_process=per_process,
        arch=rec.meta.machine,
        enter_events=enters,
        exit_events=exits,
    )
