"""`kernlab dump`: a recording written out as trace-cmd's trace.dat and/or ftrace's text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from kernlab.errors import BadInput
from kernlab.recording.export.atomic import atomic_output
from kernlab.recording.export.ftrace_text import ftrace_lines
from kernlab.recording.export.tracedat import TraceDatResult, write_trace_dat
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.reader import FileDamage, Recording
from kernlab.recording.state import Completeness
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.tasks import read_tasks

__all__ = ["DumpReport", "RecordingTruth", "TextExport", "TraceDatResult", "build", "text_lines", "truth"]


@dataclass(frozen=True)
class TextExport:
    """The ftrace text file written: where, how many lines, from how many events."""

    path: str
    lines: int
    events: int
    completeness: Completeness | None = None
    """Whether the recording exported was complete (cut short: why, and the span)."""
    damage: list[FileDamage] = field(default_factory=list)
    """Raw files that could not be read whole (their unreadable pages are not in the text)."""


@dataclass(frozen=True)
class RecordingTruth:
    """Whether a recording is complete and whole (``dump --text -`` says it on stderr)."""

    completeness: Completeness
    damage: list[FileDamage]


def truth(rec: Recording) -> RecordingTruth:
    return RecordingTruth(rec.completeness(), rec.damage())


DumpReport: TypeAlias = list[TraceDatResult | TextExport]
"""The files written, in the order asked (--json has always been this list)."""


def text_lines(recording: RecordingSource = DEFAULT_DIR) -> Iterator[str]:
    """The lines `cat trace` would have printed for the recording (tasks named as the kernel did)."""
    rec = as_recording(recording)
    return ftrace_lines(rec, read_tasks(rec).comm)


def write_text(rec: Recording, target: Path) -> TextExport:
    """Write the ftrace text of ``rec`` to ``target``; BadInput when it cannot be written."""
    count = 0
    with atomic_output(Path(target), "the text", binary=False) as fh:
        for line in text_lines(rec):
            fh.write(line)
            fh.write("\n")
            count += 1
    return TextExport(str(target), count, rec.event_total, rec.completeness(), rec.damage())


def build(
    recording: RecordingSource = DEFAULT_DIR, *, trace_dat: Path | None = None, text: Path | None = None
) -> DumpReport:
    """Write the files asked for (at least one) and say what went into each."""
    if trace_dat is None and text is None:
        raise BadInput("say what to write: --trace-dat FILE and/or --text FILE")
    rec = as_recording(recording)
    written: DumpReport = []
    if trace_dat is not None:
        written.append(write_trace_dat(rec, trace_dat))
    if text is not None:
        written.append(write_text(rec, text))
    return written
