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

import itertools
import operator
import struct
import sys
from dataclasses import dataclass, field

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


@dataclass
class CpuEvents:
    """The records of one CPU's pages, columnar: record ``i`` is
    ``raw[offsets[i] : offsets[i] + lengths[i]]`` with time stamp ``timestamps[i]`` (trace clock, ns)
    and event id ``types[i]`` (the record's common_type)."""

    cpu: int
    raw: bytes
    timestamps: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    types: list[int] = field(default_factory=list)
    pages: int = 0
    missed_pages: int = 0
    """Pages whose header says events were lost just before them (RB_MISSED_EVENTS)."""
    missed_events: int = 0
    """Events lost, summed over the pages that store the count (RB_MISSED_STORED)."""
    damaged_pages: int = 0
    """Pages whose commit length or event chain does not fit in the page (left out)."""
    runs: list[tuple[int, int, int, int]] = field(default_factory=list)
    """(first record index, count, stride, event id or -1) of pages made only of same-length
    small records: record ``first + k`` starts at ``offsets[first] + k * stride``; the id is
    that of every record of the page, or -1 when they are of several events. Analyses read
    such a run with one slice instead of one per record."""

    def __len__(self) -> int:
        return len(self.timestamps)


def decode_pages(raw: bytes, header: HeaderPage, cpu: int = 0, page_size: int | None = None) -> CpuEvents:
    """Every record on every page of ``raw`` (pages of ``page_size`` bytes, concatenated).

    Damaged pages (a commit length larger than the page, an event running past the commit) are
    counted in ``damaged_pages`` and skipped, never raised: a recording cut short by a crash still
    decodes up to where it is whole.
    """
    size = page_size or header.page_size
    if size <= header.data_offset:
        raise BadInput(
            f"ring-buffer page size {size} is smaller than its header ({header.data_offset} bytes)"
        )
    if header.timestamp_size != 8 or header.commit_size not in (4, 8):
        raise BadInput(
            f"header_page has a {header.timestamp_size}-byte timestamp and {header.commit_size}-byte commit;"
            " kernlab reads 8 and 4/8"
        )
    out = CpuEvents(cpu, raw)
    ts_list = out.timestamps
    off_list = out.offsets
    len_list = out.lengths
    type_list = out.types
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
    for page in range(n_pages):
        base = page * size
        ts = u64(raw, base + header.timestamp_offset)[0]
        commit = commit_fmt(raw, base + header.commit_offset)[0]
        length = commit & COMMIT_LENGTH_MASK
        if commit & RB_MISSED_EVENTS:
            out.missed_pages += 1
            if commit & RB_MISSED_STORED and data_off + length + 8 <= size:
                out.missed_events += u64(raw, base + data_off + length)[0]
        if length > usable:
            out.damaged_pages += 1
            continue
        pos = base + data_off
        end = pos + length
        if _LITTLE and length and _uniform_page(raw, pos, end, ts, out):
            continue
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
    out.pages = n_pages
    return out


def _uniform_page(raw: bytes, start: int, end: int, ts: int, out: CpuEvents) -> bool:
    """Decode a page whose events are all small data records of one length, in C-level steps.

    A busy event (a page fault per page touched) fills whole pages with records of one size:
    then every header sits at a fixed stride, and its type_len, time delta and the record's
    common_type can be read with strided slices instead of a Python step per event. Returns
    False, having changed nothing, when the page is not like that (the caller walks it).
    """
    type_len = raw[start] & 0x1F
    if not 0 < type_len <= 28:
        return False
    stride = 4 + (type_len << 2)
    length = end - start
    if length % stride:
        return False
    count = length // stride
    # Every header's low byte must carry the same type_len (no time extend, padding or long
    # record in between).
    if raw[start:end:stride].translate(_TYPE_LEN_OF_BYTE) != bytes((type_len,)) * count:
        return False
    words = memoryview(raw)[start:end].cast("I")
    step = stride >> 2
    deltas = map(operator.rshift, words[::step].tolist(), itertools.repeat(5))
    first = len(out.timestamps)
    stamps = itertools.accumulate(deltas, initial=ts)
    next(stamps)  # the initial value is the page's own time stamp, not a record's
    out.timestamps.extend(stamps)
    out.offsets.extend(range(start + 4, end, stride))
    out.lengths.extend(itertools.repeat(type_len << 2, count))
    types = memoryview(raw)[start + 4 : end].cast("H")[:: stride >> 1].tolist()
    out.types.extend(types)
    out.runs.append((first, count, stride, types[0] if types.count(types[0]) == count else -1))
    words.release()
    return True
