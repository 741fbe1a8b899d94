"""`kernlab dump` for a person: what was written where; the ftrace text itself on stdout."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from kernlab.explain import dump as explain
from kernlab.render.output import Output
from kernlab.reports.dump import DumpReport

__all__ = ["show", "stream_lines"]


def show(report: DumpReport, out: Output) -> None:
    out.sentences(explain.written_sentences(report))


def stream_lines(lines: Iterable[str]) -> None:
    """The ftrace text on stdout as it is made (``--text -``), for a pipe into less or grep."""
    write = sys.stdout.write
    for line in lines:
        write(line + "\n")
