"""Progress bars for work that can take more than a second.

Shown only on a terminal (never in --json output or when stderr is redirected), and drawn on
stderr so stdout stays clean for pipes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    def advance(self, amount: float = 1) -> None: ...
    def update(self, *, completed: float | None = None, total: float | None = None) -> None: ...


class _Silent:
    def advance(self, amount: float = 1) -> None:
        pass

    def update(self, *, completed: float | None = None, total: float | None = None) -> None:
        pass


class _RichTask:
    def __init__(self, progress, task_id) -> None:  # type: ignore[no-untyped-def]
        self._progress = progress
        self._task = task_id

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._task, amount)

    def update(self, *, completed: float | None = None, total: float | None = None) -> None:
        self._progress.update(self._task, completed=completed, total=total)


_enabled = True


def set_enabled(enabled: bool) -> None:
    """Turn progress bars off (the CLI does this for --json and --quiet)."""
    global _enabled
    _enabled = enabled


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Progress]:
    """A transient progress bar; a no-op when not on a terminal."""
    if not (_enabled and sys.stderr.isatty()):
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        yield _RichTask(bar, bar.add_task(description, total=total))
