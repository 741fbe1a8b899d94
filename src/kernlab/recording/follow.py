"""The run of a recording: wait for the traced tasks until the recording ends.

With tracing armed, the command is seized, released and waited for until it exits; a ``-p``
process is seized (all its threads) and waited for until it exits, ``--duration`` passes or a
signal asks to stop. Each wait status goes to the :class:`ProcessWatcher`. After an interrupted
run, :func:`wait_for_interrupted` gives the command a moment to end on its own.
"""

from __future__ import annotations

import os
import time

from kernlab.errors import BadInput
from kernlab.recording import ptrace
from kernlab.recording.layout import TracedProcess
from kernlab.recording.notes import note
from kernlab.recording.signals import Signals, StopWaiting, stop_after
from kernlab.recording.snapshot import process_faults, process_running
from kernlab.recording.spawn import Child
from kernlab.recording.watcher import ProcessWatcher

__all__ = ["follow_attached", "follow_untraced", "run_command", "wait_for_interrupted"]

INTERRUPTED_GRACE_S = 2.0
"""How long an interrupted command may take to end on its own before it is detached."""


def run_command(child: Child, watcher: ProcessWatcher, signals: Signals, use_ptrace: bool) -> None:
    """Seize the held child, release it to exec, and wait until it has exited."""
    pid = child.pid
    if not use_ptrace:
        watcher.add_note(
            note(
                "record.note.no_ptrace",
                "recorded without ptrace (--no-ptrace): no maps snapshots at exec and exit",
            )
        )
    else:
        try:
            watcher.seize_before_exec(pid)
        except OSError as exc:
            watcher.add_note(
                note(
                    "record.note.ptrace_refused",
                    "ptrace was refused ({reason}): no maps snapshots at exec and exit",
                    reason=str(exc.strerror),
                )
            )
    watcher.processes[pid] = TracedProcess(pid=pid, ppid=os.getpid(), argv=[])
    signals.forward_to = pid
    # Faults of the child before execve count in the command's getrusage: a couple for a
    # held spawn, ~200-300 for a forked Python child. Note them so a report can tell them apart.
    minflt, majflt = process_faults(pid)
    watcher.pre_exec_faults = [minflt, majflt] if minflt or majflt else None  # zeros: unreadable
    child.release()
    while True:
        try:
            got, status, ru = os.wait4(-1, ptrace.WALL)
        except ChildProcessError:
            break
        watcher.handle(got, status, ru, pid)
        if got == pid and watcher.root_status is not None:
            break
    signals.forward_to = None
    exec_errno = child.exec_errno()
    if exec_errno is not None:
        raise BadInput(
            f"cannot run {child.path}: {os.strerror(exec_errno)}",
            path=child.path,
            errno=exec_errno,
            key="errors.record.cannot_run",
            fields={"path": str(child.path), "reason": os.strerror(exec_errno)},
        )


def follow_attached(
    pid: int, tids: list[int], watcher: ProcessWatcher, duration: float | None, signals: Signals
) -> None:
    """Wait until the process exits, --duration passes or a signal asks to stop."""
    for tid in tids:
        try:
            watcher.seize(tid)
        except ProcessLookupError:
            continue
        except OSError as exc:
            watcher.add_note(
                note(
                    "record.note.ptrace_refused_attached",
                    "ptrace was refused ({reason}): no maps snapshot at exit",
                    reason=str(exc.strerror),
                )
            )
            break
    signals.stop_mode = True
    with stop_after(duration, signals):
        while True:
            signals.waiting = True
            try:
                if signals.stop_requested:
                    break
                if watcher.tasks:
                    got, status, ru = os.wait4(-1, ptrace.WALL)
                else:  # not traced (ptrace refused, or it ended first): poll for its end
                    if not process_running(pid):
                        break
                    time.sleep(0.05)
                    continue
            except (StopWaiting, ChildProcessError):
                break
            finally:
                signals.waiting = False
            watcher.handle(got, status, ru, pid)
            if got == pid and watcher.root_status is not None:
                break


def follow_untraced(pid: int | None, duration: float | None, signals: Signals) -> None:
    """Without ptrace (a kernel thread, or the whole system): wait until --duration passes, a
    signal (Ctrl-C) asks to stop, or the thread ``pid`` ends."""
    signals.stop_mode = True
    with stop_after(duration, signals):
        while not signals.stop_requested:
            if pid is not None and not process_running(pid):
                break
            signals.waiting = True
            try:
                if signals.stop_requested:
                    break
                time.sleep(0.05)
            except StopWaiting:
                break
            finally:
                signals.waiting = False


def wait_for_interrupted(root: int, watcher: ProcessWatcher) -> None:
    """Interrupted mid-run: the command got the signal; wait for it a moment (then it is detached)."""
    if watcher.root_status is not None:
        return
    deadline = time.monotonic() + INTERRUPTED_GRACE_S
    while watcher.tasks and time.monotonic() < deadline:
        try:
            got, status, ru = os.wait4(-1, os.WNOHANG | ptrace.WALL)
        except ChildProcessError:
            break
        if got == 0:
            time.sleep(0.01)
            continue
        watcher.handle(got, status, ru, root)
        if watcher.root_status is not None:
            break
