"""The call tree as a native Perfetto trace (protobuf), for Perfetto UI and trace_processor.

Written with the ``perfetto`` package's own protos and its streaming builder, one TracePacket at a
time (a JSON trace of hundreds of MB crashes a browser; this stays small and streams): a
TrackDescriptor per process and per thread, then each thread's TrackEvents — SLICE_BEGIN /
SLICE_END for functions, system calls and kernel functions, INSTANT for page faults — with the
same slices at the same times as ``--chrome`` (timeline.py), in ns after the recording's first
record. Never the package's trace processor (it downloads a binary).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernlab.errors import NotSupported
from kernlab.recording.export.atomic import atomic_output
from kernlab.recording.reader import FileDamage, Recording
from kernlab.recording.state import Completeness
from kernlab.reports.exports.timeline import (
    BEGIN,
    INSTANT,
    FaultPlaces,
    Thread,
    Timeline,
    call_args,
    category,
    fault_args,
    marks,
    threads_of,
)
from kernlab.reports.recording.tasks import read_tasks
from kernlab.reports.replay import ReplayReport

__all__ = ["PerfettoExport", "process_uuid", "thread_uuid", "write_perfetto"]

SEQUENCE_ID = 0x6B6C  # any nonzero id: every packet comes from this one writer


@dataclass(frozen=True)
class PerfettoExport:
    """The Perfetto trace written."""

    path: str
    size: int
    packets: int
    slices: int
    kernel_slices: int
    instants: int
    processes: int
    threads: int
    unfinished: int
    moved: int
    completeness: Completeness | None = None
    damage: list[FileDamage] = field(default_factory=list)


def process_uuid(pid: int) -> int:
    return pid << 32


def thread_uuid(pid: int, tid: int) -> int:
    return (pid << 32) | tid


def _modules() -> tuple[Any, Any]:
    """(the streaming builder class, the trace protos); imported here, as only --perfetto needs them."""
    try:
        builder = importlib.import_module("perfetto.trace_builder.proto_builder")
        protos = importlib.import_module("perfetto.protos.perfetto.trace.perfetto_trace_pb2")
    except ImportError as exc:
        raise NotSupported(
            f"--perfetto needs the Python package perfetto ({exc}): `pip install perfetto`",
            key="errors.export.needs_perfetto",
            fields={"reason": str(exc)},
        ) from exc
    return builder.StreamingTraceProtoBuilder, protos


def _annotate(event: Any, args: dict[str, str | int | bool]) -> None:
    for name, value in args.items():
        note = event.debug_annotations.add()
        note.name = name
        if isinstance(value, bool):
            note.bool_value = value
        elif isinstance(value, int):
            note.int_value = value
        else:
            note.string_value = value


def write_perfetto(rec: Recording, report: ReplayReport, target: Path) -> PerfettoExport:
    streaming, protos = _modules()
    kind = protos.TrackEvent
    tasks = read_tasks(rec)
    threads = threads_of(report, tasks)
    places = FaultPlaces(rec, tasks)
    tally = Timeline(threads=threads)
    packets = 0
    with atomic_output(Path(target), "the Perfetto trace", binary=True) as fh:
        builder = streaming(fh)

        def descriptor(t: Thread, process: bool) -> None:
            packet = builder.create_packet()
            track = packet.track_descriptor
            if process:
                track.uuid = process_uuid(t.pid)
                track.process.pid = t.pid
                track.process.process_name = t.process_comm
            else:
                track.uuid = thread_uuid(t.pid, t.tid)
                track.parent_uuid = process_uuid(t.pid)
                track.thread.pid = t.pid
                track.thread.tid = t.tid
                track.thread.thread_name = t.comm
            builder.write_packet(packet)

        described: set[int] = set()
        for t in threads:
            if t.pid not in described:
                described.add(t.pid)
                descriptor(t, process=True)
                packets += 1
            descriptor(t, process=False)
            packets += 1
        first = True
        for t, calls in zip(threads, report.threads, strict=True):
            uuid = thread_uuid(t.pid, t.tid)
            for mark in marks(calls.calls, tally):
                packet = builder.create_packet()
                packet.timestamp = mark.ts_ns
                packet.trusted_packet_sequence_id = SEQUENCE_ID
                if first:  # says the sequence starts here (no interned state is used)
                    packet.sequence_flags = protos.TracePacket.SEQ_INCREMENTAL_STATE_CLEARED
                    first = False
                event = packet.track_event
                event.track_uuid = uuid
                node = mark.node
                if mark.phase == BEGIN:
                    event.type = kind.TYPE_SLICE_BEGIN
                    event.name = node.name
                    event.categories.append(category(node))
                    _annotate(event, dict(call_args(node)))
                elif mark.phase == INSTANT:
                    event.type = kind.TYPE_INSTANT
                    event.name = node.name
                    event.categories.append("fault")
                    _annotate(event, dict(fault_args(node, places.vma(t.pid, node.address))))
                else:
                    event.type = kind.TYPE_SLICE_END
                    if mark.unfinished:
                        _annotate(event, {"unfinished": True})
                    elif mark.duration_ns is not None:
                        _annotate(event, {"duration_ns": mark.duration_ns})
                builder.write_packet(packet)
                packets += 1
        fh.flush()
        size = fh.tell()
    return PerfettoExport(
        path=str(target),
        size=size,
        packets=packets,
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
