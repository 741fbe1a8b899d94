"""`kernlab graph FUNC`: the calls below a function merged by call path, as ``uftrace graph`` does.

Built from the call tree ``kernlab replay`` builds (never re-parsed). Each outermost call of
FUNC in any thread — a call of FUNC made inside another call of FUNC belongs to the graph below
it, as uftrace counts it — adds to the graph's root: one call and its time; every call below it
is merged with the calls of the same name under the same parent (the same *path*), adding its
calls, its total time and the time of the calls made inside it (so self = total − children's).
Children keep the order they were first seen in. Each distinct path from a thread's first call
down to FUNC is a *backtrace*, with how many times it was taken and the time spent in FUNC from
it. Without FUNC the whole graph: every thread's calls under the program's name.

Names are those ``kernlab report`` shows: a system call is ``NAME@syscall`` and a kernel
function (``record -K``) ``NAME@kernel``; FUNC without a suffix names the program's function
(or library call), else, when none has that name, a system call or kernel function.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, replace

from kernlab.recording.functions import read_function_table
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.reports import replay
from kernlab.reports.functions import child_time, display_name, split_name
from kernlab.reports.recording.loss import Loss
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.replay import FAULT, FUNCTION, KERNEL, SYSCALL, CallNode

__all__ = ["Backtrace", "BacktraceEntry", "GraphNode", "GraphReport", "build"]


@dataclass(frozen=True)
class GraphNode:
    """One call path: every call of ``name`` under the same path of parents, merged."""

    name: str
    kind: str
    """``function``, ``syscall`` or ``kernel`` (the whole graph's root: ``program``)."""
    calls: int
    total_ns: int | None
    """Sum of the calls' durations; None when none has one (kernel functions seen at tracepoints)."""
    self_ns: int | None
    """total_ns less the time of the calls made directly inside them."""
    children: list[GraphNode] = field(default_factory=list)
    unfinished: int = 0
    """Calls whose end was not recorded: counted, no time."""
    library: str = ""
    """A library call's file ("" for the program's own functions and everything else)."""


@dataclass(frozen=True)
class BacktraceEntry:
    name: str
    kind: str
    address: int | None
    """The function's address in its file (st_value); None for system calls and kernel functions."""


@dataclass(frozen=True)
class Backtrace:
    """One path from a thread's first call down to FUNC (outermost first, FUNC last)."""

    hits: int
    total_ns: int
    functions: list[BacktraceEntry]


@dataclass(frozen=True)
class GraphReport:
    directory: str
    binary: str
    symbol_table: str
    function: str
    """FUNC as asked (``write@syscall`` …), or the program's name for the whole graph."""
    whole: bool
    """No FUNC: every thread's calls under the program (uftrace graph with no function)."""
    session: str
    """The recording's tracefs instance (uftrace prints its session id there)."""
    backtraces: list[Backtrace]
    """uftrace's order: the path seen last first."""
    root: GraphNode | None
    """None when FUNC was never called."""
    threads: int
    """Threads in which FUNC was called (the whole graph: threads with a call)."""
    depth: int | None
    tids: list[int]
    loss: Loss
    kernel_source: str = ""
    """How kernel functions were seen (``tracepoints`` …); "" without ``record -K``."""
    similar: list[str] = field(default_factory=list)
    """When FUNC was never called: recorded names close to it."""
    probed: bool = False
    """FUNC is a function the recording probed (or was seen called): never called is then a fact
    about the run, not a misspelt name."""


class _Acc:
    """A graph node being merged (children in the order first seen)."""

    __slots__ = ("calls", "child", "children", "kind", "library", "name", "time", "timed", "unfinished")

    def __init__(self, kind: str, name: str, library: str = "") -> None:
        self.kind, self.name, self.library = kind, name, library
        self.calls = self.timed = self.unfinished = 0
        self.time = self.child = 0
        self.children: dict[tuple[str, str], _Acc] = {}

    def add_call(self, node: CallNode) -> None:
        self.calls += 1
        if node.duration_ns is None:
            if node.kind != KERNEL:  # a kernel function seen in a stack has no duration at all
                self.unfinished += 1
            return
        self.timed += 1
        self.time += node.duration_ns
        self.child += child_time(node)

    def merge_below(self, node: CallNode, depth: int, limit: int | None) -> None:
        """Add the calls made inside ``node`` (itself counted already) under this path."""
        if limit is not None and depth >= limit:
            return
        for c in node.children:
            if c.kind == FAULT:
                continue  # uftrace's graph has no events; a fault's kernel path is not a call
            key = (c.kind, c.name)
            acc = self.children.get(key)
            if acc is None:
                acc = self.children[key] = _Acc(c.kind, c.name, c.library)
            acc.add_call(c)
            acc.merge_below(c, depth + 1, limit)

    def freeze(self) -> GraphNode:
        timed = self.timed > 0
        return GraphNode(
            name=display_name(self.kind, self.name),
            kind=self.kind,
            calls=self.calls,
            total_ns=self.time if timed else None,
            self_ns=max(self.time - self.child, 0) if timed else None,
            children=[c.freeze() for c in self.children.values()],
            unfinished=self.unfinished,
            library=self.library,
        )


def _matcher(function: str, tree: replay.ReplayReport) -> tuple[str, str] | None:
    """(kind, name) FUNC names in the tree: a suffix picks the kind; a bare name the program's
    function, else a system call or kernel function of that name. None when nothing matches."""
    kind, name = split_name(function)
    seen: set[tuple[str, str]] = set()
    todo = [c for t in tree.threads for c in t.calls]
    while todo:
        node = todo.pop()
        seen.add((node.kind, node.name))
        todo.extend(node.children)
    if kind is not None:
        return (kind, name) if (kind, name) in seen else None
    for k in (FUNCTION, SYSCALL, KERNEL):
        if (k, name) in seen:
            return k, name
    return None


def _all_names(tree: replay.ReplayReport, probed: list[str]) -> list[str]:
    names = set(probed)
    todo = [c for t in tree.threads for c in t.calls]
    while todo:
        node = todo.pop()
        if node.kind != FAULT:
            names.add(display_name(node.kind, node.name))
        todo.extend(node.children)
    return sorted(names)


def build(
    recording: RecordingSource = DEFAULT_DIR,
    function: str | None = None,
    *,
    depth: int | None = None,
    tids: set[int] | None = None,
    kernel: bool = True,
) -> GraphReport:
    """The graph below ``function`` (the whole graph when None), ``depth`` levels below it at
    most, in the threads ``tids`` (all when None); ``kernel``: with the kernel functions (-K)."""
    rec = as_recording(recording)
    tree = replay.build(rec, tids=tids, kernel=kernel)
    table = read_function_table(rec.root)
    addresses: dict[str, int] = {}
    for f in table.functions if table is not None else []:
        addresses.setdefault(f.name, f.address)
    base = GraphReport(
        directory=str(rec.root),
        binary=tree.binary,
        symbol_table=tree.symbol_table,
        function=function or "",
        whole=function is None,
        session=rec.meta.instance or f"pid {rec.meta.root_pid}",
        backtraces=[],
        root=None,
        threads=0,
        depth=depth,
        tids=sorted(tids or []),
        loss=tree.loss,
        kernel_source=tree.kernel_paths.source if tree.kernel_paths is not None else "",
    )
    if function is None:
        return _whole(tree, base)

    target = _matcher(function, tree)
    if target is None:
        probed = [f.name for f in table.functions] if table is not None else []
        names = _all_names(tree, probed)
        similar = [n for n in difflib.get_close_matches(function, names, n=5, cutoff=0.7) if n != function]
        similar += [n for n in names if function in n and n != function and n not in similar][
            : 5 - len(similar)
        ]
        return replace(base, similar=similar, probed=function in probed)

    # Every outermost call of the target, with the path above it, across threads in time order.
    found: list[tuple[int, int, CallNode, tuple[tuple[str, str], ...]]] = []
    for thread in tree.threads:
        todo: list[tuple[CallNode, tuple[tuple[str, str], ...]]] = [(c, ()) for c in reversed(thread.calls)]
        while todo:
            node, path = todo.pop()
            if node.kind == FAULT:
                continue
            key = (node.kind, node.name)
            if key == target:
                found.append((node.time_ns, thread.tid, node, (*path, key)))
                continue  # a call of it inside this one is part of this graph
            todo.extend((c, (*path, key)) for c in reversed(node.children))
    found.sort(key=lambda f: (f[0], f[1]))

    root = _Acc(*target)
    traces: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for _ts, _tid, node, path in found:
        root.add_call(node)
        root.merge_below(node, 0, depth)
        hit = traces.setdefault(path, [0, 0])
        hit[0] += 1
        hit[1] += node.duration_ns or 0
    backtraces = [
        Backtrace(
            hits,
            total,
            [
                BacktraceEntry(display_name(k, n), k, addresses.get(n) if k == FUNCTION else None)
                for k, n in path
            ],
        )
        for path, (hits, total) in reversed(traces.items())  # uftrace lists the newest path first
    ]
    return replace(
        base,
        function=display_name(*target),
        backtraces=backtraces,
        root=root.freeze() if found else None,
        threads=len({tid for _ts, tid, _n, _p in found}),
        probed=True,
    )


def _whole(tree: replay.ReplayReport, base: GraphReport) -> GraphReport:
    """uftrace graph with no function: every thread's first calls under the program's name,
    whose time is theirs added up (its self time 0)."""
    name = os.path.basename(tree.binary) or "program"
    root = _Acc("program", name)
    root.calls = 1
    depth = base.depth
    tops = sorted((c for t in tree.threads for c in t.calls if c.kind != FAULT), key=lambda c: c.time_ns)
    for c in tops:
        key = (c.kind, c.name)
        acc = root.children.get(key)
        if acc is None:
            acc = root.children[key] = _Acc(c.kind, c.name, c.library)
        acc.add_call(c)
        acc.merge_below(c, 1, depth)
    if root.children:
        # uftrace: the root's time is its children's, all of it theirs
        root.time = root.child = sum(a.time for a in root.children.values())
        root.timed = 1
    frozen = root.freeze()
    frozen = GraphNode(name, "program", 1, frozen.total_ns, frozen.self_ns, frozen.children)
    return replace(
        base, function=name, root=frozen if tops else None, threads=len([t for t in tree.threads if t.calls])
    )
