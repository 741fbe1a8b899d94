"""Page faults kernlab's own probes caused, told apart from the program's.

``record --functions`` fetches a library call's string arguments in the uprobe itself
(``a0=+0(%di):ustring``, recording/functions.py). The kernel reads the string with page faults
disabled: a NULL pointer, or a string on a page not present yet, makes it fault on that address
(``exceptions:page_fault_kernel``), give up the fetch, and write the probe's event a few
microseconds later. Such a fault is kernlab's work, not the program's: no page is mapped, and
the kernel does not count it in the task's fault counters. It is known by its thread, its
address (at or just after the pointer the probe's event carries, ``a<k>p``) and its time (just
before that event).
"""

from __future__ import annotations

import re

from kernlab.recording.functions import read_function_table
from kernlab.recording.reader import Recording
from kernlab.tracing.ringbuf import CpuEvents

__all__ = ["FETCH_SPAN", "HANDLER_NS", "has_fetching_probes", "probe_fetch_faults"]

FETCH_SPAN = 4096
"""Bytes after a pointer a string fetch may read (the kernel's MAX_STRING_SIZE for probes)."""
HANDLER_NS = 1_000_000
"""Longest time from the fetch's fault to the event the handler writes (it is microseconds)."""
_POINTER = re.compile(r"a\d+p")
PAGE = 4096


def _fetching_events(rec: Recording) -> dict[int, list[str]]:
    """Event id -> pointer fields, of kernlab's probes that fetch strings."""
    return {
        event_id: names
        for event_id, fmt in rec.formats.items()
        if fmt.system.startswith("kernlab")
        and (names := [f.name for f in fmt.fields if _POINTER.fullmatch(f.name)])
    }


def has_fetching_probes(rec: Recording) -> bool:
    """Whether the recording has probes that fetch strings (only they fault on their own)."""
    return bool(_fetching_events(rec))


def probe_fetch_faults(rec: Recording, faults: list[tuple[int, int, int]]) -> set[tuple[int, int]]:
    """Which of ``faults`` — (ts, tid, address) of kernel-mode faults — a probe's string fetch
    caused: their (ts, tid)."""
    events = _fetching_events(rec) if faults else {}
    if not events:
        return set()
    table = read_function_table(rec.root)
    sources: list[CpuEvents] = list(rec.cpu_events())
    if table is not None and table.buffer:
        sources += rec.probe_events(table.buffer_page_size)
    fetches: dict[int, list[tuple[int, tuple[int, ...]]]] = {}  # tid -> (ts, pointers)
    ids = set(events)
    for cpu in sources:
        offsets, stamps = cpu.offsets_for(ids), cpu.stamps_for(ids)
        for i in cpu.indices_of(ids):
            fields = rec.formats[cpu.types[i]].decode(cpu.raw, offsets[i], cpu.lengths[i])
            tid = fields.get("common_pid")
            pointers = tuple(p for name in events[cpu.types[i]] if isinstance(p := fields.get(name), int))
            if isinstance(tid, int) and pointers:
                fetches.setdefault(tid, []).append((stamps[i], pointers))
    for hits in fetches.values():
        hits.sort()
    out: set[tuple[int, int]] = set()
    for ts, tid, address in faults:
        for event_ts, pointers in fetches.get(tid, ()):
            if event_ts < ts:
                continue
            if event_ts - ts > HANDLER_NS:
                break
            # The kernel reads strings a word at a time: the fault may be just below the pointer.
            if any(p & -PAGE <= address < p + FETCH_SPAN for p in pointers):
                out.add((ts, tid))
                break
    return out
