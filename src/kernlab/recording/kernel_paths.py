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
    perf_event_open cpu-clock sampling of the traced tasks with kernel and user call chains
    (tracing/perf_events.py), :data:`SAMPLE_HZ` times a second of CPU time, one ring per CPU
    drained into ``cpus/sampled/cpu<N>.raw`` (the kernel's own ``PERF_RECORD_*`` records, the
    layout in the settings' ``sample_type``). The samples taken inside a system call or fault
    become time-weighted paths under it: the paths no tracepoint fires on (``read`` of
    ``/proc/self/maps`` → ``seq_read_iter`` → ``show_map`` → ``show_map_vma``). It is added
    to the tracepoint stacks by default (:class:`Combined`: both on, each node saying which
    saw it first), or alone with ``--kernel-source sampled``. Sample times are on the
    recording's trace clock: perf's default clock is ``local_clock()``, tracefs's ``local``;
    ``mono``, ``mono_raw``, ``boot`` and ``tai`` are asked for with ``use_clockid``; with any
    other trace clock the samples could not be placed and sampling is left out (said in the
    notes). Not with ``-a`` (per-task events only).

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
import errno
import fnmatch
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

from kernlab.errors import BadInput, KernlabError, TracingError
from kernlab.recording import layout
from kernlab.recording.arming import mem_available_kb
from kernlab.recording.drain import Drainer
from kernlab.recording.notes import Note, note, note_from_dict
from kernlab.tracing import function_graph, perf_events
from kernlab.tracing.function_graph import GraphPlace, GraphTracer, find_place
from kernlab.tracing.instance import Instance

__all__ = [
    "DATA_FILE",
    "GRAPH_DIR",
    "SAMPLED_DIR",
    "SAMPLE_HZ",
    "SOURCES",
    "SOURCE_FUNCTION_GRAPH",
    "SOURCE_SAMPLED",
    "SOURCE_TRACEPOINTS",
    "TRACEPOINT_SPECS",
    "Combined",
    "FunctionGraph",
    "KernelPathSettings",
    "KernelPathSource",
    "SampledPaths",
    "TracepointStacks",
    "choose_source",
    "graph_raw_dir",
    "parse_sources",
    "read_settings",
    "sampled_dir",
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
SAMPLED_DIR = Path(layout.CPUS_DIR) / "sampled"
"""Where the sampled source keeps its rings' records (``cpu<N>.raw`` inside)."""
SAMPLE_HZ = 4000
"""Samples a second of a task's CPU time: ~0.25 ms apart, enough for a few hundred samples in
40 ms of ``read`` calls, at about 1 % of the traced task's time on this machine."""
SAMPLE_SYSCALL_EVENTS = (
    "raw_syscalls:sys_enter",
    "raw_syscalls:sys_exit",
    "exceptions:page_fault_user",
    "exceptions:page_fault_kernel",
)
"""What samples are placed by: the system calls' and faults' own events (also with --only)."""

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
    sources: list[str] = field(default_factory=list)
    """Every source that ran, ``source`` first ([] in recordings made before there were two)."""
    sample_hz: int = 0
    """``sampled``: the sampling frequency asked for (0 when sampling did not run)."""
    sample_type: int = 0
    """``sampled``: the ``PERF_SAMPLE_*`` bits the records were written with."""
    sample_clock: str = ""
    """``sampled``: the trace clock the samples were stamped on ("" when it did not run)."""
    sample_bytes: int = 0
    """``sampled``: bytes of records drained into ``cpus/sampled``."""
    sample_why: str = ""
    """Why sampling did not run where it was tried: ``clock``, ``refused``, ``system_wide``."""
    sample_errno: str = ""
    """The errno perf_event_open refused with ("" when none)."""
    sample_calibration_tid: int = 0
    """The task whose first system-call entries perf stamped too (``cpus/sampled/calibration.raw``):
    the offset of perf's clock from the trace clock (tracing/perf_events.py); 0 when none."""
    note_phrases: list[Note] = field(default_factory=list)
    """The catalog key and fields of each of ``notes`` (recording/notes.py); [] in older files."""

    def all_sources(self) -> list[str]:
        return self.sources or [self.source]


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
        self.notes: list[Note] = []
        missing = [s for s in TRACEPOINT_SPECS if not _expand((s,), available)]
        if missing:
            self.notes.append(
                note(
                    "record.note.kpaths_no_tracepoints",
                    "-K: this kernel has no {tracepoints} tracepoints",
                    tracepoints=", ".join(missing),
                )
            )

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
            [n.text for n in self.notes],
            graph_why=place.why if place else "",
            graph_errno=place.errno_name if place else "",
            note_phrases=list(self.notes),
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
        self.notes: list[Note] = []
        if place.where == function_graph.TOP_LEVEL:
            self.notes.append(
                note(
                    "record.note.graph_top_level",
                    "-K: function_graph refused in instances ({detail}): traced at the top level, which "
                    "nothing else was using; its settings were restored",
                    detail=place.detail,
                )
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
            [n.text for n in self.notes],
            graph_place=self.place.where,
            graph_why=self.place.why,
            graph_errno=self.place.errno_name,
            graph_page_size=self._page_size,
            graph_lost=self._lost,
            note_phrases=list(self.notes),
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


class SampledPaths:
    """*Sampled*: cpu-clock samples with call chains of the traced tasks (tracing/perf_events.py).

    ``required``: the only source asked for, so a refusal ends the recording; otherwise a
    refusal is said in the notes and the other source goes on alone.
    """

    name = SOURCE_SAMPLED

    def __init__(self, depth: int, *, required: bool = False, system_wide: bool = False) -> None:
        self.depth = depth
        self.required = required
        self.notes: list[Note] = []
        self.why = "system_wide" if system_wide else ""
        self.errno_name = ""
        self.clock = ""
        self.hz = 0
        self.bytes = 0
        self.calibration_tid = 0
        self._sampler: perf_events.Sampler | None = None
        if system_wide:
            self._refuse(
                "system_wide",
                note(
                    "record.note.sampling_system_wide",
                    "-K: sampling follows tasks, not the whole system (-a): left out",
                ),
            )

    def _refuse(self, why: str, refusal: Note, errno_name: str = "", clock: str = "") -> None:
        self.why, self.errno_name = why, errno_name
        if self.required:
            raise TracingError(
                refusal.text,
                key=f"errors.record.sampling_{why}",
                fields={"errno": errno_name, "clock": clock},
            )
        self.notes.append(refusal)

    def extra_events(self) -> list[str]:
        return list(SAMPLE_SYSCALL_EVENTS)

    def arm(self, instance: Instance, stacked: list[str]) -> list[str]:
        return []

    def settings(self) -> KernelPathSettings:
        return KernelPathSettings(
            self.depth,
            self.name,
            [],
            [n.text for n in self.notes],
            sources=[self.name],
            sample_hz=self.hz,
            sample_type=perf_events.SAMPLE_TYPE if self.hz else 0,
            sample_clock=self.clock,
            sample_bytes=self.bytes,
            sample_why=self.why,
            sample_errno=self.errno_name,
            sample_calibration_tid=self.calibration_tid,
            note_phrases=list(self.notes),
        )

    def start(self, instance: Instance, directory: Path, pids: list[int], clock: str) -> None:
        """Open the events on ``pids`` (held before their execve: their first instruction is
        sampled) and start draining; a refusal is noted (or raised, when ``required``)."""
        if self.why or not pids:
            return
        usable, clockid = perf_events.clock_for(clock)
        if not usable:
            refusal = note(
                "record.note.sampling_clock",
                "-K: trace clock {clock} has no perf counterpart: sampling left out",
                clock=clock,
            )
            self._refuse("clock", refusal, clock=clock)
            return
        most = perf_events.max_sample_rate()
        hz = min(SAMPLE_HZ, most) if most else SAMPLE_HZ
        sampler = perf_events.Sampler(pids, Path(directory) / SAMPLED_DIR, hz, clockid, tracefs=instance.path)
        try:
            sampler.open()
            sampler.enable()
        except OSError as exc:
            sampler.close()
            name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
            refusal = note(
                "record.note.sampling_refused",
                "-K: perf_event_open refused cpu-clock sampling ({reason}): left out",
                reason=str(exc.strerror),
            )
            self._refuse("refused", refusal, name)
            return
        sampler.start_draining()
        self._sampler, self.hz, self.clock = sampler, hz, clock
        self.calibration_tid = pids[0]
        if sampler.calibration_errno:
            name = errno.errorcode.get(sampler.calibration_errno, str(sampler.calibration_errno))
            self.notes.append(
                note(
                    "record.note.sampling_calibration",
                    "-K: perf refused the clock calibration event ({errno}): samples taken unshifted",
                    errno=name,
                )
            )

    def stop(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            try:
                sampler.close()
            finally:
                self.bytes = sum(p.stat().st_size for p in sampler.directory.glob("cpu*.raw"))


class Combined:
    """Two sources at once (at-tracepoint stacks and samples): their events, triggers, start
    and stop in turn; the settings are the first's with the second's sampling fields."""

    def __init__(self, first: KernelPathSource, sampled: SampledPaths) -> None:
        self.first, self.sampled = first, sampled
        self.name = first.name

    def extra_events(self) -> list[str]:
        own = self.first.extra_events()
        return own + [e for e in self.sampled.extra_events() if e not in own]

    def arm(self, instance: Instance, stacked: list[str]) -> list[str]:
        return self.first.arm(instance, stacked)

    def settings(self) -> KernelPathSettings:
        first, second = self.first.settings(), self.sampled.settings()
        return replace(
            second,
            source=first.source,
            events=first.events,
            notes=first.notes + second.notes,
            note_phrases=first.note_phrases + second.note_phrases,
            graph_place=first.graph_place,
            graph_why=first.graph_why,
            graph_errno=first.graph_errno,
            graph_page_size=first.graph_page_size,
            graph_lost=first.graph_lost,
            sources=[first.source] + ([SOURCE_SAMPLED] if second.sample_hz else []),
        )

    def start(self, instance: Instance, directory: Path, pids: list[int], clock: str) -> None:
        self.first.start(instance, directory, pids, clock)
        self.sampled.start(instance, directory, pids, clock)

    def stop(self) -> None:
        try:
            self.sampled.stop()
        finally:
            self.first.stop()


def sampled_dir(root: Path | str) -> Path:
    """Where a recording keeps its samples (``cpu<N>.raw`` inside)."""
    return Path(root) / SAMPLED_DIR


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


AUTO = "auto"


def parse_sources(text: str) -> list[str]:
    """``--kernel-source``: ``auto`` ([]) or a comma list of :data:`SOURCES`."""
    if text.strip() in ("", AUTO):
        return []
    names = [n.strip() for n in text.split(",") if n.strip()]
    wrong = [n for n in names if n not in SOURCES]
    if wrong or not names:
        raise BadInput(
            f"--kernel-source {text}: give auto or a comma list of {', '.join(SOURCES)}",
            key="errors.record.kernel_source_unknown",
            fields={"value": text, "choices": ", ".join(SOURCES)},
        )
    return list(dict.fromkeys(names))


def choose_source(
    depth: int,
    available: dict[str, list[str]],
    root: Path | None = None,
    *,
    system_wide: bool = False,
    sources: list[str] | None = None,
) -> KernelPathSource:
    """The source for ``-K DEPTH`` on this kernel, found by trying.

    ``sources`` None or [] (``auto``): ``function_graph`` (exact calls with durations) where it
    can be fenced in (``root``: the tracefs to try it in; None does not try); else at-tracepoint
    stacks, with the reason function_graph was not used kept in the settings and notes, and
    samples beside them where perf allows (:class:`Combined`). Named sources are used as asked
    (``sampled`` alone, ``tracepoints`` alone, ``tracepoints,sampled``…); one that cannot run
    here is refused.
    """
    if depth < 1:
        raise BadInput("-K DEPTH must be at least 1", key="errors.record.depth_too_small")
    asked = list(sources or [])
    if asked == [SOURCE_SAMPLED]:
        return SampledPaths(depth, required=True, system_wide=system_wide)
    tried_graph = not asked or SOURCE_FUNCTION_GRAPH in asked
    place = find_place(root, system_wide=system_wide) if root is not None and tried_graph else None
    if place is not None and place.where:
        graph = FunctionGraph(depth, root or Path(), place)
        if SOURCE_SAMPLED in asked:
            return Combined(graph, SampledPaths(depth, required=True, system_wide=system_wide))
        return graph
    if SOURCE_FUNCTION_GRAPH in asked:
        why = f"{place.why}: {place.detail}" if place is not None else "not tried"
        raise BadInput(
            f"--kernel-source function_graph: not available here ({why})",
            key="errors.record.function_graph_unavailable",
            fields={"why": place.why if place is not None else ""},
        )
    source = TracepointStacks(depth, available)
    if place is not None:
        source.refused = place
        source.notes.insert(
            0,
            note(
                "record.note.graph_not_used",
                "-K: function_graph not used ({why}: {detail}): kernel stacks at tracepoints instead",
                why=place.why,
                detail=place.detail,
            ),
        )
    if not source.events:
        raise BadInput(
            "-K: this kernel offers none of the tracepoints kernel paths are taken at "
            f"({', '.join(TRACEPOINT_SPECS)})",
            key="errors.record.no_path_tracepoints",
            fields={"events": ", ".join(TRACEPOINT_SPECS)},
        )
    if asked and SOURCE_SAMPLED not in asked:
        return source
    return Combined(source, SampledPaths(depth, required=bool(asked), system_wide=system_wide))


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
            note_phrases=[note_from_dict(n) for n in data.get("note_phrases", [])],
            graph_place=str(data.get("graph_place", "")),
            graph_why=str(data.get("graph_why", "")),
            graph_errno=str(data.get("graph_errno", "")),
            graph_page_size=int(data.get("graph_page_size", 0)),
            graph_lost=int(data.get("graph_lost", 0)),
            sources=[str(s) for s in data.get("sources", [])],
            sample_hz=int(data.get("sample_hz", 0)),
            sample_type=int(data.get("sample_type", 0)),
            sample_clock=str(data.get("sample_clock", "")),
            sample_bytes=int(data.get("sample_bytes", 0)),
            sample_why=str(data.get("sample_why", "")),
            sample_errno=str(data.get("sample_errno", "")),
            sample_calibration_tid=int(data.get("sample_calibration_tid", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(
            f"{path} is damaged: {exc}",
            path=path,
            key="errors.recording.damaged",
            fields={"path": str(path), "reason": str(exc)},
        ) from exc
    if settings.source not in SOURCES or settings.depth < 1 or not set(settings.sources) <= set(SOURCES):
        reason = f"source {settings.source!r}, depth {settings.depth}"
        raise BadInput(
            f"{path} is damaged: {reason}",
            path=path,
            key="errors.recording.damaged",
            fields={"path": str(path), "reason": reason},
        )
    return settings
