"""Open a recording directory and decode its events.

A recording (see :mod:`kernlab.recording.layout`) holds each CPU's raw ring-buffer pages and
the tracefs files that describe them; this module ties them together: the page layout from
``header_page``, each event id's record layout from ``formats/*/*/format``, and the saved
``/proc/PID/maps`` snapshots. Nothing here knows the layout of any event in advance.
"""

from __future__ import annotations

import array
import contextlib
import heapq
import itertools
import json
import math
import os
import stat
import struct
import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from kernlab.errors import BadInput
from kernlab.recording import layout
from kernlab.recording.events import SYSCALL_EVENTS_FILE
from kernlab.recording.layout import CpuLoss, MapsSnapshot, RecordingMeta
from kernlab.recording.notes import per_call_syscalls_note
from kernlab.recording.state import Completeness, completeness
from kernlab.recording.syscall_names import exec_numbers, syscall_namer
from kernlab.tracing.formats import EventFormat, FieldFormat, HeaderPage, parse_format, parse_header_page
from kernlab.tracing.ringbuf import CpuEvents, decode_pages

# memoryview cast codes by field size and signedness
_IntCode = Literal["B", "b", "H", "h", "I", "i", "Q", "q"]
_CODES: dict[int, tuple[_IntCode, _IntCode]] = {1: ("B", "b"), 2: ("H", "h"), 4: ("I", "i"), 8: ("Q", "q")}


@dataclass
class Event:
    """One decoded record: when, where, who, which event, and every field of its format."""

    ts: int
    """Trace-clock time stamp in nanoseconds (the instance's trace_clock, ``local`` by default)."""
    cpu: int
    pid: int
    """common_pid: the thread (task) id that was running when the event fired."""
    name: str
    """``system:event``."""
    fields: dict[str, Any]


@dataclass(frozen=True)
class FileDamage:
    """What could not be read in one CPU's raw file; the rest of it is still decoded."""

    file: str
    """The file's name in the recording (``cpus/cpu3.raw``)."""
    pages: int
    """Whole pages in the file."""
    damaged_pages: int
    """Pages left out (or cut where the damage starts): see CpuEvents.damaged_pages."""
    damaged_offsets: list[int]
    """Byte offset of each damaged page (the first few hundred)."""
    torn_bytes: int
    """Bytes after the last whole page: a page cut short."""
    unknown_records: int
    """Records whose event id has no format in the recording (garbage that looked like events)."""
    size: int = 0
    """The file's length in bytes."""
    missing: bool = False
    """The file is gone (the recording had a buffer for this CPU)."""

    @property
    def unreadable(self) -> bool:
        """Nothing in the file is a ring-buffer page: every page damaged, or no whole page."""
        return self.pages == self.damaged_pages and (self.pages > 0 or self.torn_bytes > 0)


@dataclass
class LossSummary:
    """Events the kernel could not keep, per CPU and in total (never hidden by a report)."""

    per_cpu: list[CpuLoss]
    total: int
    """overrun + commit_overrun + dropped, from per_cpu/cpuN/stats at the end of the recording."""
    missed_in_pages: int
    """Events the page headers themselves report as lost (RB_MISSED_STORED counts)."""
    pages_marked_missed: int
    """Pages whose header carries RB_MISSED_EVENTS."""
    damaged_pages: int
    damage: list[FileDamage] = field(default_factory=list)
    """Every raw file with damaged pages, a torn last page or records of unknown events."""
    completeness: Completeness | None = None
    """Whether the recording is complete, or cut short (why, and the span it covers)."""

    @property
    def known(self) -> bool:
        """Whether the saved statistics can prove how many events were lost: the per-CPU counters
        were saved at a clean end, and every page could be read."""
        whole = self.completeness is None or (self.completeness.complete and self.completeness.stats_saved)
        return whole and not self.damage


@dataclass
class Recording:
    """An opened recording: metadata, decoders and (lazily) the decoded pages of each CPU."""

    root: Path
    meta: RecordingMeta
    header: HeaderPage
    formats: dict[int, EventFormat]
    """Event id -> format, for every format file in the recording."""
    _cpu_cache: list[CpuEvents] | None = field(default=None, repr=False)
    _probe_cache: list[CpuEvents] | None = field(default=None, repr=False)

    @cached_property
    def by_name(self) -> dict[str, EventFormat]:
        """``system:event`` -> format."""
        return {fmt.full_name: fmt for fmt in self.formats.values()}

    def event_id(self, name: str) -> int | None:
        fmt = self.by_name.get(name)
        return fmt.id if fmt else None

    @property
    def page_size(self) -> int:
        return self.meta.page_size or self.header.page_size

    def cpu_files(self) -> list[tuple[int, Path]]:
        """(cpu, path) of every raw page file, in CPU order."""
        found: dict[int, Path] = {}
        for folder in (self.root / layout.CPUS_DIR, self.root):
            for path in folder.glob("cpu*.raw"):
                try:
                    found.setdefault(int(path.stem[3:]), path)
                except ValueError:
                    continue
        return sorted(found.items())

    def cpu_events(self) -> list[CpuEvents]:
        """Every CPU's records, decoded once and cached (columnar, see CpuEvents)."""
        if self._cpu_cache is None:
            decoded = []
            folding = self._folding()
            for cpu, path in self.cpu_files():
                raw = read_regular(path)
                events = decode_pages(raw, self.header, cpu, self.page_size)
                self._raw_sizes[cpu] = len(raw)
                if folding is not None:
                    _fold_per_call(events, *folding, self._argument_counts)
                decoded.append(events)
            self._cpu_cache = decoded
        return self._cpu_cache

    def probe_events(self, page_size: int = 0) -> list[CpuEvents]:
        """Every CPU's records of the function probes' own buffer (recording/probe_buffer.py),
        decoded once; empty when the recording has none. ``page_size``: that buffer's."""
        if self._probe_cache is None:
            from kernlab.recording.probe_buffer import probe_buffer_files

            self._probe_cache = [
                decode_pages(read_regular(path), self.header, cpu, page_size or self.page_size)
                for cpu, path in probe_buffer_files(self.root)
            ]
        return self._probe_cache

    @cached_property
    def per_call_syscalls(self) -> PerCallSyscalls | None:
        """How the recording took its system calls from the per-call ``syscalls:*`` events
        (``formats/syscall_events.json``); None when it recorded ``raw_syscalls`` itself."""
        return read_per_call_syscalls(self.root)

    @cached_property
    def _raw_sizes(self) -> dict[int, int]:
        return {}

    def _argument_counts(self, event_id: int) -> int | None:
        """Argument fields of a per-call enter event (8 bytes each at 16 + 8 * i), from its saved
        format; None when the recording lacks it (then the record's length says)."""
        per_call = self.per_call_syscalls
        name = per_call.enter.get(event_id) if per_call else None
        fmt = self.syscall_format(name) if name else None
        if fmt is None or fmt.id != event_id:
            return None
        count = 0
        for f in fmt.payload_fields:
            if f.name != "__syscall_nr" and f.offset == 16 + 8 * count and f.size == 8 and not f.data_loc:
                count += 1
        return count

    def _folding(self) -> tuple[PerCallSyscalls, EventFormat, EventFormat] | None:
        """The per-call events and the raw_syscalls formats their records are folded into."""
        per_call = self.per_call_syscalls
        if per_call is None:
            return None
        enter, leave = self.by_name.get(_RAW_ENTER), self.by_name.get(_RAW_EXIT)
        if enter is None or leave is None:
            return None
        return per_call, enter, leave

    @property
    def event_total(self) -> int:
        return sum(len(c) for c in self.cpu_events())

    def event_counts(self) -> dict[str, int]:
        """How many records of each event the pages hold, by ``system:event``."""
        counts: Counter[int] = Counter()
        for cpu in [*self.cpu_events(), *self.probe_events()]:
            # A few distinct ids: one C-level count per id beats a dict update per record.
            counts.update(cpu.type_counts())
        return {self._name_of(t): n for t, n in sorted(counts.items(), key=lambda kv: -kv[1])}

    def _name_of(self, type_id: int) -> str:
        fmt = self.formats.get(type_id)
        return fmt.full_name if fmt else f"unknown:{type_id}"

    def loss(self) -> LossSummary:
        cpus = self.cpu_events()
        return LossSummary(
            per_cpu=list(self.meta.loss),
            total=self.meta.lost_events,
            missed_in_pages=sum(c.missed_events for c in cpus),
            pages_marked_missed=sum(c.missed_pages for c in cpus),
            damaged_pages=sum(c.damaged_pages for c in cpus),
            damage=self.damage(),
            completeness=self.completeness(),
        )

    def completeness(self) -> Completeness:
        """Complete, or cut short: why (from state.json) and the span of the events read."""
        firsts = [c.stamp(0) for c in self.cpu_events() if len(c)]
        lasts = [c.stamp(len(c) - 1) for c in self.cpu_events() if len(c)]
        return completeness(self.root, self.meta, min(firsts, default=0), max(lasts, default=0))

    def damage(self) -> list[FileDamage]:
        """The raw files that are not whole, with where and how (never raised: reported)."""
        out = []
        files = dict(self.cpu_files())
        for cpu in self.cpu_events():
            unknown = sum(n for t, n in cpu.type_counts().items() if t not in self.formats)
            if cpu.damaged_pages or cpu.torn_bytes or unknown:
                path = files.get(cpu.cpu)
                name = str(path.relative_to(self.root)) if path else f"cpu{cpu.cpu}.raw"
                out.append(
                    FileDamage(
                        name,
                        cpu.pages,
                        cpu.damaged_pages,
                        cpu.damaged_offsets[:256],
                        cpu.torn_bytes,
                        unknown,
                        self._raw_sizes.get(cpu.cpu, len(cpu.raw)),
                    )
                )
        # Every CPU buffer of the instance got a file (maybe empty): one that is gone is damage.
        cpus = self.meta.cpus
        if not 0 < cpus <= 1 << 12:  # a damaged meta.json: count the CPUs it kept statistics of
            cpus = sum(1 for c in self.meta.loss if not c.buffer)
        for cpu_no in range(cpus):
            if cpu_no not in files:
                name = str(layout.cpu_raw_path(Path(), cpu_no))
                out.append(FileDamage(name, 0, 0, [], 0, 0, 0, missing=True))
        return out

    def columns(self, name: str, field_names: list[str], since: int = 0) -> dict[str, list[int]]:
        """column_arrays() as lists."""
        return {
            f: c if isinstance(c, list) else c.tolist()
            for f, c in self.column_arrays(name, field_names, since).items()
        }

    def column_arrays(
        self, name: str, field_names: list[str], since: int = 0
    ) -> dict[str, array.array[int] | list[int]]:
        """Integer fields of every ``name`` record from trace time ``since`` on, as columns.

        The fast path for analyses of hundreds of thousands of events: the records are copied
        into buffers of equal-stride records — a page made only of ``name`` records (a run, see
        CpuEvents.runs) with one slice, other records one by one — and each field is read with
        strided memoryviews into ``array.array`` columns, so no Python code runs and no int object
        is made per record. The columns are parallel (entry ``i`` of each is one record) but not
        in time order; they are lists when the layout needs struct (other byte order, odd
        sizes). Array fields are not supported here (use EventFormat.unpacker()).
        """
        fmt = self.by_name.get(name)
        if fmt is None:
            return {f: [] for f in field_names}
        fields = [fmt.field(f) for f in field_names]
        if any(f.array_len is not None or f.flexible or f.data_loc or f.rel_loc for f in fields):
            raise BadInput(f"columns() reads scalar fields; {name} has arrays among {field_names}")
        native = "<" if sys.byteorder == "little" else ">"
        if fmt.endian != native or any(f.size not in _CODES for f in fields):
            return dict(self._columns_unpacked(fmt, field_names, since))
        # Each job: records of one stride in pieces source[starts[k]:ends[k]], taken back to back,
        # the stride, and where the fields start in a record.
        jobs: list[tuple[bytes, list[int], list[int], int, int]] = []
        # A record shorter than the fields (a damaged page) is left out, never misread.
        need = max(f.offset + f.size for f in fields)
        for cpu in self.cpu_events():
            first = cpu.index_at(since) if since else 0
            runs: dict[int, tuple[list[int], list[int]]] = {}
            gaps: list[tuple[int, int]] = []  # record index ranges left for the one-by-one path
            pos = first
            for run, (start, count, stride, only) in enumerate(cpu.runs):
                if start < first or start + count <= pos:
                    continue
                if only >= 0:  # one event fills the page: no need to look at its records
                    mine = count if only == fmt.id else 0
                else:
                    mine = cpu.types[start : start + count].count(fmt.id)
                if mine == count and stride - 4 >= need:
                    head = cpu.run_heads[run]
                    starts, ends = runs.get(stride) or runs.setdefault(stride, ([], []))
                    starts.append(head)
                    ends.append(head + count * stride)
                elif mine:
                    continue  # mixed page: its records go the one-by-one way
                gaps.append((pos, start))
                pos = start + count
            gaps.append((pos, len(cpu.types)))
            for stride, (starts, ends) in runs.items():
                jobs.append((cpu.raw, starts, ends, stride, 4))
            offsets: list[int] = []
            sizes: list[int] = []
            for lo, hi in gaps:
                if lo >= hi:
                    continue
                picks = list(map(fmt.id.__eq__, cpu.types[lo:hi]))
                sizes += itertools.compress(cpu.lengths[lo:hi], picks)
                offsets += itertools.compress(cpu.offsets_between(lo, hi), picks)
            if any(n < need for n in sizes):
                keep = [n >= need for n in sizes]
                offsets = list(itertools.compress(offsets, keep))
                sizes = list(itertools.compress(sizes, keep))
            if offsets:
                # Equal-length copies of each record, back to back.
                length = min(sizes)
                ends = [o + length for o in offsets]
                buf = b"".join(map(cpu.raw.__getitem__, map(slice, offsets, ends)))
                jobs.append((buf, [0], [len(buf)], length, 0))
        # The columns are made at their full size at once and filled in place: growing them
        # would copy them again and again, and a copy of all the records first would double
        # the memory touched.
        total = sum((sum(ends) - sum(starts)) // stride for _src, starts, ends, stride, _head in jobs)
        columns = {f.name: array.array(_CODES[f.size][f.signed], [0]) * total for f in fields}
        views = {name: memoryview(column) for name, column in columns.items()}
        at = 0
        for source, starts, ends, stride, head in jobs:
            at += _write_strided(source, starts, ends, stride, head, fields, views, at)
        for view in views.values():
            view.release()
        out: dict[str, array.array[int] | list[int]] = dict(columns)
        return out

    def _columns_unpacked(self, fmt: EventFormat, field_names: list[str], since: int) -> dict[str, list[int]]:
        """columns() for layouts memoryview cannot read (other byte order, arrays): struct."""
        out: dict[str, list[int]] = {f: [] for f in field_names}
        layout_ = fmt.unpacker(field_names)
        unpack = layout_.unpack_from
        for cpu in self.cpu_events():
            first = cpu.index_at(since) if since else 0
            types, lengths = cpu.types[first:], cpu.lengths[first:]
            picks = [t == fmt.id and n >= layout_.size for t, n in zip(types, lengths, strict=True)]
            offsets = list(itertools.compress(cpu.offsets_between(first, len(cpu)), picks))
            rows = list(map(unpack, itertools.repeat(cpu.raw), offsets))
            for f, column in zip(field_names, zip(*rows, strict=True), strict=False):
                out[f].extend(column)
        return out

    def iter_records(self, names: set[str] | None = None) -> Iterator[tuple[int, int, int, CpuEvents]]:
        """(ts, cpu, index, CpuEvents) of every record in time order, all CPUs merged.

        ``names`` keeps only those events (``system:event``); the record's bytes are
        ``cpu.raw[cpu.offsets[index]:][:cpu.lengths[index]]``.
        """
        wanted = None if names is None else {i for i, f in self.formats.items() if f.full_name in names}

        def one(cpu: CpuEvents) -> Iterator[tuple[int, int, int, CpuEvents]]:
            if wanted is None:
                indices: Iterable[int] = range(len(cpu.types))
                stamps = cpu.timestamps
            else:
                # Unwanted records cost no Python step (runs of other events are not even looked at).
                indices = cpu.indices_of(wanted)
                stamps = cpu.stamps_for(wanted)
            cpu_no = cpu.cpu
            for i in indices:
                yield stamps[i], cpu_no, i, cpu

        yield from heapq.merge(*(one(c) for c in self.cpu_events()), key=lambda r: (r[0], r[1]))

    def iter_events(self, names: set[str] | None = None) -> Iterator[Event]:
        """Every record as an :class:`Event` with all fields decoded, in time order (slower path)."""
        wanted = None if names is None else {i for i, f in self.formats.items() if f.full_name in names}
        # Made once per CPU: only the runs of the wanted events get their offsets made.
        offsets = {c.cpu: c.offsets if wanted is None else c.offsets_for(wanted) for c in self.cpu_events()}
        for ts, cpu_no, i, cpu in self.iter_records(names):
            fmt = self.formats.get(cpu.types[i])
            if fmt is None:
                yield Event(ts, cpu_no, -1, f"unknown:{cpu.types[i]}", {})
                continue
            values = fmt.decode(cpu.raw, offsets[cpu_no][i], cpu.lengths[i])
            pid = values.get("common_pid")
            yield Event(ts, cpu_no, pid if isinstance(pid, int) else -1, fmt.full_name, values)

    def snapshots_of(self, pid: int) -> list[MapsSnapshot]:
        """The maps snapshots saved for ``pid`` (exec/attach first, exit/end last)."""
        order = {"attach": 0, "exec": 1, "exit": 2, "end": 3}
        found = [m for m in self.meta.maps if m.pid == pid]
        return sorted(found, key=lambda m: (order.get(m.when, 9), m.time_ns))

    def maps_text(self, snapshot: MapsSnapshot) -> str | None:
        """The saved maps text of ``snapshot``, or None when the file is gone."""
        try:
            return read_regular(self.root / snapshot.path, text=True)
        except BadInput:
            return None

    @cached_property
    def command_start_ts(self) -> int:
        """Trace time of the root command's first ``execve``; 0 when unknown or attached.

        The recorder has to enable tracing before the command's execve, so the first records of
        the root PID belong to the recorder's child getting ready (dup2, read of the go byte, ...),
        not to the command: analyses start at this time stamp, as strace does.
        """
        if self.meta.attached or not self.meta.command:
            return 0
        fmt = self.by_name.get("raw_syscalls:sys_enter")
        exec_fmt = self.by_name.get("sched:sched_process_exec")
        best = 0
        if fmt is not None:
            numbers = exec_numbers(syscall_namer(self.meta.machine))
            layout_ = fmt.unpacker(["common_pid", "id"])
            unpack = layout_.unpack_from
            for cpu in self.cpu_events():
                # Only sys_enter records get a Python step.
                offsets = cpu.offsets_for({fmt.id})
                for i in cpu.indices_of({fmt.id}):
                    if cpu.lengths[i] >= layout_.size:
                        pid, nr = unpack(cpu.raw, offsets[i])
                        if pid == self.meta.root_pid and nr in numbers:
                            ts = cpu.stamp(i)
                            best = ts if not best else min(best, ts)
                            break
        if not best and exec_fmt is not None:
            for cpu in self.cpu_events():
                found = cpu.indices_of({exec_fmt.id})
                if found:
                    ts = cpu.stamp(found[0])
                    best = ts if not best else min(best, ts)
        return best

    @cached_property
    def _syscall_format_texts(self) -> dict[str, str] | None:
        """``sys_enter_openat`` -> its format text, from ``syscall_formats``; None when absent."""
        path = self.root / layout.SYSCALL_FORMATS
        if not path.is_file():
            return None
        texts: dict[str, str] = {}
        # Each format file begins with its "name:" line; nothing else in one starts with it.
        for chunk in read_regular(path, text=True).split("\nname: "):
            body = chunk if chunk.startswith("name: ") else "name: " + chunk
            name = body[6 : body.find("\n")].strip() if "\n" in body else ""
            if name:
                texts[name] = body
        return texts

    @property
    def has_syscall_formats(self) -> bool:
        """True when the recording holds the kernel's syscalls/sys_*_* formats."""
        return self._syscall_format_texts is not None or any(
            f.system == "syscalls" for f in self.formats.values()
        )

    def syscall_format(self, event: str) -> EventFormat | None:
        """The format of ``syscalls:<event>`` (``sys_enter_openat``) saved in the recording.

        Parsed on first use only: a recording holds ~700 of them and a listing needs a few.
        """
        fmt = self.by_name.get(f"syscalls:{event}")
        if fmt is not None:
            return fmt
        cache = self._parsed_syscall_formats
        if event not in cache:
            text = (self._syscall_format_texts or {}).get(event)
            try:
                cache[event] = parse_format(text, "syscalls") if text else None
            except BadInput:
                cache[event] = None  # a damaged entry only leaves that call's arguments unnamed
        return cache[event]

    @cached_property
    def _parsed_syscall_formats(self) -> dict[str, EventFormat | None]:
        return {}

    @cached_property
    def kallsyms_path(self) -> Path | None:
        path = self.root / layout.KALLSYMS
        return path if path.is_file() else None


_RAW_ENTER = "raw_syscalls:sys_enter"
_RAW_EXIT = "raw_syscalls:sys_exit"


@dataclass(frozen=True)
class PerCallSyscalls:
    """``formats/syscall_events.json``: the recording armed ``syscalls:sys_enter_<name>`` /
    ``sys_exit_<name>`` instead of ``raw_syscalls`` (recording/arming.py). Their records are
    folded into ``raw_syscalls`` ones when the pages are decoded, so every reader sees one kind."""

    enter: dict[int, str]
    """Event id -> event name (``sys_enter_openat``)."""
    exit: dict[int, str]
    left_out: list[str]
    no_event: list[int]
    raw_formats: dict[str, str]
    note: str


def read_per_call_syscalls(root: Path) -> PerCallSyscalls | None:
    """The recording's ``formats/syscall_events.json``; None when absent or unreadable."""
    path = Path(root) / layout.FORMATS_DIR / SYSCALL_EVENTS_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(read_regular(path, text=True))
        return PerCallSyscalls(
            enter={int(k): str(v) for k, v in data["enter"].items()},
            exit={int(k): str(v) for k, v in data["exit"].items()},
            left_out=[str(x) for x in data.get("left_out", [])],
            no_event=[int(x) for x in data.get("no_event", [])],
            raw_formats={str(k): str(v) for k, v in data.get("raw_formats", {}).items()},
            note=str(data.get("note", "")),
        )
    except (BadInput, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _add_per_call_formats(rec: Recording, per_call: PerCallSyscalls) -> None:
    """The raw_syscalls formats the records fold into (from the marker when the copier did not
    save them), and the per-call formats from ``syscall_formats`` (for exports of the raw pages)."""
    for name, text in per_call.raw_formats.items():
        if f"raw_syscalls:{name}" not in rec.by_name:
            with contextlib.suppress(BadInput):
                raw = parse_format(text, "raw_syscalls")
                rec.formats.setdefault(raw.id, raw)
    for event_id, name in [*per_call.enter.items(), *per_call.exit.items()]:
        if event_id not in rec.formats:
            fmt = rec.syscall_format(name)
            if fmt is not None and fmt.id == event_id:
                rec.formats[event_id] = fmt
    rec.__dict__.pop("by_name", None)  # made again with the formats added


def _fold_per_call(
    cpu: CpuEvents,
    per_call: PerCallSyscalls,
    enter: EventFormat,
    leave: EventFormat,
    argument_count: Callable[[int], int | None],
) -> None:
    """Turn each per-call record of ``cpu`` into the ``raw_syscalls`` record the kernel would
    have written for the same call at the same place: same time stamp, CPU, pid and flags; the
    call's number as ``id``; its arguments (the rest 0) or its return value.

    The new records are appended to ``cpu.raw`` and the record's offset, length and event id
    point there; the pages of equal records (``runs``) that held one are read record by record
    from then on.
    """
    ids = set(per_call.enter) | set(per_call.exit)
    indices = cpu.indices_of(ids)
    if not indices:
        return
    end = "<" if enter.endian == "<" else ">"
    enter_id_f, args_f = enter.field("id"), enter.field("args")
    exit_id_f, ret_f = leave.field("id"), leave.field("ret")
    enter_size = max(f.offset + f.size for f in enter.fields)
    exit_size = max(f.offset + f.size for f in leave.fields)
    enter_size, exit_size = (enter_size + 3) & ~3, (exit_size + 3) & ~3
    nr_at = struct.Struct(end + "i")
    id_enter = struct.Struct(end + {4: "i", 8: "q"}[enter_id_f.size])
    id_exit = struct.Struct(end + {4: "i", 8: "q"}[exit_id_f.size])
    head_enter, head_exit = struct.pack(end + "H", enter.id), struct.pack(end + "H", leave.id)
    raw, types, lengths = cpu.raw, cpu.types, cpu.lengths
    offsets = cpu.offsets_for(ids)
    pieces: list[bytes] = []
    at = len(raw)
    done: list[int] = []
    counts: dict[int, int | None] = {}
    for i in indices:
        off, size, event = offsets[i], lengths[i], types[i]
        if size < 16:
            continue  # a damaged record: left as it is (its own event)
        nr = nr_at.unpack_from(raw, off + 8)[0]
        record = bytearray(enter_size if event in per_call.enter else exit_size)
        record[2:8] = raw[off + 2 : off + 8]  # flags, preempt count, pid
        if event in per_call.enter:
            record[0:2] = head_enter
            id_enter.pack_into(record, enter_id_f.offset, nr)
            if event not in counts:
                counts[event] = argument_count(event)
            known = counts[event]
            count = min((size - 16) // 8 if known is None else known, (size - 16) // 8, args_f.size // 8)
            record[args_f.offset : args_f.offset + 8 * count] = raw[off + 16 : off + 16 + 8 * count]
            types[i] = enter.id
        else:
            record[0:2] = head_exit
            id_exit.pack_into(record, exit_id_f.offset, nr)
            record[ret_f.offset : ret_f.offset + ret_f.size] = raw[off + 16 : off + 16 + ret_f.size]
            types[i] = leave.id
        offsets[i] = at
        cpu.relocated[at] = i
        lengths[i] = len(record)
        at += len(record)
        pieces.append(bytes(record))
        done.append(i)
    cpu.raw = raw + b"".join(pieces)
    _drop_runs_holding(cpu, done)


def _drop_runs_holding(cpu: CpuEvents, indices: list[int]) -> None:
    """Forget the runs (pages of equal records read with one slice) holding one of ``indices``:
    their records are no longer equal. Their offsets and stamps were made by offsets_for()."""
    if not indices:
        return
    keep_runs: list[tuple[int, int, int, int]] = []
    keep_heads: list[int] = []
    renumber: dict[int, int] = {}
    for number, (run, head) in enumerate(zip(cpu.runs, cpu.run_heads, strict=True)):
        first, count = run[0], run[1]
        k = bisect_left(indices, first)
        if k < len(indices) and indices[k] < first + count:
            continue  # never pending: offsets_for() made every run that can hold such a record
        renumber[number] = len(keep_runs)
        keep_runs.append(run)
        keep_heads.append(head)
    cpu._pending = {renumber[n]: base for n, base in cpu._pending.items()}
    cpu.runs, cpu.run_heads = keep_runs, keep_heads
    cpu._segments = None


MAX_PAGE_SIZE = 1 << 24
"""Larger than any sub-buffer the kernel makes (buffer_subbuf_size_kb is at most 1 MiB)."""

# Records are read in blocks of about this many bytes: one block's copy stays in the cache
# while every field is read from it, and the same memory serves the next block.
_BLOCK_BYTES = 1 << 18


def _write_strided(
    source: bytes,
    starts: list[int],
    ends: list[int],
    stride: int,
    head: int,
    fields: list[FieldFormat],
    views: dict[str, memoryview],
    at: int,
) -> int:
    """Write each field of the equal-stride records in the pieces ``source[starts[k]:ends[k]]``
    (taken back to back) into ``views[field.name]`` from element ``at`` on; returns how many
    records there were.

    Field ``f`` of record ``k`` is at ``head + f.offset + k * stride``. A memoryview cast to
    the field's type reads every ``step``-th element in C, but only when the stride is a
    multiple of the field size; otherwise the records are taken in ``m`` interleaved
    classes (record ``r``, ``r + m``, ...) whose stride ``m * stride`` is such a multiple, each
    read from a view shifted so its elements line up. A column holds class 0, then class 1,
    ...; every field uses the same classes, so the columns stay parallel.
    """
    total = (sum(ends) - sum(starts)) // stride
    # One number of classes for every field (the smallest that suits them all): with a number
    # per field, a 4-byte pid and an 8-byte address of 36-byte records would be read in
    # different orders and the columns would no longer be parallel.
    m = math.lcm(*(f.size // math.gcd(stride, f.size) for f in fields))
    bases = [sum((total - c + m - 1) // m for c in range(r)) for r in range(min(m, total))]
    plan = [(f.offset, f.size, views[f.name], _CODES[f.size][f.signed]) for f in fields]
    whole = memoryview(source)
    done = 0  # records in the blocks before this one
    i = 0
    while i < len(starts):
        j = i + 1
        nbytes = ends[i] - starts[i]
        while j < len(starts) and nbytes + ends[j] - starts[j] <= _BLOCK_BYTES:
            nbytes += ends[j] - starts[j]
            j += 1
        if j == i + 1:
            view = whole[starts[i] : ends[i]]
        else:
            view = memoryview(b"".join(map(whole.__getitem__, map(slice, starts[i:j], ends[i:j]))))
        count = nbytes // stride
        for offset, size, dst, code in plan:
            for r, base in enumerate(bases):
                first = (r - done) % m  # the block's first record of class r
                if first >= count:
                    continue
                pos = head + offset + first * stride
                shift = pos % size
                usable = (nbytes - shift) // size * size
                cast = view[shift : shift + usable].cast(code)
                src = cast[(pos - shift) // size :: m * stride // size]
                into = at + base + (done + first - r) // m
                dst[into : into + len(src)] = src
                src.release()
                cast.release()
        view.release()
        done += count
        i = j
    whole.release()
    return total


def read_regular(path: Path, *, text: bool = False) -> Any:
    """The bytes (or text) of ``path``, which must be a regular file.

    A FIFO or device named like a recording file would block or never end: refuse it with
    BadInput, like a missing or unreadable file.
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(
                f"{path} is not a regular file",
                key="errors.recording.not_regular",
                fields={"path": str(path)},
            )
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(
            f"cannot read {path}: {exc.strerror or exc}",
            key="errors.recording.cannot_read",
            fields={"path": str(path), "reason": exc.strerror or str(exc)},
        ) from exc
    return data.decode("utf-8", errors="replace") if text else data


def _read_formats(root: Path) -> dict[int, EventFormat]:
    formats: dict[int, EventFormat] = {}
    base = root / layout.FORMATS_DIR
    for path in sorted(base.glob("*/*/format")):
        try:
            fmt = parse_format(read_regular(path, text=True), path.parent.parent.name)
        except BadInput:
            continue  # a damaged format only makes its own events unknown
        formats[fmt.id] = fmt
    return formats


def _meta_from_contract(data: dict[str, Any]) -> dict[str, Any]:
    """Accept the older draft contract (``{"format": "kernlab-recording", "version": 1, ...}``)."""
    kernel = data.get("kernel") or {}
    loss = [
        {
            "cpu": int(cpu),
            "entries": v.get("entries", 0),
            "overrun": v.get("overrun", 0),
            "commit_overrun": v.get("commit_overrun", 0),
            "dropped": v.get("dropped_events", 0),
            "read": v.get("read_events", 0),
            "bytes_raw": v.get("bytes", 0),
        }
        for cpu, v in (data.get("lost") or {}).items()
    ]
    return {
        "format_version": data.get("version", 1),
        "command": data.get("command") or [],
        "root_pid": data.get("root_pid", 0),
        "attached": data.get("attached_pid") is not None,
        "events": [e.replace("/", ":") for e in data.get("events", [])],
        "kstack_events": [e.replace("/", ":") for e in data.get("kstack_events", [])],
        "kernel_release": kernel.get("release", ""),
        "machine": kernel.get("machine", ""),
        "page_size": data.get("page_size", 0),
        "cpus": len(data.get("cpus", [])),
        "clock": data.get("trace_clock", "local"),
        "buffer_size_kb": data.get("buffer_size_kb", 0),
        "start_time_ns": data.get("start_ts", 0),
        "end_time_ns": data.get("end_ts", 0),
        "wall_start": 0.0,
        "exit_code": data.get("exit_status"),
        "loss": loss,
        "rusage": data.get("rusage"),
        "config": kernel.get("config", {}),
    }


def _load_meta(root: Path) -> RecordingMeta:
    path = root / layout.META
    try:
        data = json.loads(read_regular(path, text=True)) if path.exists() else None
        if data is None:
            raise FileNotFoundError
    except FileNotFoundError as exc:
        raise BadInput(
            f"{root} has no {layout.META}: not a kernlab recording (make one with `kernlab record`)",
            key="errors.recording.no_meta",
            fields={"path": str(root), "meta": layout.META},
        ) from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(
            f"cannot read {path}: {exc}",
            key="errors.recording.cannot_read",
            fields={"path": str(path), "reason": str(exc)},
        ) from exc
    if isinstance(data, dict) and data.get("format") == "kernlab-recording":
        try:
            return layout.meta_from_dict(_meta_from_contract(data))
        except (TypeError, ValueError, AttributeError) as exc:
            raise BadInput(
                f"{path} is damaged: {exc}",
                key="errors.recording.damaged",
                fields={"path": str(path), "reason": str(exc)},
            ) from None
    return layout.read_meta(root)


def open_recording(directory: Path | str = layout.DEFAULT_DIR) -> Recording:
    """Open the recording in ``directory``; BadInput says what is missing or damaged."""
    root = Path(directory)
    if not root.exists():
        raise BadInput(
            f"no recording at {root} (record one with `kernlab record -d {root} -- COMMAND`)",
            key="errors.recording.none_at",
            fields={"path": str(root)},
        )
    if not root.is_dir():
        raise BadInput(
            f"{root} is not a directory; a recording is a directory made by `kernlab record`",
            key="errors.recording.not_a_dir",
            fields={"path": str(root)},
        )
    meta = _load_meta(root)
    if not (root / layout.HEADER_PAGE).exists():
        raise BadInput(
            f"{root} has no {layout.HEADER_PAGE}: the recording is incomplete",
            key="errors.recording.incomplete",
            fields={"path": str(root), "file": layout.HEADER_PAGE},
        )
    header_text = read_regular(root / layout.HEADER_PAGE, text=True)
    header = parse_header_page(header_text)
    if meta.page_size and not header.data_offset < meta.page_size <= MAX_PAGE_SIZE:
        raise BadInput(
            f"{root / layout.META} is damaged: it gives {meta.page_size} as the ring-buffer page size",
            key="errors.recording.bad_page_size",
            fields={"path": str(root / layout.META), "page_size": meta.page_size},
        )
    formats = _read_formats(root)
    if not formats:
        raise BadInput(
            f"{root} has no event formats ({layout.FORMATS_DIR}/*/*/format): the recording is incomplete",
            key="errors.recording.incomplete",
            fields={"path": str(root), "file": f"{layout.FORMATS_DIR}/*/*/format"},
        )
    rec = Recording(root, meta, header, formats)
    per_call = rec.per_call_syscalls
    if per_call is not None:
        _add_per_call_formats(rec, per_call)
        if per_call.note and per_call.note not in meta.notes:
            phrase = per_call_syscalls_note(per_call.left_out, len(per_call.no_event))
            if phrase.text == per_call.note:
                meta.add_note(phrase)
            else:  # worded by another kernlab: kept as it is
                meta.notes.append(per_call.note)
    if not rec.cpu_files():
        raise BadInput(
            f"{root} holds no raw pages ({layout.CPUS_DIR}/cpuN.raw): the recording is incomplete",
            key="errors.recording.no_raw_pages",
            fields={"path": str(root), "file": f"{layout.CPUS_DIR}/cpuN.raw"},
        )
    return rec
