"""Printing a recording's events one per line (`kernlab syscalls`, `kernlab faults`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernlab.cli.common import Output

# Lines are joined and printed in chunks: one console call per event is slow on 100k events.
CHUNK = 2000


def print_event_lines(listing: Any, format_line: Callable[[Any], str], out: Output) -> bool:
    """Say how many events were lost (never silent), then print the lines; False when none."""
    from kernlab.catalog import say
    from kernlab.render.terminal import console

    loss = listing.loss
    if loss.lost:
        out.sentence(say("report.lost.some", lost=loss.lost, percent=loss.percent, written=loss.written))
    # One event per line, never wrapped: these lines are meant for grep and diff.
    for i in range(0, len(listing.lines), CHUNK):
        text = "\n".join(format_line(ln) for ln in listing.lines[i : i + CHUNK])
        console().print(text, markup=False, soft_wrap=True, highlight=False)
    return bool(listing.lines)
