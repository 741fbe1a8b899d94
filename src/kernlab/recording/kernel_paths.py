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
    *traced*: the function_graph tracer (entry and exit, durations), where the kernel has it.
    Not built yet: it can only run at the top level (a tracer in an instance is refused on
    most kernels), which tracing/toplevel.py journals.
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

import fnmatch
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from kernlab.errors import BadInput
from kernlab.recording import layout
from kernlab.tracing.instance import Instance

__all__ = [
    "DATA_FILE",
    "SOURCES",
    "SOURCE_FUNCTION_GRAPH",
    "SOURCE_SAMPLED",
    "SOURCE_TRACEPOINTS",
    "TRACEPOINT_SPECS",
    "KernelPathSettings",
    "KernelPathSource",
    "TracepointStacks",
    "choose_source",
    "read_settings",
    "write_settings",
]

DATA_FILE = "kernel_paths.json"
SOURCE_TRACEPOINTS = "tracepoints"
SOURCE_FUNCTION_GRAPH = "function_graph"
SOURCE_SAMPLED = "sampled"
SOURCES = (SOURCE_FUNCTION_GRAPH, SOURCE_TRACEPOINTS, SOURCE_SAMPLED)

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
        return KernelPathSettings(self.depth, self.name, list(self.events), list(self.notes))


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


def choose_source(depth: int, available: dict[str, list[str]]) -> KernelPathSource:
    """The source for ``-K DEPTH`` on this kernel.

    At-tracepoint stacks for now, on every kernel: ``function_graph`` (exact calls with
    durations) needs the top-level tracer and ``sampled`` needs perf; both come behind this
    same interface.
    """
    if depth < 1:
        raise BadInput("-K DEPTH must be at least 1")
    source = TracepointStacks(depth, available)
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
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"{path} is damaged: {exc}") from exc
    if settings.source not in SOURCES or settings.depth < 1:
        raise BadInput(f"{path} is damaged: source {settings.source!r}, depth {settings.depth}")
    return settings
