"""Write a recording as a trace-cmd ``trace.dat`` file, version 6.

Version 6 (described in the trace-cmd.dat.v6(5) man page) is the simplest layout every
trace-cmd and KernelShark still reads: a header with the ring-buffer page and event-header
descriptions, every event format, kallsyms, printk formats and saved cmdlines, then each CPU's
raw ring-buffer pages exactly as ``trace_pipe_raw`` gave them, page aligned ("flyrecord").
Numbers are little-endian here, matching the x86_64/arm64 recordings kernlab makes; the file's
endian byte says so.

The function probes' own buffer (``cpus/functions/``, recording/probe_buffer.py) becomes a
second buffer, as `trace-cmd record -B NAME` saves an instance: a ``TRACECMD_OPTION_BUFFER``
option (id 3: the u64 file offset of the buffer's section, then its NUL-terminated name,
``functions``) and, at that offset, ``flyrecord\0`` and the buffer's own table of one
(offset, size) pair per CPU, its pages page-aligned after it. trace-cmd reads every CPU count
and page size from the file's header, so the buffer has the recording's CPUs and page size.
That buffer saw every process running the probed file; only the traced tasks' records
(:class:`~kernlab.recording.export.ftrace_text.ProbeRecords`) are written: each CPU's kept
records are laid out again into pages of their own (same records, same time stamps, the deltas
and time extends written anew), as the kernel would have written them had nothing else run the
file. A page that followed lost events keeps that mark (and the count, where it was stored).
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from kernlab.errors import BadInput
from kernlab.recording import layout
from kernlab.recording.export.atomic import atomic_output
from kernlab.recording.export.ftrace_text import ProbeRecords, kept_probe_records
from kernlab.recording.reader import FileDamage, Recording
from kernlab.recording.state import Completeness
from kernlab.tracing import tracefs
from kernlab.tracing.formats import EventFormat, HeaderPage
from kernlab.tracing.ringbuf import (
    COMMIT_LENGTH_MASK,
    RB_MISSED_EVENTS,
    RB_MISSED_STORED,
    TS_SHIFT,
    TYPE_TIME_EXTEND,
    CpuEvents,
)

MAGIC = b"\x17\x08\x44tracing"
VERSION = b"6\0"
FLYRECORD = b"flyrecord\0"
OPTIONS = b"options  \0"
OPTION_DONE = 0
# trace-cmd's TRACECMD_OPTION_BUFFER: an instance's name and the offset of its flyrecord section.
OPTION_BUFFER = 3
# trace-cmd's TRACECMD_OPTION_TRACECLOCK: lets `trace-cmd report` print the clock's name.
OPTION_TRACECLOCK = 4
_DELTA_MASK = (1 << TS_SHIFT) - 1
_MAX_SMALL_DATA = 28 * 4
"""The largest record whose length the header's type_len holds (RB_MAX_SMALL_DATA)."""

__all__ = ["TraceDatResult", "build_header", "filtered_pages", "write_trace_dat"]


@dataclass(frozen=True)
class TraceDatResult:
    """What went into the written file."""

    path: str
    size: int
    cpus: int
    formats: int
    events: int
    notes: list[str] = field(default_factory=list)
    completeness: Completeness | None = None
    """Whether the recording exported was complete (cut short: why, and the span)."""
    damage: list[FileDamage] = field(default_factory=list)
    """Raw files that could not be read whole (their pages are copied as they are)."""
    probe_events: int = 0
    """Of ``events``, the records in the second buffer (the function probes' own: the traced
    tasks' hits), named ``buffer``."""
    buffer: str = ""
    """The second buffer's name (``functions``); "" when the file has none."""


def _read_optional(root: Path, name: str) -> bytes | None:
    try:
        return (root / name).read_bytes()
    except OSError:
        return None


def build_header(rec: Recording, notes: list[str]) -> bytes:
    """Everything before the CPU offsets table, ending with the number of CPUs."""
    u32 = struct.Struct("<I").pack
    u64 = struct.Struct("<Q").pack
    parts: list[bytes] = [MAGIC, VERSION]
    long_size = 8 if rec.header.commit_size == 8 else 4
    parts.append(bytes([0, long_size]))
    parts.append(u32(rec.page_size))
    header_page = rec.header.text.encode()
    parts += [b"header_page\0", u64(len(header_page)), header_page]
    header_event = _read_optional(rec.root, layout.HEADER_EVENT) or b""
    parts += [b"header_event\0", u64(len(header_event)), header_event]
    ftrace = [f for f in rec.formats.values() if f.system == "ftrace"]
    others: dict[str, list[EventFormat]] = {}
    for fmt in sorted(rec.formats.values(), key=lambda f: (f.system, f.id)):
        if fmt.system != "ftrace":
            others.setdefault(fmt.system, []).append(fmt)
    parts.append(u32(len(ftrace)))
    for fmt in sorted(ftrace, key=lambda f: f.id):
        text = fmt.text.encode()
        parts += [u64(len(text)), text]
    parts.append(u32(len(others)))
    for system, fmts in others.items():
        parts += [system.encode() + b"\0", u32(len(fmts))]
        for fmt in fmts:
            text = fmt.text.encode()
            parts += [u64(len(text)), text]
    kallsyms = _read_optional(rec.root, layout.KALLSYMS) or b""
    parts += [u32(len(kallsyms)), kallsyms]
    printk = _read_optional(rec.root, layout.PRINTK_FORMATS)
    if printk is None:
        # An older recording: this machine's table, which the dump's sentence owns up to.
        printk = tracefs.read_live_file("printk_formats") or b""
        notes.append("printk_formats")
    parts += [u32(len(printk)), printk]
    cmdlines = _read_optional(rec.root, layout.SAVED_CMDLINES) or _cmdlines_from_meta(rec)
    parts += [u64(len(cmdlines)), cmdlines]
    return b"".join(parts)


def _cmdlines_from_meta(rec: Recording) -> bytes:
    names = {p.pid: p.comm for p in rec.meta.processes if p.comm}
    names.update({m.pid: m.comm for m in rec.meta.maps if m.comm})
    return "".join(f"{pid} {comm}\n" for pid, comm in sorted(names.items())).encode()


def _page(header: HeaderPage, size: int, ts: int, data: bytes | bytearray, missed: int | None) -> bytes:
    """One ring-buffer page: its time stamp, commit (``missed``: None, or events lost before it,
    -1 when the count is unknown) and data, zero-filled to ``size``."""
    page = bytearray(size)
    struct.pack_into("<Q", page, header.timestamp_offset, ts)
    commit = len(data)
    if missed is not None:
        commit |= RB_MISSED_EVENTS
        if missed >= 0:
            commit |= RB_MISSED_STORED
            struct.pack_into("<Q", page, header.data_offset + len(data), missed)
    struct.pack_into("<Q" if header.commit_size == 8 else "<I", page, header.commit_offset, commit)
    page[header.data_offset : header.data_offset + len(data)] = data
    return bytes(page)


def _missed_marks(cpu: CpuEvents, header: HeaderPage, page_size: int) -> dict[int, int]:
    """Record index -> events lost just before it (-1: a number not stored), for the first
    record of every page whose header says events were lost before it."""
    raw = cpu.raw
    commit_fmt = struct.Struct("<Q" if header.commit_size == 8 else "<I")
    marks: dict[int, int] = {}
    offsets = cpu.offsets
    for base in range(0, len(raw) - page_size + 1, page_size):
        commit = commit_fmt.unpack_from(raw, base + header.commit_offset)[0]
        if not commit & RB_MISSED_EVENTS:
            continue
        length = commit & COMMIT_LENGTH_MASK
        end = base + header.data_offset + length
        count = -1
        if commit & RB_MISSED_STORED and end + 8 <= base + page_size:
            count = struct.unpack_from("<Q", raw, end)[0]
        first = bisect.bisect_left(offsets, base)
        if first < len(offsets):
            before = marks.get(first)
            marks[first] = -1 if count < 0 or (before is not None and before < 0) else count + (before or 0)
    return marks


def filtered_pages(
    cpu: CpuEvents, kept: list[int], header: HeaderPage, source_page: int, page_size: int
) -> bytes:
    """The records ``kept`` of one CPU's pages (of ``source_page`` bytes), laid out again into
    pages of ``page_size`` bytes: each page stamped with its first record's time, every other
    record's delta from the one before (a time extend when it needs more than 27 bits), the
    records' bytes unchanged. A page the source marked as following lost events starts a new
    page carrying the mark. (A record too long for such a page, which only a smaller
    ``page_size`` than the source's could meet, is left out.)"""
    raw, stamps, offsets, lengths = cpu.raw, cpu.timestamps, cpu.offsets, cpu.lengths
    marks = _missed_marks(cpu, header, source_page)
    marked = sorted(marks)
    next_mark = 0
    usable = page_size - header.data_offset
    u32 = struct.Struct("<I").pack
    pages: list[bytes] = []
    data = bytearray()
    page_ts = last = 0
    missed: int | None = None  # the current page's mark
    pending: int | None = None  # lost events not yet on a page
    for i in kept:
        while next_mark < len(marked) and marked[next_mark] <= i:
            count = marks[marked[next_mark]]
            pending = -1 if count < 0 or (pending is not None and pending < 0) else count + (pending or 0)
            next_mark += 1
        ts, size = stamps[i], lengths[i]
        body = raw[offsets[i] : offsets[i] + size]
        if size <= _MAX_SMALL_DATA:
            type_len = size >> 2
        else:  # type_len 0: the length (plus 4) in the word after the header
            type_len, body = 0, u32(size + 4) + body
        if 4 + len(body) + 16 > usable:
            continue  # longer than a page of this size holds with a time extend and a count
        delta = ts - last
        room = usable - (8 if missed is not None else 0)
        need = 4 + len(body) + (8 if delta > _DELTA_MASK else 0)
        if not data or pending is not None or delta < 0 or delta >> 59 or len(data) + need > room:
            if data:
                pages.append(_page(header, page_size, page_ts, data, missed))
            data = bytearray()
            page_ts, missed, pending, delta = ts, pending, None, 0
        if delta > _DELTA_MASK:
            data += u32(TYPE_TIME_EXTEND | (delta & _DELTA_MASK) << 5) + u32(delta >> TS_SHIFT)
            delta = 0
        data += u32(type_len | delta << 5)
        data += body
        last = ts
    if data:
        pages.append(_page(header, page_size, page_ts, data, missed))
    return b"".join(pages)


def write_trace_dat(rec: Recording, path: Path, probes: ProbeRecords | None = None) -> TraceDatResult:
    """Write ``rec`` to ``path`` as trace.dat v6; BadInput when the path cannot be written.

    With ``probes``, the kept records of the function probes' own buffer go to a second buffer
    named ``probes.name``."""
    notes: list[str] = []
    header = build_header(rec, notes)
    cpu_files = dict(rec.cpu_files())
    page = rec.page_size
    probe_pages: dict[int, bytes] = {}
    probe_events = 0
    if probes is not None:
        source_page = probes.page_size or page
        for events, kept in kept_probe_records(rec, probes):
            probe_events += len(kept)
            probe_pages[events.cpu] = filtered_pages(events, kept, rec.header, source_page, page)
    ncpus = max([*cpu_files, *probe_pages], default=-1) + 1
    clock = (rec.meta.clock or "local").encode()
    # TRACECLOCK option: the clock list as trace_clock prints it, the chosen one in brackets.
    clock_opt = struct.pack("<HI", OPTION_TRACECLOCK, len(clock) + 3) + b"[" + clock + b"]\0"
    name = probes.name.encode() + b"\0" if probes is not None else b""

    def prefix_with(buffer_at: int) -> bytes:
        options = OPTIONS + clock_opt
        if probes is not None:
            options += struct.pack("<HIQ", OPTION_BUFFER, 8 + len(name), buffer_at) + name
        return header + struct.pack("<I", ncpus) + options + struct.pack("<H", OPTION_DONE) + FLYRECORD

    table_size = 16 * ncpus
    position = len(prefix_with(0)) + table_size
    sizes = []
    for cpu in range(ncpus):
        p = cpu_files.get(cpu)
        # Whole pages only: a torn last page (a crash, a full disk) would be misread as one.
        sizes.append(p.stat().st_size // page * page if p is not None else 0)
    offsets = []
    for size in sizes:
        position = (position + page - 1) // page * page
        offsets.append(position)
        position += size
    # The second buffer's section: its flyrecord word and table right after the main data, then
    # its pages, page aligned.
    buffer_at = position
    probe_sizes = [len(probe_pages.get(cpu, b"")) for cpu in range(ncpus)]
    probe_offsets = []
    position = buffer_at + len(FLYRECORD) + table_size
    for size in probe_sizes:
        position = (position + page - 1) // page * page
        probe_offsets.append(position)
        position += size
    prefix = prefix_with(buffer_at)
    table = b"".join(struct.pack("<QQ", o, s) for o, s in zip(offsets, sizes, strict=True))
    target = Path(path)
    with atomic_output(target, "the trace.dat", binary=True) as fh:
        fh.write(prefix + table)
        for cpu, (offset, size) in enumerate(zip(offsets, sizes, strict=True)):
            fh.write(b"\0" * (offset - fh.tell()))
            if size:
                try:
                    with open(cpu_files[cpu], "rb") as src:
                        left = size
                        while left and (chunk := src.read(min(1 << 20, left))):
                            fh.write(chunk)
                            left -= len(chunk)
                except OSError as exc:  # a source that cannot be read is not the target's fault
                    raise BadInput(
                        f"cannot read {cpu_files[cpu]}: {exc.strerror or exc}",
                        key="errors.recording.cannot_read",
                        fields={"path": str(cpu_files[cpu]), "reason": exc.strerror or str(exc)},
                    ) from exc
        if probes is not None:
            fh.write(b"\0" * (buffer_at - fh.tell()))
            fh.write(FLYRECORD)
            fh.write(
                b"".join(struct.pack("<QQ", o, s) for o, s in zip(probe_offsets, probe_sizes, strict=True))
            )
            for cpu, offset in enumerate(probe_offsets):
                if probe_pages.get(cpu):
                    fh.write(b"\0" * (offset - fh.tell()))
                    fh.write(probe_pages[cpu])
        total = fh.tell()
    return TraceDatResult(
        path=os.fspath(target),
        size=total,
        cpus=ncpus,
        formats=len(rec.formats),
        events=rec.event_total + probe_events,
        notes=notes,
        completeness=rec.completeness(),
        damage=rec.damage(),
        probe_events=probe_events,
        buffer=probes.name if probes is not None else "",
    )
