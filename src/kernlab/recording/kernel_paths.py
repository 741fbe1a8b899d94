"""``record -K DEPTH``: the kernel functions beneath each system call and page fault.

One interface (:class:`KernelPathSource`) over the ways a kernel can show them; each node of the
tree a report builds says which source saw it (:data:`SOURCES`):

``tracepoints``
    *at-tracepoint stacks*, the source this module implements: a kernel stack trace (the
    ``stacktrace`` trigger, an ``ftrace:kernel_stack`` record right after its event) on each of
    a chosen set of tracepoints that fire inside file-system and memory paths. The stacks taken
    between a system call's entry and exit on the same thread, or after a fault, are merged
    into a tree under it when the recording is read (reports/recording/kernel_paths.py): the
    real callers, no durations below the system call. Works wherever tracefs offers the
    trigger, so on kernels without ``function_graph`` (this machine's).
``function_graph``
    *traced*: the function_graph tracer (entry and exit, durations), where the kernel has it and
    lets it be fenced in (tracing/function_graph.py): in the recording's instance where the
    kernel offers it there, else at the top level when nobody else uses it (Debian's 6.1), its
    files journaled and restored on every exit (tracing/toplevel.py). The graphs start at the
    system calls' own functions and ``handle_mm_fault``, ``max_graph_depth`` = DEPTH below them.
    At the top level its buffer is drained into ``cpus/function_graph/cpus/cpu<N>.raw`` (the
    same page layout and event formats as the instance's). :func:`choose_source` tries it first
    and says in the settings why it was used, or why not (``why``, ``errno``).
``sampled``
    perf_event_open cpu-clock sampling with kernel call chains, for paths no tracepoint
    reaches. Not built yet.

Which tracepoints (:data:`TRACEPOINT_SPECS`), measured on this machine (6.18, ext4 root, a
Python workload of 2000 renames, a cold 32 MiB read, a cold 32 MiB mmap walk, a 6.6 MiB tree
copied, 20000 stats; stacks on every event of the system): ``ext4`` (every ext4 operation; a
rename fires about 12 of them, ~3.5 µs each with its stack — the ``*_exit`` half of each
enter/exit pair has the same stack as its enter and is left out), ``filemap`` and
``readahead`` (the page cache: reads, faults, readahead; +5-10 %), ``writeback`` (dirtying;
nearly free), ``kmem:mm_page_alloc`` (page allocations: anonymous faults, page-cache fills).
Left out: ``block`` (``block_touch_buffer`` fires on every buffer-head lookup: the tree copy
went from 0.7 s to 12-16 s) and the slab events ``kmem:kmem_cache_alloc``/``kmalloc``/``kfree``
(every ``getname()``: 20000 stats went from 72 ms to 180-235 ms).

The settings (depth, source, the events whose stacks make the paths) are kept as
``formats/kernel_paths.json``: beside the event formats, as ``functions.json`` is, so the
recording directory itself holds only the entries every recording has.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from kernlab.errors import BadInput, KernlabError
from kernlab.recording import layout
from kernlab.recording.arming import mem_available_kb
from kernlab.recording.drain import Drainer
from kernlab.tracing import function_graph
from kernlab.tracing.function_graph import GraphPlace, GraphTracer, find_place
from kernlab.tracing.instance import Instance

__all__ = [
    "DATA_FILE",
    "GRAPH_DIR",
    "SOURCES",
    "SOURCE_FUNCTION_GRAPH",
    "SOURCE_SAMPLED",
    "SOURCE_TRACEPOINTS",
    "TRACEPOINT_SPECS",
    "FunctionGraph",
    "KernelPathSettings",
    "KernelPathSource",
    "TracepointStacks",
    "choose_source",
    "graph_raw_dir",
    "read_settings",
    "write_settings",
]

DATA_FILE = "kernel_paths.json"
SOURCE_TRACEPOINTS = "tracepoints"
SOURCE_FUNCTION_GRAPH = "function_graph"
SOURCE_SAMPLED = "sampled"
SOURCES = (SOURCE_FUNCTION_GRAPH, SOURCE_TRACEPOINTS, SOURCE_SAMPLED)
GRAPH_DIR = Path(layout.CPUS_DIR) / "function_graph"
"""Where the top level's graph pages are drained (the drainer adds ``cpus/cpu<N>.raw``)."""
GRAPH_BUFFER_KB = 16 * 1024

TRACEPOINT_SPECS: tuple[str, ...] = (
    "ext4:*",
    "filemap:*",
    "readahead:*",
    "writeback:*",
    "kmem:mm_page_alloc",
)
"""``system:pattern`` of the tracepoints that get a stack (see the module's measurements)."""

_LEFT_OUT = ("*_exit",)
"""The exit half of an enter/exit pair is taken at the same place as its enter: same stack."""


@dataclass(frozen=True)
class KernelPathSettings:
    """What ``-K`` recorded (``formats/kernel_paths.json``)."""

    depth: int
    """Kernel functions kept below a system call or fault (the entry function is depth 1)."""
    source: str
    """One of :data:`SOURCES`."""
    events: list[str] = field(default_factory=list)
    """``system:event`` of the tracepoints whose stacks make the paths (``tracepoints``)."""
    notes: list[str] = field(default_factory=list)
    graph_place: str = ""
    """Where function_graph ran: ``instance``, ``top_level``; "" when it did not."""
    graph_why: str = ""
    """Why function_graph ran there, or why not (tracing/function_graph.py codes)."""
    graph_errno: str = ""
    """The errno the kernel refused function_graph (or its fence) with, "" when none."""
    graph_page_size: int = 0
    """Bytes of one page of the top level's buffer (``top_level`` only)."""
    graph_lost: int = 0
    """Graph records the top level's buffer overwrote or dropped before they were drained."""


class KernelPathSource(Protocol):
    """A way of seeing the kernel functions beneath system calls and faults."""

    name: str

    def extra_events(self) -> list[str]:
        """Events to enable besides the recording's own (their formats are saved too)."""
        ...

    def arm(self, instance: Instance, stacked: list[str]) -> list[str]:
        """Set the source up in the recording's instance; return the events given a kernel
        stack (``stacked``: events that already have one, from ``--kstack``)."""
        ...

    def settings(self) -> KernelPathSettings: ...

    def start(self, instance: Instance, directory: Path, pids: list[int], clock: str) -> None:
        """Switch the source on for ``pids``, just before the instance's tracing goes on (and
        before its buffer is opened: a tracer cannot change while a reader is open)."""
        ...

    def stop(self) -> None:
        """Switch it off and undo every change; safe to call when :meth:`start` never ran."""
        ...


class TracepointStacks:
    """At-tracepoint stacks: a ``stacktrace`` trigger on each chosen tracepoint."""

    name = SOURCE_TRACEPOINTS

    def __init__(self, depth: int, available: dict[str, list[str]]) -> None:
        self.depth = depth
        self.events = _expand(TRACEPOINT_SPECS, available)
        self.notes: list[str] = []
        missing = [s for s in TRACEPOINT_SPECS if not _expand((s,), available)]
        if missing:
            self.notes.append(f"-K: this kernel has no {', '.join(missing)} tracepoints")

    def extra_events(self) -> list[str]:
        return list(self.events)

    def arm(self, instance: Instance, stacked: list[str]) -> list[str]:
        done = set(stacked)
        armed = []
        for event in self.events:
            if event not in done:  # a second stacktrace trigger on one event is refused (EEXIST)
                system, name = event.split(":", 1)
                instance.add_trigger(system, name, "stacktrace")
            armed.append(event)
        return armed

    def settings(self) -> KernelPathSettings:
        place = self.refused
        return KernelPathSettings(
            self.depth,
            self.name,
            list(self.events),
            list(self.notes),
            graph_why=place.why if place else "",
            graph_errno=place.errno_name if place else "",
        )

    refused: GraphPlace | None = None
    """Why function_graph was not used (set by :func:`choose_source`)."""

    def start(self, instance: Instance, directory: Path, pids: list[int], clock: str) -> None:
        """The triggers armed in :meth:`arm` are all it needs."""

    def stop(self) -> None:
        """Nothing to undo: the triggers go with the instance."""


class FunctionGraph:
    """*Traced*: the function_graph tracer, fenced in (tracing/function_graph.py)."""

    name = SOURCE_FUNCTION_GRAPH

    def __init__(self, depth: int, root: Path, place: GraphPlace) -> None:
        self.depth = depth
        self.place = place
        self.tracer = GraphTracer(root, place, depth)
        self.root = root
        self.notes: list[str] = []
        if place.where == function_graph.TOP_LEVEL:
            self.notes.append(
                f"-K: function_graph refused in instances ({place.detail}): traced at the top level, "
                "which nothing else was using; its settings were restored"
            )
        self._drainer: Drainer | None = None
        self._page_size = 0
        self._lost = 0

    def extra_events(self) -> list[str]:
        return []  # ftrace's own record formats (funcgraph_entry/exit) are saved with every recording

    def arm(self, instance: Instance, stacked: list[str]) -> list[str]:
        return []

    def settings(self) -> KernelPathSettings:
        return KernelPathSettings(
            self.depth,
            self.name,
            [],
            list(self.notes),
            graph_place=self.place.where,
            graph_why=self.place.why,
            graph_errno=self.place.errno_name,
            graph_page_size=self._page_size,
            graph_lost=self._lost,
        )

    def start(self, instance: Instance, directory: Path, pids: list[int], clock: str) -> None:
        top = Instance(self.root)  # only its files are used: never removed
        kb = _graph_buffer_kb(len(top.cpus()))
        self.tracer.start(instance, pids, clock, kb)
        if self.place.where != function_graph.TOP_LEVEL:
            return  # the instance's own drainer takes its records
        self._page_size = top.subbuf_size()
        target = Path(directory) / GRAPH_DIR
        (target / layout.CPUS_DIR).mkdir(parents=True, exist_ok=True)
        self._drainer = Drainer(top, target, self._page_size, kb, 0.1)
        self._drainer.start()

    def stop(self) -> None:
        """Drain the top level's last pages, close its readers (the tracer cannot change while
        one is open), then restore every setting."""
        drainer, self._drainer = self._drainer, None
        try:
            if drainer is not None:
                try:
                    drainer.finish()
                finally:
                    with contextlib.suppress(KernlabError, OSError):
                        top = Instance(self.root)
                        for cpu in drainer.fds:
                            stats = top.cpu_stats(cpu)
                            self._lost += stats.overrun + stats.dropped
                    drainer.close()
        finally:
            self.tracer.stop()


def _graph_buffer_kb(cpus: int) -> int:
    """KiB per CPU for the top level's buffer while the graph runs: 16 MiB, at most a
    sixteenth of MemAvailable in all (at the 6.1 top level's boot size of 7 KiB, a Debian guest
    lost two thirds of mv's graph between drains)."""
    available = mem_available_kb()
    if available is None:
        return GRAPH_BUFFER_KB
    return max(1024, min(GRAPH_BUFFER_KB, available // (16 * max(cpus, 1))))


def graph_raw_dir(root: Path | str) -> Path:
    """Where a recording keeps the top level's graph pages (``cpus/cpu<N>.raw`` inside)."""
    return Path(root) / GRAPH_DIR / layout.CPUS_DIR


def _expand(specs: tuple[str, ...], available: dict[str, list[str]]) -> list[str]:
    out = []
    for spec in specs:
        system, _, pattern = spec.partition(":")
        for name in sorted(available.get(system, [])):
            if fnmatch.fnmatchcase(name, pattern or "*") and not any(
                fnmatch.fnmatchcase(name, p) for p in _LEFT_OUT
            ):
                out.append(f"{system}:{name}")
    return out


def choose_source(
    depth: int,
    available: dict[str, list[str]],
    root: Path | None = None,
    *,
    system_wide: bool = False,
) -> KernelPathSource:
    """The source for ``-K DEPTH`` on this kernel, found by trying.

    ``function_graph`` (exact calls with durations) where it can be fenced in (``root``: the
    tracefs to try it in; None does not try); else at-tracepoint stacks, with the reason
    function_graph was not used kept in the settings and notes. ``sampled`` (perf) comes behind
    this same interface.
    """
    if depth < 1:
        raise BadInput("-K DEPTH must be at least 1")
    place = find_place(root, system_wide=system_wide) if root is not None else None
    if place is not None and place.where:
        return FunctionGraph(depth, root or Path(), place)
    source = TracepointStacks(depth, available)
    if place is not None:
        source.refused = place
        why = f"{place.why}: {place.detail}"
        source.notes.insert(0, f"-K: function_graph not used ({why}): kernel stacks at tracepoints instead")
    if not source.events:
        raise BadInput(
            "-K: this kernel offers none of the tracepoints kernel paths are taken at "
            f"({', '.join(TRACEPOINT_SPECS)})"
        )
    return source


def write_settings(directory: Path, settings: KernelPathSettings) -> Path:
    target = Path(directory) / layout.FORMATS_DIR / DATA_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=1) + "\n")
    os.replace(tmp, target)
    return target


def read_settings(root: Path | str) -> KernelPathSettings | None:
    """The ``-K`` settings of a recording; None when it was made without ``-K``."""
    path = Path(root) / layout.FORMATS_DIR / DATA_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        settings = KernelPathSettings(
            depth=int(data["depth"]),
            source=str(data["source"]),
            events=[str(e) for e in data.get("events", [])],
            notes=[str(n) for n in data.get("notes", [])],
            graph_place=str(data.get("graph_place", "")),
            graph_why=str(data.get("graph_why", "")),
            graph_errno=str(data.get("graph_errno", "")),
            graph_page_size=int(data.get("graph_page_size", 0)),
            graph_lost=int(data.get("graph_lost", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"{path} is damaged: {exc}") from exc
    if settings.source not in SOURCES or settings.depth < 1:
        raise BadInput(f"{path} is damaged: source {settings.source!r}, depth {settings.depth}")
    return settings
