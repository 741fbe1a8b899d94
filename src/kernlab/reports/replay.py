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
import functools
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kernlab.errors import BadInput, KernlabError
from kernlab.mm.fault_codes import FaultCode, decode_error_code
from kernlab.recording.functions import (
    RETURN_TYPES,
    FunctionFilters,
    FunctionTable,
    SharedProbes,
    compile_filters,
    read_function_table,
)
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.path_strings import read_path_strings
from kernlab.recording.reader import Recording
from kernlab.recording.syscall_names import errno_name
from kernlab.reports.recording.clock import first_record_ts
from kernlab.reports.recording.fault_events import FaultRecord, fault_records
from kernlab.reports.recording.kernel_paths import KernelPaths, PathNode, PathSummary, read_kernel_paths
from kernlab.reports.recording.loss import Loss, recording_loss
from kernlab.reports.recording.off_cpu import off_cpu_intervals
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.syscall_args import ArgFormatter, StringMatcher
from kernlab.reports.recording.syscall_calls import iter_calls
from kernlab.reports.recording.tasks import read_tasks

__all__ = ["CallNode", "ReplayFilters", "ReplayReport", "ThreadCalls", "build", "parse_time"]

FUNCTION = "function"
SYSCALL = "syscall"
FAULT = "fault"
KERNEL = "kernel"
"""A kernel function beneath a system call or fault (``record -K``), with a ``source``; a duration
only when function_graph traced it."""

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
    library: str = ""
    """A library call's file ("" for the program's own functions); its ``args`` are the fetched
    arguments (``"a", 0``) and ``ret`` its return value when ``ret_kind`` says it was fetched."""
    ret_kind: str = ""
    """How a library call's ``ret`` reads: ``int``, ``uint``, ``long``, ``size``, ``ptr``; "" none."""
    source: str = ""
    """How a kernel function was seen (``tracepoints``: in the stacks taken at tracepoints)."""
    events: tuple[str, ...] = ()
    """A kernel function's tracepoints (``system:event``) whose stacks passed through it."""
    stopped_ns: int = 0
    """kernlab's own ptrace stops inside the call (a fork or clone reporting its child), left out
    of ``duration_ns``: the call ended at ``time_ns + duration_ns + stopped_ns``."""


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
    kernel_paths: PathSummary | None = None
    """What the kernel functions (``record -K``) were made of; None without -K or with --no-kernel."""
    kernel_only: bool = False
    """Recorded with -K but not --functions: system calls and faults are the tree's roots."""
    kernel_functions: int = 0
    """Kernel function nodes shown (``record -K``)."""


_TIME_UNITS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


def parse_time(text: str) -> int:
    """``-t`` as uftrace takes it: a number and a unit (ns, us, ms, s; us when none) → ns."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*(ns|us|ms|s)?\s*", text)
    if not match:
        raise BadInput(
            f"-t {text!r}: give a time such as 10us, 1.5ms or 2s",
            key="errors.report.bad_time",
            fields={"value": repr(text)},
        )
    return int(float(match.group(1)) * _TIME_UNITS[match.group(2) or "us"])


class _Open:
    """A call being built (mutable until the thread's records are done)."""

    __slots__ = (
        "args", "children", "end", "errno", "fn", "hidden", "kind",
        "library", "name", "ret", "ret_kind", "start",
    )  # fmt: skip

    def __init__(self, kind: str, name: str, start: int, fn: int = -1) -> None:
        self.kind, self.name, self.start, self.fn = kind, name, start, fn
        self.end: int | None = None
        self.children: list[_Open | CallNode] = []
        self.args = ""
        self.ret: int | None = None
        self.errno: str | None = None
        self.hidden = False
        """A library call made inside a library (not by the program): matched with its return,
        not shown; what happens inside it goes to the nearest shown call."""
        self.library = ""
        self.ret_kind = ""


@dataclass(frozen=True)
class _LibHit:
    """A library function's probe hit: its entry's return address and arguments, or its return value."""

    fn: int
    caller: int | None = None
    args: str = ""
    ret: int | None = None


def _c_string(text: str) -> str:
    """A fetched string as C source writes it (uftrace's way): quoted, with escapes."""
    out = []
    for ch in text:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _lib_args(fields: dict[str, object], kinds: list[str]) -> str:
    """The fetched arguments as uftrace's ``-A`` shows them: strings quoted, pointers in hex."""
    out = []
    for k, kind in enumerate(kinds):
        value = fields.get(f"a{k}")
        if value is None:
            break
        if kind == "str":
            out.append("NULL" if fields.get(f"a{k}p") == 0 else _c_string(str(value)))
        elif kind == "ptr":
            out.append("NULL" if value == 0 else f"{value:#x}" if isinstance(value, int) else str(value))
        else:
            out.append(str(value))
    return ", ".join(out)


def _as_kind(value: int, kind: str) -> int:
    """``$retval`` (fetched as s64) read as the function's return type."""
    if kind == "int":
        return (value + (1 << 31)) % (1 << 32) - (1 << 31)
    if kind == "uint":
        return value % (1 << 32)
    if kind in ("ptr", "size"):
        return value % (1 << 64)
    return value


def traced_tids(rec: Recording, table: FunctionTable) -> set[int] | None:
    """The tasks whose probe records count when the probes had their own unfiltered buffer
    (recording/probe_buffer.py): those traced from the start and every child a recorded
    ``sched_process_fork`` names (the recording's instance records only the traced tasks'
    forks). None when the probes were in the recording's own, pid-filtered buffer."""
    if table.buffer != "functions":
        return None
    tids = set(table.traced_at_start)
    event_id = rec.event_id("sched:sched_process_fork")
    if event_id is None:
        return tids
    fmt = rec.formats[event_id]
    child = fmt.field("child_pid")
    word = struct.Struct(("<" if fmt.endian == "<" else ">") + "i")
    for cpu in rec.cpu_events():
        offsets = cpu.offsets_for({event_id})
        for i in cpu.indices_of({event_id}):
            if cpu.lengths[i] >= child.offset + 4:
                tids.add(word.unpack_from(cpu.raw, offsets[i] + child.offset)[0])
    return tids


def _function_records(rec: Recording, table: FunctionTable) -> list[tuple[int, int, int, int | _LibHit]]:
    """(ts, rank, tid, function index — or a library call's :class:`_LibHit`) of every probe
    hit, time-sorted. A record of an event shared by many functions is told by its probe's address."""
    kinds: dict[int, tuple[int, int]] = {}
    for i, f in enumerate(table.functions):
        for event, rank in ((f.entry_event, _FN_ENTRY), (f.exit_event, _FN_EXIT)):
            event_id = rec.event_id(event)
            if event_id is not None and event not in table.shared:
                kinds[event_id] = (rank, i)
    shared = SharedProbes(table)
    places: dict[int, tuple[str, int, struct.Struct]] = {}  # event id -> (event, where its probe address is)
    for event in table.shared:
        event_id = rec.event_id(event)
        if event_id is not None:
            fmt = rec.formats[event_id]
            place = fmt.field("__probe_func" if fmt.has_field("__probe_func") else "__probe_ip")
            word = struct.Struct(("<" if fmt.endian == "<" else ">") + ("Q" if place.size == 8 else "I"))
            places[event_id] = (event, place.offset, word)
    out: list[tuple[int, int, int, int | _LibHit]] = []
    if not kinds and not places:
        return out
    # Library probes carry fields (caller, arguments, return value): decoded one by one.
    any_fmt = rec.formats[next(iter(kinds or places))]
    pid_field = any_fmt.field("common_pid")
    pid_at = struct.Struct(("<" if any_fmt.endian == "<" else ">") + "i")
    need = pid_field.offset + 4
    ids = set(kinds) | set(places)
    pending: list[tuple[int, int, int, bytes, int, int]] = []

    def add(ts: int, rank: int, tid: int, fn: int, event_id: int, raw: bytes, at: int, length: int) -> None:
        f = table.functions[fn]
        if not f.library or not rec.formats[event_id].payload_fields:
            out.append((ts, rank, tid, _LibHit(fn) if f.library else fn))
            return
        fields = rec.formats[event_id].decode(raw, at, length)
        if rank == _FN_ENTRY:
            caller = fields.get("caller")
            hit = _LibHit(fn, caller if isinstance(caller, int) else None, _lib_args(fields, f.args))
        else:
            ret = fields.get("ret")
            hit = _LibHit(fn, ret=_as_kind(ret, f.ret) if isinstance(ret, int) else None)
        out.append((ts, rank, tid, hit))

    traced = traced_tids(rec, table)
    sources = rec.probe_events(table.buffer_page_size) if traced is not None else rec.cpu_events()
    for cpu in sources:
        raw, types, lengths = cpu.raw, cpu.types, cpu.lengths
        offsets, stamps = cpu.offsets_for(ids), cpu.stamps_for(ids)
        for i in cpu.indices_of(ids):
            if lengths[i] < need:
                continue
            tid = pid_at.unpack_from(raw, offsets[i] + pid_field.offset)[0]
            if traced is not None and tid not in traced:
                continue  # another process running the same program
            if types[i] in places:
                pending.append((stamps[i], types[i], tid, raw, offsets[i], lengths[i]))
                continue
            rank, fn = kinds[types[i]]
            add(stamps[i], rank, tid, fn, types[i], raw, offsets[i], lengths[i])
    hits = [
        (places[e][0], tid, places[e][2].unpack_from(raw, at + places[e][1])[0])
        for _, e, tid, raw, at, _ in pending
    ]
    for (ts, event_id, tid, raw, at, length), found in zip(pending, shared.resolve(hits), strict=True):
        if found is not None:
            add(ts, _FN_EXIT if found[1] else _FN_ENTRY, tid, found[0], event_id, raw, at, length)
    out.sort(key=lambda r: r[:3])
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
    kernel: bool = True,
) -> ReplayReport:
    """The call tree of each thread of a ``record --functions`` (or ``-K``) recording, filtered.

    ``kernel``: the kernel functions beneath system calls and faults, when recorded with -K."""
    rec = as_recording(recording)
    table = read_function_table(rec.root)
    paths = read_kernel_paths(rec)
    kernel_only = table is None and paths is not None
    if table is None:
        if paths is None:
            raise BadInput(
                f"{rec.root} was recorded without --functions: record the program again with "
                "`kernlab record --functions -- COMMAND`, then replay it",
                key="errors.report.no_functions",
                fields={"path": str(rec.root)},
            )
        table = FunctionTable(_root_binary(rec), False, "", "", [], FunctionFilters())
    if not kernel:
        paths = None
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

    # Every record of every thread, as (ts, rank, tid, payload).
    records: dict[int, list[tuple[int, int, int, object]]] = {}
    for ts, rank, tid, fn in _function_records(rec, table):
        records.setdefault(tid, []).append((ts, rank, len(records.get(tid, ())), fn))
    traced = set(records)
    fmt = ArgFormatter(rec, rec.meta.machine or "x86_64")
    matcher = StringMatcher(
        read_path_strings(rec.root), rec.meta.start_time_ns, rec.meta.end_time_ns, rec.meta.machine
    )
    for call in iter_calls(rec, with_args=True):
        wanted = [i for i in fmt.string_args(call.name) if i < len(call.args) and call.args[i]]
        strings = matcher.take(call.pid, call.nr, call.args) if wanted else None
        if (
            (call.pid not in traced and not kernel_only)
            or call.enter_ts is None
            or call.name in MECHANISM_SYSCALLS
        ):
            continue
        node = _Open(SYSCALL, call.name, call.enter_ts)
        node.end = call.exit_ts
        node.args = fmt.format_args(call.name, call.args, strings) if call.args else "…"
        node.ret = call.ret
        err = call.error
        node.errno = errno_name(err) if err is not None else None
        own = records.setdefault(call.pid, [])
        own.append((call.enter_ts, _SYS_ENTER, len(own), node))
        if call.exit_ts is not None:
            own.append((call.exit_ts, _SYS_EXIT, len(own), node))
    arch = rec.meta.machine or "x86_64"
    trampolines = _uprobe_pages(rec)
    for f in fault_records(rec):
        # The first run of the return-probe trampoline page faults it in: the probes', not the program's.
        if (f.pid in traced or kernel_only) and not any(lo <= f.address < hi for lo, hi in trampolines):
            own = records.setdefault(f.pid, [])
            own.append((f.ts, _FAULT, len(own), f))

    tasks = read_tasks(rec)
    stops = off_cpu_intervals(rec, traced_only=True)
    counts = {"outside_sys": 0, "outside_faults": 0, "stray": 0}
    threads = []
    for tid in sorted(records, key=lambda t: min(r[0] for r in records[t])):
        if tids and tid not in tids:
            continue
        from_program = _program_test(rec, table, tasks.process_of(tid))
        rows = sorted(records[tid], key=lambda r: (r[0], r[1], r[2]))
        roots = _nest(rows, table, counts, arch, from_program, top_level=kernel_only)
        frozen = [_with_kernel(_freeze(n, base), tid, paths, base) for n in roots]
        if stops:
            stopped = functools.partial(stops.within, tid)
            frozen = [_program_clock(n, stopped, base) for n in frozen]
        calls = _filtered(frozen, inc, exc, filters, inside=not inc)
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
        kernel_paths=paths.summary if paths is not None else None,
        kernel_only=kernel_only,
        kernel_functions=tally[KERNEL],
    )


def _root_binary(rec: Recording) -> str:
    """The recorded command's executable (a ``-K`` recording without --functions)."""
    root = next((p for p in rec.meta.processes if p.pid == rec.meta.root_pid), None)
    return (root.exe if root else "") or (rec.meta.command[0] if rec.meta.command else "")


def _with_kernel(node: CallNode, tid: int, paths: KernelPaths | None, base: int) -> CallNode:
    """``node`` with the kernel functions beneath its system calls and faults (``record -K``),
    in time order among what was already below them."""
    if paths is None:
        return node
    kids = [_with_kernel(c, tid, paths, base) for c in node.children]
    if node.kind == SYSCALL:
        found = paths.under_syscall(tid, node.time_ns + base)
    elif node.kind == FAULT:
        found = paths.under_fault(tid, node.time_ns + base)
    else:
        found = []
    if not found:
        return replace(node, children=kids) if node.children else node
    merged = sorted(kids + [_kernel_node(p, base) for p in found], key=lambda c: c.time_ns)
    return replace(node, children=merged)


def _kernel_node(path: PathNode, base: int) -> CallNode:
    kids = [_kernel_node(c, base) for c in path.children]
    return CallNode(
        KERNEL, path.name, path.ts - base, path.duration_ns, kids, source=path.source, events=path.events
    )


def _uprobe_pages(rec: Recording) -> set[tuple[int, int]]:
    """Address ranges of the ``[uprobes]`` areas (the kernel's trampoline page) in the maps snapshots."""
    ranges = set()
    for snapshot in rec.meta.maps:
        for line in (rec.maps_text(snapshot) or "").split("\n"):
            if line.endswith("[uprobes]"):
                lo, _, hi = line.split(maxsplit=1)[0].partition("-")
                with contextlib.suppress(ValueError):
                    ranges.add((int(lo, 16), int(hi, 16)))
    return ranges


def _program_test(rec: Recording, table: FunctionTable, process: int) -> Callable[[int], bool]:
    """Whether a return address lies in the main executable as ``process`` mapped it (its maps
    snapshot gives the load bias; a forked child without one has its parent's layout, so any
    snapshot of the same file serves). Everything passes with ``--nest-libcall``, when the probes
    could not fetch the return address, or when no layout of a PIE is known."""
    if table.filters.nest_libcall or not table.caller_known or not table.segments:
        return lambda _caller: True
    bias = None if table.pie else 0
    snapshots = rec.snapshots_of(process) + [m for m in rec.meta.maps if m.pid != process]
    for snapshot in snapshots if bias is None else []:
        for line in (rec.maps_text(snapshot) or "").split("\n"):
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5] == table.binary and int(parts[2], 16) == 0:
                bias = int(parts[0].partition("-")[0], 16) - table.first_load_page
                break
        if bias is not None:
            break
    if bias is None:
        return lambda _caller: True
    ranges = [(bias + vaddr, bias + vaddr + size) for vaddr, size in table.segments]
    return lambda caller: any(lo <= caller < hi for lo, hi in ranges)


def _shown(stack: list[_Open]) -> _Open | None:
    """The innermost open call that is shown (library calls made inside libraries are not)."""
    return next((n for n in reversed(stack) if not n.hidden), None)


def _nest(
    rows: list[tuple[int, int, int, object]],
    table: FunctionTable,
    counts: dict[str, int],
    arch: str,
    from_program: Callable[[int], bool],
    top_level: bool = False,
) -> list[_Open | CallNode]:
    """The thread's records, in time order, nested into calls (``top_level``: no function was
    recorded, so system calls and faults are the roots)."""
    roots: list[_Open | CallNode] = []
    stack: list[_Open] = []
    functions = table.functions
    for ts, rank, _seq, payload in rows:
        if rank == _FN_ENTRY:
            hit = payload if isinstance(payload, _LibHit) else None
            fn = hit.fn if hit is not None else payload
            assert isinstance(fn, int)
            f = functions[fn]
            node = _Open(FUNCTION, f.name, ts, fn)
            if hit is not None:
                node.args, node.library, node.ret_kind = (
                    hit.args,
                    f.library,
                    f.ret if f.ret in RETURN_TYPES else "",
                )
                node.hidden = not f.explicit and hit.caller is not None and not from_program(hit.caller)
            parent = _shown(stack)
            if not node.hidden:
                (parent.children if parent else roots).append(node)
            stack.append(node)
        elif rank == _FN_EXIT:
            fn = payload.fn if isinstance(payload, _LibHit) else payload
            at = next((k for k in range(len(stack) - 1, -1, -1) if stack[k].fn == fn), None)
            if at is None:
                counts["stray"] += 1
                continue
            stack[at].end = ts
            if isinstance(payload, _LibHit):
                stack[at].ret = payload.ret
            del stack[at:]  # calls still open inside it never returned (or were not seen to)
        elif rank == _SYS_ENTER:
            assert isinstance(payload, _Open)
            parent = _shown(stack)
            if top_level and parent is None:
                roots.append(payload)
                stack.append(payload)
                continue
            if not any(n.kind == FUNCTION and not n.hidden for n in stack) or parent is None:
                counts["outside_sys"] += 1
                payload.kind = ""  # its exit, if any, is skipped too
                continue
            parent.children.append(payload)
            stack.append(payload)
        elif rank == _SYS_EXIT:
            assert isinstance(payload, _Open)
            if payload.kind and payload in stack:
                del stack[stack.index(payload) :]
        else:
            assert isinstance(payload, FaultRecord)
            parent = _shown(stack)
            if parent is None and not top_level:
                counts["outside_faults"] += 1
                continue
            code: FaultCode | None = None
            with contextlib.suppress(ValueError, KernlabError):  # an arch kernlab cannot decode: raw
                code = decode_error_code(payload.error_code, arch)
            name = "page_fault_kernel" if payload.kernel_mode else "page_fault_user"
            (parent.children if parent else roots).append(
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
        library=node.library,
        ret_kind=node.ret_kind,
    )


def _program_clock(node: CallNode, stopped: Callable[[int, int], int], base: int) -> CallNode:
    """``node`` with kernlab's ptrace stops (``stopped(start, end)``, trace-clock time) taken out
    of every duration that covers one. Times stay the trace clock's, so threads still line up."""
    duration, inside = node.duration_ns, 0
    if duration is not None:
        start = node.time_ns + base
        inside = stopped(start, start + duration)
        duration -= inside
    if not inside:
        return node
    return replace(
        node,
        duration_ns=duration,
        stopped_ns=inside,
        children=[_program_clock(c, stopped, base) for c in node.children],
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
        out.append(replace(c, children=_filtered(c.children, inc, exc, filters, True, depth + 1)))
    return out


def _tally(threads: list[ThreadCalls]) -> dict[str, int]:
    tally = {FUNCTION: 0, SYSCALL: 0, FAULT: 0, KERNEL: 0, "unfinished": 0}
    todo = [c for t in threads for c in t.calls]
    while todo:
        c = todo.pop()
        tally[c.kind] += 1
        if c.kind not in (FAULT, KERNEL) and c.duration_ns is None:
            tally["unfinished"] += 1
        todo.extend(c.children)
    return tally
