"""What the labs share: a scratch folder, children that do the work, a recording's work window.

A lab's child is the running interpreter (always at hand where kernlab runs, unlike a C
compiler) with a short script. Its start-up makes hundreds of system calls and faults of its
own, so the script brackets the work between two *marker* calls, ``close()`` of two file
numbers no process has open (EBADF, nothing else happens); the events of the recording between
the two markers' sys_enter are the work's. The child writes its own measurements (times,
getrusage deltas, addresses) as JSON into a file, so stdout stays the user's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernlab.errors import OSFailure
from kernlab.recording.reader import Recording, open_recording

__all__ = [
    "MARKER_CODE",
    "MARK_BEGIN",
    "MARK_END",
    "ChildRun",
    "SyscallCount",
    "Window",
    "can_trace",
    "run_child",
    "scratch_folder",
    "syscalls_in",
    "work_window",
]

MARK_BEGIN = 0x4B4C0
MARK_END = 0x4B4C1
"""File numbers the child closes to mark the work's start and end: far above any open file
(and above the default RLIMIT_NOFILE), so the call fails with EBADF and does nothing else."""

MARKER_CODE = f"""
import os, json, time, resource
def mark(n):
    try:
        os.close(n)
    except OSError:
        pass
def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_minflt, r.ru_majflt
BEGIN, END = {MARK_BEGIN}, {MARK_END}
"""
"""Prepended to every child's script: mark(BEGIN) / mark(END) and getrusage's fault counters."""

SYS_ENTER = "raw_syscalls:sys_enter"
SYS_EXIT = "raw_syscalls:sys_exit"


def scratch_folder(prefix: str) -> Path:
    """A new temporary folder, in /var/tmp when writable: /tmp may be tmpfs, whose pages never
    leave the page cache (the same choice as the tour's)."""
    parent = "/var/tmp" if os.access("/var/tmp", os.W_OK | os.X_OK) else None
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def can_trace(no_trace: bool = False) -> bool:
    """Whether this run records its children: root, and not turned off."""
    return not no_trace and os.geteuid() == 0


@dataclass
class ChildRun:
    """One child that did a lab's work: what it wrote about itself, and its recording."""

    pid: int
    exit_code: int | None
    result: dict[str, Any]
    recording: Recording | None = None
    directory: Path | None = None


def _interpreter(script: str, result_path: Path, args: Sequence[str]) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", MARKER_CODE + script, str(result_path), *args]


def run_child(
    script: str,
    args: Sequence[str],
    folder: Path,
    name: str,
    *,
    trace: bool,
    groups: Sequence[str] = (),
    kstack: Sequence[str] = (),
) -> ChildRun:
    """Run ``script`` in a fresh interpreter (recorded when ``trace``) and read its JSON result."""
    result_path = folder / f"{name}.json"
    result_path.unlink(missing_ok=True)
    command = _interpreter(script, result_path, args)
    if trace:
        from kernlab.recording.recorder import RecordOptions, record

        directory = folder / f"{name}.data"
        options = RecordOptions(output=directory, command=command, groups=list(groups), kstack=list(kstack))
        done = record(options, background_removal=True)
        try:
            rec = open_recording(done.directory)
        finally:
            done.finish_cleanup()
        pid, code = done.meta.root_pid, done.meta.exit_code
    else:
        run = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        rec, directory, pid, code = None, None, 0, run.returncode
    try:
        result = json.loads(result_path.read_text())
    except (OSError, ValueError) as exc:
        raise OSFailure(
            f"the lab's child ({name}) exited with status {code} before reporting",
            key="errors.report.lab_child_exited",
            fields={"name": name, "status": code},
        ) from exc
    return ChildRun(int(result.get("pid", pid)), code, result, rec, directory)


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Window:
    """The trace times of the child's two marker calls: its work lies between them."""

    pid: int
    begin: int
    end: int

    @property
    def duration_ns(self) -> int:
        return self.end - self.begin


def _close_number(rec: Recording) -> int:
    from kernlab.syscalls.tables import lookup, normalize_arch

    return lookup("close", normalize_arch(rec.meta.machine or None)).number


def work_window(rec: Recording, pid: int) -> Window | None:
    """The sys_enter times of close(MARK_BEGIN) and close(MARK_END) by ``pid``."""
    if SYS_ENTER not in rec.by_name:
        return None
    close_nr = _close_number(rec)
    begin = end = None
    for event in rec.iter_events({SYS_ENTER}):
        if event.pid != pid or event.fields.get("id") != close_nr:
            continue
        args = event.fields.get("args") or [0]
        if args[0] == MARK_BEGIN and begin is None:
            begin = event.ts
        elif args[0] == MARK_END and begin is not None:
            end = event.ts
            break
    if begin is None or end is None:
        return None
    return Window(pid, begin, end)


@dataclass(frozen=True)
class SyscallCount:
    """One system call the work made: how often, and the bytes its returns add up to."""

    name: str
    calls: int
    returned: int  # the sum of its non-negative return values (bytes, for read and write)


@dataclass(frozen=True)
class SyscallSummary:
    total: int
    calls: tuple[SyscallCount, ...] = field(default_factory=tuple)

    def calls_of(self, name: str) -> int:
        return next((c.calls for c in self.calls if c.name == name), 0)

    def returned_by(self, name: str) -> int:
        return next((c.returned for c in self.calls if c.name == name), 0)


def syscalls_in(rec: Recording, window: Window) -> SyscallSummary:
    """The system calls ``window.pid`` entered strictly between the markers, by name."""
    from kernlab.syscalls.tables import by_number, normalize_arch

    names = by_number(normalize_arch(rec.meta.machine or None))
    calls: Counter[str] = Counter()
    returned: Counter[str] = Counter()
    wanted = {n for n in (SYS_ENTER, SYS_EXIT) if n in rec.by_name}
    for event in rec.iter_events(wanted):
        if event.pid != window.pid or not window.begin < event.ts < window.end:
            continue
        number = event.fields.get("id", -1)
        known = names.get(number)
        name = known.name if known else str(number)
        if event.name == SYS_ENTER:
            calls[name] += 1
        elif (ret := event.fields.get("ret", -1)) > 0:
            returned[name] += ret
    rows = tuple(SyscallCount(n, c, returned[n]) for n, c in calls.most_common())
    return SyscallSummary(sum(calls.values()), rows)
