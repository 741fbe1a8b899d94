"""Signals while recording: SIGINT/SIGTERM/SIGHUP turned into an orderly unwind.

A recording owns a tracefs instance, a drain thread and a held or traced child; a signal must
never end kernlab between two of those steps. So a signal, depending on the phase, raises
:class:`RecordingInterrupted` (set-up: ``finally`` cleans up), is passed on to the command
(it runs: kernlab waits for its end), asks a ``-p`` wait loop to stop, or is only noted
(clean-up). The ``--duration`` alarm of ``-p`` uses the same stop request.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from kernlab.errors import KernlabError

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
"""What signal.signal() returns: a handler, SIG_DFL/SIG_IGN, or None (set outside Python)."""

__all__ = ["RecordingInterrupted", "Signals", "StopWaiting", "stop_after"]


class RecordingInterrupted(KernlabError):
    """A signal ended the recording before the command did (the recording is still saved)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(
            f"interrupted by {name}", key="errors.recording.interrupted", fields={"signal": name}
        )


class StopWaiting(Exception):
    """Raised out of a blocking wait when a -p recording is asked to stop."""


class Signals:
    """SIGINT/SIGTERM/SIGHUP while recording.

    While setting up, a signal raises RecordingInterrupted so ``finally`` cleans up. While a
    command runs, the signal is passed on to it (a terminal's Ctrl-C already reached it) and
    kernlab waits for it to end; a second signal kills it. With ``-p`` a signal ends the
    recording and leaves the process alone.
    """

    HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.forward_to: int | None = None
        self.received: int | None = None
        self.stop_mode = False
        """-p: a signal (or the --duration alarm) asks the wait loop to stop."""
        self.stop_requested = False
        self.waiting = False
        """True only around a blocking wait, the one place a stop may raise."""
        self._count = 0
        self._saved: dict[int, _Handler] = {}

    def request_stop(self) -> None:
        self.stop_requested = True
        if self.waiting:
            # Raising anywhere else could leave a tracee stopped between two ptrace calls.
            raise StopWaiting

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.HANDLED:
            self._saved[sig] = signal.signal(sig, self._handle)
            if self._saved[sig] == signal.SIG_IGN:
                signal.signal(sig, signal.SIG_IGN)  # started under nohup: stay deaf to it

    def ignored_at_start(self) -> frozenset[int]:
        """The handled signals that were ignored (SIG_IGN) before kernlab installed its own."""
        return frozenset(sig for sig, handler in self._saved.items() if handler == signal.SIG_IGN)

    def hold(self) -> None:
        """Note signals without acting on them (while cleaning up)."""
        for sig, handler in self._saved.items():
            if handler != signal.SIG_IGN:
                signal.signal(sig, self._note)

    def interrupting(self) -> None:
        """From now on a signal raises RecordingInterrupted (nothing left to forward it to)."""
        self.forward_to = None
        self.stop_mode = False
        for sig, handler in self._saved.items():
            if handler != signal.SIG_IGN:
                signal.signal(sig, self._handle)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum

    def restore(self) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        self._count += 1
        if self.stop_mode:
            self.request_stop()
            return
        if self.forward_to is None:
            raise RecordingInterrupted(signum)
        if signum == signal.SIGINT and _terminal_sent_it():
            return  # Ctrl-C reached the command too (same foreground group): do not double it
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.forward_to, signal.SIGKILL if self._count > 1 else signum)


def _terminal_sent_it() -> bool:
    """True when kernlab runs in its terminal's foreground group, where Ctrl-C hits everyone."""
    for fd in (0, 1, 2):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


@contextlib.contextmanager
def stop_after(seconds: float | None, signals: Signals) -> Iterator[None]:
    """Ask the wait loop to stop after ``seconds`` (SIGALRM interrupts a blocking wait4)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.signal(signal.SIGALRM, lambda signum, frame: signals.request_stop())
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, saved)
