"""The call tree as Chrome's Trace Event Format JSON (Perfetto UI, chrome://tracing, speedscope).

One object ``{"displayTimeUnit": "ns", "otherData": {...}, "traceEvents": [...]}``: first the
``process_name`` and ``thread_name`` metadata events, then each thread's ``B``/``E`` slices and
``i`` instants (timeline.py says what becomes what), ``ts`` in microseconds with three decimals
(nanosecond resolution) after the recording's first record. Written one event at a time: the
file is never held in memory whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from kernlab.recording.export.atomic import atomic_output
from kernlab.recording.reader import FileDamage, Recording
from kernlab.recording.state import Completeness
from kernlab.reports.exports.timeline import (
    BEGIN,
    INSTANT,
    FaultPlaces,
    Timeline,
    call_args,
    category,
    fault_args,
    marks,
    threads_of,
)
from kernlab.reports.recording.tasks import read_tasks
from kernlab.reports.replay import ReplayReport

__all__ = ["ChromeExport", "write_chrome"]


@dataclass(frozen=True)
class ChromeExport:
    """The Trace Event Format file written."""

    path: str
    events: int
    """Every event in ``traceEvents``, metadata included."""
    slices: int
    """B/E pairs: functions, system calls and kernel functions."""
    kernel_slices: int
    """Of them, kernel functions (zero-length: they have no duration)."""
    instants: int
    """Page faults."""
    processes: int
    threads: int
    unfinished: int
    """Calls whose end was not recorded (their slice ends where their content ended)."""
    moved: int
    """Time stamps moved to keep the slices nested (0 on a sound recording)."""
    completeness: Completeness | None = None
    damage: list[FileDamage] = field(default_factory=list)


def _ts(ns: int) -> str:
    """ns as microseconds with three decimals, written exactly (no float rounding)."""
    return f"-{_ts(-ns)}" if ns < 0 else f"{ns // 1000}.{ns % 1000:03d}"


def _event(fh: IO[str], first: bool, fields: dict[str, Any], ts_ns: int | None = None) -> None:
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    if ts_ns is not None:  # the time stamp spliced in as an exact decimal
        text = f'{text[:-1]},"ts":{_ts(ts_ns)}}}'
    fh.write(text if first else ",\n" + text)


def write_chrome(rec: Recording, report: ReplayReport, target: Path) -> ChromeExport:
    tasks = read_tasks(rec)
    threads = threads_of(report, tasks)
    places = FaultPlaces(rec, tasks)
    tally = Timeline(threads=threads)
    events = 0
    with atomic_output(Path(target), "the Chrome trace", binary=False) as fh:
        other = {
            "source": "kernlab",
            "binary": report.binary,
            "directory": report.directory,
            "time_unit": "us",
        }
        fh.write('{"displayTimeUnit":"ns","otherData":')
        fh.write(json.dumps(other, ensure_ascii=False))
        fh.write(',"traceEvents":[\n')
        named: set[int] = set()
        for t in threads:
            if t.pid not in named:
                named.add(t.pid)
                meta = {
                    "name": "process_name",
                    "ph": "M",
                    "pid": t.pid,
                    "tid": t.pid,
                    "args": {"name": t.process_comm},
                }
                _event(fh, events == 0, meta)
                events += 1
            meta = {"name": "thread_name", "ph": "M", "pid": t.pid, "tid": t.tid, "args": {"name": t.comm}}
            _event(fh, events == 0, meta)
            events += 1
        for t, calls in zip(threads, report.threads, strict=True):
            ids = {"pid": t.pid, "tid": t.tid}
            for mark in marks(calls.calls, tally):
                node = mark.node
                if mark.phase == BEGIN:
                    fields = {
                        "name": node.name,
                        "cat": category(node),
                        "ph": "B",
                        **ids,
                        "args": call_args(node),
                    }
                elif mark.phase == INSTANT:
                    vma = places.vma(t.pid, node.address)
                    fields = {
                        "name": node.name,
                        "cat": "fault",
                        "ph": "i",
                        "s": "t",
                        **ids,
                        "args": fault_args(node, vma),
                    }
                else:
                    fields = {"name": node.name, "ph": "E", **ids}
                    if mark.unfinished:
                        fields["args"] = {"unfinished": True}
                    elif mark.duration_ns is not None:
                        fields["args"] = {"duration_ns": mark.duration_ns}
                _event(fh, events == 0, fields, mark.ts_ns)
                events += 1
        fh.write("\n]}\n")
    return ChromeExport(
        path=str(target),
        events=events,
        slices=tally.slices,
        kernel_slices=tally.kernel_slices,
        instants=tally.instants,
        processes=len({t.pid for t in threads}),
        threads=len(threads),
        unfinished=tally.unfinished,
        moved=tally.moved,
        completeness=rec.completeness(),
        damage=rec.damage(),
    )
