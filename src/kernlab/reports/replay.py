"""`kernlab replay`: the calls of a ``record --functions`` recording as one tree per thread.

Each thread's records — the entry and return probes of the program's functions, its system calls
(``raw_syscalls`` enter/exit, paired as ``kernlab syscalls`` pairs them, with the same decoded
arguments) and its page faults — are taken in time order and nested: a function entry opens a
call, its return closes it (and any call still open inside it, which then has no duration: a
``longjmp``, or a return the kernel did not probe); a system call opens and closes inside
whatever function is open; a fault is a leaf where it happened. System calls and faults made
while no probed function is open (the dynamic loader before ``main``, ``exit_group`` after it)
are counted but not shown, as uftrace leaves out kernel functions outside user functions.

Filters, as uftrace's replay applies them (and the ones given to ``record``, which the recording
keeps, first): ``-F`` keeps the calls of matching functions with everything below them, shown from
depth 0; ``-N`` drops matching calls with everything below them; ``-D`` keeps depths below it;
``-t`` hides calls (function or system) shorter than the time; ``--tid`` keeps those threads.
"""

from __future__ import annotations

import contextlib
import re
import struct
from dataclasses import dataclass, field

from kernlab.errors import BadInput, KernlabError
from kernlab.mm.fault_codes import FaultCode, decode_error_code
from kernlab.recording.functions import FunctionTable, compile_filters, read_function_table
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.path_strings import read_path_strings
from kernlab.recording.reader import Recording
from kernlab.recording.syscall_names import errno_name
from kernlab.reports.recording.clock import first_record_ts
from kernlab.reports.recording.fault_events import FaultRecord, fault_records
from kernlab.reports.recording.loss import Loss, recording_loss
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.syscall_args import ArgFormatter, StringMatcher
from kernlab.reports.recording.syscall_calls import iter_calls
from kernlab.reports.recording.tasks import read_tasks

__all__ = ["CallNode", "ReplayFilters", "ReplayReport", "ThreadCalls", "build", "parse_time"]

FUNCTION = "function"
SYSCALL = "syscall"
FAULT = "fault"

MECHANISM_SYSCALLS = frozenset({"uretprobe"})
"""System calls made by the return probes themselves (x86-64 since Linux 6.11 returns from a
probed function through the uretprobe trampoline's ``uretprobe`` call): kernlab's, not the program's."""

# Sort rank of records with the same time stamp: what closes before what opens.
_SYS_EXIT, _FN_EXIT, _FN_ENTRY, _SYS_ENTER, _FAULT = range(5)


@dataclass(frozen=True)
class CallNode:
    """One call in the tree: a function of the program, a system call, or a page fault (a leaf)."""

    kind: str
    """``function``, ``syscall`` or ``fault``."""
    name: str
    """The function's or system call's name (``page_fault_user``/``page_fault_kernel`` for a fault)."""
    time_ns: int
    """When it started (a fault: happened), ns after the recording's first record."""
    duration_ns: int | None
    """None when its end was not recorded (the program exited inside it, or the return was not seen)."""
    children: list[CallNode] = field(default_factory=list)
    args: str = ""
    """A system call's arguments as ``kernlab syscalls`` decodes them."""
    ret: int | None = None
    errno: str | None = None
    address: int = 0
    """A fault's address."""
    ip: int = 0
    """A fault's instruction."""
    fault_code: FaultCode | None = None


@dataclass(frozen=True)
class ThreadCalls:
    tid: int
    comm: str
    calls: list[CallNode]


@dataclass(frozen=True)
class ReplayFilters:
    """What the tree was filtered with (record's filters first, then replay's)."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    depth: int | None = None
    time_ns: int = 0
    tids: list[int] = field(default_factory=list)
    faults: bool = True


@dataclass(frozen=True)
class ReplayReport:
    directory: str
    binary: str
    symbol_table: str
    """``.symtab`` or ``.dynsym`` the names came from; "" when the binary had neither."""
    functions_probed: int
    threads: list[ThreadCalls]
    function_calls: int
    """Function calls shown."""
    syscalls: int
    faults: int
    outside_syscalls: int
    """System calls made while no probed function was open (not shown)."""
    outside_faults: int
    unfinished: int
    """Calls shown whose end was not recorded."""
    stray_returns: int
    """Returns without their entry (a call already running when recording began)."""
    filters: ReplayFilters
    loss: Loss


_TIME_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


def parse_time(text: str) -> int:
    """``-t`` as uftrace takes it: a number and a unit (ns, us, ms, s; us when none) → ns."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(ns|us|ms|s)?\s*", text)
    if not match:
        raise BadInput(f"-t {text!r}: give a time such as 10us, 1.5ms or 2s")
    return int(float(match.group(1)) * _TIME_UNITS[match.group(2) or "us"])


class _Open:
    """A call being built (mutable until the thread's records are done)."""

    __slots__ = ("args", "children", "end", "errno", "fn", "kind", "name", "ret", "start")

    def __init__(self, kind: str, name: str, start: int, fn: int = -1) -> None:
        self.kind, self.name, self.start, self.fn = kind, name, start, fn
        self.end: int | None = None
        self.children: list[_Open | CallNode] = []
        self.args = ""
        self.ret: int | None = None
        self.errno: str | None = None


def _function_records(rec: Recording, table: FunctionTable) -> list[tuple[int, int, int, int]]:
    """(ts, rank, tid, function index) of every probe hit, time-sorted."""
    kinds: dict[int, tuple[int, int]] = {}
    for i, f in enumerate(table.functions):
        for event, rank in ((f.entry_event, _FN_ENTRY), (f.exit_event, _FN_EXIT)):
            event_id = rec.event_id(event)
            if event_id is not None:
                kinds[event_id] = (rank, i)
    out: list[tuple[int, int, int, int]] = []
    if not kinds:
        return out
    any_fmt = rec.formats[next(iter(kinds))]
    pid_field = any_fmt.field("common_pid")
    pid_at = struct.Struct(("<" if any_fmt.endian == "<" else ">") + "i")
    need = pid_field.offset + 4
    ids = set(kinds)
    for cpu in rec.cpu_events():
        raw, types, lengths = cpu.raw, cpu.types, cpu.lengths
        offsets, stamps = cpu.offsets_for(ids), cpu.stamps_for(ids)
        for i in cpu.indices_of(ids):
            if lengths[i] < need:
                continue
            rank, fn = kinds[types[i]]
            out.append((stamps[i], rank, pid_at.unpack_from(raw, offsets[i] + pid_field.offset)[0], fn))
    out.sort()
    return out


def build(
    recording: RecordingSource = DEFAULT_DIR,
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    depth: int | None = None,
    time_ns: int = 0,
    tids: set[int] | None = None,
    faults: bool = True,
) -> ReplayReport:
    """The call tree of each thread of a ``record --functions`` recording, filtered."""
    rec = as_recording(recording)
    table = read_function_table(rec.root)
    if table is None:
        raise BadInput(
            f"{rec.root} was recorded without --functions: record the program again with "
            "`kernlab record --functions -- COMMAND`, then replay it"
        )
    filters = ReplayFilters(
        include=list(table.filters.include) + list(include or []),
        exclude=list(table.filters.exclude) + list(exclude or []),
        depth=min((d for d in (table.filters.depth, depth) if d), default=None),
        time_ns=time_ns,
        tids=sorted(tids or []),
        faults=faults,
    )
    inc = compile_filters(filters.include, "-F")
    exc = compile_filters(filters.exclude, "-N")
    base = first_record_ts(rec)
    names = [f.name for f in table.functions]

    # Every record of every thread, as (ts, rank, tid, payload).
    records: dict[int, list[tuple[int, int, int, object]]] = {}
    for ts, rank, tid, fn in _function_records(rec, table):
        records.setdefault(tid, []).append((ts, rank, len(records.get(tid, ())), fn))
    traced = set(records)
    fmt = ArgFormatter(rec, rec.meta.machine or "x86_64")
    matcher = StringMatcher(read_path_strings(rec.root), rec.meta.start_time_ns, rec.meta.end_time_ns)
    for call in iter_calls(rec, with_args=True):
        wanted = [i for i in fmt.string_args(call.name) if i < len(call.args) and call.args[i]]
        strings = matcher.take(call.pid, call.nr, call.args) if wanted else None
        if call.pid not in traced or call.enter_ts is None or call.name in MECHANISM_SYSCALLS:
            continue
        node = _Open(SYSCALL, call.name, call.enter_ts)
        node.end = call.exit_ts
        node.args = fmt.format_args(call.name, call.args, strings) if call.args else "…"
        node.ret = call.ret
        err = call.error
        node.errno = errno_name(err) if err is not None else None
        own = records[call.pid]
        own.append((call.enter_ts, _SYS_ENTER, len(own), node))
        if call.exit_ts is not None:
            own.append((call.exit_ts, _SYS_EXIT, len(own), node))
    arch = rec.meta.machine or "x86_64"
    trampolines = _uprobe_pages(rec)
    for f in fault_records(rec):
        # The first run of the return-probe trampoline page faults it in: the probes', not the program's.
        if f.pid in traced and not any(lo <= f.address < hi for lo, hi in trampolines):
            own = records[f.pid]
            own.append((f.ts, _FAULT, len(own), f))

    tasks = read_tasks(rec)
    counts = {"outside_sys": 0, "outside_faults": 0, "stray": 0}
    threads = []
    for tid in sorted(records, key=lambda t: min(r[0] for r in records[t])):
        if tids and tid not in tids:
            continue
        roots = _nest(sorted(records[tid], key=lambda r: (r[0], r[1], r[2])), names, counts, arch)
        calls = _filtered([_freeze(n, base) for n in roots], inc, exc, filters, inside=not inc)
        if calls:
            threads.append(ThreadCalls(tid, tasks.name(tid), calls))
    tally = _tally(threads)
    return ReplayReport(
        directory=str(rec.root),
        binary=table.binary,
        symbol_table=table.symbol_table,
        functions_probed=len(table.functions),
        threads=threads,
        function_calls=tally[FUNCTION],
        syscalls=tally[SYSCALL],
        faults=tally[FAULT],
        outside_syscalls=counts["outside_sys"],
        outside_faults=counts["outside_faults"],
        unfinished=tally["unfinished"],
        stray_returns=counts["stray"],
        filters=filters,
        loss=recording_loss(rec),
    )


def _uprobe_pages(rec: Recording) -> set[tuple[int, int]]:
    """Address ranges of the ``[uprobes]`` areas (the kernel's trampoline page) in the maps snapshots."""
    ranges = set()
    for snapshot in rec.meta.maps:
        for line in (rec.maps_text(snapshot) or "").splitlines():
            if line.endswith("[uprobes]"):
                lo, _, hi = line.split(maxsplit=1)[0].partition("-")
                with contextlib.suppress(ValueError):
                    ranges.add((int(lo, 16), int(hi, 16)))
    return ranges


def _nest(
    rows: list[tuple[int, int, int, object]], names: list[str], counts: dict[str, int], arch: str
) -> list[_Open]:
    """The thread's records, in time order, nested into calls."""
    roots: list[_Open] = []
    stack: list[_Open] = []
    for ts, rank, _seq, payload in rows:
        if rank == _FN_ENTRY:
            assert isinstance(payload, int)
            node = _Open(FUNCTION, names[payload], ts, payload)
            (stack[-1].children if stack else roots).append(node)
            stack.append(node)
        elif rank == _FN_EXIT:
            at = next((k for k in range(len(stack) - 1, -1, -1) if stack[k].fn == payload), None)
            if at is None:
                counts["stray"] += 1
                continue
            stack[at].end = ts
            del stack[at:]  # calls still open inside it never returned (or were not seen to)
        elif rank == _SYS_ENTER:
            assert isinstance(payload, _Open)
            if not any(n.kind == FUNCTION for n in stack):
                counts["outside_sys"] += 1
                payload.kind = ""  # its exit, if any, is skipped too
                continue
            stack[-1].children.append(payload)
            stack.append(payload)
        elif rank == _SYS_EXIT:
            assert isinstance(payload, _Open)
            if payload.kind and payload in stack:
                del stack[stack.index(payload) :]
        else:
            assert isinstance(payload, FaultRecord)
            if not stack:
                counts["outside_faults"] += 1
                continue
            code: FaultCode | None = None
            with contextlib.suppress(ValueError, KernlabError):  # an arch kernlab cannot decode: raw
                code = decode_error_code(payload.error_code, arch)
            name = "page_fault_kernel" if payload.kernel_mode else "page_fault_user"
            stack[-1].children.append(
                CallNode(FAULT, name, ts, None, [], address=payload.address, ip=payload.ip, fault_code=code)
            )
    return roots


def _freeze(node: _Open | CallNode, base: int) -> CallNode:
    if isinstance(node, CallNode):
        return CallNode(
            node.kind,
            node.name,
            node.time_ns - base,
            None,
            [],
            address=node.address,
            ip=node.ip,
            fault_code=node.fault_code,
        )
    return CallNode(
        node.kind,
        node.name,
        node.start - base,
        None if node.end is None else node.end - node.start,
        [_freeze(c, base) for c in node.children],
        args=node.args,
        ret=node.ret,
        errno=node.errno,
    )


def _filtered(
    calls: list[CallNode],
    inc: list[re.Pattern[str]],
    exc: list[re.Pattern[str]],
    filters: ReplayFilters,
    inside: bool,
    depth: int = 0,
) -> list[CallNode]:
    """Apply -F (``inside``: below a match, or no -F), -N, -D, -t and --no-faults."""
    out: list[CallNode] = []
    for c in calls:
        if c.kind == FAULT and not filters.faults:
            continue
        if c.kind == FUNCTION and any(p.search(c.name) for p in exc):
            continue
        here = inside or (c.kind == FUNCTION and any(p.search(c.name) for p in inc))
        if not here:
            out.extend(_filtered(c.children, inc, exc, filters, False, depth))  # look below for a match
            continue
        if filters.depth is not None and depth >= filters.depth:
            continue
        if (
            filters.time_ns
            and c.kind != FAULT
            and c.duration_ns is not None
            and c.duration_ns < filters.time_ns
        ):
            continue
        kids = _filtered(c.children, inc, exc, filters, True, depth + 1)
        out.append(
            CallNode(
                c.kind,
                c.name,
                c.time_ns,
                c.duration_ns,
                kids,
                c.args,
                c.ret,
                c.errno,
                c.address,
                c.ip,
                c.fault_code,
            )
        )
    return out


def _tally(threads: list[ThreadCalls]) -> dict[str, int]:
    tally = {FUNCTION: 0, SYSCALL: 0, FAULT: 0, "unfinished": 0}
    todo = [c for t in threads for c in t.calls]
    while todo:
        c = todo.pop()
        tally[c.kind] += 1
        if c.kind != FAULT and c.duration_ns is None:
            tally["unfinished"] += 1
        todo.extend(c.children)
    return tally
