"""Where a listing's seconds count from: the recording's first record."""

from __future__ import annotations

from kernlab.recording.reader import Recording

__all__ = ["first_record_ts"]


def first_record_ts(rec: Recording) -> int:
    """Trace time of the first record of any CPU; 0 for an empty recording."""
    firsts = [c.stamp(0) for c in rec.cpu_events() if len(c)]
    return min(firsts) if firsts else 0
