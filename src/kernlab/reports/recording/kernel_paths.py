"""The kernel paths of a ``record -K DEPTH`` recording, as one tree per system call and fault.

Source ``tracepoints`` (recording/kernel_paths.py): each chosen tracepoint recorded a kernel
stack (an ``ftrace:kernel_stack`` record right after it, same CPU, same task). A stack belongs to

- a **page fault** when it holds the fault's entry (``asm_exc_page_fault`` on x86; the C entry
  ``exc_page_fault``/``do_page_fault``/``do_mem_abort`` elsewhere): the last fault event of the
  same thread at or before it. Its frames below the entry (``exc_page_fault → handle_mm_fault →
  … → filemap_fault``) make the fault's tree. A fault taken in kernel mode inside a system call
  also gives its frames *above* the entry (the code that touched user memory) to the call's tree;
- a **system call** otherwise, when it was taken between the call's ``sys_enter`` and
  ``sys_exit`` on the same thread. Its tree starts at the call's own function
  (``__x64_sys_renameat2``; on other arches ``__arm64_sys_…`` and the like): the entry code
  around it (``entry_SYSCALL_64``, ``do_syscall_64``, the ``x64_sys_call`` dispatcher) is left out.

Stacks taken in interrupt context (the event's ``common_flags`` say hard or soft IRQ or NMI) are
the interrupt's work, not the call's, and are left out (counted), as uftrace's users leave out
``smp_apic_timer_interrupt``. Stacks are merged in time order, each into the last child of the
same name (a common prefix), and cut ``DEPTH`` functions below the system call or fault. No node
has a duration: a stack says who called, not for how long.

Source ``function_graph``: ``ftrace:funcgraph_entry``/``funcgraph_exit`` records (from the
instance's pages, or the top level's kept in ``cpus/function_graph``), per thread in time order,
make one tree per graph: an entry at depth *d* opens a call under the open call at depth *d-1*,
the exit at depth *d* closes it with ``rettime - calltime`` as its duration (a call whose exit
was lost has none). Each graph starts at a system call's own function (placed under the call the
thread was inside) or at ``handle_mm_fault`` (placed under the thread's last fault at or before
it, or under the open call). An interrupt's work is left out (counted): records in interrupt
context, the call it entered through (``irq_enter_rcu``: in before, out inside) and its tail
with interrupts still off (``tick_irq_exit`` → ``idle_cpu``).

Source ``sampled``: the cpu-clock samples of the traced tasks (``cpus/sampled/cpu<N>.raw``,
tracing/perf_events.py), each a call chain taken where the task was when the timer fired. A
sample whose kernel chain is empty was taken in user mode (counted, nothing to place). The
others are placed by the rules of the stacks above (fault entry, else between the thread's
``sys_enter`` and ``sys_exit``; cut at the system call's own function, or below the entry code
where the call's function is inlined, as ``do_syscall_64 → ksys_read`` on 6.18). A chain that
passes through an interrupt's entry (``asm_sysvec_*``, ``asm_common_interrupt``, softirq
processing) is the interrupt's time, not the call's: left out and counted. A sample is a
*time-weighted* path: each node it passes through gets one more ``samples`` and the sample's
period (ns of CPU time) in ``sampled_ns``.

Both at once (``record -K`` with tracepoints and samples): stacks and samples of one call are
merged in time order into one tree by the same rule (a frame joins the last child of the same
name), so a function both saw is one node. A node's ``source`` is the source that saw it
*first*; ``hits`` counts the stacks and samples through it, ``samples`` the samples among them.
With function_graph (every call seen, with its duration) samples are counted, not merged.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.kernel_paths import (
    SOURCE_FUNCTION_GRAPH,
    SOURCE_SAMPLED,
    SOURCE_TRACEPOINTS,
    KernelPathSettings,
    graph_raw_dir,
    read_settings,
    sampled_dir,
)
from kernlab.recording.reader import Recording, read_regular
from kernlab.reports.recording.kstacks import KERNEL_STACK, chain_names, stack_owner
from kernlab.tracing.formats import EventFormat
from kernlab.tracing.function_graph import FAULT_FUNCTION
from kernlab.tracing.perf_events import (
    CALIBRATION_FILE,
    CALIBRATION_TYPE,
    SAMPLE_TYPE,
    RecordCounts,
    offset_of,
    parse_records,
    split_chain,
)
from kernlab.tracing.ringbuf import CpuEvents, decode_pages

__all__ = [
    "GRAPH_ENTRY",
    "GRAPH_EXIT",
    "GraphRecord",
    "KernelPaths",
    "PathNode",
    "PathSummary",
    "SampleSet",
    "fault_path",
    "graph_records",
    "graph_trees",
    "merge",
    "merge_seen",
    "read_kernel_paths",
    "read_samples",
    "syscall_path",
    "without_interrupts",
]

SYS_ENTER = "raw_syscalls:sys_enter"
SYS_EXIT = "raw_syscalls:sys_exit"
FAULT_EVENTS = ("exceptions:page_fault_user", "exceptions:page_fault_kernel")
GRAPH_ENTRY = "ftrace:funcgraph_entry"
GRAPH_EXIT = "ftrace:funcgraph_exit"

# trace_flag_type (include/linux/trace_events.h): stable values since 2.6.
_IN_INTERRUPT = 0x08 | 0x10 | 0x40  # HARDIRQ | SOFTIRQ | NMI
_IRQS_OFF = 0x01

_FAULT_ASM = frozenset({"asm_exc_page_fault", "page_fault", "async_page_fault"})
"""The assembly entry of a page fault (x86): the fault's tree starts below it."""
_FAULT_C = frozenset({"exc_page_fault", "do_page_fault", "do_mem_abort"})
"""A fault's C entry, where no assembly frame is named (arm64 and older kernels)."""
_SYSCALL_FUNCTION = re.compile(
    r"^(?:__(?:x64|x32|ia32|arm64|riscv|s390x?|powerpc|ppc)_)?(?:__se_|__do_)?sys_\w"
)
"""A system call's own function, e.g. ``__x64_sys_renameat2`` (or ``sys_read`` on old kernels)."""
_SYSCALL_ENTRY = re.compile(
    r"^(?:entry_\w+|do_syscall_\w+|x64_sys_call|x32_sys_call|ia32_sys_call|__do_fast_syscall_32"
    r"|do_fast_syscall_32|do_int80_syscall_32|do_int80_emulation|el0t_\w+|el0_svc\w*|do_el0_svc\w*"
    r"|el0_svc_common\S*|invoke_syscall\S*|handle_exception|do_trap_ecall_u)$"
)
"""Entry code around every system call (x86-64, x86-32 emulation, arm64, riscv)."""
_INTERRUPT_ENTRY = re.compile(
    r"^(?:asm_sysvec_\w+|sysvec_\w+|asm_common_interrupt|common_interrupt|asm_exc_nmi|exc_nmi"
    r"|handle_softirqs|__do_softirq|do_softirq\w*|__irq_exit_rcu|irq_exit_rcu|el1_interrupt|gic_handle_irq)$"
)
"""Frames that say a sample was taken in an interrupt's (or softirq's) work."""


@dataclass(frozen=True)
class PathNode:
    """One kernel function on the path below a system call or fault."""

    name: str
    source: str
    """How it was seen (recording/kernel_paths.py SOURCES): ``tracepoints`` or ``function_graph``."""
    ts: int
    """Trace-clock time of the first stack that passed through it (``function_graph``: its entry)."""
    hits: int
    """Stacks that passed through it (``function_graph``: 1, one call)."""
    children: list[PathNode] = field(default_factory=list)
    duration_ns: int | None = None
    """``function_graph``: exit minus entry as the tracer measured it; None for stacks, or when
    the exit was not recorded."""
    samples: int = 0
    """cpu-clock samples taken in it or below it (source ``sampled``; counted in ``hits`` too)."""
    sampled_ns: int = 0
    """The CPU time those samples stand for: the sum of their periods."""
    events: tuple[str, ...] = ()
    """The tracepoints (``system:event``) whose stacks passed through it, first seen first:
    why a function is on the path (``d_alloc`` under a rename is there when a page was
    allocated below it, ``kmem:mm_page_alloc``). Empty for function_graph and samples."""


@dataclass(frozen=True)
class PathSummary:
    """What the kernel paths are made of (for a report's sentences and ``--json``)."""

    source: str
    depth: int
    stacks: int
    """Stacks placed under a system call or fault."""
    in_interrupt: int
    """Stacks taken in interrupt context: left out."""
    unplaced: int
    """Stacks of the traced tasks outside every recorded system call and fault."""
    graph_place: str = ""
    """Where function_graph ran (``instance``, ``top_level``), "" when it did not."""
    graph_why: str = ""
    """Why function_graph ran there or why not (tracing/function_graph.py codes), "" when not tried."""
    graph_errno: str = ""
    """The errno of the refusal behind ``graph_why`` ("" when none)."""
    lost: int = 0
    """function_graph records the top level's buffer lost before they were drained."""
    sources: tuple[str, ...] = ()
    """Every source that ran (``source`` first)."""
    samples: int = 0
    """cpu-clock samples of the traced tasks recorded (0 without sampling)."""
    samples_kernel: int = 0
    """Those taken in the kernel (the others were in user mode)."""
    samples_placed: int = 0
    """Kernel samples placed under a system call or fault."""
    samples_interrupt: int = 0
    """Kernel samples taken in an interrupt's work: left out."""
    samples_lost: int = 0
    """Samples the kernel dropped because a ring was full (``PERF_RECORD_LOST``)."""
    sample_hz: int = 0
    sample_why: str = ""
    """Why sampling did not run where it was tried (recording/kernel_paths.py), "" when it ran."""
    sample_errno: str = ""
    sample_offset_ns: int | None = None
    """perf's clock minus the trace clock as measured (tracing/perf_events.py); None: not measured."""


@dataclass(frozen=True)
class KernelPaths:
    summary: PathSummary
    syscalls: dict[tuple[int, int], list[PathNode]]
    """(tid, sys_enter time stamp) -> the call's tree."""
    faults: dict[tuple[int, int], list[PathNode]]
    """(tid, fault time stamp) -> the fault's tree."""

    def under_syscall(self, tid: int, enter_ts: int) -> list[PathNode]:
        return self.syscalls.get((tid, enter_ts), [])

    def under_fault(self, tid: int, ts: int) -> list[PathNode]:
        return self.faults.get((tid, ts), [])


def syscall_path(frames: list[str]) -> list[str]:
    """The frames (outermost first) from the system call's own function down; [] when the stack
    is not a system call's."""
    for i, name in enumerate(frames):
        if _SYSCALL_FUNCTION.match(name):
            return frames[i:]
    start = 0
    while start < len(frames) and _SYSCALL_ENTRY.match(frames[start]):
        start += 1
    return frames[start:] if start else []


def fault_path(frames: list[str]) -> tuple[list[str], list[str]] | None:
    """(frames above the fault, the fault's own frames from its C entry down), outermost first;
    None when the stack holds no fault entry."""
    asm = [i for i, name in enumerate(frames) if name in _FAULT_ASM]
    if asm:
        return frames[: asm[-1]], frames[asm[-1] + 1 :]
    entry = [i for i, name in enumerate(frames) if name in _FAULT_C]
    if entry:
        return frames[: entry[-1]], frames[entry[-1] :]
    return None


class _Building:
    __slots__ = ("children", "duration", "events", "hits", "name", "sampled_ns", "samples", "source", "ts")

    def __init__(self, name: str, ts: int, source: str = "") -> None:
        self.name, self.ts, self.hits, self.source = name, ts, 0, source
        self.children: list[_Building] = []
        self.duration: int | None = None
        self.samples = self.sampled_ns = 0
        self.events: list[str] = []


def _freeze(node: _Building, source: str) -> PathNode:
    kids = [_freeze(c, source) for c in node.children]
    return PathNode(
        node.name,
        node.source or source,
        node.ts,
        node.hits,
        kids,
        node.duration,
        node.samples,
        node.sampled_ns,
        tuple(node.events),
    )


def merge(paths: Iterable[tuple[int, list[str]]], depth: int, source: str) -> list[PathNode]:
    """(ts, frames outermost first), in time order, merged into a tree ``depth`` deep: each frame
    joins the last child of its parent when that has the same name, else starts a new one."""
    return merge_seen(((ts, frames, source, 0, "") for ts, frames in paths), depth)


def merge_seen(paths: Iterable[tuple[int, list[str], str, int, str]], depth: int) -> list[PathNode]:
    """:func:`merge` of paths from several sources: (ts, frames, source, sample period — 0 for
    a stack, the tracepoint a stack was taken at — "" for a sample). A node keeps the source
    that made it; samples add their count and period, stacks their tracepoint."""
    roots: list[_Building] = []
    for ts, frames, source, period, event in paths:
        level = roots
        for name in frames[:depth]:
            node = level[-1] if level and level[-1].name == name else None
            if node is None:
                node = _Building(name, ts, source)
                level.append(node)
            node.hits += 1
            if source == SOURCE_SAMPLED:
                node.samples += 1
                node.sampled_ns += period
            if event and event not in node.events:
                node.events.append(event)
            level = node.children
    return [_freeze(r, "") for r in roots]


def _byte_order(endian: str) -> Literal["little", "big"]:
    return "little" if endian == "<" else "big"


def _tid_times(rec: Recording, names: Iterable[str]) -> dict[int, list[int]]:
    """Time stamps of the records of ``names``, per thread, ascending."""
    ids = {rec.by_name[n].id for n in names if n in rec.by_name}
    out: dict[int, list[int]] = {}
    if not ids:
        return out
    fmt = rec.formats[next(iter(ids))]
    pid_off, order = fmt.field("common_pid").offset, _byte_order(fmt.endian)
    for cpu in rec.cpu_events():
        raw, offsets, stamps = cpu.raw, cpu.offsets_for(ids), cpu.stamps_for(ids)
        for i in cpu.indices_of(ids):
            tid = int.from_bytes(raw[offsets[i] + pid_off : offsets[i] + pid_off + 4], order, signed=True)
            out.setdefault(tid, []).append(stamps[i])
    for times in out.values():
        times.sort()
    return out


def _stacks(
    rec: Recording, settings: KernelPathSettings, ksyms: KernelSymbols
) -> tuple[list[tuple[int, int, list[str], str]], int]:
    """(ts, tid, frames outermost first, the tracepoint) of each stack of the path events,
    time-sorted; and how many were taken in interrupt context."""
    stack_fmt = rec.by_name.get(KERNEL_STACK)
    event_names = {rec.by_name[e].id: e for e in settings.events if e in rec.by_name}
    ids = set(event_names)
    out: list[tuple[int, int, list[str], str]] = []
    if stack_fmt is None or not ids:
        return out, 0
    pid_off = stack_fmt.field("common_pid").offset
    flags_off = stack_fmt.field("common_flags").offset
    order = _byte_order(stack_fmt.endian)
    named: dict[tuple[int, ...], list[str]] = {}
    in_interrupt = 0
    for cpu in rec.cpu_events():
        types, offsets, raw = cpu.types, cpu.offsets, cpu.raw

        def context(i: int, raw: bytes = raw, offsets: Sequence[int] = offsets) -> int:
            return raw[offsets[i] + flags_off] & _IN_INTERRUPT

        for j in cpu.indices_of({stack_fmt.id}):
            i = stack_owner(types, context, j, stack_fmt.id)
            if i is None or types[i] not in ids:
                continue
            event_at, stack_at = offsets[i], offsets[j]
            if (
                raw[stack_at + pid_off : stack_at + pid_off + 4]
                != raw[event_at + pid_off : event_at + pid_off + 4]
            ):
                continue  # not the same task: the stack is not that event's
            if raw[event_at + flags_off] & _IN_INTERRUPT:
                in_interrupt += 1
                continue
            values = stack_fmt.decode(raw, stack_at, cpu.lengths[j])
            callers = list(values.get("caller") or [])
            size = values.get("size")
            if isinstance(size, int) and size >= 0:
                callers = callers[:size]
            key = tuple(a for a in callers if a)
            names = named.get(key)
            if names is None:
                names = named[key] = list(reversed(chain_names(list(key), ksyms)))
            tid = int.from_bytes(raw[event_at + pid_off : event_at + pid_off + 4], order, signed=True)
            out.append((cpu.stamp(i), tid, names, event_names[types[i]]))
    out.sort(key=lambda s: (s[0], s[1]))
    return out, in_interrupt


@dataclass(frozen=True)
class GraphRecord:
    """One ``funcgraph_entry`` or ``funcgraph_exit`` record."""

    ts: int
    tid: int
    exit: bool
    func: int
    depth: int
    duration_ns: int | None
    """Exit records: ``rettime - calltime``."""
    in_interrupt: bool
    order: tuple[int, int] = (0, 0)
    """(CPU, index in its pages): the order of records with the same time stamp."""
    irqs_off: bool = False
    """Interrupts were disabled where the record was taken (``common_flags``)."""


def graph_records(cpus: Iterable[CpuEvents], entry: EventFormat, exit_: EventFormat) -> list[GraphRecord]:
    """Every funcgraph record of the pages, decoded with the recording's own formats."""
    entry_read = entry.unpacker(["common_flags", "common_pid", "func", "depth"])
    exit_read = exit_.unpacker(["common_flags", "common_pid", "func", "depth", "calltime", "rettime"])
    out: list[GraphRecord] = []
    for cpu in cpus:
        raw, types, offsets = cpu.raw, cpu.types, cpu.offsets
        for j in cpu.indices_of({entry.id, exit_.id}):
            ts, order = cpu.stamp(j), (cpu.cpu, j)
            if types[j] == entry.id:
                flags, tid, func, depth = entry_read.unpack_from(raw, offsets[j])
                out.append(
                    GraphRecord(
                        ts,
                        tid,
                        False,
                        func,
                        depth,
                        None,
                        bool(flags & _IN_INTERRUPT),
                        order,
                        bool(flags & _IRQS_OFF),
                    )
                )
            else:
                flags, tid, func, depth, called, returned = exit_read.unpack_from(raw, offsets[j])
                spent = returned - called if returned >= called else None
                out.append(
                    GraphRecord(
                        ts,
                        tid,
                        True,
                        func,
                        depth,
                        spent,
                        bool(flags & _IN_INTERRUPT),
                        order,
                        bool(flags & _IRQS_OFF),
                    )
                )
    return out


def without_interrupts(records: Iterable[GraphRecord]) -> tuple[dict[int, list[GraphRecord]], int]:
    """Each thread's records in time order without an interrupt's work, and how many calls that was.

    With ``funcgraph-irqs`` off the tracer keeps out what runs in hard-IRQ context, but an
    interrupt taken inside a traced call still leaves three marks in the thread's graph:

    - records in interrupt context (``common_flags``: soft IRQ, NMI, or an exit in hard IRQ);
    - the call the interrupt entered through: it starts outside interrupt context and returns
      inside it (``irq_enter_rcu``, which raises the hard-IRQ count);
    - the interrupt's tail, after the hard-IRQ count is dropped but before interrupts are enabled
      again (``irq_exit_rcu`` → ``tick_irq_exit`` → ``idle_cpu``, waking ``ksoftirqd``): every
      record with interrupts off after the interrupt's own, up to the first with them on.
    """
    by_tid: dict[int, list[GraphRecord]] = {}
    for r in records:
        by_tid.setdefault(r.tid, []).append(r)
    left_out = 0
    kept_by_tid: dict[int, list[GraphRecord]] = {}
    for tid, own in by_tid.items():
        own.sort(key=lambda r: (r.ts, r.order))
        kept: list[GraphRecord] = []
        open_at: dict[int, int] = {}  # depth -> index in kept of the open entry there
        tail = False
        for r in own:
            if r.in_interrupt:
                tail = True
                if not r.exit:
                    left_out += 1
                    continue
                at = open_at.get(r.depth)
                if at is not None and kept[at].func == r.func:
                    # Entered outside the interrupt, returned inside it: the interrupt's entry.
                    left_out += sum(1 for k in kept[at:] if not k.exit)
                    del kept[at:]
                    open_at = {d: i for d, i in open_at.items() if i < at}
                continue
            if tail:
                if r.irqs_off:
                    left_out += 0 if r.exit else 1
                    continue
                tail = False
            open_at = {d: i for d, i in open_at.items() if d < r.depth}
            if not r.exit:
                open_at[r.depth] = len(kept)
            kept.append(r)
        kept_by_tid[tid] = kept
    return kept_by_tid, left_out


def graph_trees(
    records: Iterable[GraphRecord], depth: int, name: Callable[[int], str]
) -> list[tuple[int, _Building]]:
    """(tid, root) of every graph, in time order; an interrupt's work is left out
    (:func:`without_interrupts`).

    The records' own depths place each call, so a lost exit (or entry) costs only that call's
    duration (or the calls opened before it), never the nesting of what follows.
    """
    by_tid, _left_out = without_interrupts(records)
    return _trees(by_tid, depth, name)


def _trees(
    by_tid: dict[int, list[GraphRecord]], depth: int, name: Callable[[int], str]
) -> list[tuple[int, _Building]]:
    roots: list[tuple[int, _Building]] = []
    for tid, own in by_tid.items():
        stack: list[tuple[int, _Building]] = []  # (func address, node) of the open calls
        for r in own:
            if not r.exit:
                del stack[r.depth :]
                node = _Building(name(r.func), r.ts)
                node.hits = 1
                if r.depth < depth:
                    if stack:
                        stack[-1][1].children.append(node)
                    else:
                        roots.append((tid, node))
                stack.append((r.func, node))
            elif r.depth < len(stack) and stack[r.depth][0] == r.func:
                stack[r.depth][1].duration = r.duration_ns
                del stack[r.depth :]
    roots.sort(key=lambda t: t[1].ts)
    return roots


def _graph_cpus(rec: Recording, settings: KernelPathSettings) -> list[CpuEvents]:
    """The instance's pages and, when the graph ran at the top level, the top level's."""
    cpus = list(rec.cpu_events())
    folder = graph_raw_dir(rec.root)
    if settings.graph_place == "top_level" and folder.is_dir():
        page_size = settings.graph_page_size or rec.page_size
        for path in sorted(folder.glob("cpu*.raw")):
            if path.stem[3:].isdigit():
                cpus.append(decode_pages(read_regular(path), rec.header, int(path.stem[3:]), page_size))
    return cpus


def _graph_paths(rec: Recording, settings: KernelPathSettings, depth: int) -> KernelPaths:
    entry, exit_ = rec.by_name.get(GRAPH_ENTRY), rec.by_name.get(GRAPH_EXIT)
    records = graph_records(_graph_cpus(rec, settings), entry, exit_) if entry and exit_ else []
    by_tid, in_interrupt = without_interrupts(records)
    ksyms = KernelSymbols(rec.kallsyms_path)

    def name(address: int) -> str:
        found = ksyms.name(address)
        return found.split("+", 1)[0] if found else f"{address:#x}"

    enters, exits = _tid_times(rec, [SYS_ENTER]), _tid_times(rec, [SYS_EXIT])
    faults = _tid_times(rec, FAULT_EVENTS)
    by_call: dict[tuple[int, int], list[PathNode]] = {}
    by_fault: dict[tuple[int, int], list[PathNode]] = {}
    calls = unplaced = 0
    for tid, root in _trees(by_tid, depth, name):
        size = _count(root)
        calls += size
        enter = _open_call(enters.get(tid, []), exits.get(tid, []), root.ts)
        node = _freeze(root, SOURCE_FUNCTION_GRAPH)
        if root.name == FAULT_FUNCTION:
            own = faults.get(tid, [])
            k = bisect.bisect_right(own, root.ts) - 1
            if k >= 0 and (enter is None or own[k] >= enter):
                by_fault.setdefault((tid, own[k]), []).append(node)
                continue
        if enter is not None:
            by_call.setdefault((tid, enter), []).append(node)
        else:
            calls -= size
            unplaced += size
    summary = PathSummary(
        SOURCE_FUNCTION_GRAPH,
        depth,
        calls,
        in_interrupt,
        unplaced,
        settings.graph_place,
        settings.graph_why,
        settings.graph_errno,
        settings.graph_lost,
    )
    return KernelPaths(summary, by_call, by_fault)


def _count(node: _Building) -> int:
    return 1 + sum(_count(c) for c in node.children)


@dataclass(frozen=True)
class SampleSet:
    """The samples of a recording, read back (:func:`read_samples`)."""

    samples: list[tuple[int, int, list[str], int]]
    """(ts, tid, kernel frames outermost first, period ns) of each sample taken in the kernel
    outside interrupt work, time-sorted."""
    taken: int
    kernel: int
    interrupt: int
    lost: int
    offset_ns: int | None = None
    """perf's clock minus the trace clock, measured on common events; None when not measured
    (the samples are then taken as stamped)."""


def read_samples(rec: Recording, settings: KernelPathSettings, ksyms: KernelSymbols) -> SampleSet:
    """The samples kept in ``cpus/sampled``; none when sampling did not run (or wrote records
    of another layout than this kernlab reads)."""
    folder = sampled_dir(rec.root)
    if not settings.sample_hz or settings.sample_type != SAMPLE_TYPE or not folder.is_dir():
        return SampleSet([], 0, 0, 0, 0)
    counts = RecordCounts()
    out: list[tuple[int, int, list[str], int]] = []
    named: dict[tuple[int, ...], list[str]] = {}
    kernel = interrupt = 0
    for path in sorted(folder.glob("cpu*.raw")):
        for sample in parse_records(read_regular(path), counts):
            frames, _user = split_chain(sample.callchain)
            if not frames:
                continue  # user mode: the task's own time
            kernel += 1
            key = tuple(frames)
            names = named.get(key)
            if names is None:
                names = named[key] = list(reversed(chain_names(frames, ksyms)))
            if any(_INTERRUPT_ENTRY.match(n) for n in names):
                interrupt += 1
                continue
            out.append((sample.time, sample.tid, names, sample.period))
    offset = _clock_offset(rec, settings)
    if offset is not None and abs(offset) > _PROBE_SPACING_NS:
        out = [(ts - offset, tid, names, period) for ts, tid, names, period in out]
    out.sort(key=lambda s: (s[0], s[1]))
    return SampleSet(out, counts.samples, kernel, interrupt, counts.lost, offset)


_PROBE_SPACING_NS = 5000
"""Below this, a measured offset is the order of the two probes on one event (perf's runs after
ftrace's: ~0.55 µs on this machine with the ``perf`` and ``mono`` clocks, which are perf's own),
not a difference of clocks: left alone."""


def _clock_offset(rec: Recording, settings: KernelPathSettings) -> int | None:
    """perf time minus trace time of the calibration task's first system-call entries."""
    path = sampled_dir(rec.root) / CALIBRATION_FILE
    tid = settings.sample_calibration_tid
    if not tid or not path.is_file():
        return None
    stamped = [s.time for s in parse_records(read_regular(path), None, CALIBRATION_TYPE) if s.tid == tid]
    traced = _tid_times(rec, [SYS_ENTER]).get(tid, [])
    # The perf events were opened before tracing went on: the first entries may predate it.
    return offset_of(stamped, traced[: len(stamped) * 2 + 8])


def read_kernel_paths(rec: Recording, depth: int | None = None) -> KernelPaths | None:
    """The trees of a recording made with ``-K``; None when it was made without.

    ``depth`` cuts shallower than the recording's own ``-K DEPTH`` (never deeper than it).
    """
    settings = read_settings(rec.root)
    if settings is None:
        return None
    depth = min(depth or settings.depth, settings.depth)
    ksyms = KernelSymbols(rec.kallsyms_path)
    sampled = read_samples(rec, settings, ksyms)
    if settings.source == SOURCE_FUNCTION_GRAPH:
        paths = _graph_paths(rec, settings, depth)
        return KernelPaths(_with_samples(paths.summary, settings, sampled, 0), paths.syscalls, paths.faults)
    stacks: list[tuple[int, int, list[str], str]] = []
    in_interrupt = 0
    if settings.source == SOURCE_TRACEPOINTS:
        stacks, in_interrupt = _stacks(rec, settings, ksyms)
    enters = _tid_times(rec, [SYS_ENTER])
    exits = _tid_times(rec, [SYS_EXIT])
    faults = _tid_times(rec, FAULT_EVENTS)
    by_call: dict[tuple[int, int], list[tuple[int, list[str], str, int, str]]] = {}
    by_fault: dict[tuple[int, int], list[tuple[int, list[str], str, int, str]]] = {}
    unplaced = placed_samples = 0
    seen = [(ts, tid, frames, SOURCE_TRACEPOINTS, 0, event) for ts, tid, frames, event in stacks]
    seen += [(ts, tid, frames, SOURCE_SAMPLED, period, "") for ts, tid, frames, period in sampled.samples]
    seen.sort(key=lambda s: (s[0], s[1]))
    for ts, tid, frames, source, period, event in seen:
        placed = False
        split = fault_path(frames)
        above = frames if split is None else split[0]
        if split is not None:
            own = faults.get(tid, [])
            k = bisect.bisect_right(own, ts) - 1
            if k >= 0 and split[1]:
                by_fault.setdefault((tid, own[k]), []).append((ts, split[1], source, period, event))
                placed = True
        enter = _open_call(enters.get(tid, []), exits.get(tid, []), ts)
        path = syscall_path(above) if enter is not None else []
        if enter is not None and path:
            by_call.setdefault((tid, enter), []).append((ts, path, source, period, event))
            placed = True
        if source == SOURCE_SAMPLED:
            placed_samples += placed
        else:
            unplaced += not placed
    summary = PathSummary(
        settings.source,
        depth,
        placed_samples if settings.source == SOURCE_SAMPLED else len(stacks) - unplaced,
        in_interrupt,
        unplaced,
        graph_why=settings.graph_why,
        graph_errno=settings.graph_errno,
    )
    return KernelPaths(
        summary=_with_samples(summary, settings, sampled, placed_samples),
        syscalls={k: merge_seen(v, depth) for k, v in by_call.items()},
        faults={k: merge_seen(v, depth) for k, v in by_fault.items()},
    )


def _with_samples(
    summary: PathSummary, settings: KernelPathSettings, sampled: SampleSet, placed: int
) -> PathSummary:
    return replace(
        summary,
        sources=tuple(settings.all_sources()),
        samples=sampled.taken,
        samples_kernel=sampled.kernel,
        samples_placed=placed,
        samples_interrupt=sampled.interrupt,
        samples_lost=sampled.lost,
        sample_hz=settings.sample_hz,
        sample_why=settings.sample_why,
        sample_errno=settings.sample_errno,
        sample_offset_ns=sampled.offset_ns,
    )


def _open_call(enters: list[int], exits: list[int], ts: int) -> int | None:
    """The sys_enter time of the call the thread was inside at ``ts``; None between calls."""
    k = bisect.bisect_right(enters, ts) - 1
    if k < 0:
        return None
    enter = enters[k]
    j = bisect.bisect_left(exits, enter)
    if j < len(exits) and exits[j] < ts:
        return None  # that call had returned already
    return enter
