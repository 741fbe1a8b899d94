"""A recording as Parquet tables: one file per kind of row, the schema docs/PARQUET.md describes.

Tables: ``syscalls`` (one row per call, paired as ``kernlab syscalls`` pairs them, arguments
decoded as it decodes them), ``faults`` (one row per fault, with the columns ``kernlab faults``
shows), ``sched`` (scheduler events), ``tasks`` (who is who), and, when the recording has them,
``functions`` (``record --functions``: the call tree of ``kernlab replay`` flattened) and
``kernel_paths`` (``record -K``: the kernel functions below each call and fault). Every row
carries the schema version, the recording id, the host name, the kernel release and the
machine, so files of many recordings concatenate. Every table is written even when it has no
rows, so a query over many recordings never misses one.

Rows are built column by column (lists of values, then one Arrow array each); the faults of a
large recording come from the event columns with one Python step per fault only where the
address space must be looked up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernlab.errors import KernlabError
from kernlab.mm.fault_codes import FaultCode, fault_cause
from kernlab.recording.export.parquet import WrittenTable, import_pyarrow, recording_id, write_tables
from kernlab.recording.functions import read_function_table
from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.path_strings import read_path_strings
from kernlab.recording.reader import FileDamage, Recording
from kernlab.recording.state import Completeness
from kernlab.recording.syscall_names import MAX_ERRNO, RESTART_CODES, errno_name, exec_numbers, syscall_namer
from kernlab.reports.recording.address_space import NO_VMA, TimelineMaps, address_spaces
from kernlab.reports.recording.clock import first_record_ts
from kernlab.reports.recording.fault_events import KERNEL, USER
from kernlab.reports.recording.fault_stats import decode_code
from kernlab.reports.recording.kernel_paths import PathNode, read_kernel_paths
from kernlab.reports.recording.major_faults import major_faults
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.symbolize import UserSymbolizer
from kernlab.reports.recording.syscall_args import ArgFormatter, StringMatcher
from kernlab.reports.recording.syscall_calls import syscall_records
from kernlab.reports.recording.tasks import Tasks, read_tasks

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "ParquetExport",
    "arrow_tables",
    "build",
    "damage_summary",
    "schemas",
]

SCHEMA_VERSION = 1
"""Raised whenever a column changes meaning or type, or is removed (adding one is compatible)."""

TABLES = ("syscalls", "faults", "sched", "tasks", "functions", "kernel_paths")

CAUSE_NO_VMA = "faults.cause.no_vma"
CAUSE_STACK = "faults.cause.stack_growth"

SCHED_EVENTS = {
    "sched:sched_switch": "switch",
    "sched:sched_wakeup": "wakeup",
    "sched:sched_wakeup_new": "wakeup_new",
    "sched:sched_process_fork": "fork",
    "sched:sched_process_exec": "exec",
    "sched:sched_process_exit": "exit",
}


@dataclass(frozen=True)
class ParquetExport:
    """What ``dump --parquet`` wrote: where, which recording, and each table's rows."""

    directory: str
    recording: str
    recording_id: str
    host: str | None
    kernel_release: str
    schema_version: int
    tables: list[WrittenTable]
    completeness: Completeness | None = None
    """Whether the recording exported was complete (cut short: why, and the span)."""
    damage: list[FileDamage] = field(default_factory=list)
    """Raw files that could not be read whole (their unreadable pages are not in the tables)."""

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def schemas() -> dict[str, Any]:
    """Table name -> its pyarrow schema (the common columns first)."""
    pa = import_pyarrow()
    i16, i32, i64, u64, f64, s, b = (
        pa.int16(),
        pa.int32(),
        pa.int64(),
        pa.uint64(),
        pa.float64(),
        pa.string(),
        pa.bool_(),
    )
    common = [
        ("schema_version", i16),
        ("recording_id", s),
        ("host", s),
        ("kernel_release", s),
        ("machine", s),
    ]
    timed = [("ts_ns", i64), ("time_s", f64), ("cpu", i32), ("tid", i32), ("pid", i32), ("comm", s)]
    columns: dict[str, list[tuple[str, Any]]] = {
        "syscalls": [
            *timed,
            ("nr", i32),
            ("name", s),
            *((f"arg{i}", u64) for i in range(6)),
            ("args", s),
            ("ret", i64),
            ("errno", s),
            ("exit_ts_ns", i64),
            ("duration_ns", i64),
            ("returned", b),
        ],
        "faults": [
            *timed,
            ("mode", s),
            ("address", u64),
            ("ip", u64),
            ("error_code", u64),
            ("flags", s),
            ("present", b),
            ("write", b),
            ("user", b),
            ("instruction", b),
            ("vma_kind", s),
            ("vma", s),
            ("perms", s),
            ("location", s),
            ("cause", s),
            ("major", b),
        ],
        "sched": [
            *timed,
            ("event", s),
            ("target_pid", i32),
            ("target_comm", s),
            ("prio", i32),
            ("target_cpu", i32),
            ("prev_pid", i32),
            ("prev_comm", s),
            ("prev_prio", i32),
            ("prev_state", i64),
            ("next_pid", i32),
            ("next_comm", s),
            ("next_prio", i32),
            ("parent_pid", i32),
            ("filename", s),
        ],
        "tasks": [("tid", i32), ("pid", i32), ("ppid", i32), ("comm", s), ("process", b)],
        "functions": [
            *timed,
            ("node_id", i64),
            ("parent_id", i64),
            ("depth", i32),
            ("kind", s),
            ("name", s),
            ("library", s),
            ("duration_ns", i64),
            ("exit_ts_ns", i64),
            ("args", s),
            ("ret", i64),
        ],
        "kernel_paths": [
            ("ts_ns", i64),
            ("tid", i32),
            ("origin", s),
            ("origin_ts_ns", i64),
            ("node_id", i64),
            ("parent_id", i64),
            ("depth", i32),
            ("name", s),
            ("source", s),
            ("hits", i64),
            ("events", pa.list_(s)),
        ],
    }
    return {name: pa.schema(common + cols) for name, cols in columns.items()}


class _Columns:
    """Parallel lists, one per column, filled a row at a time or a column at a time."""

    def __init__(self, names: list[str]) -> None:
        self.data: dict[str, list[Any]] = {n: [] for n in names}

    def add(self, **values: Any) -> None:
        for name, column in self.data.items():
            column.append(values.get(name))

    def __len__(self) -> int:
        return len(next(iter(self.data.values()), []))


def _batch(schema: Any, common: dict[str, Any], data: dict[str, list[Any]], rows: int) -> Any:
    """One record batch of ``schema``: the common columns repeated, the others from ``data``."""
    pa = import_pyarrow()
    arrays = []
    for f in schema:
        if f.name in common:
            arrays.append(pa.repeat(pa.scalar(common[f.name], f.type), rows))
        else:
            column = data.get(f.name)
            arrays.append(pa.array(column if column is not None else [None] * rows, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _syscalls(rec: Recording, tasks: Tasks, start: int) -> dict[str, list[Any]]:
    """Each call as ``kernlab syscalls`` pairs it; ``returned`` as ``kernlab report`` counts it.

    Pairing follows syscall_calls.iter_calls; ``returned`` follows syscall_stats: a call whose
    return is a kernel restart code (-ERESTARTSYS ...) counts as returned only when its thread
    makes another call afterwards (otherwise the thread died in it: strace sees no return).
    """
    names = syscall_namer(rec.meta.machine)
    execs = exec_numbers(names)
    fmt = ArgFormatter(rec, rec.meta.machine or "x86_64")
    matcher = StringMatcher(
        read_path_strings(rec.root), rec.meta.start_time_ns, rec.meta.end_time_ns, rec.meta.machine
    )
    # One row per call: [ts, exit_ts, cpu, tid, nr, args, ret, returned]
    rows: list[list[Any]] = []
    pending: dict[int, int] = {}
    held: dict[int, int] = {}  # tid -> row whose restart-code return waits for the thread's next event
    for ts, cpu, kind, pid, nr, extra in syscall_records(rec, with_args=True):
        if pid in held:
            row = held.pop(pid)
            if not (kind == 1 and nr in execs and pid not in pending):
                rows[row][7] = True
        if kind == 0:
            pending[pid] = len(rows)
            rows.append([ts, None, cpu, pid, nr, tuple(extra or ()), None, False])
            continue
        at = pending.pop(pid, None)
        if at is None and nr in execs:  # execve by a non-leader thread (de_thread)
            other = next((p for p, r in pending.items() if rows[r][4] == nr), None)
            at = pending.pop(other) if other is not None else None
        if at is not None and nr == -1:
            nr = rows[at][4]  # rt_sigreturn: orig_ax is -1 at exit
        if at is not None and rows[at][4] == nr:
            rows[at][1] = ts
            rows[at][6] = extra
            if -extra in RESTART_CODES:
                held[rows[at][3]] = at
            else:
                rows[at][7] = True
        else:
            rows.append([None, ts, cpu, pid, nr, (), extra, False])
    rows.sort(key=lambda r: r[0] if r[0] is not None else r[1])
    out = _Columns(
        [
            "ts_ns",
            "time_s",
            "cpu",
            "tid",
            "pid",
            "comm",
            "nr",
            "name",
            *(f"arg{i}" for i in range(6)),
            "args",
            "ret",
            "errno",
            "exit_ts_ns",
            "duration_ns",
            "returned",
        ]
    )
    for enter_ts, exit_ts, cpu, tid, nr, args, ret, returned in rows:
        name = names.get(nr, f"syscall_{nr}")
        wanted = [i for i in fmt.string_args(name) if i < len(args) and args[i]] if args else []
        strings = matcher.take(tid, nr, args) if wanted else None
        ts = enter_ts if enter_ts is not None else exit_ts
        failed = ret is not None and -MAX_ERRNO <= ret < 0
        out.add(
            ts_ns=ts,
            time_s=(ts - start) / 1e9,
            cpu=cpu,
            tid=tid,
            pid=tasks.process_of(tid),
            comm=tasks.name(tid),
            nr=nr,
            name=name,
            **{f"arg{i}": v for i, v in enumerate(args)},
            args=fmt.format_args(name, args, strings) if args else None,
            ret=ret,
            errno=errno_name(-ret) if failed else None,
            exit_ts_ns=exit_ts,
            duration_ns=exit_ts - enter_ts if enter_ts is not None and exit_ts is not None else None,
            returned=returned,
        )
    return out.data


def _fault_events(
    rec: Recording,
) -> tuple[list[int], list[int], list[int], list[int], list[int], list[int], list[bool]]:
    """(ts, cpu, tid, address, ip, error_code, kernel_mode) columns of every fault from execve
    on, in time order (as fault_events.fault_records orders them), without an object per fault."""
    pa = import_pyarrow()
    parts: dict[str, list[Any]] = {k: [] for k in ("ts", "cpu", "tid", "address", "ip", "code", "kernel")}
    for name, kernel_mode in ((USER, False), (KERNEL, True)):
        fmt = rec.by_name.get(name)
        if fmt is None:
            continue
        layout = fmt.unpacker(["common_pid", "address", "ip", "error_code"])
        unpack, size = layout.unpack_from, layout.size
        for cpu in rec.cpu_events():
            raw, offsets, lengths = cpu.raw, cpu.offsets_for({fmt.id}), cpu.lengths
            stamps = cpu.stamps_for({fmt.id})
            picks = [i for i in cpu.indices_of({fmt.id}) if lengths[i] >= size]
            values = [unpack(raw, offsets[i]) for i in picks]
            parts["ts"] += [stamps[i] for i in picks]
            parts["cpu"] += [cpu.cpu] * len(picks)
            parts["kernel"] += [kernel_mode] * len(picks)
            for key, column in zip(("tid", "address", "ip", "code"), zip(*values, strict=True), strict=False):
                parts[key] += column
    table = pa.table(
        {
            "ts": pa.array(parts["ts"], pa.int64()),
            "cpu": pa.array(parts["cpu"], pa.int32()),
            "tid": pa.array(parts["tid"], pa.int32()),
            "address": pa.array(parts["address"], pa.uint64()),
            "ip": pa.array(parts["ip"], pa.uint64()),
            "code": pa.array(parts["code"], pa.uint64()),
            "kernel": pa.array(parts["kernel"], pa.bool_()),
        }
    )
    start = rec.command_start_ts
    if start:
        table = table.filter(pa.compute.greater_equal(table["ts"], start))
    table = table.sort_by([("ts", "ascending"), ("cpu", "ascending")])
    cols = [table[k].to_pylist() for k in ("ts", "cpu", "tid", "address", "ip", "code", "kernel")]
    return cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]


def _faults(rec: Recording, tasks: Tasks, start: int) -> dict[str, list[Any]]:
    """The columns `kernlab faults` shows, for every fault (the same placing as reports/faults)."""
    import pyarrow.compute  # noqa: F401  (fault columns filter with it)

    ts_col, cpu_col, tid_col, addr_col, ip_col, code_col, kernel_col = _fault_events(rec)
    arch = rec.meta.machine or "x86_64"
    spaces = address_spaces(rec, tasks)
    maps = TimelineMaps(rec, tasks, spaces)
    users = UserSymbolizer(maps)
    ksyms = KernelSymbols(rec.kallsyms_path)
    majors = major_faults(rec, maps, spaces)
    codes: dict[int, FaultCode | None] = {c: decode_code(c, arch) for c in set(code_col)}
    vmas: dict[tuple[int, str], tuple[str | None, str]] = {}
    where: dict[tuple[bool, int, int], str] = {}
    stack_low: dict[tuple[int, int], int] = {}
    kinds: list[str] = []
    labels: list[str | None] = []
    perms: list[str] = []
    causes: list[str | None] = []
    locations: list[str] = []
    major: list[bool | None] = []
    # First touches come in long runs of one thread, one area, one state of the address space
    # and one error code: such a fault is placed as the one before it, with no lookup.
    same: tuple[int, int, int, int, int, int] | None = None  # tid, times, addresses, code
    placed: tuple[str, str | None, str, str | None] = ("", None, "", None)
    for ts, tid, address, ip, code, kmode in zip(
        ts_col, tid_col, addr_col, ip_col, code_col, kernel_col, strict=True
    ):
        if (
            same is not None
            and tid == same[0]
            and same[1] <= ts < same[2]
            and same[3] <= address < same[4]
            and code == same[5]
        ):
            kinds.append(placed[0])
            labels.append(placed[1])
            perms.append(placed[2])
            causes.append(placed[3])
            place = (kmode, tid, ip)
            text = where.get(place)
            if text is None:
                text = where[place] = (
                    (ksyms.name(ip) or f"{ip:#x}") if kmode else users.locate(tid, ip, with_symbol=True).text
                )
            locations.append(text)
            major.append(None if majors is None or kmode else (ts, tid) in majors)
            continue
        same = None
        found = spaces.area_at(tid, ts, address)
        cause: str | None = None
        label: str | None = None
        perm = ""
        if found is not None:
            area, kind = found
            key = (id(area), kind)
            hit = vmas.get(key)
            if hit is None:
                vma = spaces.as_vma(area, kind)
                hit = vmas[key] = (vma.label, vma.perms)
            label, perm = hit
            decoded = codes[code]
            if decoded is not None:
                cause = fault_cause(
                    present=decoded.present,
                    write=decoded.write,
                    instruction=decoded.instruction,
                    perms=area.perms,
                )
                if cause is None and area.name == "[stack]":
                    tl = spaces.timeline_of(tid)
                    if tl is not None:
                        base = tl.base_of(tl.index_at(ts))
                        low = stack_low.get((tl.pid, base), tl.stack_starts.get(base, area.start))
                        if address < low:
                            cause = CAUSE_STACK
                            stack_low[tl.pid, base] = address & -4096
            tl = spaces.timeline_of(tid)
            if tl is not None and area.name != "[stack]":  # a stack's cause depends on the address
                index = tl.index_at(ts)
                lo = tl.times[index] if index and index < len(tl.times) else -(1 << 63)
                hi = tl.times[index + 1] if index + 1 < len(tl.times) else 1 << 63
                same = (tid, lo, hi, area.start, area.end, code)
        elif spaces.timeline_of(tid) is not None:
            kind = NO_VMA
            cause = CAUSE_NO_VMA
        else:
            old = maps.find(tid, address)
            kind = old.kind if old else "unknown"
            if old is not None:
                label, perm = old.label, old.perms
        place = (kmode, tid, ip)
        text = where.get(place)
        if text is None:
            text = where[place] = (
                (ksyms.name(ip) or f"{ip:#x}") if kmode else users.locate(tid, ip, with_symbol=True).text
            )
        placed = (kind, label, perm, cause)
        kinds.append(kind)
        labels.append(label)
        perms.append(perm)
        causes.append(cause)
        locations.append(text)
        major.append(None if majors is None or kmode else (ts, tid) in majors)

    def bit(attr: str) -> list[bool | None]:
        per_code = {c: (getattr(d, attr) if d is not None else None) for c, d in codes.items()}
        return [per_code[c] for c in code_col]

    flags = {c: ("|".join(d.flags) if d is not None else None) for c, d in codes.items()}
    comms = {t: tasks.name(t) for t in set(tid_col)}
    process = {t: tasks.process_of(t) for t in set(tid_col)}
    return {
        "ts_ns": ts_col,
        "time_s": [(t - start) / 1e9 for t in ts_col],
        "cpu": cpu_col,
        "tid": tid_col,
        "pid": [process[t] for t in tid_col],
        "comm": [comms[t] for t in tid_col],
        "mode": ["kernel" if k else "user" for k in kernel_col],
        "address": addr_col,
        "ip": ip_col,
        "error_code": code_col,
        "flags": [flags[c] for c in code_col],
        "present": bit("present"),
        "write": bit("write"),
        "user": bit("user"),
        "instruction": bit("instruction"),
        "vma_kind": kinds,
        "vma": labels,
        "perms": perms,
        "location": locations,
        "cause": causes,
        "major": major,
    }


def _sched(rec: Recording, tasks: Tasks, start: int) -> dict[str, list[Any]]:
    """Scheduler events from execve on, each with the fields its format has."""
    wanted = {name for name in SCHED_EVENTS if name in rec.by_name}
    out = _Columns([f.name for f in schemas()["sched"] if f.name not in _COMMON])
    if not wanted:
        return out.data
    since = rec.command_start_ts
    for event in rec.iter_events(wanted):
        if since and event.ts < since:
            continue
        f = event.fields
        kind = SCHED_EVENTS[event.name]
        target = f.get("child_pid") if kind == "fork" else f.get("pid")
        out.add(
            ts_ns=event.ts,
            time_s=(event.ts - start) / 1e9,
            cpu=event.cpu,
            tid=event.pid,
            pid=tasks.process_of(event.pid),
            comm=tasks.name(event.pid),
            event=kind,
            target_pid=target,
            target_comm=f.get("child_comm") if kind == "fork" else f.get("comm"),
            prio=f.get("prio"),
            target_cpu=f.get("target_cpu"),
            prev_pid=f.get("prev_pid"),
            prev_comm=f.get("prev_comm"),
            prev_prio=f.get("prev_prio"),
            prev_state=f.get("prev_state"),
            next_pid=f.get("next_pid"),
            next_comm=f.get("next_comm"),
            next_prio=f.get("next_prio"),
            parent_pid=f.get("parent_pid"),
            filename=f.get("filename"),
        )
    return out.data


def _tasks(tasks: Tasks, seen: set[int]) -> dict[str, list[Any]]:
    """The threads of the other tables and the processes the recorder followed, with their
    process, parent and name (saved_cmdlines' other tasks of the machine are left out)."""
    # Tid 0 (a CPU's idle task, in a sched_switch from or to it) only when a table holds it.
    tids = sorted(t for t in seen | tasks.processes | set(tasks.parent) if t > 0 or t in seen)
    return {
        "tid": tids,
        "pid": [tasks.process_of(t) for t in tids],
        "ppid": [tasks.parent.get(t) for t in tids],
        "comm": [tasks.name(t) for t in tids],
        "process": [t in tasks.processes for t in tids],
    }


def _functions(rec: Recording, tasks: Tasks, start: int) -> dict[str, list[Any]]:
    """The call tree of `kernlab replay` (function, system-call, fault and kernel nodes),
    flattened: each node with its parent's id; empty without ``record --functions``.

    Replay's times count from the recording's first record (``start``, the base replay.build
    uses): ``ts_ns`` puts them back on the trace clock of the other tables. ``duration_ns`` is
    replay's (kernlab's ptrace stops left out); ``exit_ts_ns`` is when the call returned."""
    out = _Columns([f.name for f in schemas()["functions"] if f.name not in _COMMON])
    if read_function_table(rec.root) is None:
        return out.data
    from kernlab.reports import replay

    try:
        report = replay.build(rec)
    except KernlabError:
        return out.data
    counter = iter(range(1 << 62))
    for thread in report.threads:
        pid_of = thread.tid

        def walk(
            nodes: list[Any], parent: int | None, depth: int, tid: int = pid_of, comm: str = thread.comm
        ) -> None:
            for node in nodes:
                node_id = next(counter)
                out.add(
                    ts_ns=start + node.time_ns,
                    time_s=node.time_ns / 1e9,
                    tid=tid,
                    pid=tasks.process_of(tid),
                    comm=comm,
                    node_id=node_id,
                    parent_id=parent,
                    depth=depth,
                    kind=node.kind,
                    name=node.name,
                    library=node.library or None,
                    duration_ns=node.duration_ns,
                    exit_ts_ns=(
                        start + node.time_ns + node.duration_ns + node.stopped_ns
                        if node.duration_ns is not None
                        else None
                    ),
                    args=node.args or None,
                    ret=node.ret,
                )
                walk(node.children, node_id, depth + 1)

        walk(thread.calls, None, 0)
    return out.data


def _kernel_paths(rec: Recording) -> dict[str, list[Any]]:
    """The kernel functions below each system call and fault (``record -K``), as tree nodes:
    those of the calls and faults from execve on, the rows of ``syscalls`` and ``faults`` (the
    recorder's child before it, getting ready, is not the command)."""
    out = _Columns([f.name for f in schemas()["kernel_paths"] if f.name not in _COMMON])
    paths = read_kernel_paths(rec)
    if paths is None:
        return out.data
    since = rec.command_start_ts
    counter = iter(range(1 << 62))

    def walk(nodes: list[PathNode], parent: int | None, depth: int, tid: int, origin: str, at: int) -> None:
        for node in nodes:
            node_id = next(counter)
            out.add(
                ts_ns=node.ts,
                tid=tid,
                origin=origin,
                origin_ts_ns=at,
                node_id=node_id,
                parent_id=parent,
                depth=depth,
                name=node.name,
                source=node.source,
                hits=node.hits,
                events=list(node.events),
            )
            walk(node.children, node_id, depth + 1, tid, origin, at)

    for origin, trees in (("syscall", paths.syscalls), ("fault", paths.faults)):
        for (tid, at), nodes in sorted(trees.items()):
            if at >= since:
                walk(nodes, None, 0, tid, origin, at)
    return out.data


_COMMON = frozenset({"schema_version", "recording_id", "host", "kernel_release", "machine"})


def host_of(rec: Recording) -> str | None:
    """The machine's host name, when the recording saved one (meta.json ``host``)."""
    host = getattr(rec.meta, "host", None)
    return host if isinstance(host, str) and host else None


def arrow_tables(rec: Recording) -> Iterator[tuple[str, Any, Any]]:
    """(name, schema, record batch) of every table, built one table at a time."""
    tasks = read_tasks(rec)
    start = first_record_ts(rec)
    common = {
        "schema_version": SCHEMA_VERSION,
        "recording_id": recording_id(rec.root),
        "host": host_of(rec),
        "kernel_release": rec.meta.kernel_release,
        "machine": rec.meta.machine,
    }
    makers = {
        "syscalls": lambda: _syscalls(rec, tasks, start),
        "faults": lambda: _faults(rec, tasks, start),
        "sched": lambda: _sched(rec, tasks, start),
        "functions": lambda: _functions(rec, tasks, start),
        "kernel_paths": lambda: _kernel_paths(rec),
    }
    all_schemas = schemas()
    seen: set[int] = set()
    for name, make in makers.items():
        data = make()
        seen.update(t for t in data["tid"] if t is not None)
        yield name, all_schemas[name], _batch(all_schemas[name], common, data, len(data["tid"]))
    data = _tasks(tasks, seen)
    yield "tasks", all_schemas["tasks"], _batch(all_schemas["tasks"], common, data, len(data["tid"]))


def damage_summary(damage: list[FileDamage]) -> list[dict[str, Any]]:
    """What manifest.json says of each raw file that could not be read whole."""
    return [
        {
            "file": d.file,
            "missing": d.missing,
            "pages": d.pages,
            "damaged_pages": d.damaged_pages,
            "first_damaged_offset": d.damaged_offsets[0] if d.damaged_offsets else None,
            "torn_bytes": d.torn_bytes,
            "unknown_records": d.unknown_records,
            "size": d.size,
        }
        for d in damage
    ]


def build(recording: RecordingSource = DEFAULT_DIR, *, out_dir: Path | str) -> ParquetExport:
    """Write every table of the recording to ``out_dir`` (atomically) and say what went in,
    and whether the recording was complete and whole (the manifest says it too)."""
    rec = as_recording(recording)
    rid = recording_id(rec.root)
    state, damage = rec.completeness(), rec.damage()
    batches = {name: (schema, [batch]) for name, schema, batch in arrow_tables(rec)}
    metadata = {"schema_version": str(SCHEMA_VERSION), "recording_id": rid}
    manifest = {
        "format": "kernlab-parquet",
        "schema_version": SCHEMA_VERSION,
        "recording_id": rid,
        "recording": os.fspath(rec.root.resolve()),
        "host": host_of(rec),
        "kernel_release": rec.meta.kernel_release,
        "machine": rec.meta.machine,
        "command": list(rec.meta.command),
        # A recording cut short or damaged gives tables that hold only what could be read.
        "complete": state.complete,
        "cause": state.cause,
        "damage": damage_summary(damage),
    }
    written = write_tables(Path(out_dir), batches, metadata, manifest)
    return ParquetExport(
        str(out_dir),
        str(rec.root),
        rid,
        host_of(rec),
        rec.meta.kernel_release,
        SCHEMA_VERSION,
        written,
        state,
        damage,
    )
