"""Function statistics of a ``record --functions`` recording, as ``uftrace report`` counts them.

Computed from the call tree ``kernlab replay`` builds (one tree per thread, never re-parsed):
per function, the calls, the total time and the self time (total less the time of the calls
made inside it). Like uftrace, a call made inside a call of the same function (recursion) adds
its self time but not its total time again — the outer call's total already holds it — so
``fib``'s total is the time of its outermost calls. System calls made inside the program's
functions and the kernel functions beneath them (``record -K``) are rows too, with their own
kind: the kernel functions seen in stacks taken at tracepoints have no durations, only calls
(those function_graph traced have theirs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from kernlab.errors import BadInput
from kernlab.reports.replay import FAULT, FUNCTION, KERNEL, SYSCALL, CallNode, ReplayReport

__all__ = [
    "DEFAULT_SORT",
    "KIND_SUFFIX",
    "SORT_KEYS",
    "FunctionRow",
    "FunctionStatistics",
    "display_name",
    "function_statistics",
    "parse_sort",
    "sort_rows",
    "split_name",
]

SORT_KEYS = (
    "total",
    "total_avg",
    "total_min",
    "total_max",
    "self",
    "self_avg",
    "self_min",
    "self_max",
    "call",
    "func",
)
"""uftrace report's ``-s`` keys (its ``size`` aside: a function's size is not a time)."""

DEFAULT_SORT = ("total",)


@dataclass(frozen=True)
class FunctionRow:
    """One function (or system call, or kernel function) over every thread."""

    name: str
    kind: str
    """``function`` (the program's own, or a library call), ``syscall`` or ``kernel``."""
    calls: int
    total_ns: int | None
    """Sum of the calls' durations, recursive calls not counted again (uftrace's total); None
    when no call of it has a duration (kernel functions seen at tracepoints)."""
    self_ns: int | None
    """Sum of each call's duration less its children's."""
    recursive_ns: int = 0
    """Duration of the calls made inside a call of the same function (inside ``total_ns`` already)."""
    total_min_ns: int | None = None
    total_max_ns: int | None = None
    self_min_ns: int | None = None
    self_max_ns: int | None = None
    timed: int = 0
    """Calls with a recorded duration."""
    unfinished: int = 0
    """Calls whose end was not recorded: counted, no time."""
    library: str = ""
    """A library call's file ("" for the program's own functions)."""

    @property
    def total_avg_ns(self) -> int | None:
        """uftrace's average: every timed call's duration, recursive ones included."""
        if self.total_ns is None or not self.timed:
            return None
        return (self.total_ns + self.recursive_ns) // self.timed

    @property
    def self_avg_ns(self) -> int | None:
        return None if self.self_ns is None or not self.timed else self.self_ns // self.timed


@dataclass(frozen=True)
class FunctionStatistics:
    """``uftrace report``'s table of a recording, rows in the order of ``sort``."""

    binary: str
    symbol_table: str
    sort: list[str]
    rows: list[FunctionRow]
    function_calls: int
    """Calls of functions (the program's and library calls) in the rows."""
    syscalls: int
    kernel_functions: int
    unfinished: int
    """Calls with no recorded end (functions and system calls)."""
    threads: int
    functions_probed: int
    kernel_source: str = ""
    """How the kernel functions were seen (``tracepoints`` …), "" without ``record -K``."""


def parse_sort(text: str | Iterable[str] | None) -> list[str]:
    """``-s total,self`` as uftrace takes it (``-`` in a key read as ``_``)."""
    if text is None:
        return list(DEFAULT_SORT)
    parts = text.split(",") if isinstance(text, str) else list(text)
    keys = [p.strip().replace("-", "_") for p in parts if p.strip()]
    bad = [k for k in keys if k not in SORT_KEYS]
    if bad or not keys:
        raise BadInput(
            f"-s {','.join(parts)}: sort keys are {', '.join(SORT_KEYS)} (comma-separated)",
            key="errors.report.sort_keys",
            fields={"value": ",".join(parts), "choices": ", ".join(SORT_KEYS)},
        )
    return keys


def _key_value(row: FunctionRow, key: str) -> int:
    value: int | None = {
        "total": row.total_ns,
        "total_avg": row.total_avg_ns,
        "total_min": row.total_min_ns,
        "total_max": row.total_max_ns,
        "self": row.self_ns,
        "self_avg": row.self_avg_ns,
        "self_min": row.self_min_ns,
        "self_max": row.self_max_ns,
        "call": row.calls,
    }[key]
    return value or 0


def sort_rows(rows: Iterable[FunctionRow], keys: list[str]) -> list[FunctionRow]:
    """uftrace's order: each key from the largest down (``func``: names A to Z), ties by name."""

    def order(row: FunctionRow) -> tuple[object, ...]:
        return tuple(row.name if k == "func" else -_key_value(row, k) for k in keys)

    return sorted(sorted(rows, key=lambda r: (r.name, r.kind)), key=order)


class _Acc:
    __slots__ = (
        "calls", "library", "rec", "self_", "self_max", "self_min",
        "timed", "tmax", "tmin", "total", "unfinished",
    )  # fmt: skip

    def __init__(self, library: str) -> None:
        self.library = library
        self.calls = self.timed = self.unfinished = 0
        self.total = self.rec = self.self_ = 0
        self.tmin: int | None = None
        self.tmax: int | None = None
        self.self_min: int | None = None
        self.self_max: int | None = None

    def add(self, duration: int | None, children: int, recursive: bool) -> None:
        self.calls += 1
        if duration is None:
            self.unfinished += 1
            return
        self.timed += 1
        own = max(duration - children, 0)  # probe clocks of two CPUs can disagree by a little
        if recursive:
            self.rec += duration
        else:
            self.total += duration
        self.self_ += own
        self.tmin = duration if self.tmin is None else min(self.tmin, duration)
        self.tmax = duration if self.tmax is None else max(self.tmax, duration)
        self.self_min = own if self.self_min is None else min(self.self_min, own)
        self.self_max = own if self.self_max is None else max(self.self_max, own)


def child_time(node: CallNode) -> int:
    """The time of the calls made directly inside ``node`` (those with a recorded duration)."""
    return sum(c.duration_ns for c in node.children if c.kind != FAULT and c.duration_ns is not None)


def function_statistics(replay: ReplayReport, sort: list[str] | None = None) -> FunctionStatistics:
    """Per-function calls, total and self time over every thread of the replay tree."""
    accs: dict[tuple[str, str], _Acc] = {}
    kinds = {FUNCTION: 0, SYSCALL: 0, KERNEL: 0, "unfinished": 0}
    for thread in replay.threads:
        # Depth-first with a count of the calls open above (a recursive call is one whose key is
        # open); iterative, so a deep recursion cannot hit Python's limit. None marks a return.
        open_keys: Counter[tuple[str, str]] = Counter()
        todo: list[tuple[CallNode, tuple[str, str] | None]] = [(c, None) for c in reversed(thread.calls)]
        while todo:
            node, leaving = todo.pop()
            if leaving is not None:
                open_keys[leaving] -= 1
                continue
            if node.kind == FAULT:
                todo.extend((c, None) for c in reversed(node.children))
                continue
            key = (node.kind, node.name)
            acc = accs.get(key)
            if acc is None:
                acc = accs[key] = _Acc(node.library)
            if node.kind == KERNEL and node.duration_ns is None:
                acc.calls += 1  # seen in a stack taken at a tracepoint: no duration of its own
            else:
                acc.add(node.duration_ns, child_time(node), open_keys[key] > 0)
                if node.duration_ns is None:
                    kinds["unfinished"] += 1
            kinds[node.kind] += 1
            if node.children:
                open_keys[key] += 1
                todo.append((node, key))
                todo.extend((c, None) for c in reversed(node.children))
    rows = [
        FunctionRow(
            name=name,
            kind=kind,
            calls=a.calls,
            total_ns=a.total if a.timed else None,
            self_ns=a.self_ if a.timed else None,
            recursive_ns=a.rec,
            total_min_ns=a.tmin,
            total_max_ns=a.tmax,
            self_min_ns=a.self_min,
            self_max_ns=a.self_max,
            timed=a.timed,
            unfinished=a.unfinished,
            library=a.library,
        )
        for (kind, name), a in accs.items()
    ]
    keys = list(sort or DEFAULT_SORT)
    return FunctionStatistics(
        binary=replay.binary,
        symbol_table=replay.symbol_table,
        sort=keys,
        rows=sort_rows(rows, keys),
        function_calls=kinds[FUNCTION],
        syscalls=kinds[SYSCALL],
        kernel_functions=kinds[KERNEL],
        unfinished=kinds["unfinished"],
        threads=len(replay.threads),
        functions_probed=replay.functions_probed,
        kernel_source=replay.kernel_paths.source if replay.kernel_paths is not None else "",
    )


KIND_SUFFIX = {SYSCALL: "@syscall", KERNEL: "@kernel"}
"""How a system call's and a kernel function's rows are named (uftrace's ``NAME@kernel``): apart
from the program's function or library call of the same name (``write`` and ``write@syscall``)."""


def display_name(kind: str, name: str) -> str:
    """The name a row or graph node is shown and asked for by: ``write@syscall``, ``vfs_read@kernel``."""
    return name + KIND_SUFFIX.get(kind, "")


def split_name(text: str) -> tuple[str | None, str]:
    """(kind, name) of a name as :func:`display_name` writes it; kind None when it has no suffix."""
    for kind, suffix in KIND_SUFFIX.items():
        if text.endswith(suffix) and len(text) > len(suffix):
            return kind, text[: -len(suffix)]
    return None, text
