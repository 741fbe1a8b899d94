"""The ptrace process watcher: what kernlab does at each stop of a traced task.

Traced tasks stop only at exec, fork/vfork/clone, exit and signal delivery (see ``ptrace``).
At an exec or a process's exit the watcher copies /proc/PID/maps while the address space still
exists; at a fork it notes the new process and its parent; at the end of a task its wait status
(and, for the root, its rusage). Every stop is resumed at once, with the signal it carried, so
the traced command behaves as it would without kernlab — a real group-stop (Ctrl-Z) included.

kernlab's own stops must not be timed as the program's: a stop inside a system call lengthens
that call in the recording. So the maps of a new image are copied at execve's
syscall-exit-stop, which lies outside the call's recorded time (see ``ptrace``): the command's
first execve is approached in PTRACE_SYSCALL mode from before it starts (no stop inside it at
all); a later exec (a child's, or ``sh -c`` exec'ing) stops once inside execve only to be
switched to PTRACE_SYSCALL at once, without work. A fork/clone stop (kernel_clone reports it
before the call returns) is resumed before anything else is done. The in-call stops that remain
are counted in :attr:`ProcessWatcher.in_call_stops`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from resource import struct_rusage

from kernlab.recording import ptrace
from kernlab.recording.layout import MapsSnapshot, TracedProcess
from kernlab.recording.notes import Note, note
from kernlab.recording.snapshot import process_ppid, read_argv, take_maps_snapshot
from kernlab.recording.syscall_names import exec_numbers, syscall_namer

__all__ = ["CHILD_CALLS_WATCHED", "ProcessWatcher"]

CHILD_CALLS_WATCHED = 64
"""System calls of a new child followed one by one for an execve (a shell's or posix_spawn's
child execs within a handful; a worker that does not exec is let go after these)."""


class ProcessWatcher:
    """Waits for ptrace stops of the traced tasks and snapshots maps at exec and exit."""

    def __init__(self, directory: Path, add_note: Callable[[Note], None]) -> None:
        self.directory = directory
        self.add_note = add_note
        """Keeps a note of the recorder (``RecordingMeta.add_note``)."""
        self.snapshots: list[MapsSnapshot] = []
        self.processes: dict[int, TracedProcess] = {}
        self.tasks: set[int] = set()
        self._started: set[int] = set()
        self._seq = 0
        self.root_status: int | None = None
        self.root_rusage: struct_rusage | None = None
        self.pre_exec_faults: list[int] | None = None
        self.syscall_mode: dict[int, int] = {}
        """Tasks resumed with PTRACE_SYSCALL until their execve returns -> number of the call
        they last entered (-1: none seen yet)."""
        self._exec_pending: set[int] = set()
        """Tasks stopped at a PTRACE_EVENT_EXEC: their next syscall-exit-stop is execve's."""
        self._exec_nrs = exec_numbers(syscall_namer(os.uname().machine))
        self._calls_left: dict[int, int] = {}
        """New children in PTRACE_SYSCALL mode -> calls still watched for an execve."""
        self._syscall_info_ok = True
        """False once PTRACE_GET_SYSCALL_INFO failed (Linux < 5.3): snapshot at the exec stop."""
        self.in_call_stops: dict[str, int] = {}
        """Stops kernlab made inside a system call of a traced task, by kind (fork, exec)."""

    def seize(self, tid: int) -> None:
        """Trace ``tid`` from now on (ptrace's OSError, e.g. EPERM or ESRCH, is the caller's)."""
        ptrace.seize(tid)
        self.tasks.add(tid)
        self._started.add(tid)

    def seize_before_exec(self, pid: int) -> None:
        """Trace a child held before its execve so that its exec has no stop inside it.

        It is seized without the exec option, stopped once where it waits (PTRACE_INTERRUPT:
        its blocking open/read restarts; these calls precede the command and are not its own)
        and resumed in PTRACE_SYSCALL mode until its execve returns.
        """
        ptrace.seize(pid, ptrace.PRE_EXEC_OPTIONS)
        self.tasks.add(pid)
        self._started.add(pid)
        ptrace.interrupt(pid)
        while True:
            got, status, ru = os.wait4(pid, ptrace.WALL)
            stop = ptrace.decode_status(got, status)
            if stop.kind == "event" and stop.event == ptrace.PTRACE_EVENT_STOP:
                break
            self.handle(got, status, ru, pid)
            if stop.kind in ("exited", "killed"):
                return
        try:
            ptrace.syscall_info(pid)  # at an event stop: EIO only where the request is unknown
        except OSError:
            self._syscall_info_ok = False
            ptrace.set_options(pid, ptrace.SEIZE_OPTIONS)
            ptrace.resume(pid)
            return
        self.syscall_mode[pid] = -1
        ptrace.resume_to_syscall(pid)
        # The interrupted wait restarts: let it enter again, so the child waits for its release
        # (a held spawn's FIFO has no reader while the child is stopped).
        got, status, ru = os.wait4(pid, ptrace.WALL)
        self.handle(got, status, ru, pid)

    def _watch_for_exec(self, pid: int) -> None:
        """A new child process: follow its first calls in PTRACE_SYSCALL mode, so that an
        execve among them has no stop inside it (most children exec within a few calls)."""
        try:
            ptrace.set_options(pid, ptrace.PRE_EXEC_OPTIONS)
        except OSError:
            self._resume(pid)
            return
        self.syscall_mode[pid] = -1
        self._calls_left[pid] = CHILD_CALLS_WATCHED
        ptrace.resume_to_syscall(pid)

    def _resume(self, pid: int, sig: int = 0) -> None:
        """Resume as this task is followed: to its next syscall stop, or freely."""
        if pid in self.syscall_mode or pid in self._exec_pending:
            ptrace.resume_to_syscall(pid, sig)
        else:
            ptrace.resume(pid, sig)

    def _syscall_stop(self, pid: int) -> None:
        """A syscall-enter/exit-stop: copy the maps when it is a successful execve's exit."""
        try:
            info = ptrace.syscall_info(pid)
        except ProcessLookupError:
            return
        except OSError:
            info = ptrace.SyscallInfo(0)
        if info.op == ptrace.SYSCALL_INFO_ENTRY:
            self.syscall_mode[pid] = info.nr
            ptrace.resume_to_syscall(pid)
            return
        left = self._calls_left.get(pid)
        if left is not None and info.op == ptrace.SYSCALL_INFO_EXIT:
            if left <= 1 and pid not in self._exec_pending:
                # A child that does not exec soon (a worker): stop watching each call; a later
                # exec is then seen at a PTRACE_EVENT_EXEC (one bare stop inside it).
                self._leave_syscall_mode(pid)
                ptrace.resume(pid)
                return
            self._calls_left[pid] = left - 1
        is_exec = pid in self._exec_pending or self.syscall_mode.get(pid) in self._exec_nrs
        if info.op == ptrace.SYSCALL_INFO_EXIT and is_exec and not info.is_error:
            self.snapshot(pid, "exec")
            self._exec_pending.discard(pid)
            self._leave_syscall_mode(pid)
            ptrace.resume(pid)
            return
        if info.op == 0 and pid in self._exec_pending:  # not a syscall stop after all
            self._exec_pending.discard(pid)
            self.snapshot(pid, "exec")
        self._resume(pid)

    def _leave_syscall_mode(self, pid: int) -> None:
        self._calls_left.pop(pid, None)
        if self.syscall_mode.pop(pid, None) is not None:
            with contextlib.suppress(OSError):  # from now on every exec is reported
                ptrace.set_options(pid, ptrace.SEIZE_OPTIONS)

    def _count_in_call(self, kind: str) -> None:
        self.in_call_stops[kind] = self.in_call_stops.get(kind, 0) + 1

    def snapshot(self, pid: int, when: str) -> None:
        snap = take_maps_snapshot(self.directory, pid, self._seq, when)
        self._seq += 1
        if snap is None:
            self.add_note(
                note(
                    "record.note.snapshot_gone",
                    "no {when} maps snapshot of pid {pid}: it was already gone",
                    when=when,
                    pid=pid,
                )
            )
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
            self.syscall_mode.pop(pid, None)
            self._calls_left.pop(pid, None)
            self._exec_pending.discard(pid)
            if pid in self.processes:
                self.processes[pid].exit_status = status
            if pid == root:
                self.root_status, self.root_rusage = status, rusage
            return
        if stop.kind == "signal":
            self.tasks.add(pid)
            self._started.add(pid)
            if stop.signal == ptrace.SYSCALL_STOP and (pid in self.syscall_mode or pid in self._exec_pending):
                self._syscall_stop(pid)
            else:
                self._resume(pid, stop.signal)
            return
        event = stop.event
        if event in (ptrace.PTRACE_EVENT_FORK, ptrace.PTRACE_EVENT_VFORK, ptrace.PTRACE_EVENT_CLONE):
            # Inside the parent's fork/clone: resume first, note the child afterwards.
            child = 0
            with contextlib.suppress(OSError):
                child = ptrace.event_message(pid)
            self._resume(pid)
            self._count_in_call("fork")
            if child:
                self.tasks.add(child)
                if event != ptrace.PTRACE_EVENT_CLONE:
                    self.processes.setdefault(child, TracedProcess(pid=child, ppid=pid))
        elif event == ptrace.PTRACE_EVENT_EXEC:
            # Inside execve: go on at once to its syscall-exit-stop, where the maps are copied.
            self._count_in_call("exec")
            if self._syscall_info_ok:
                self._exec_pending.add(pid)
                ptrace.resume_to_syscall(pid)
            else:
                self.snapshot(pid, "exec")
                ptrace.resume(pid)
        elif event == ptrace.PTRACE_EVENT_EXIT:
            if self._is_leader(pid):
                self.snapshot(pid, "exit")
            self._resume(pid)
        elif event == ptrace.PTRACE_EVENT_STOP:
            if pid not in self._started:
                # The first stop of a task ptrace attached for us (a new child or thread).
                self._started.add(pid)
                self.tasks.add(pid)
                if self._syscall_info_ok and self._is_leader(pid):
                    self._watch_for_exec(pid)
                else:
                    self._resume(pid)
            elif stop.signal in ptrace.STOP_SIGNALS:
                ptrace.listen(pid)  # a real group-stop (Ctrl-Z): stay stopped, as without us
            else:
                self._resume(pid)
        else:
            self._resume(pid)

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
