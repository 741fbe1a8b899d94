"""When each thread was switched out, from ``sched:sched_switch``: all of it, or only ptrace stops.

A thread is off the CPU from a ``sched_switch`` with it as ``prev_pid`` to the next one with it as
``next_pid``. ``prev_state`` says why it left: the kernel reports it as one bit of the
``TASK_REPORT`` mask (``__trace_sched_switch_state``; the format's print fmt names them: S D T t
X Z P I), where ``t`` (0x8, ``__TASK_TRACED``) is a ptrace stop. kernlab's recorder stops its
tracees for a moment at fork, clone and exec to copy their maps: those intervals are kernlab's
time, not the program's, and every duration a report shows leaves them out.
"""

from __future__ import annotations

from bisect import bisect_right

from kernlab.recording.reader import Recording

__all__ = ["SWITCH", "TASK_TRACED", "OffCpu", "off_cpu_intervals"]

SWITCH = "sched:sched_switch"
TASK_TRACED = 0x08
"""``t`` in sched_switch's prev_state: the same bit in the report mask (4.14+) and the raw state."""


class OffCpu:
    """Per thread, the intervals it spent switched out."""

    def __init__(self, intervals: dict[int, list[tuple[int, int]]]) -> None:
        self._starts = {tid: [a for a, _ in spans] for tid, spans in intervals.items()}
        self._spans = intervals

    def __bool__(self) -> bool:
        return bool(self._spans)

    def within(self, tid: int, start: int, end: int) -> int:
        """Nanoseconds thread ``tid`` was switched out between ``start`` and ``end``."""
        spans = self._spans.get(tid)
        if not spans:
            return 0
        starts = self._starts[tid]
        i = max(bisect_right(starts, start) - 1, 0)
        total = 0
        while i < len(spans) and spans[i][0] < end:
            a, b = spans[i]
            total += max(0, min(b, end) - max(a, start))
            i += 1
        return total


def off_cpu_intervals(rec: Recording, traced_only: bool = False) -> OffCpu | None:
    """Every thread's switched-out intervals (``traced_only``: only its ptrace stops); None when
    sched_switch was not recorded."""
    fmt = rec.by_name.get(SWITCH)
    if fmt is None:
        return None
    if traced_only and not fmt.has_field("prev_state"):
        return None
    # In offset order (prev_pid, prev_state, next_pid), so one struct reads them.
    fields = ["prev_pid", "prev_state", "next_pid"] if traced_only else ["prev_pid", "next_pid"]
    unpacker = fmt.unpacker(fields)
    unpack, need = unpacker.unpack_from, unpacker.size
    switches: list[tuple[int, int, int, int]] = []
    for cpu in rec.cpu_events():
        raw, offsets, stamps, lengths = (
            cpu.raw,
            cpu.offsets_for({fmt.id}),
            cpu.stamps_for({fmt.id}),
            cpu.lengths,
        )
        for i in cpu.indices_of({fmt.id}):
            if lengths[i] < need:
                continue  # a damaged record, too short for its own fields
            values = unpack(raw, offsets[i])
            if traced_only:
                switches.append((stamps[i], values[0], values[2], values[1]))
            else:
                switches.append((stamps[i], values[0], values[1], 0))
    switches.sort()
    out_since: dict[int, int] = {}
    intervals: dict[int, list[tuple[int, int]]] = {}
    for ts, prev_pid, next_pid, state in switches:
        if prev_pid and (not traced_only or state & TASK_TRACED):
            out_since[prev_pid] = ts
        if next_pid:
            since = out_since.pop(next_pid, None)
            if since is not None:
                intervals.setdefault(next_pid, []).append((since, ts))
    for tid, since in out_since.items():  # switched out and never back in: out to the end
        intervals.setdefault(tid, []).append((since, 1 << 62))
    return OffCpu(intervals)
