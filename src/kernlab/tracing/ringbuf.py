"""Decode the raw ring-buffer pages read from ``per_cpu/cpuN/trace_pipe_raw``.

A page is ``struct buffer_data_page`` (kernel/trace/ring_buffer.c): a u64 time stamp, a
``local_t commit`` whose low bits count the bytes of events written and whose high bits carry
RB_MISSED_EVENTS (1<<31: events were lost before this page) and RB_MISSED_STORED (1<<30: the
number lost is stored after the data), then the events. Each event starts with a 32-bit word
(``struct ring_buffer_event``): ``type_len`` in the low 5 bits, ``time_delta`` in the high 27:

* 1..28: a data record of ``type_len * 4`` bytes follows;
* 0: the record length (plus 4) is in the next word, then the record;
* 29 padding: a discarded record of ``array[0]`` bytes, or (time_delta 0) the end of the page;
* 30 time extend: the delta is ``array[0] << 27 | time_delta``;
* 31 absolute time stamp: the same arithmetic, but it replaces the running time.

The offsets of the page header come from ``header_page`` (see :class:`~kernlab.tracing.formats.HeaderPage`);
the record inside an event is decoded with the event's format file.
"""

from __future__ import annotations

import array
import bisect
import itertools
import operator
import struct
import sys
from collections import Counter
from collections.abc import Container

from kernlab.errors import BadInput
from kernlab.tracing.formats import HeaderPage

TYPE_PADDING = 29
TYPE_TIME_EXTEND = 30
TYPE_TIME_STAMP = 31
TS_SHIFT = 27
# Absolute time stamps keep only the low 59 bits; the rest comes from the running time
# (rb_fix_abs_ts() in kernel/trace/ring_buffer.c).
TS_MSB_MASK = ~((1 << 59) - 1) & 0xFFFFFFFFFFFFFFFF
RB_MISSED_EVENTS = 1 << 31
RB_MISSED_STORED = 1 << 30
COMMIT_LENGTH_MASK = (1 << 30) - 1

_U32 = struct.Struct("<I")
# bytes.translate table keeping the low 5 bits of a byte: the type_len of an event header's
# first (little-endian) byte.
_TYPE_LEN_OF_BYTE = bytes(b & 0x1F for b in range(256))
_LITTLE = sys.byteorder == "little"


# Column types: record lengths fit 32 bits (a page), event ids are the u16 common_type, offsets
# and time stamps are u64 (a time stamp that does not fit, from garbage pages, turns the time
# stamp column into a list).
LENGTH_CODE = "I"
TYPE_CODE = "H"
U64_CODE = "Q"


class CpuEvents:
    """The records of one CPU's pages, columnar: record ``i`` is
    ``raw[offsets[i] : offsets[i] + lengths[i]]`` with time stamp ``timestamps[i]`` (trace clock, ns)
    and event id ``types[i]`` (the record's common_type).

    The columns are ``array.array``: no Python object per record, and nothing for the garbage
    collector to walk. The time stamps and offsets of a uniform page (see ``runs``) are most of
    the cost of decoding, and most analyses never read them: they are made only when asked
    for, page by page. ``timestamps`` and ``offsets`` give them all; ``stamp()``,
    ``stamps_for()``, ``offsets_for()``, ``offsets_between()`` and ``index_at()`` make only
    the pages they need.
    """

    def __init__(self, cpu: int, raw: bytes) -> None:
        self.cpu = cpu
        self.raw = raw
        self.lengths: array.array[int] = array.array(LENGTH_CODE)
        self.types: array.array[int] = array.array(TYPE_CODE)
        self.pages = 0
        self.missed_pages = 0
        """Pages whose header says events were lost just before them (RB_MISSED_EVENTS)."""
        self.missed_events = 0
        """Events lost, summed over the pages that store the count (RB_MISSED_STORED)."""
        self.damaged_pages = 0
        """Pages whose commit length or event chain does not fit in the page, or whose time stamp
        runs backwards (left out, or cut where the damage starts)."""
        self.damaged_offsets: list[int] = []
        """Byte offset in the file of each damaged page, in file order."""
        self.torn_bytes = 0
        """Bytes after the last whole page: a page cut short (a crash, a full disk)."""
        self.relocated: dict[int, int] = {}
        """Offset -> index of the records rewritten after ``raw``'s pages (per-call system-call
        records folded into raw_syscalls ones): ``offsets`` is no longer sorted there."""
        self.runs: list[tuple[int, int, int, int]] = []
        """(first record index, count, stride, event id or -1) of pages made only of same-length
        small records: record ``first + k`` starts at ``offsets[first] + k * stride``; the id is
        that of every record of the page, or -1 when they are of several events. Analyses read
        such a run with one slice instead of one per record."""
        self.run_heads: list[int] = []
        """Offset in ``raw`` of each run's first event header (its first record's offset - 4)."""
        # Entries of a run not made yet are 0; _pending maps the run's number to the page's
        # time stamp (where its running sum starts) until they are.
        self._stamps: array.array[int] | list[int] = array.array(U64_CODE)
        self._offsets: array.array[int] = array.array(U64_CODE)
        self._pending: dict[int, int] = {}
        self._pending_events: Counter[int] = Counter()  # event id (or -1) -> runs pending
        self._segments: list[tuple[int, int, int]] | None = None

    def __len__(self) -> int:
        return len(self.types)

    def __repr__(self) -> str:
        return f"CpuEvents(cpu={self.cpu}, records={len(self)}, pages={self.pages}, runs={len(self.runs)})"

    @property
    def timestamps(self) -> array.array[int] | list[int]:
        """Every record's time stamp (a list only when one does not fit 64 bits)."""
        self._fill_all()
        return self._stamps

    @property
    def offsets(self) -> array.array[int]:
        """Every record's offset in ``raw``."""
        self._fill_all()
        return self._offsets

    def _fill_all(self) -> None:
        for run in list(self._pending):
            self._fill(run)

    def _fill(self, run: int) -> None:
        base = self._pending.pop(run)
        first, count, stride, only = self.runs[run]
        self._pending_events[only] -= 1
        head = self.run_heads[run]
        end = head + count * stride
        words = memoryview(self.raw)[head:end].cast("I")
        deltas = map(operator.rshift, words[:: stride >> 2].tolist(), itertools.repeat(5))
        words.release()
        stamps = list(itertools.accumulate(deltas, initial=base))
        # stamps[0] is the page's own time stamp, not a record's
        try:
            self._stamps[first : first + count] = array.array(U64_CODE, stamps[1:])
        except OverflowError:  # garbage pages can sum to more than 64 bits
            if isinstance(self._stamps, array.array):
                self._stamps = self._stamps.tolist()
            self._stamps[first : first + count] = stamps[1:]
        self._offsets[first : first + count] = array.array(U64_CODE, range(head + 4, end, stride))

    def _fill_for(self, ids: Container[int]) -> None:
        if not any(n and (event < 0 or event in ids) for event, n in self._pending_events.items()):
            return
        for run in [r for r in self._pending if self.runs[r][3] < 0 or self.runs[r][3] in ids]:
            self._fill(run)

    def stamp(self, index: int) -> int:
        """The time stamp of record ``index`` (>= 0), making only the page it is on."""
        if self._pending:
            run = bisect.bisect_right(self.runs, index, key=_FIRST) - 1
            if run in self._pending and index < self.runs[run][0] + self.runs[run][1]:
                self._fill(run)
        return self._stamps[index]

    def stamps_for(self, ids: Container[int]) -> array.array[int] | list[int]:
        """A time stamp column exact at every record of the events ``ids`` (other entries may
        not be made yet: read those through ``stamp()`` or ``timestamps``)."""
        self._fill_for(ids)
        return self._stamps

    def offsets_for(self, ids: Container[int]) -> array.array[int]:
        """An offset column exact at every record of the events ``ids`` (like stamps_for())."""
        self._fill_for(ids)
        return self._offsets

    def offsets_between(self, lo: int, hi: int) -> array.array[int]:
        """``offsets[lo:hi]``, making only the pages in that range."""
        if self._pending:
            run = max(bisect.bisect_right(self.runs, lo, key=_FIRST) - 1, 0)
            while run < len(self.runs) and self.runs[run][0] < hi:
                if run in self._pending:
                    self._fill(run)
                run += 1
        return self._offsets[lo:hi]

    def index_at(self, ts: int) -> int:
        """``bisect_left(timestamps, ts)``, making only the pages the bisection visits."""
        if not self._pending:
            return bisect.bisect_left(self._stamps, ts)
        return bisect.bisect_left(_LazyStamps(self), ts)

    def segments(self) -> list[tuple[int, int, int]]:
        """(first index, end index, event id or -1) covering every record in order: stretches
        of adjacent runs of one event (id >= 0), and the records between them (-1: look at
        ``types``)."""
        if self._segments is None:
            out: list[tuple[int, int, int]] = []
            pos = 0
            for first, count, _stride, only in self.runs:
                if only < 0:
                    continue  # its records are looked at one by one, like the walked ones
                if first > pos:
                    out.append((pos, first, -1))
                if out and out[-1][2] == only and out[-1][1] == first:
                    out[-1] = (out[-1][0], first + count, only)
                else:
                    out.append((first, first + count, only))
                pos = first + count
            if pos < len(self.types):
                out.append((pos, len(self.types), -1))
            self._segments = out
        return self._segments

    def indices_of(self, ids: Container[int]) -> list[int]:
        """Indices of the records of the events ``ids``, ascending; a run of one event is taken
        or skipped whole, so only the other records are looked at."""
        out: list[int] = []
        types = self.types
        wanted = ids.__contains__
        for lo, hi, only in self.segments():
            if only >= 0:
                if only in ids:
                    out += range(lo, hi)
            else:
                out += itertools.compress(range(lo, hi), map(wanted, types[lo:hi]))
        return out

    def type_counts(self) -> dict[int, int]:
        """Event id -> number of records, in the order of ``set(types)``.

        The set is built by inserting the ids in the order they first appear, as ``set(types)``
        does, so it iterates in the same order: callers that sort by count break ties alike.
        """
        seen: set[int] = set()
        whole: dict[int, int] = {}
        rest: list[int] = []
        types = self.types
        for lo, hi, only in self.segments():
            if only >= 0:
                seen.add(only)
                whole[only] = whole.get(only, 0) + hi - lo
            else:
                part = types[lo:hi]
                seen.update(part)
                rest += part
        return {t: rest.count(t) + whole.get(t, 0) for t in seen}


_FIRST = operator.itemgetter(0)


class _LazyStamps:
    """CpuEvents' time stamps as a sequence for bisect, summing a page only when visited."""

    def __init__(self, events: CpuEvents) -> None:
        self._events = events

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index: int) -> int:
        return self._events.stamp(index)


def decode_pages(raw: bytes, header: HeaderPage, cpu: int = 0, page_size: int | None = None) -> CpuEvents:
    """Every record on every page of ``raw`` (pages of ``page_size`` bytes, concatenated).

    Damaged pages (a commit length larger than the page, an event running past the commit) are
    counted in ``damaged_pages`` and skipped, never raised: a recording cut short by a crash still
    decodes up to where it is whole.
    """
    size = page_size or header.page_size
    if size <= header.data_offset:
        raise BadInput(
            f"ring-buffer page size {size} is smaller than its header ({header.data_offset} bytes)",
            key="errors.tracing.page_below_header",
            fields={"size": size, "header": header.data_offset},
        )
    if header.timestamp_size != 8 or header.commit_size not in (4, 8):
        raise BadInput(
            f"header_page has a {header.timestamp_size}-byte timestamp and {header.commit_size}-byte commit;"
            " kernlab reads 8 and 4/8",
            key="errors.tracing.header_sizes",
            fields={"timestamp": header.timestamp_size, "commit": header.commit_size},
        )
    out = CpuEvents(cpu, raw)
    # The walked records, in order; their place among the runs' records is in ``walked``.
    ts_list: list[int] = []
    off_list: list[int] = []
    len_list: list[int] = []
    type_list: list[int] = []
    walked: list[tuple[int, int, int]] = []  # (first record index, first walked index, count)
    run_types: dict[int, array.array[int]] = {}  # the ids of each run of several events
    records = 0
    runs, run_heads, pending, pending_events = out.runs, out.run_heads, out._pending, out._pending_events
    uniform = _LITTLE
    ts_append = ts_list.append
    off_append = off_list.append
    len_append = len_list.append
    type_append = type_list.append
    u32 = _U32.unpack_from
    u16 = struct.Struct("<H").unpack_from
    u64 = struct.Struct("<Q").unpack_from
    commit_fmt = struct.Struct("<Q" if header.commit_size == 8 else "<I").unpack_from
    data_off = header.data_offset
    usable = size - data_off
    n_pages = len(raw) // size
    out.torn_bytes = len(raw) - n_pages * size
    last_page_ts = 0
    for page in range(n_pages):
        base = page * size
        ts = u64(raw, base + header.timestamp_offset)[0]
        commit = commit_fmt(raw, base + header.commit_offset)[0]
        length = commit & COMMIT_LENGTH_MASK
        if length > usable or (length and ts < last_page_ts) or not (length or ts):
            # One CPU's pages come out in time order: a page from before the one already read,
            # or whose events would not fit in it, is not a page of this stream; nor is a page
            # of zeros (the kernel hands out no empty page, and every page has a time stamp).
            out.damaged_pages += 1
            out.damaged_offsets.append(base)
            continue
        if length:
            last_page_ts = ts
        if commit & RB_MISSED_EVENTS:
            out.missed_pages += 1
            if commit & RB_MISSED_STORED and data_off + length + 8 <= size:
                out.missed_events += u64(raw, base + data_off + length)[0]
        pos = base + data_off
        end = pos + length
        if uniform and length:
            run = _uniform_page(raw, pos, end)
            if run is not None:
                count, stride, only, types = run
                if types is not None:
                    run_types[len(runs)] = types
                pending[len(runs)] = ts
                pending_events[only] += 1
                runs.append((records, count, stride, only))
                run_heads.append(pos)
                records += count
                continue
        walked_from = len(ts_list)
        damaged = False
        while pos + 4 <= end:
            word = u32(raw, pos)[0]
            type_len = word & 0x1F
            if 0 < type_len <= 28:  # the common case first: a small data record
                rec = pos + 4
                pos = rec + (type_len << 2)
                if pos > end:
                    damaged = True
                    break
                ts += word >> 5
                ts_append(ts)
                off_append(rec)
                len_append(type_len << 2)
                type_append(raw[rec] | raw[rec + 1] << 8)
                continue
            delta = word >> 5
            if type_len == 0:
                if pos + 8 > end:
                    damaged = True
                    break
                rec_len = u32(raw, pos + 4)[0] - 4
                rec_len = (rec_len + 3) & ~3
                rec = pos + 8
                if rec_len <= 0 or rec + rec_len > end:
                    damaged = True
                    break
                ts += delta
                ts_append(ts)
                off_append(rec)
                len_append(rec_len)
                type_append(u16(raw, rec)[0])
                pos = rec + rec_len
            elif type_len == TYPE_TIME_EXTEND:
                if pos + 8 > end:
                    damaged = True
                    break
                ts += (u32(raw, pos + 4)[0] << TS_SHIFT) + delta
                pos += 8
            elif type_len == TYPE_PADDING:
                if delta == 0:
                    break  # null event: nothing more on this page
                if pos + 8 > end:
                    break
                pos += 4 + u32(raw, pos + 4)[0]
            else:  # TYPE_TIME_STAMP
                if pos + 8 > end:
                    damaged = True
                    break
                absolute = (u32(raw, pos + 4)[0] << TS_SHIFT) + delta
                if ts & TS_MSB_MASK:
                    absolute |= ts & TS_MSB_MASK
                    if absolute < ts:
                        absolute += 1 << 59
                ts = absolute
                pos += 8
        if damaged:
            # The records decoded before the damage are whole and stay.
            out.damaged_pages += 1
            out.damaged_offsets.append(base)
        count = len(ts_list) - walked_from
        if count:
            if walked and walked[-1][0] + walked[-1][2] == records:
                walked[-1] = (walked[-1][0], walked[-1][1], walked[-1][2] + count)
            else:
                walked.append((records, walked_from, count))
            records += count
    out.pages = n_pages
    _assemble(out, records, walked, (ts_list, off_list, len_list, type_list), run_types)
    return out


def _u64_column(values: list[int]) -> array.array[int] | list[int]:
    try:
        return array.array(U64_CODE, values)
    except OverflowError:  # garbage pages can sum to more than 64 bits
        return values


def _assemble(
    out: CpuEvents,
    records: int,
    walked: list[tuple[int, int, int]],
    columns: tuple[list[int], list[int], list[int], list[int]],
    run_types: dict[int, array.array[int]],
) -> None:
    """Lay the walked records and the runs out in record order, in columns made at their full
    size at once (a column grown by appending is copied again and again as it grows)."""
    w_stamps = _u64_column(columns[0])
    w_offsets = array.array(U64_CODE, columns[1])
    w_lengths = array.array(LENGTH_CODE, columns[2])
    w_types = array.array(TYPE_CODE, columns[3])
    if not out.runs:
        out._stamps, out._offsets, out.lengths, out.types = w_stamps, w_offsets, w_lengths, w_types
        return
    stamps = _placed_stamps(w_stamps, records, walked)
    offsets = array.array(U64_CODE, [0]) * records
    lengths = array.array(LENGTH_CODE, [0]) * records
    types = array.array(TYPE_CODE, [0]) * records
    for first, at, count in walked:
        offsets[first : first + count] = w_offsets[at : at + count]
        lengths[first : first + count] = w_lengths[at : at + count]
        types[first : first + count] = w_types[at : at + count]
    # Adjacent runs of one event and length fill their lengths and types with one slice each.
    block = (0, 0, 0, -1)  # first, end, stride, event id
    for run, (first, count, stride, only) in enumerate(out.runs):
        if only < 0:
            types[first : first + count] = run_types[run]
            lengths[first : first + count] = array.array(LENGTH_CODE, [stride - 4]) * count
            continue
        if first == block[1] and (stride, only) == block[2:]:
            block = (block[0], first + count, stride, only)
            continue
        _fill_block(lengths, types, block)
        block = (first, first + count, stride, only)
    _fill_block(lengths, types, block)
    out._stamps, out._offsets, out.lengths, out.types = stamps, offsets, lengths, types


def _placed_stamps(
    walked_stamps: array.array[int] | list[int], records: int, walked: list[tuple[int, int, int]]
) -> array.array[int] | list[int]:
    """The walked stamps in record order, in a column of the same kind (a list only when a
    stamp did not fit in 64 bits)."""
    if isinstance(walked_stamps, array.array):
        stamps = array.array(U64_CODE, [0]) * records
        for first, at, count in walked:
            stamps[first : first + count] = walked_stamps[at : at + count]
        return stamps
    placed = [0] * records
    for first, at, count in walked:
        placed[first : first + count] = walked_stamps[at : at + count]
    return placed


def _fill_block(lengths: array.array[int], types: array.array[int], block: tuple[int, int, int, int]) -> None:
    first, end, stride, only = block
    if end > first:
        lengths[first:end] = array.array(LENGTH_CODE, [stride - 4]) * (end - first)
        types[first:end] = array.array(TYPE_CODE, [only]) * (end - first)


def _uniform_page(raw: bytes, start: int, end: int) -> tuple[int, int, int, array.array[int] | None] | None:
    """(count, stride, event id or -1, the ids when several) of a page whose events are all
    small data records of one length, found in C-level steps; None when it is not like that
    (the caller walks it).

    A busy event (a page fault per page touched) fills whole pages with records of one size:
    then every header sits at a fixed stride, and its type_len and the record's common_type can
    be read with strided slices instead of a Python step per event.
    """
    type_len = raw[start] & 0x1F
    if not 0 < type_len <= 28:
        return None
    stride = 4 + (type_len << 2)
    length = end - start
    if length % stride:
        return None
    count = length // stride
    # Every header's low byte must carry the same type_len (no time extend, padding or long
    # record in between).
    if raw[start:end:stride].translate(_TYPE_LEN_OF_BYTE).count(type_len) != count:
        return None
    # One event fills the page when the low and the high bytes of every common_type are those
    # of the first.
    low = raw[start + 4 : end : stride]
    if low.count(low[0]) == count:
        high = raw[start + 5 : end : stride]
        if high.count(high[0]) == count:
            return count, stride, low[0] | high[0] << 8, None
    type_bytes = memoryview(raw)[start + 4 : end].cast("H")[:: stride >> 1].tobytes()
    return count, stride, -1, array.array(TYPE_CODE, type_bytes)
