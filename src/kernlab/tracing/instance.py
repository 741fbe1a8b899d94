"""Private tracefs instances: created for one recording, removed on every path out.

An instance (``instances/<name>``) has its own ring buffers, events, options and pid filter, so
kernlab never touches the global tracer or another tool's session. Names carry the owner's PID
and its start time (field 22 of /proc/<pid>/stat) so that a later run can tell an instance whose
owner died (SIGKILL, power cut of the terminal) from one still in use, even after PID reuse.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from kernlab.errors import NotSupported, PermissionNeeded, TracingError
from kernlab.tracing.tracefs import read_text, tracefs_root, try_write, write_text

PREFIX = "kernlab"
NAME_RE = re.compile(r"^kernlab-(\d+)-(\d+)-(\w+)$")
UPROBE_GROUP_RE = re.compile(r"^kernlab_(\d+)_(\d+)\w*$")

_counter = itertools.count()


def process_start_time(pid: int | str = "self") -> int | None:
    """Field 22 (starttime, clock ticks since boot) of /proc/<pid>/stat; None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read()
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    rest = text[text.rfind(b")") + 2 :].split()
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return None


def owner_tag(pid: int | None = None) -> tuple[int, int]:
    """(pid, start time) identifying a live process, this one by default."""
    pid = os.getpid() if pid is None else pid
    start = process_start_time(pid)
    if start is None:
        raise TracingError(
            f"cannot read /proc/{pid}/stat to name a tracefs instance",
            key="errors.tracing.no_owner_tag",
            fields={"pid": pid},
        )
    return pid, start


def owner_alive(pid: int, start: int) -> bool:
    """True when process ``pid`` exists and started at ``start`` (so it is the same process)."""
    return process_start_time(pid) == start


@dataclass(frozen=True)
class CpuStats:
    """One CPU's ring-buffer counters, from ``per_cpu/cpu<N>/stats`` of an instance."""

    cpu: int
    entries: int
    overrun: int
    commit_overrun: int
    bytes: int
    dropped: int
    read: int


_STATS_KEYS = {
    "entries": "entries",
    "overrun": "overrun",
    "commit overrun": "commit_overrun",
    "bytes": "bytes",
    "dropped events": "dropped",
    "read events": "read",
}

# buffer_size_kb refused (tracefs.write_text's errors): the same sentence, with the likely cause.
_BUFFER_SIZE_KEYS = {
    "errors.tracing.cannot_open": "errors.tracing.buffer_cannot_open",
    "errors.tracing.cannot_write": "errors.tracing.buffer_cannot_write",
}


def parse_cpu_stats(cpu: int, text: str) -> CpuStats:
    """Parse the ``key: value`` lines of a per-CPU stats file (timestamps are ignored)."""
    values = dict.fromkeys(_STATS_KEYS.values(), 0)
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        name = _STATS_KEYS.get(key.strip())
        if sep and name:
            try:
                values[name] = int(value.strip())
            except ValueError:
                continue
    return CpuStats(cpu=cpu, **values)


class Instance:
    """One tracefs instance owned by this process. Use as a context manager, or call remove()."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self._removed = False

    # -- creation and removal -------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path | None = None, purpose: str = "rec") -> Instance:
        """mkdir a new instance named ``kernlab-<pid>-<start>-<purpose><n>``."""
        root = root or tracefs_root()
        instances = root / "instances"
        if not instances.is_dir():
            raise NotSupported(
                f"{instances} is missing: this kernel has no tracefs instances",
                key="errors.tracing.no_instances",
                fields={"path": str(instances)},
            )
        pid, start = owner_tag()
        while True:
            path = instances / f"{PREFIX}-{pid}-{start}-{purpose}{next(_counter)}"
            try:
                os.mkdir(path)
                return cls(path)
            except FileExistsError:
                continue
            except PermissionError as exc:
                raise PermissionNeeded(
                    f"cannot create a tracefs instance in {instances}: run as root",
                    path=instances,
                    key="errors.tracing.instance_needs_root",
                    fields={"path": str(instances)},
                ) from exc
            except OSError as exc:
                raise TracingError(
                    f"cannot create tracefs instance {path}: {exc.strerror}",
                    path=path,
                    key="errors.tracing.cannot_create_instance",
                    fields={"path": str(path), "reason": exc.strerror},
                ) from exc

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        """Stop and disable everything in the instance, then rmdir it (readers must be closed)."""
        if self._removed:
            return
        self._removed = True
        remove_instance(self.path)

    # -- files ------------------------------------------------------------------------------------

    def file(self, relative: str) -> Path:
        return self.path / relative

    def read(self, relative: str) -> str:
        return read_text(self.path / relative)

    def write(self, relative: str, value: str) -> None:
        write_text(self.path / relative, value)

    def cpus(self) -> list[int]:
        """CPU numbers with a per_cpu directory in this instance (possible CPUs)."""
        found = []
        for entry in (self.path / "per_cpu").iterdir():
            if entry.name.startswith("cpu") and entry.name[3:].isdigit():
                found.append(int(entry.name[3:]))
        return sorted(found)

    def set_buffer_size_kb(self, kb: int) -> int:
        """Ask for ``kb`` KiB per CPU; return what the kernel actually set."""
        try:
            self.write("buffer_size_kb", str(kb))
        except TracingError as exc:
            # The kernel's refusal (its key and fields) with the likely cause added.
            raise TracingError(
                f"{exc} (not enough memory for {kb} KiB per CPU? try --buffer-size)",
                key=_BUFFER_SIZE_KEYS.get(exc.key or ""),
                fields={**exc.fields, "kb": kb},
            ) from exc
        text = self.read("buffer_size_kb").split()[0]
        return int(text) if text.isdigit() else kb

    def subbuf_size(self) -> int:
        """Bytes of one ring-buffer page as trace_pipe_raw returns it."""
        path = self.path / "buffer_subbuf_size_kb"
        if path.exists():
            text = read_text(path).strip()
            if text.isdigit():
                return int(text) * 1024
        return os.sysconf("SC_PAGE_SIZE")

    def set_option(self, name: str, on: bool) -> None:
        self.write(f"options/{name}", "1" if on else "0")

    def set_event_pids(self, pids: list[int]) -> None:
        self.write("set_event_pid", " ".join(str(p) for p in pids))

    def enable_event(self, system: str, event: str | None = None) -> None:
        """Enable ``system:event`` (or the whole system when event is None)."""
        rel = f"events/{system}/enable" if event is None else f"events/{system}/{event}/enable"
        if not (self.path / rel).exists():
            what = system if event is None else f"{system}:{event}"
            raise NotSupported(
                f"this kernel has no trace event {what} (see `kernlab doctor`)",
                key="errors.tracing.no_event",
                fields={"event": what},
            )
        self.write(rel, "1")

    def add_trigger(self, system: str, event: str, trigger: str) -> None:
        self.write(f"events/{system}/{event}/trigger", trigger)

    def tracing_on(self, on: bool) -> None:
        self.write("tracing_on", "1" if on else "0")

    def cpu_stats(self, cpu: int) -> CpuStats:
        return parse_cpu_stats(cpu, self.read(f"per_cpu/cpu{cpu}/stats"))


def _rmdir_retrying(path: Path) -> None:
    # A reader that just closed trace_pipe_raw can keep the instance busy for a moment.
    for attempt in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or attempt == 49:
                raise TracingError(
                    f"cannot remove tracefs instance {path}: {exc.strerror}",
                    path=path,
                    key="errors.tracing.cannot_remove_instance",
                    fields={"path": str(path), "reason": exc.strerror},
                ) from exc
            time.sleep(0.02)


def remove_instance(path: Path) -> None:
    """Turn an instance off and rmdir it. Works on instances of dead kernlab runs too."""
    if not path.exists():
        return
    try_write(path / "tracing_on", "0")
    try_write(path / "set_event", "")
    # rmdir itself drops the instance's pid filter, event triggers and buffers; only open files
    # block it. (Clearing set_event_pid first would cost an RCU grace period, ~35 ms, for nothing.)
    _rmdir_retrying(path)


def find_stale_instances(root: Path | None = None) -> list[Path]:
    """Instances named by kernlab whose owner process is gone (or its PID was reused)."""
    root = root or tracefs_root()
    stale = []
    try:
        entries = list((root / "instances").iterdir())
    except OSError:
        return []
    for entry in entries:
        match = NAME_RE.match(entry.name)
        if match and not owner_alive(int(match.group(1)), int(match.group(2))):
            stale.append(entry)
    return stale


def stale_uprobe_events(root: Path | None = None) -> list[str]:
    """``group/event`` names of kernlab uprobes whose owner is gone (from uprobe_events)."""
    root = root or tracefs_root()
    path = root / "uprobe_events"
    if not path.exists():
        return []
    stale = []
    for line in read_text(path).splitlines():
        # p:kernlab_123_456/name /path:0x1234
        head = line.split(maxsplit=1)[0] if line.strip() else ""
        _, _, spec = head.partition(":")
        group, _, event = spec.partition("/")
        match = UPROBE_GROUP_RE.match(group)
        if match and event and not owner_alive(int(match.group(1)), int(match.group(2))):
            stale.append(f"{group}/{event}")
    return stale


def remove_uprobe(root: Path, spec: str) -> OSError | None:
    """Disable and delete the uprobe event ``group/event``."""
    group, _, event = spec.partition("/")
    try_write(root / "events" / group / event / "enable", "0")
    return try_write(root / "uprobe_events", f"-:{spec}", append=True)


JOURNAL_TAG = "kernlab-toplevel-journal "
"""Starts the trace_marker line in which a journal instance keeps replaced top-level settings
(see :mod:`kernlab.tracing.toplevel`)."""


def write_settings_back(root: Path, saved: list[tuple[str, str]]) -> list[str]:
    """Write ``(file, value)`` pairs back at the top level, last change first; the failures."""
    failures = []
    for name, value in reversed(saved):
        err = try_write(root / name, value)
        if err is not None:
            failures.append(f"{name}: {err.strerror}")
    return failures


def restore_journal(root: Path, journal: Path) -> list[str]:
    """Write back the top-level settings a dead run's journal instance kept; the failures."""
    try:
        text = read_text(journal / "trace")
    except (TracingError, NotSupported, PermissionNeeded) as exc:
        return [str(exc)]
    for line in text.splitlines():
        _, tag, payload = line.partition(JOURNAL_TAG)
        if not tag:
            continue
        try:
            pairs = json.loads(payload)
        except json.JSONDecodeError:
            return [f"{journal.name}: unreadable journal of top-level settings"]
        return write_settings_back(root, [(str(name), str(value)) for name, value in pairs])
    return []


@dataclass(frozen=True)
class StaleCleanup:
    """What a stale cleanup removed, and what it could not."""

    instances: list[str]
    uprobes: list[str]
    failures: list[str]
    restored: list[str] = field(default_factory=list)
    """Journal instances whose top-level settings were written back before removal."""


def clean_stale(root: Path | None = None) -> StaleCleanup:
    """Remove instances and uprobes left by kernlab runs whose owner died."""
    root = root or tracefs_root()
    removed: list[str] = []
    uprobes: list[str] = []
    failures: list[str] = []
    restored: list[str] = []
    for path in find_stale_instances(root):
        match = NAME_RE.match(path.name)
        if match and match.group(3).startswith("toplevel"):
            problems = restore_journal(root, path)
            failures += problems
            if not problems:
                restored.append(path.name)
        try:
            remove_instance(path)
            removed.append(path.name)
        except TracingError as exc:
            failures.append(str(exc))
    for spec in stale_uprobe_events(root):
        err = remove_uprobe(root, spec)
        if err is None:
            uprobes.append(spec)
        else:
            failures.append(f"cannot remove uprobe {spec}: {err.strerror}")
    return StaleCleanup(removed, uprobes, failures, restored)
