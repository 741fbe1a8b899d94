"""The replay tree of each thread as a time-ordered stream of slice begins, ends and instants.

Chrome's JSON and Perfetto's protobuf are both made from this stream, so both hold the same
slices at the same times. Per thread the stream nests by construction: a slice begins no earlier
than its previous sibling ended (a start before that, which the tree should never hold, is moved
to it and counted) and ends no earlier than what is inside it.

- Functions and system calls are slices from their start to their end (see :func:`marks`). A
  call whose end was not recorded (the program exited inside it, or a ``longjmp`` left it) ends
  where the last thing inside it ended (its start when nothing is inside): ``unfinished``.
- Kernel functions (``record -K``) seen in stacks have no duration (a stack says who called, not
  for how long): each such kernel path is a stack of **zero-length slices** at the time its first
  function was first seen, nested as the path nests, each saying ``first_seen_ns``, the time it
  was first seen. Kernel functions that function_graph traced have durations: ordinary slices.
- Page faults are **instants**; the kernel path beneath a fault follows it at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from kernlab.proc.maps import Vma
from kernlab.recording.reader import Recording
from kernlab.reports.recording.symbolize import ProcessMaps
from kernlab.reports.recording.tasks import Tasks
from kernlab.reports.replay import FAULT, FUNCTION, KERNEL, SYSCALL, CallNode, ReplayReport

__all__ = ["BEGIN", "END", "INSTANT", "Mark", "Thread", "Timeline", "call_args", "fault_args", "marks"]

BEGIN, END, INSTANT = "B", "E", "i"

CATEGORY = {FUNCTION: "function", SYSCALL: "syscall", KERNEL: "kernel", FAULT: "fault"}
"""The category each kind of node gets in the exports (a library call is ``library``)."""


@dataclass(frozen=True)
class Mark:
    phase: str
    """``B`` (a slice begins), ``E`` (the innermost open slice ends) or ``i`` (an instant)."""
    node: CallNode
    ts_ns: int
    """ns after the recording's first record."""
    unfinished: bool = False
    """On ``E``: the call's end was not recorded; the slice ends where its content ended."""
    duration_ns: int | None = None
    """On ``E``: the call's duration when the slice is longer (it covers kernlab's ptrace stops)."""


@dataclass(frozen=True)
class Thread:
    tid: int
    pid: int
    comm: str
    process_comm: str


@dataclass
class Timeline:
    """Counts kept while the stream is made (the export's figures)."""

    slices: int = 0
    kernel_slices: int = 0
    instants: int = 0
    unfinished: int = 0
    moved: int = 0
    """Time stamps moved to keep slices nested (0 on a sound recording)."""
    threads: list[Thread] = field(default_factory=list)


def threads_of(report: ReplayReport, tasks: Tasks) -> list[Thread]:
    out = []
    for t in report.threads:
        pid = tasks.process_of(t.tid)
        out.append(Thread(t.tid, pid, t.comm, tasks.name(pid) or t.comm))
    return out


def category(node: CallNode) -> str:
    return "library" if node.kind == FUNCTION and node.library else CATEGORY.get(node.kind, node.kind)


class _Open:
    __slots__ = ("duration", "end", "hi", "kids", "last", "node")

    def __init__(
        self,
        node: CallNode | None,
        begin: int,
        end: int | None,
        hi: int,
        kids: list[CallNode],
        duration: int | None = None,
    ) -> None:
        self.node = node
        self.duration = duration
        """The open slice; None for the thread itself and for a fault (an instant: nothing to end)."""
        self.end = end
        self.hi = hi
        self.last = begin
        """The latest time reached inside: the next child begins no earlier."""
        self.kids = iter(kids)


_NEVER = 1 << 62


def marks(calls: list[CallNode], tally: Timeline) -> Iterator[Mark]:
    """One thread's tree as begins, ends and instants, in time order, properly nested.

    A slice ends at its start plus its duration and kernlab's own ptrace stops inside it (a fork
    or clone; the duration leaves them out, the times do not), or later when what is inside it
    ends later; its end then says the call's own duration. Iterative (a deep recursion in the
    program makes a deep tree)."""
    stack = [_Open(None, 0, None, _NEVER, calls)]
    while stack:
        top = stack[-1]
        child = next(top.kids, None)
        if child is None:
            stack.pop()
            if not stack:
                continue
            end = min(max(top.end, top.last) if top.end is not None else top.last, top.hi)
            stack[-1].last = max(stack[-1].last, end)
            if top.node is not None:
                if top.end is None:
                    tally.unfinished += 1
                stopped = top.node.stopped_ns
                longer = top.duration if top.end is not None and (end > top.end or stopped) else None
                yield Mark(END, top.node, end, top.end is None, longer)
            continue
        at = _bounded(child.time_ns, top.last, top.hi, tally)
        if child.kind == KERNEL and child.duration_ns is None:
            yield from _zero_length(child, at, tally)
            top.last = at
        elif child.kind == FAULT:
            tally.instants += 1
            yield Mark(INSTANT, child, at)
            # The kernel path beneath it (zero-length, or timed where function_graph traced it).
            stack.append(_Open(None, at, None, top.hi, child.children))
        else:
            until: int | None = None
            if child.duration_ns is not None:
                until = _bounded(child.time_ns + child.duration_ns + child.stopped_ns, at, top.hi, tally)
            tally.slices += 1
            if child.kind == KERNEL:
                tally.kernel_slices += 1
            yield Mark(BEGIN, child, at)
            stack.append(_Open(child, at, until, top.hi, child.children, child.duration_ns))


def _bounded(ts: int, lo: int, hi: int, tally: Timeline) -> int:
    if ts < lo:
        tally.moved += 1
        return lo
    if ts > hi:
        tally.moved += 1
        return hi
    return ts


def _zero_length(root: CallNode, at: int, tally: Timeline) -> Iterator[Mark]:
    """A kernel path as nested zero-length slices at ``at`` (depth-first, iterative)."""
    todo: list[tuple[CallNode, bool]] = [(root, False)]
    while todo:
        node, done = todo.pop()
        if done:
            yield Mark(END, node, at)
            continue
        tally.slices += 1
        tally.kernel_slices += 1
        yield Mark(BEGIN, node, at)
        todo.append((node, True))
        todo.extend((c, False) for c in reversed(node.children))


def call_args(node: CallNode) -> dict[str, str | int]:
    """What a slice says about its call: arguments and return value, how a kernel function was seen."""
    out: dict[str, str | int] = {}
    if node.kind == KERNEL:
        out["source"] = node.source
        if node.duration_ns is None:
            out["first_seen_ns"] = node.time_ns
        return out
    if node.library:
        out["library"] = node.library
    if node.args:
        out["args"] = node.args
    if node.ret is not None:
        out["ret"] = node.ret
    if node.errno:
        out["errno"] = node.errno
    return out


class FaultPlaces:
    """The area each fault's address lies in, from the recording's maps snapshots."""

    def __init__(self, rec: Recording, tasks: Tasks) -> None:
        self._maps = ProcessMaps(rec, tasks.parent)

    def vma(self, pid: int, address: int) -> Vma | None:
        for layer in self._maps.vmas_for(pid):
            for v in layer:
                if v.start <= address < v.end:
                    return v
        return None


def fault_args(node: CallNode, vma: Vma | None) -> dict[str, str | int]:
    """A fault's address, instruction, error code (bits and their names) and area."""
    out: dict[str, str | int] = {"address": f"{node.address:#x}", "ip": f"{node.ip:#x}"}
    code = node.fault_code
    if code is not None:
        out["error_code"] = f"{code.code:#x}"
        out["flags"] = ",".join(code.flags)
        out["access"] = "write" if code.write else "instruction" if code.instruction else "read"
        out["page"] = "present" if code.present else "not-present"
    if vma is not None:
        out["vma"] = f"{vma.start:#x}-{vma.end:#x} {vma.perms}"
        out["vma_kind"] = vma.kind
        if vma.name:
            out["vma_name"] = vma.name
    return out
