"""`kernlab dump`: a recording written out as trace-cmd's trace.dat and/or ftrace's text, and the
call tree of a ``record --functions``/``-K`` recording (what `kernlab replay` shows) as Chrome
Trace Event JSON, a Perfetto protobuf trace and/or folded stacks for flame graphs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from kernlab.errors import BadInput
from kernlab.recording.export.atomic import atomic_output
from kernlab.recording.export.ftrace_text import ProbeRecords, ftrace_lines, kept_probe_records
from kernlab.recording.export.tracedat import TraceDatResult, write_trace_dat
from kernlab.recording.functions import read_function_table
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.probe_buffer import BUFFER_NAME, probe_buffer_files
from kernlab.recording.reader import FileDamage, Recording
from kernlab.recording.state import Completeness
from kernlab.reports.exports.chrome import ChromeExport, write_chrome
from kernlab.reports.exports.folded import FoldedExport, fold, folded_lines, write_folded
from kernlab.reports.exports.perfetto import PerfettoExport, write_perfetto
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.tasks import read_tasks
from kernlab.reports.replay import ReplayReport, traced_tids

__all__ = [
    "ChromeExport",
    "DumpReport",
    "FoldedExport",
    "PerfettoExport",
    "RecordingTruth",
    "TextExport",
    "TraceDatResult",
    "build",
    "folded_text",
    "probe_records",
    "text_lines",
    "truth",
]


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


DumpReport: TypeAlias = list[TraceDatResult | TextExport | ChromeExport | PerfettoExport | FoldedExport]
"""The files written, in the order asked (--json has always been this list)."""


def probe_records(rec: Recording) -> ProbeRecords | None:
    """Which records of the function probes' own buffer (``cpus/functions/``) the exports hold:
    those of the traced tasks, as `kernlab replay` keeps them; None when the recording has no
    such buffer."""
    if not probe_buffer_files(rec.root):
        return None
    table = read_function_table(rec.root)
    tids = traced_tids(rec, table) if table is not None else None
    if table is None or tids is None:
        return None
    return ProbeRecords(frozenset(tids), table.buffer_page_size, BUFFER_NAME)


def text_lines(recording: RecordingSource = DEFAULT_DIR) -> Iterator[str]:
    """The lines `cat trace` would have printed for the recording (tasks named as the kernel did),
    the traced tasks' function probe hits merged in by time."""
    rec = as_recording(recording)
    return ftrace_lines(rec, read_tasks(rec).comm, probe_records(rec))


def write_text(rec: Recording, target: Path) -> TextExport:
    """Write the ftrace text of ``rec`` to ``target``; BadInput when it cannot be written."""
    count = 0
    with atomic_output(Path(target), "the text", binary=False) as fh:
        for line in text_lines(rec):
            fh.write(line)
            fh.write("\n")
            count += 1
    probes = probe_records(rec)
    kept = sum(len(k) for _cpu, k in kept_probe_records(rec, probes)) if probes is not None else 0
    return TextExport(str(target), count, rec.event_total + kept, rec.completeness(), rec.damage())


def call_tree(rec: Recording) -> ReplayReport:
    """The tree `kernlab replay` shows (no filter): what --chrome, --perfetto and --folded export."""
    from kernlab.reports import replay

    try:
        return replay.build(rec)
    except BadInput as exc:
        if "recorded without --functions" not in str(exc):
            raise
        raise BadInput(
            f"{rec.root} has no call tree: --chrome, --perfetto and --folded export the calls of a "
            "recording made with `kernlab record --functions -- COMMAND` (or -K DEPTH); "
            "--trace-dat and --text export any recording",
            path=rec.root,
            key="errors.report.no_call_tree",
            fields={"path": str(rec.root)},
        ) from exc


def folded_text(recording: RecordingSource = DEFAULT_DIR) -> Iterator[str]:
    """The folded stacks, line by line (``--folded -``)."""
    return folded_lines(fold(call_tree(as_recording(recording))))


def build(
    recording: RecordingSource = DEFAULT_DIR,
    *,
    trace_dat: Path | None = None,
    text: Path | None = None,
    chrome: Path | None = None,
    perfetto: Path | None = None,
    folded: Path | None = None,
) -> DumpReport:
    """Write the files asked for (at least one) and say what went into each."""
    if trace_dat is None and text is None and chrome is None and perfetto is None and folded is None:
        raise BadInput(
            "say what to write: --trace-dat FILE, --text FILE, --chrome FILE, --perfetto FILE "
            "and/or --folded FILE",
            key="errors.report.dump_what",
        )
    rec = as_recording(recording)
    # The tree first: a recording without one is refused before any file is written.
    tree = call_tree(rec) if chrome is not None or perfetto is not None or folded is not None else None
    written: DumpReport = []
    if trace_dat is not None:
        written.append(write_trace_dat(rec, trace_dat, probe_records(rec)))
    if text is not None:
        written.append(write_text(rec, text))
    if tree is not None and chrome is not None:
        written.append(write_chrome(rec, tree, chrome))
    if tree is not None and perfetto is not None:
        written.append(write_perfetto(rec, tree, perfetto))
    if tree is not None and folded is not None:
        written.append(write_folded(rec, tree, folded))
    return written
