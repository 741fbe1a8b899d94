"""The fast paths of the decoder and of Recording.column_arrays() against straightforward
reference computations, on synthetic pages that mix uniform pages (one event, two events of one
length), walked pages, time extends and damaged pages.

The fast paths make the time stamps and offsets of uniform pages only when asked for, select
records run by run and read fields block by block: every answer must be the one the
record-by-record walk gives.
"""

from __future__ import annotations

import bisect
import itertools
import random
import struct
from collections import Counter
from pathlib import Path

import pytest

from kernlab.recording import reader
from kernlab.recording.reader import Recording
from kernlab.tracing import ringbuf
from kernlab.tracing.formats import EventFormat, parse_format, parse_header_page
from kernlab.tracing.ringbuf import CpuEvents, decode_pages
from tests.recording.rec_util import sample_meta

HEADER = parse_header_page(
    "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
    "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
    "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n"
)
COMMON = (
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
)
USER, KERNEL, SYS = 101, 102, 103


def _fault_format(name: str, event_id: int) -> EventFormat:
    # The layout of exceptions:page_fault_user: 32-byte records, 36 bytes with their header.
    return parse_format(
        f"name: {name}\nID: {event_id}\nformat:\n{COMMON}"
        "\tfield:unsigned long address;\toffset:8;\tsize:8;\tsigned:0;\n"
        "\tfield:unsigned long ip;\toffset:16;\tsize:8;\tsigned:0;\n"
        "\tfield:unsigned long error_code;\toffset:24;\tsize:8;\tsigned:0;\n"
        '\nprint fmt: "x"\n',
        "exceptions",
    )


FORMATS = {
    USER: _fault_format("page_fault_user", USER),
    KERNEL: _fault_format("page_fault_kernel", KERNEL),
    SYS: parse_format(
        f"name: sys_enter\nID: {SYS}\nformat:\n{COMMON}"
        "\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n"
        '\nprint fmt: "x"\n',
        "raw_syscalls",
    ),
}
FIELDS = ["common_pid", "address", "ip", "error_code"]


def _event(delta: int, record: bytes) -> bytes:
    return struct.pack("<I", (delta << 5) | (len(record) // 4)) + record


def _fault(event_id: int, pid: int, address: int, ip: int, code: int) -> bytes:
    return struct.pack("<HBBiQQQ", event_id, 0, 0, pid, address, ip, code)


def _sys(pid: int, nr: int) -> bytes:
    return struct.pack("<HBBiq", SYS, 0, 0, pid, nr)


def _page(events: list[bytes], ts: int, commit: int | None = None) -> bytes:
    data = b"".join(events)
    page = struct.pack("<QQ", ts, len(data) if commit is None else commit) + data
    return page + b"\0" * (4096 - len(page))


def _pages(rng: random.Random, first_ts: int) -> bytes:
    """Uniform pages of one event (several pids and codes inside one page), a uniform page of two
    events of one length, walked pages with a time extend and another length, damaged pages."""
    pages = []
    # Pages a second apart: time stamps only grow, as in a real buffer (``since`` is a bisection).
    ts = first_ts
    address = 0x7F0000000000
    for kind in ["uniform", "uniform", "mixed", "walked", "uniform", "damaged", "cut", "sys", "uniform"]:
        events = []
        if kind in ("uniform", "mixed", "cut"):
            for k in range(113):  # 113 * 36 bytes fill a page
                event_id = KERNEL if kind == "mixed" and k % 7 == 3 else USER
                pid = 10 if k < 40 else 11 if k < 90 else 12
                code = 4 if k % 31 == 5 else 6
                ip = 0x401000 if k % 17 else 0x402000 + k
                events.append(_event(rng.randrange(1, 3000), _fault(event_id, pid, address, ip, code)))
                address += 4096
            if kind == "cut":
                # the last event runs past the commit: the page is damaged after its first records
                pages.append(_page(events, ts, commit=len(b"".join(events)) - 20))
                ts += 10**9
                continue
        elif kind == "walked":
            for k in range(60):
                if k == 30:
                    events.append(struct.pack("<II", (3 << 5) | 30, 1))  # time extend
                record = _sys(13, k) if k % 3 else _fault(USER, 13, address, 0x401000, 6)
                address += 4096
                events.append(_event(rng.randrange(1, 3000), record))
        elif kind == "sys":
            events = [_event(rng.randrange(1, 3000), _sys(14, k)) for k in range(100)]
        elif kind == "damaged":
            pages.append(_page([_event(1, _sys(15, 1))], ts, commit=5000))
            ts += 10**9
            continue
        pages.append(_page(events, ts))
        ts += 10**9
    return b"".join(pages)


def _both(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[CpuEvents, CpuEvents]:
    """The fast decode, and the record-by-record walk of the same pages."""
    fast = decode_pages(raw, HEADER)
    with monkeypatch.context() as m:
        m.setattr(ringbuf, "_LITTLE", False)
        walk = decode_pages(raw, HEADER)
    assert fast.runs and not walk.runs
    return fast, walk


@pytest.fixture
def raw() -> bytes:
    return _pages(random.Random(7), 10**9)


def test_columns_are_those_of_the_walk(raw: bytes, monkeypatch: pytest.MonkeyPatch):
    fast, walk = _both(raw, monkeypatch)
    assert len(fast) == len(walk) > 500
    assert {only for _f, _c, _s, only in fast.runs} == {USER, -1, SYS}
    assert (fast.pages, fast.damaged_pages) == (walk.pages, walk.damaged_pages) == (9, 2)
    assert list(fast.types) == list(walk.types)
    assert list(fast.lengths) == list(walk.lengths)
    assert list(fast.timestamps) == list(walk.timestamps)
    assert list(fast.offsets) == list(walk.offsets)


def test_pages_are_made_only_where_asked_and_exactly(raw: bytes, monkeypatch: pytest.MonkeyPatch):
    _fast, walk = _both(raw, monkeypatch)
    stamps, offsets, types = list(walk.timestamps), list(walk.offsets), list(walk.types)
    rng = random.Random(3)

    ev = decode_pages(raw, HEADER)
    assert ev.stamp(5) == stamps[5]
    assert len(ev._pending) == len(ev.runs) - 1  # only the page visited was summed
    for i in rng.sample(range(len(ev)), 200):
        assert ev.stamp(i) == stamps[i]

    for ids in ({USER}, {KERNEL}, {SYS}, {USER, SYS}, {999}):
        ev = decode_pages(raw, HEADER)
        chosen = ev.indices_of(ids)
        assert chosen == [i for i, t in enumerate(types) if t in ids]
        got_stamps, got_offsets = ev.stamps_for(ids), ev.offsets_for(ids)
        assert [got_stamps[i] for i in chosen] == [stamps[i] for i in chosen]
        assert [got_offsets[i] for i in chosen] == [offsets[i] for i in chosen]

    ev = decode_pages(raw, HEADER)
    for lo, hi in [(0, 10), (100, 400), (250, 251), (len(ev) - 5, len(ev)), (0, len(ev))]:
        assert list(ev.offsets_between(lo, hi)) == offsets[lo:hi]

    # time stamps before, on, between and after the records, several inside uniform pages
    probes = [0, stamps[0], stamps[-1], stamps[-1] + 1]
    probes += [stamps[i] + d for i in rng.sample(range(len(stamps)), 60) for d in (-1, 0, 1)]
    for ts in probes:
        ev = decode_pages(raw, HEADER)
        assert ev.index_at(ts) == bisect.bisect_left(stamps, ts)


def test_type_counts_keep_the_order_of_set(raw: bytes, monkeypatch: pytest.MonkeyPatch):
    fast, walk = _both(raw, monkeypatch)
    types = list(walk.types)
    expected = {t: types.count(t) for t in set(types)}
    # the same items in the same order: event_counts() breaks ties by it
    assert list(fast.type_counts().items()) == list(expected.items())


def test_time_stamps_past_64_bits_stay_exact(monkeypatch: pytest.MonkeyPatch):
    """Garbage page headers can sum to more than a u64: the column turns into a list, exact."""
    top = (1 << 64) - 50
    events = [_event(9, _fault(USER, 1, 4096 * k, 1, 6)) for k in range(113)]
    raw = _page(events, top) + _page([*events[:20], _event(1, _sys(1, 1))], top)
    fast, walk = _both(raw, monkeypatch)
    assert list(fast.timestamps) == list(walk.timestamps)
    assert max(fast.timestamps) > 1 << 64


def _recording(cpus: list[CpuEvents]) -> Recording:
    # A recording of nothing but these CPUs' records: no snapshots, losses or usage of its own.
    meta = sample_meta(machine="x86_64", cpus=len(cpus), clock="local", loss=[], rusage=None, maps=[])
    return Recording(Path("/nonexistent"), meta, HEADER, FORMATS, _cpu_cache=cpus)


def _reference_rows(walks: list[CpuEvents], event_id: int, since: int) -> Counter[tuple[int, ...]]:
    """The fields of every record of the event from ``since`` on, one struct unpack each."""
    unpack = struct.Struct("<4xiQQQ").unpack_from
    rows: Counter[tuple[int, ...]] = Counter()
    for cpu in walks:
        for ts, off, length, t in zip(cpu.timestamps, cpu.offsets, cpu.lengths, cpu.types, strict=True):
            if t == event_id and ts >= since and length >= 32:
                rows[unpack(cpu.raw, off)] += 1
    return rows


def test_column_arrays_are_parallel_rows_from_since_on(monkeypatch: pytest.MonkeyPatch):
    """Several pids inside one uniform page: a column of 4-byte pids must stay parallel to the
    8-byte columns (the strided read takes every field in the same order); ``since`` falls
    inside a uniform page."""
    raws = [_pages(random.Random(11), 10**9), _pages(random.Random(12), 10**9 + 5 * 10**5)]
    with monkeypatch.context() as m:
        m.setattr(ringbuf, "_LITTLE", False)
        walks = [decode_pages(r, HEADER, cpu) for cpu, r in enumerate(raws)]
    stamps = sorted(itertools.chain.from_iterable(w.timestamps for w in walks))
    for since in [0, stamps[50], stamps[len(stamps) // 2] + 1, stamps[-1], stamps[-1] + 1]:
        for event_id in (USER, KERNEL):
            rec = _recording([decode_pages(r, HEADER, cpu) for cpu, r in enumerate(raws)])
            name = FORMATS[event_id].full_name
            columns = rec.column_arrays(name, FIELDS, since)
            got = Counter(zip(*columns.values(), strict=True))
            assert got == _reference_rows(walks, event_id, since), (since, event_id)
            assert rec.columns(name, FIELDS, since) == {k: list(v) for k, v in columns.items()}


def test_column_arrays_read_in_blocks_keep_their_order(monkeypatch: pytest.MonkeyPatch):
    """Reading a few pages at a time gives the columns in the very order one block gives: the
    analyses break ties by first appearance."""
    raws = [_pages(random.Random(21), 10**9)]
    whole = _recording([decode_pages(r, HEADER) for r in raws]).column_arrays(FORMATS[USER].full_name, FIELDS)
    for block in (36, 4096, 3 * 4096):
        monkeypatch.setattr(reader, "_BLOCK_BYTES", block)
        rec = _recording([decode_pages(r, HEADER) for r in raws])
        assert rec.column_arrays(FORMATS[USER].full_name, FIELDS) == whole, block
