"""Setting up the recording's private tracefs instance, up to the moment tracing goes on.

The instance gets a per-CPU buffer (sized from MemAvailable unless asked), the trace clock,
``options/event-fork`` (children of traced tasks are followed), the events, the kernel-stack
triggers, and the page/event header layouts are copied. Sync markers (``trace_marker`` lines
carrying CLOCK_MONOTONIC) are written at start and end so the trace clock can be tied to the
clock of the maps snapshots.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from kernlab.errors import BadInput, KernlabError, NotSupported
from kernlab.recording import layout
from kernlab.recording.events import SYSCALL_EVENTS_FILE
from kernlab.recording.notes import per_call_syscalls_note
from kernlab.tracing.instance import Instance
from kernlab.tracing.tracefs import read_text

__all__ = [
    "DEFAULT_BUFFER_KB",
    "MIN_BUFFER_KB",
    "SYNC_MARKER",
    "BufferSettings",
    "PerCallSyscalls",
    "arm_events",
    "copy_headers",
    "default_buffer_kb",
    "exclude_pids",
    "mem_available_kb",
    "per_call_syscalls",
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
        raise NotSupported(
            f"trace clock {clock!r} is not offered here ({', '.join(clocks)})",
            key="errors.record.clock_not_offered",
            fields={"clock": repr(clock), "clocks": ", ".join(clocks)},
        )
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


RAW_SYSCALLS = ("raw_syscalls:sys_enter", "raw_syscalls:sys_exit")
LEFT_OUT = ("uretprobe", "uprobe")
"""System calls the per-call events leave out: the probes' own (x86-64: the uretprobe
trampoline returns through ``uretprobe`` once per probed return since Linux 6.11; an optimized
entry probe on a 5-byte nop calls ``uprobe``, 6.18)."""


@dataclass
class PerCallSyscalls:
    """The per-call system-call events armed instead of ``raw_syscalls`` (see
    :func:`per_call_syscalls`), as ``formats/syscall_events.json`` keeps them."""

    enter: dict[int, str] = field(default_factory=dict)
    """Event id of each ``sys_enter_<name>`` armed -> its name (the layouts are in the
    recording's ``syscall_formats``: reading 720 formats here would hold the command back)."""
    exit: dict[int, str] = field(default_factory=dict)
    """Event id of each ``sys_exit_<name>`` armed -> its name."""
    left_out: list[str] = field(default_factory=list)
    no_event: list[int] = field(default_factory=list)
    """Numbers of the syscall table with no per-call event on this kernel (not recorded)."""
    raw_formats: dict[str, str] = field(default_factory=dict)
    """``sys_enter``/``sys_exit`` -> the raw_syscalls format text the records are folded into."""

    def note(self) -> str:
        return per_call_syscalls_note(self.left_out, len(self.no_event)).text

    def to_json(self) -> dict[str, object]:
        return {
            "format": 1,
            "enter": {str(k): v for k, v in sorted(self.enter.items())},
            "exit": {str(k): v for k, v in sorted(self.exit.items())},
            "left_out": self.left_out,
            "no_event": self.no_event,
            "raw_formats": self.raw_formats,
            "note": self.note(),
        }


_CHOSEN: dict[Path, PerCallSyscalls] = {}
"""Instance path -> what :func:`arm_events` armed instead of raw_syscalls, until
:func:`copy_headers` writes it into the recording."""


def _return_probes_enabled(instance: Instance) -> bool:
    """Whether uretprobes of a group are enabled in ``instance`` (``--functions``): each return
    makes a ``uretprobe`` system call where the kernel has one."""
    try:
        enabled = {line.split(":", 1)[0] for line in instance.read("set_event").split()}
        definitions = read_text(instance.path.parent.parent / "uprobe_events")
    except KernlabError:
        return False
    for line in definitions.splitlines():
        head = line.split(" ", 1)[0]
        if head.startswith("r") and ":" in head and head.split(":", 1)[1].split("/", 1)[0] in enabled:
            return True
    return False


def _numbers_without_event(machine: str, names: set[str]) -> list[int]:
    """Numbers of ``machine``'s syscall table whose call has no sys_enter_<name> event here
    (the event is named after SYSCALL_DEFINE: ``umount`` for ``umount2``)."""
    from kernlab.syscalls.tables import by_number, normalize_arch

    try:
        table = by_number(normalize_arch(machine))
    except (KernlabError, ValueError):
        return []
    missing = []
    for nr, call in table.items():
        candidates = {call.name}
        if call.entry and call.entry.startswith("sys_"):
            candidates.add(call.entry[4:])
        if not any(f"sys_enter_{c}" in names for c in candidates):
            missing.append(nr)
    return sorted(missing)


def per_call_syscalls(
    instance: Instance, events: list[str], kstack: list[str], probes: Instance | None = None
) -> PerCallSyscalls | None:
    """What to arm instead of ``raw_syscalls`` when the recording probes returns, or None.

    Every return through a uretprobe makes a ``uretprobe`` system call (x86-64, Linux 6.11+);
    ``raw_syscalls`` fires for it like for any call, and an event filter drops the record only
    after it was built (~450 ns per probed call measured here, 30% of the probe pair). The
    per-call ``syscalls:sys_enter_<name>`` events cost a call that is not enabled one bit test,
    so they record every other call for nothing extra. Only then: they miss what raw_syscalls
    sees (compat calls, numbers with no event, rt_sigreturn's exit), and arming them all writes
    one file.
    """
    names = set(events)
    if not all(e in names for e in RAW_SYSCALLS) or any(e.startswith("syscalls:") for e in events):
        return None
    for item in (k.strip() for k in kstack):
        # A kernel stack asked for on raw_syscalls keeps it (its trigger belongs there).
        if item and any(
            e == item or e.split(":", 1)[1] == item or e.startswith(item + ":") for e in RAW_SYSCALLS
        ):
            return None
    base = instance.path / "events" / "syscalls"
    if not (base / f"sys_enter_{LEFT_OUT[0]}").is_dir():
        return None  # no uretprobe system call: raw_syscalls costs the probes nothing
    if not _return_probes_enabled(probes or instance):
        return None
    # Both trampolines' calls where the kernel has them (``uprobe``: optimized entry probes).
    chosen = PerCallSyscalls(left_out=[n for n in LEFT_OUT if (base / f"sys_enter_{n}").is_dir()])
    try:
        listed = sorted(p.name for p in base.iterdir() if p.name.startswith("sys_"))
        for name in listed:
            if name.removeprefix("sys_enter_").removeprefix("sys_exit_") in chosen.left_out:
                continue
            # ``id``, not ``format``: a format read takes event_mutex, and with other tracing
            # going on 720 of them took 4 s here; 720 ids take 10 ms.
            event_id = int(read_text(base / name / "id"))
            (chosen.enter if name.startswith("sys_enter_") else chosen.exit)[event_id] = name
        for event in RAW_SYSCALLS:
            system, name = event.split(":", 1)
            chosen.raw_formats[name] = read_text(instance.path / "events" / system / name / "format")
    except (KernlabError, OSError, ValueError):
        return None
    if not chosen.enter or not chosen.exit:
        return None
    chosen.no_event = _numbers_without_event(os.uname().machine, set(listed))
    return chosen


def _arm_per_call(instance: Instance, chosen: PerCallSyscalls) -> None:
    """One write enables every per-call event (~1 ms here for 720), then the left-out pairs go."""
    instance.enable_event("syscalls")
    for name in chosen.left_out:
        for kind in ("enter", "exit"):
            instance.write(f"events/syscalls/sys_{kind}_{name}/enable", "0")


def arm_events(
    instance: Instance, events: list[str], kstack: list[str], probes: Instance | None = None
) -> list[str]:
    """Enable ``events`` (``system:name``) and their kernel-stack triggers; return the latter.

    ``raw_syscalls`` is replaced by the per-call ``syscalls:*`` events when the recording's
    return probes would make it pay for their own system call (:func:`per_call_syscalls`; the
    probes are enabled in ``probes`` when they have their own instance, else in ``instance``);
    :func:`copy_headers` then says so in the recording (``formats/syscall_events.json``)."""
    chosen = per_call_syscalls(instance, events, kstack, probes)
    for event in events:
        if chosen is not None and event in RAW_SYSCALLS:
            continue
        instance.enable_event(*event.split(":", 1))
    if chosen is not None:
        _arm_per_call(instance, chosen)
        _CHOSEN[instance.path] = chosen
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
            raise BadInput(
                f"--kstack {item}: not one of the recorded events (add it with -e)",
                key="errors.record.kstack_not_recorded",
                fields={"event": item},
            )
        for event in matches:
            system, name = event.split(":", 1)
            instance.add_trigger(system, name, "stacktrace")
            chosen.append(event)
    return chosen


def copy_headers(instance: Instance, directory: Path) -> None:
    """The page and event header layouts of this instance (its sub-buffer size may differ from
    the top instance's); the events' own formats are copied by the kernel-tables copier. When
    :func:`arm_events` armed the per-call system-call events, which ones (and how to fold them
    into raw_syscalls records) go to ``formats/syscall_events.json``."""
    base = instance.path / "events"
    (directory / layout.HEADER_PAGE).write_text(read_text(base / "header_page"))
    (directory / layout.HEADER_EVENT).write_text(read_text(base / "header_event"))
    chosen = _CHOSEN.pop(instance.path, None)
    if chosen is not None:
        target = directory / layout.FORMATS_DIR / SYSCALL_EVENTS_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(chosen.to_json(), indent=1) + "\n")


def sync_marker(instance: Instance) -> int:
    """Write a trace_marker line carrying CLOCK_MONOTONIC now; return the value written.

    The marker becomes an ``ftrace:print`` record stamped with the trace clock, so a reader can
    turn trace-clock timestamps into CLOCK_MONOTONIC (the clock of the maps snapshots).
    """
    now = time.monotonic_ns()
    instance.write("trace_marker", f"{SYNC_MARKER}{now}")
    return now
