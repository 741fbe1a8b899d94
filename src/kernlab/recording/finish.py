"""What a recording learns only at its end, added to its metadata before the last write.

The root's exit status and rusage, the processes and maps snapshots the watcher saw, the
build-ids of the binaries those maps name, what the kernel-tables copier saved, and notes on
whatever could not be saved.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from resource import struct_rusage

from kernlab.errors import KernlabError
from kernlab.recording import layout
from kernlab.recording.kernel_tables import TablesCopied
from kernlab.recording.layout import RecordingMeta, Rusage
from kernlab.recording.notes import Note, note
from kernlab.recording.snapshot import describe_binaries, executable_paths, process_running
from kernlab.recording.watcher import ProcessWatcher
from kernlab.tracing.tracefs import read_text

__all__ = ["exit_code_of", "finish_meta"]


def finish_meta(
    meta: RecordingMeta,
    watcher: ProcessWatcher,
    start_faults: tuple[int, int],
    directory: Path,
    root: Path,
    copied: TablesCopied,
    snapshots: bool = True,
) -> None:
    """Fill in what is known only at the end: exit, rusage, processes, binaries, notes.

    ``snapshots`` is False for what is recorded without ptrace (a kernel thread, -a).
    """
    if meta.attached and snapshots:
        _note_attached_faults(meta, watcher, start_faults)
    meta.exit_code = exit_code_of(watcher.root_status)
    meta.rusage = _rusage(watcher.root_rusage)
    meta.pre_exec_faults = watcher.pre_exec_faults
    meta.maps = watcher.snapshots
    meta.processes = sorted(watcher.processes.values(), key=lambda p: p.pid)
    meta.binaries = describe_binaries(_mapped_executables(watcher, directory))
    meta.config = copied.config
    _note_missing_tables(meta, copied)
    _note_in_call_stops(meta, watcher)
    with contextlib.suppress(KernlabError, OSError):
        (directory / layout.SAVED_CMDLINES).write_text(read_text(root / "saved_cmdlines"))


def _note_attached_faults(
    meta: RecordingMeta, watcher: ProcessWatcher, start_faults: tuple[int, int]
) -> None:
    """-p: snapshot a process still running, and note how often it faulted while recorded."""
    pid = meta.root_pid
    if process_running(pid) and not any(s.pid == pid and s.when == "exit" for s in watcher.snapshots):
        watcher.snapshot(pid, "end")
    ends = [s for s in watcher.snapshots if s.pid == pid and s.when in ("exit", "end")]
    if ends:
        meta.add_note(
            note(
                "record.note.attached_faults",
                "page faults of pid {pid} while recorded (/proc/{pid}/stat): {minor} minor, {major} major",
                pid=pid,
                minor=ends[-1].minflt - start_faults[0],
                major=ends[-1].majflt - start_faults[1],
            )
        )


def _mapped_executables(watcher: ProcessWatcher, directory: Path) -> dict[str, None]:
    """Executable files in each process's last maps snapshot, in order of first appearance."""
    last_maps: dict[int, str] = {}
    for snap in watcher.snapshots:
        last_maps[snap.pid] = snap.path
    paths: dict[str, None] = {}
    for rel in last_maps.values():
        with contextlib.suppress(OSError):
            for exe in executable_paths((directory / rel).read_text(errors="replace")):
                paths.setdefault(exe, None)
    return paths


def _note_in_call_stops(meta: RecordingMeta, watcher: ProcessWatcher) -> None:
    """Say where kernlab's own ptrace stops fell inside a call, and whether reports can leave
    them out (they find them as sched_switch records with prev_state 't')."""
    forks = watcher.in_call_stops.get("fork", 0)
    execs = watcher.in_call_stops.get("exec", 0)
    seen = "sched:sched_switch" in meta.events
    if forks:
        meta.add_note(_fork_stops(forks, seen))
    if execs:
        meta.add_note(_exec_stops(execs, seen))


def _fork_stops(n: int, seen: bool) -> Note:
    if seen:
        if n == 1:
            return note(
                "record.note.fork_stops_seen.one",
                "{n} fork/vfork/clone call includes a brief ptrace stop (kernel_clone reports the child "
                "before returning); reports leave it out of the call's time",
                n=n,
            )
        return note(
            "record.note.fork_stops_seen.many",
            "{n} fork/vfork/clone calls include a brief ptrace stop (kernel_clone reports the child "
            "before returning); reports leave it out of the call's time",
            n=n,
        )
    if n == 1:
        return note(
            "record.note.fork_stops_unseen.one",
            "{n} fork/vfork/clone call includes a brief ptrace stop (kernel_clone reports the child "
            "before returning); --no-ptrace has none",
            n=n,
        )
    return note(
        "record.note.fork_stops_unseen.many",
        "{n} fork/vfork/clone calls include a brief ptrace stop (kernel_clone reports the child "
        "before returning); --no-ptrace has none",
        n=n,
    )


def _exec_stops(n: int, seen: bool) -> Note:
    if seen:
        if n == 1:
            return note(
                "record.note.exec_stops_seen.one",
                "{n} later execve call includes a brief ptrace stop (the maps are copied after the call "
                "returns); reports leave it out of the call's time",
                n=n,
            )
        return note(
            "record.note.exec_stops_seen.many",
            "{n} later execve calls include a brief ptrace stop (the maps are copied after the call "
            "returns); reports leave it out of the call's time",
            n=n,
        )
    if n == 1:
        return note(
            "record.note.exec_stops_unseen.one",
            "{n} later execve call includes a brief ptrace stop (the maps are copied after the call "
            "returns); --no-ptrace has none",
            n=n,
        )
    return note(
        "record.note.exec_stops_unseen.many",
        "{n} later execve calls include a brief ptrace stop (the maps are copied after the call "
        "returns); --no-ptrace has none",
        n=n,
    )


def _note_missing_tables(meta: RecordingMeta, copied: TablesCopied) -> None:
    if copied.event_formats < len(meta.events):
        meta.add_note(
            note(
                "record.note.formats_missing",
                "event formats saved: only {formats} of {events}; the events of the others cannot be decoded",
                formats=copied.event_formats,
                events=len(meta.events),
            )
        )
    if copied.kallsyms_symbols == 0:
        meta.add_note(
            note(
                "record.note.kallsyms_unreadable",
                "kallsyms was unreadable or hidden: kernel addresses stay unnamed",
            )
        )
    if copied.syscall_formats == 0:
        meta.add_note(
            note(
                "record.note.no_syscall_formats",
                "no syscalls/sys_enter_* formats: system-call arguments stay unnamed",
            )
        )
    for error in copied.errors:
        meta.add_note(
            note("record.note.tables_failed", "copying kernel tables failed: {reason}", reason=error)
        )


def _rusage(ru: struct_rusage | None) -> Rusage | None:
    if ru is None:
        return None
    return Rusage(
        minflt=ru.ru_minflt,
        majflt=ru.ru_majflt,
        utime_s=ru.ru_utime,
        stime_s=ru.ru_stime,
        maxrss_kb=ru.ru_maxrss,
        nvcsw=ru.ru_nvcsw,
        nivcsw=ru.ru_nivcsw,
    )


def exit_code_of(status: int | None) -> int | None:
    """The shell's convention: the exit code, or 128+signal for a killed process."""
    if status is None:
        return None
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return None
