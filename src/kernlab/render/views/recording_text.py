"""A recording's events one per line (`kernlab syscalls`, `kernlab faults`), and what every view of
a recording says first: that it was cut short, or that parts of it could not be read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from kernlab.explain import completeness as explain_state
from kernlab.explain.report import listing_loss
from kernlab.recording.reader import FileDamage
from kernlab.recording.state import Completeness
from kernlab.render.output import Output
from kernlab.reports.recording.loss import Loss

__all__ = ["print_event_lines", "show_truth"]

L = TypeVar("L")

# Lines are joined and printed in chunks: one console call per event is slow on 100k events.
CHUNK = 2000


def show_truth(state: Completeness | None, damage: list[FileDamage]) -> None:
    """First, before any figure: a recording cut short (why, the span it covers, that what
    followed is missing) and each file that could not be read whole. A warning, not a sentence
    of meaning: --quiet keeps it."""
    from kernlab.render.terminal import print_sentence

    for sentence in explain_state.truth_sentences(state, damage):
        print_sentence(sentence)


def print_event_lines(loss: Loss, lines: Sequence[L], format_line: Callable[[L], str], out: Output) -> bool:
    """Say whether the recording is whole and how many events were lost (never silent), then
    print the lines; False when none."""
    from kernlab.render.terminal import console

    show_truth(loss.completeness, loss.damage)
    warning = listing_loss(loss)
    if warning is not None:
        out.sentence(warning)
    unknown = explain_state.loss_unknown_sentence(loss.completeness, bool(loss.damage), loss.lost)
    if unknown is not None and warning is None:
        out.sentence(unknown)
    # One event per line, never wrapped: these lines are meant for grep and diff.
    for i in range(0, len(lines), CHUNK):
        text = "\n".join(format_line(ln) for ln in lines[i : i + CHUNK])
        console().print(text, markup=False, soft_wrap=True, highlight=False)
    return bool(lines)
