"""The ptrace process watcher: what kernlab does at each stop of a traced task.

Traced tasks stop only at exec, fork/vfork/clone, exit and signal delivery (see ``ptrace``).
At an exec or a process's exit the watcher copies /proc/PID/maps while the address space still
exists; at a fork it notes the new process and its parent; at the end of a task its wait status
(and, for the root, its rusage). Every stop is resumed at once, with the signal it carried, so
the traced command behaves as it would without kernlab — a real group-stop (Ctrl-Z) included.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from resource import struct_rusage

from kernlab.recording import ptrace
from kernlab.recording.layout import MapsSnapshot, TracedProcess
from kernlab.recording.snapshot import process_ppid, read_argv, take_maps_snapshot

__all__ = ["ProcessWatcher"]


class ProcessWatcher:
    """Waits for ptrace stops of the traced tasks and snapshots maps at exec and exit."""

    def __init__(self, directory: Path, notes: list[str]) -> None:
        self.directory = directory
        self.notes = notes
        self.snapshots: list[MapsSnapshot] = []
        self.processes: dict[int, TracedProcess] = {}
        self.tasks: set[int] = set()
        self._started: set[int] = set()
        self._seq = 0
        self.root_status: int | None = None
        self.root_rusage: struct_rusage | None = None
        self.pre_exec_faults: list[int] | None = None

    def seize(self, tid: int) -> None:
        """Trace ``tid`` from now on (ptrace's OSError, e.g. EPERM or ESRCH, is the caller's)."""
        ptrace.seize(tid)
        self.tasks.add(tid)
        self._started.add(tid)

    def snapshot(self, pid: int, when: str) -> None:
        snap = take_maps_snapshot(self.directory, pid, self._seq, when)
        self._seq += 1
        if snap is None:
            self.notes.append(f"no {when} maps snapshot of pid {pid}: it was already gone")
            return
        self.snapshots.append(snap)
        proc = self.processes.setdefault(pid, TracedProcess(pid=pid))
        proc.comm, proc.exe = snap.comm or proc.comm, snap.exe or proc.exe
        if when in ("exec", "attach"):
            proc.argv = read_argv(pid)
            proc.ppid = process_ppid(pid)

    def _is_leader(self, tid: int) -> bool:
        try:
            with open(f"/proc/{tid}/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Tgid:"):
                        return int(line.split()[1]) == tid
        except (OSError, ValueError):
            return False
        return False

    def handle(self, pid: int, status: int, rusage: struct_rusage | None, root: int) -> None:
        """React to one wait status of a traced task."""
        stop = ptrace.decode_status(pid, status)
        if stop.kind in ("exited", "killed"):
            self.tasks.discard(pid)
            if pid in self.processes:
                self.processes[pid].exit_status = status
            if pid == root:
                self.root_status, self.root_rusage = status, rusage
            return
        if stop.kind == "signal":
            self.tasks.add(pid)
            self._started.add(pid)
            ptrace.resume(pid, stop.signal)
            return
        event = stop.event
        if event in (ptrace.PTRACE_EVENT_FORK, ptrace.PTRACE_EVENT_VFORK, ptrace.PTRACE_EVENT_CLONE):
            with contextlib.suppress(OSError):
                child = ptrace.event_message(pid)
                self.tasks.add(child)
                if event != ptrace.PTRACE_EVENT_CLONE:
                    self.processes.setdefault(child, TracedProcess(pid=child, ppid=pid))
            ptrace.resume(pid)
        elif event == ptrace.PTRACE_EVENT_EXEC:
            self.snapshot(pid, "exec")
            ptrace.resume(pid)
        elif event == ptrace.PTRACE_EVENT_EXIT:
            if self._is_leader(pid):
                self.snapshot(pid, "exit")
            ptrace.resume(pid)
        elif event == ptrace.PTRACE_EVENT_STOP:
            if pid not in self._started:
                # The first stop of a task ptrace attached for us (a new child or thread).
                self._started.add(pid)
                self.tasks.add(pid)
                ptrace.resume(pid)
            elif stop.signal in ptrace.STOP_SIGNALS:
                ptrace.listen(pid)  # a real group-stop (Ctrl-Z): stay stopped, as without us
            else:
                ptrace.resume(pid)
        else:
            ptrace.resume(pid)

    def detach_all(self, timeout: float = 1.0) -> None:
        """Let go of every task still traced (for -p, or children that outlive the command)."""
        pending = set()
        for tid in self.tasks:
            try:
                ptrace.ptrace(ptrace.PTRACE_DETACH, tid, 0, 0)  # works when it is in a ptrace stop
            except ProcessLookupError:
                pending.add(tid)  # running (or gone): stop it first
            except OSError:
                continue
        for tid in pending:
            ptrace.interrupt(tid)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            try:
                pid, status, _ = os.wait4(-1, os.WNOHANG | ptrace.WALL)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.005)
                continue
            stop = ptrace.decode_status(pid, status)
            pending.discard(pid)
            if stop.kind in ("exited", "killed"):
                continue
            # Detach, handing back a signal that arrived meanwhile (not our own interrupt).
            sig = stop.signal if stop.kind == "signal" else 0
            with contextlib.suppress(OSError):
                ptrace.ptrace(ptrace.PTRACE_DETACH, pid, 0, sig)
        self.tasks.clear()
