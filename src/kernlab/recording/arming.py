"""Setting up the recording's private tracefs instance, up to the moment tracing goes on.

The instance gets a per-CPU buffer (sized from MemAvailable unless asked), the trace clock,
``options/event-fork`` (children of traced tasks are followed), the events, the kernel-stack
triggers, and the page/event header layouts are copied. Sync markers (``trace_marker`` lines
carrying CLOCK_MONOTONIC) are written at start and end so the trace clock can be tied to the
clock of the maps snapshots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import BadInput, NotSupported
from kernlab.recording import layout
from kernlab.tracing.instance import Instance
from kernlab.tracing.tracefs import read_text

__all__ = [
    "DEFAULT_BUFFER_KB",
    "MIN_BUFFER_KB",
    "SYNC_MARKER",
    "BufferSettings",
    "arm_events",
    "copy_headers",
    "default_buffer_kb",
    "exclude_pids",
    "mem_available_kb",
    "set_up_buffers",
    "sync_marker",
]

DEFAULT_BUFFER_KB = 64 * 1024
MIN_BUFFER_KB = 1024
SYNC_MARKER = "kernlab-sync mono_ns="


def mem_available_kb() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def default_buffer_kb(cpus: int) -> int:
    """64 MiB per CPU, but never more than an eighth of MemAvailable in total."""
    available = mem_available_kb()
    if available is None:
        return DEFAULT_BUFFER_KB
    return max(MIN_BUFFER_KB, min(DEFAULT_BUFFER_KB, available // (8 * max(cpus, 1))))


@dataclass(frozen=True)
class BufferSettings:
    """What the kernel set up for the instance's ring buffers (it may round what was asked)."""

    cpus: int
    buffer_size_kb: int
    """Per CPU."""
    page_size: int
    """Bytes of one ring-buffer page as trace_pipe_raw returns it."""
    clock: str


def set_up_buffers(instance: Instance, buffer_size_kb: int | None, clock: str) -> BufferSettings:
    """Tracing off, buffer size, trace clock and event-fork for a new instance."""
    cpus = len(instance.cpus())
    instance.tracing_on(False)
    size_kb = instance.set_buffer_size_kb(buffer_size_kb or default_buffer_kb(cpus))
    page_size = instance.subbuf_size()
    chosen = _set_clock(instance, clock)
    instance.set_option("event-fork", True)
    return BufferSettings(cpus=cpus, buffer_size_kb=size_kb, page_size=page_size, clock=chosen)


def _current_clock(text: str, default: str | None = None) -> str | None:
    """The clock in [brackets] of a trace_clock text."""
    return next((w[1:-1] for w in text.split() if w.startswith("[")), default)


def _set_clock(instance: Instance, clock: str) -> str:
    clocks_text = instance.read("trace_clock")
    clocks = clocks_text.replace("[", " ").replace("]", " ").split()
    if clock not in clocks:
        raise NotSupported(f"trace clock {clock!r} is not offered here ({', '.join(clocks)})")
    current = _current_clock(clocks_text)
    if current != clock:
        # Changing the clock resets the buffers (a grace period): only when it differs.
        instance.write("trace_clock", clock)
        current = _current_clock(instance.read("trace_clock"), "local")
    return current or clock


def exclude_pids(instance: Instance, pids: list[int]) -> None:
    """set_event_notrace_pid (Linux 5.8): the recorder's own tasks stay out of a system-wide
    recording, or its drain reads would be recorded, and their records drained, in a loop.
    Older kernels lack the file: the recorder's events are then recorded too."""
    if instance.file("set_event_notrace_pid").exists():
        instance.write("set_event_notrace_pid", " ".join(str(p) for p in pids))


def arm_events(instance: Instance, events: list[str], kstack: list[str]) -> list[str]:
    """Enable ``events`` (``system:name``) and their kernel-stack triggers; return the latter."""
    for event in events:
        instance.enable_event(*event.split(":", 1))
    return _arm_kstacks(instance, kstack, events)


def _arm_kstacks(instance: Instance, requested: list[str], events: list[str]) -> list[str]:
    if not requested:
        return []
    if any(r.strip() == "all" for r in requested):
        instance.set_option("stacktrace", True)
        return list(events)
    chosen = []
    for item in requested:
        item = item.strip()
        if not item:
            continue
        matches = [e for e in events if e == item or e.split(":", 1)[1] == item or e.startswith(item + ":")]
        if not matches:
            raise BadInput(f"--kstack {item}: not one of the recorded events (add it with -e)")
        for event in matches:
            system, name = event.split(":", 1)
            instance.add_trigger(system, name, "stacktrace")
            chosen.append(event)
    return chosen


def copy_headers(instance: Instance, directory: Path) -> None:
    """The page and event header layouts of this instance (its sub-buffer size may differ from
    the top instance's); the events' own formats are copied by the kernel-tables copier."""
    base = instance.path / "events"
    (directory / layout.HEADER_PAGE).write_text(read_text(base / "header_page"))
    (directory / layout.HEADER_EVENT).write_text(read_text(base / "header_event"))


def sync_marker(instance: Instance) -> int:
    """Write a trace_marker line carrying CLOCK_MONOTONIC now; return the value written.

    The marker becomes an ``ftrace:print`` record stamped with the trace clock, so a reader can
    turn trace-clock timestamps into CLOCK_MONOTONIC (the clock of the maps snapshots).
    """
    now = time.monotonic_ns()
    instance.write("trace_marker", f"{SYNC_MARKER}{now}")
    return now
