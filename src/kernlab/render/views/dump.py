"""`kernlab dump` for a person: what was written where; the ftrace text itself on stdout."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from kernlab.explain import completeness as explain_state
from kernlab.explain import dump as explain
from kernlab.explain import text
from kernlab.render.output import Output
from kernlab.render.views.recording_text import show_truth
from kernlab.reports.dump import DumpReport, RecordingTruth

__all__ = ["show", "stream_lines", "warn_truth"]


def show(report: DumpReport, out: Output) -> None:
    if report:  # every file comes from the same recording: said once, first
        show_truth(report[0].completeness, report[0].damage)
    out.sentences(explain.written_sentences(report))


def warn_truth(truth: RecordingTruth) -> None:
    """``--text -``: stdout is the text itself, so a recording cut short or damaged is said on
    stderr, before the first line."""
    for sentence in explain_state.truth_sentences(truth.completeness, truth.damage):
        sys.stderr.write(text("dump.view.warning", message=sentence) + "\n")


def stream_lines(lines: Iterable[str]) -> None:
    """The ftrace text on stdout as it is made (``--text -``), for a pipe into less or grep."""
    write = sys.stdout.write
    for line in lines:
        write(line + "\n")
