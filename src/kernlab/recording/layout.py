"""The recording directory: where each file lives, and the metadata that describes the run.

This module is the contract between ``kernlab record`` (which writes a recording) and every
reader of one (``kernlab report``, ``syscalls``, ``faults``, ``dump``). A recording is
self-contained: it holds the raw ring-buffer pages of each CPU together with the tracefs files
that say how to decode them, so it can be read on another machine or kernel.

Layout (all paths relative to the recording directory, ``kernlab.data`` by default)::

    meta.json                      RecordingMeta as JSON (format_version first)
    state.json                     recording / complete / cut_short, and the recorder's lock
    header_page                    copy of tracefs events/header_page
    header_event                   copy of tracefs events/header_event
    formats/<system>/<event>/format  copy of tracefs events/<system>/<event>/format
    cpus/cpu<N>.raw                the bytes read from per_cpu/cpu<N>/trace_pipe_raw, page after page
    cpus/cpu<N>.stats              per_cpu/cpu<N>/stats as the kernel printed it at the end
    maps/<pid>.<seq>.<when>.maps   /proc/<pid>/maps snapshots (when: attach, exec, exit, end)
    kallsyms                       lines of /proc/kallsyms needed to name kernel addresses
    saved_cmdlines                 copy of tracefs saved_cmdlines (pid -> comm of traced tasks)
    syscall_formats                every events/syscalls/sys_{enter,exit}_*/format, one after another
    printk_formats                 copy of tracefs printk_formats (address -> format of trace_printk)

Every integer in meta.json is a number; addresses are integers too.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from kernlab.errors import BadInput
from kernlab.recording.notes import Note, note_from_dict

FORMAT_VERSION = 1
"""Bumped whenever a reader of an older recording could misread a newer one."""

DEFAULT_DIR = "kernlab.data"
META = "meta.json"
STATE = "state.json"
"""Whether the recording is complete (see kernlab.recording.state)."""
HEADER_PAGE = "header_page"
HEADER_EVENT = "header_event"
FORMATS_DIR = "formats"
CPUS_DIR = "cpus"
MAPS_DIR = "maps"
KALLSYMS = "kallsyms"
SAVED_CMDLINES = "saved_cmdlines"
SYSCALL_FORMATS = "syscall_formats"
PRINTK_FORMATS = "printk_formats"


def format_path(root: Path, system: str, event: str) -> Path:
    """Where the tracefs ``format`` file of ``system:event`` is kept."""
    return Path(root) / FORMATS_DIR / system / event / "format"


def cpu_raw_path(root: Path, cpu: int) -> Path:
    """The raw ring-buffer pages read from CPU ``cpu``'s trace_pipe_raw."""
    return Path(root) / CPUS_DIR / f"cpu{cpu}.raw"


def cpu_stats_path(root: Path, cpu: int) -> Path:
    """The text of ``per_cpu/cpu<N>/stats`` at the end of the recording."""
    return Path(root) / CPUS_DIR / f"cpu{cpu}.stats"


def maps_path(root: Path, pid: int, seq: int, when: str) -> Path:
    """A /proc/<pid>/maps snapshot; ``seq`` orders snapshots of one recording."""
    return Path(root) / MAPS_DIR / f"{pid}.{seq}.{when}.maps"


@dataclass
class CpuLoss:
    """What one CPU's ring buffer lost, from tracefs ``per_cpu/cpu<N>/stats``.

    ``overrun`` counts events overwritten before they were read (overwrite mode);
    ``dropped`` counts events refused because the buffer was full (no-overwrite mode);
    ``commit_overrun`` counts events lost when nested writers wrapped a page.
    """

    cpu: int
    entries: int = 0
    overrun: int = 0
    commit_overrun: int = 0
    dropped: int = 0
    read: int = 0
    bytes_raw: int = 0
    """Bytes of raw pages kernlab saved for this CPU (size of cpus/cpu<N>.raw)."""
    lost: int = 0
    """overrun + commit_overrun + dropped: events this CPU's buffer lost."""
    buffer: str = ""
    """Which instance's buffer: "" the recording's own, ``functions`` the function probes'
    (recording/probe_buffer.py)."""

    def __post_init__(self) -> None:
        self.lost = self.overrun + self.commit_overrun + self.dropped

    @property
    def label(self) -> str:
        """The CPU as views name it: ``1``, or ``1 (--functions)`` for the probes' buffer."""
        return f"{self.cpu} (--{self.buffer})" if self.buffer else str(self.cpu)


@dataclass
class Rusage:
    """getrusage-style counters of the traced command (wait4 of the root process)."""

    minflt: int
    majflt: int
    utime_s: float
    stime_s: float
    maxrss_kb: int
    nvcsw: int = 0
    nivcsw: int = 0


@dataclass
class MapsSnapshot:
    """One saved copy of /proc/<pid>/maps, with the fault counters of /proc/<pid>/stat then."""

    pid: int
    when: str
    """``attach``, ``exec``, ``exit`` or ``end``."""
    path: str
    """Relative to the recording directory."""
    comm: str = ""
    exe: str = ""
    minflt: int = 0
    majflt: int = 0
    time_ns: int = 0
    """CLOCK_MONOTONIC when the snapshot was taken."""


@dataclass
class Binary:
    """A file mapped executable by a traced process: path and GNU build-id if it has one."""

    path: str
    build_id: str = ""
    size: int = 0
    mtime_ns: int = 0


@dataclass
class TracedProcess:
    """A process seen during the recording (root command, its children, or the attached PID)."""

    pid: int
    ppid: int = 0
    comm: str = ""
    exe: str = ""
    argv: list[str] = field(default_factory=list)
    exit_status: int | None = None
    """Raw wait status as the kernel reported it, when kernlab saw the process end."""


@dataclass
class RecordingMeta:
    """Everything about a recording that is not the raw events themselves (meta.json)."""

    format_version: int
    command: list[str]
    """The argv of the traced command, or an empty list for ``record -p``."""
    root_pid: int
    attached: bool
    """True for ``record -p PID`` (the process existed before tracing started)."""
    events: list[str]
    """Enabled events as ``system:event``."""
    kstack_events: list[str]
    """Events that also record a kernel stack trace (an extra ``ftrace:kernel_stack`` event)."""
    kernel_release: str
    machine: str
    page_size: int
    """Size of one ring-buffer page (sub-buffer) in bytes, as read from trace_pipe_raw."""
    cpus: int
    """Number of per_cpu directories of the instance (one raw file each)."""
    clock: str
    """The instance's trace_clock (``local`` by default)."""
    buffer_size_kb: int
    """Per-CPU buffer size requested from the kernel."""
    start_time_ns: int
    """CLOCK_MONOTONIC when tracing was turned on."""
    end_time_ns: int
    wall_start: float
    """time.time() at start (for humans; events carry trace_clock timestamps)."""
    exit_code: int | None
    """Exit code kernlab returned for the command (128+signal if it was killed)."""
    loss: list[CpuLoss] = field(default_factory=list)
    rusage: Rusage | None = None
    processes: list[TracedProcess] = field(default_factory=list)
    maps: list[MapsSnapshot] = field(default_factory=list)
    binaries: list[Binary] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)
    """Kernel config facts that change what events mean (e.g. CONFIG_PGTABLE_LEVELS)."""
    instance: str = ""
    """Name of the tracefs instance used (already removed)."""
    notes: list[str] = field(default_factory=list)
    """Anything the recorder could not do (e.g. a snapshot missed because a process was gone),
    in English: added through :meth:`add_note`, which keeps each one's key in ``note_phrases``."""
    clock_sync_ns: list[int] = field(default_factory=list)
    """CLOCK_MONOTONIC values written as ``ftrace:print`` records "kernlab-sync mono_ns=<N>"
    right after tracing started and just before it stopped: pair each with its record's
    timestamp to convert the trace clock to CLOCK_MONOTONIC."""
    lost_events: int = 0
    """Sum of every CPU's ``lost``; kept in meta.json so no reader can miss it."""
    pre_exec_faults: list[int] | None = None
    """[minflt, majflt] of the command's process just before kernlab released it to execve
    (/proc/PID/stat): faults before the command ran, which its getrusage counts too (a couple
    for a held posix_spawn child, ~200-300 for a forked Python one). Faults after that moment
    are traced (before the command's execve time stamp)."""
    host: str = ""
    """os.uname().nodename of the machine that recorded (the Parquet tables' host column)."""
    note_phrases: list[Note] = field(default_factory=list)
    """The catalog key and fields of each note the recorder made (recording/notes.py), whose
    ``text`` is one of ``notes``: explain/ words them in the language asked for. Empty in
    recordings made before notes had keys (their notes print as they are)."""

    def __post_init__(self) -> None:
        self.lost_events = sum(c.lost for c in self.loss)

    def add_note(self, note: Note) -> None:
        """A note of the recorder: its English text in ``notes``, its key in ``note_phrases``."""
        self.notes.append(note.text)
        self.note_phrases.append(note)


# What each annotation of the metadata classes accepts: a damaged meta.json is refused here,
# with one line, instead of failing later in arithmetic on a string.
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "str": (str,),
    "bool": (bool, int),
    "float": (int, float),
    "int | None": (int, type(None)),
    "list[int] | None": (list, type(None)),
    "Rusage | None": (Rusage, type(None)),
}


_ELEMENTS: dict[str, type] = {"list[str]": str, "list[int]": int, "dict[str, str]": str}


def _build(cls: type, data: dict[str, Any]) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"{cls.__name__} is not an object")
    known = {f.name: str(f.type) for f in fields(cls)}
    for key, value in data.items():
        kind = known.get(key)
        if kind is None:
            continue
        accepts = _ACCEPTS.get(
            kind, (list,) if kind.startswith("list[") else (dict,) if kind.startswith("dict[") else (object,)
        )
        if not isinstance(value, accepts):
            raise TypeError(f"{key} is {type(value).__name__}, not {kind}")
        if isinstance(value, int) and not -(1 << 63) <= value < 1 << 64:
            raise TypeError(f"{key} is out of range for a 64-bit number")
        inner = _ELEMENTS.get(kind.removesuffix(" | None"))
        if inner is not None and isinstance(value, (list, dict)):
            items = list(value.items()) if isinstance(value, dict) else [(v, v) for v in value]
            if not all(isinstance(k, inner) and isinstance(v, inner) for k, v in items):
                raise TypeError(f"{key} holds values that are not {kind}")
    return cls(**{k: v for k, v in data.items() if k in known})


def meta_from_dict(data: dict[str, Any]) -> RecordingMeta:
    """Rebuild a RecordingMeta from parsed meta.json (unknown keys are ignored)."""
    if not isinstance(data, dict):
        raise TypeError("not an object")
    data = dict(data)
    data["loss"] = [_build(CpuLoss, c) for c in data.get("loss", [])]
    data["rusage"] = _build(Rusage, data["rusage"]) if data.get("rusage") else None
    data["processes"] = [_build(TracedProcess, p) for p in data.get("processes", [])]
    data["maps"] = [_build(MapsSnapshot, m) for m in data.get("maps", [])]
    data["binaries"] = [_build(Binary, b) for b in data.get("binaries", [])]
    phrases = data.get("note_phrases", [])
    if not isinstance(phrases, list):
        raise TypeError(f"note_phrases is {type(phrases).__name__}, not a list")
    data["note_phrases"] = [note_from_dict(n) for n in phrases]
    return _build(RecordingMeta, data)


def meta_to_dict(meta: RecordingMeta) -> dict[str, Any]:
    for loss in meta.loss:
        loss.__post_init__()
    meta.__post_init__()
    return asdict(meta)


def write_meta(root: Path, meta: RecordingMeta) -> Path:
    """Write meta.json atomically (a reader never sees half a file)."""
    root = Path(root)
    target = root / META
    tmp = root / (META + ".tmp")
    tmp.write_text(json.dumps(meta_to_dict(meta), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def read_meta(root: Path) -> RecordingMeta:
    """Read a recording's meta.json; BadInput when it is missing, damaged or too new."""
    root = Path(root)
    path = root / META
    if not root.is_dir():
        raise BadInput(
            f"{root} is not a recording directory (record one with `kernlab record`)",
            key="errors.recording.not_recording_dir",
            fields={"path": str(root)},
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInput(
            f"{root} has no {META}: not a kernlab recording, or the recording was cut short",
            key="errors.recording.no_meta_cut_short",
            fields={"path": str(root), "meta": META},
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(
            f"cannot read {path}: {exc}",
            key="errors.recording.cannot_read",
            fields={"path": str(path), "reason": str(exc)},
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("format_version"), int):
        raise BadInput(
            f"{path} is not kernlab recording metadata (no format_version)",
            key="errors.recording.no_format_version",
            fields={"path": str(path)},
        )
    if data["format_version"] > FORMAT_VERSION:
        raise BadInput(
            f"{root} uses recording format {data['format_version']}; this kernlab reads up to "
            f"{FORMAT_VERSION} (upgrade kernlab)",
            key="errors.recording.too_new",
            fields={"path": str(root), "version": data["format_version"], "most": FORMAT_VERSION},
        )
    try:
        return meta_from_dict(data)
    except (TypeError, ValueError) as exc:
        raise BadInput(
            f"{path} is damaged: {exc}",
            key="errors.recording.damaged",
            fields={"path": str(path), "reason": str(exc)},
        ) from None
