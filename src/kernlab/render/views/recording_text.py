"""A recording's events one per line (`kernlab syscalls`, `kernlab faults`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from kernlab.explain.report import listing_loss
from kernlab.render.output import Output
from kernlab.reports.recording.loss import Loss

__all__ = ["print_event_lines"]

L = TypeVar("L")

# Lines are joined and printed in chunks: one console call per event is slow on 100k events.
CHUNK = 2000


def print_event_lines(loss: Loss, lines: Sequence[L], format_line: Callable[[L], str], out: Output) -> bool:
    """Say how many events were lost (never silent), then print the lines; False when none."""
    from kernlab.render.terminal import console

    warning = listing_loss(loss)
    if warning is not None:
        out.sentence(warning)
    # One event per line, never wrapped: these lines are meant for grep and diff.
    for i in range(0, len(lines), CHUNK):
        text = "\n".join(format_line(ln) for ln in lines[i : i + CHUNK])
        console().print(text, markup=False, soft_wrap=True, highlight=False)
    return bool(lines)
