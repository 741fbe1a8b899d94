"""Progress bars for work that can take more than a second.

Shown only on a terminal (never in --json output or when stderr is redirected), only once the
work has lasted over a second (a 16 KiB file gets no bar), and drawn on stderr so stdout stays
clean for pipes.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


class Progress(Protocol):
    def advance(self, amount: float = 1) -> None: ...
    def update(self, *, completed: float | None = None, total: float | None = None) -> None: ...


class _Silent:
    def advance(self, amount: float = 1) -> None:
        pass

    def update(self, *, completed: float | None = None, total: float | None = None) -> None:
        pass


SHOW_AFTER_S = float(os.environ.get("KERNLAB_PROGRESS_DELAY", "1.0"))
PLAIN_EVERY_S = 5.0
"""A bar appears only once work has lasted this long: a quick job prints nothing at all.
(KERNLAB_PROGRESS_DELAY changes it, for tests that cannot make work last a second.)"""


class _DelayedBar:
    """Counts from the start; draws a rich bar on stderr only after SHOW_AFTER_S seconds.

    A timer starts the bar even when the work never reports progress (one long call), so a
    spinner-like bar still appears for slow indeterminate work.
    """

    def __init__(self, description: str, total: float | None) -> None:
        self._description = description
        self._total = total
        self._completed = 0.0
        self._lock = threading.Lock()
        self._closed = False
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._plain_console: Console | None = None
        self._last_plain = 0.0
        self._timer = threading.Timer(SHOW_AFTER_S, self._start)
        self._timer.daemon = True
        self._timer.start()

    def advance(self, amount: float = 1) -> None:
        self._completed += amount
        self._refresh()

    def update(self, *, completed: float | None = None, total: float | None = None) -> None:
        if completed is not None:
            self._completed = completed
        if total is not None:
            self._total = total
        self._refresh()

    def _refresh(self) -> None:
        bar, task = self._bar, self._task
        if bar is not None and task is not None:
            bar.update(task, completed=self._completed, total=self._total)
        elif self._plain_console is not None:
            self._plain_line()

    def _plain_line(self, force: bool = False) -> None:
        # A terminal that cannot redraw (TERM=dumb) gets a plain line every few seconds.
        now = time.monotonic()
        if self._plain_console is None or (not force and now - self._last_plain < PLAIN_EVERY_S):
            return
        self._last_plain = now
        done = f"{self._completed:,.0f}" + (f" of {self._total:,.0f}" if self._total else "")
        self._plain_console.file.write(f"{self._description}: {done}\n")
        self._plain_console.file.flush()

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        with self._lock:
            if self._closed:
                return
            console = Console(stderr=True)
            if console.is_dumb_terminal:
                self._plain_console = console
                self._plain_line(force=True)
                return
            bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            bar.start()
            self._task = bar.add_task(self._description, total=self._total)
            self._bar = bar
            self._refresh()

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._bar is not None:
                self._bar.stop()


_enabled = True


def set_enabled(enabled: bool) -> None:
    """Turn progress bars off (the CLI does this for --json and --quiet)."""
    global _enabled
    _enabled = enabled


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Progress]:
    """A transient progress bar, drawn only on a terminal and only for work over a second."""
    if not (_enabled and sys.stderr.isatty()):
        yield _Silent()
        return
    bar = _DelayedBar(description, total)
    try:
        yield bar
    finally:
        bar.close()
