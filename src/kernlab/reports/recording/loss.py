"""How many events a recording lost, as every listing states it (never silently)."""

from __future__ import annotations

from dataclasses import dataclass

from kernlab.recording.reader import Recording

__all__ = ["Loss", "recording_loss"]


@dataclass(frozen=True)
class Loss:
    """Events lost by the recording, and how many the kernel wrote."""

    lost: int
    written: int

    @property
    def percent(self) -> float:
        return 100.0 * self.lost / max(self.written, 1)


def recording_loss(rec: Recording) -> Loss:
    summary = rec.loss()
    lost = max(summary.total, summary.missed_in_pages)
    return Loss(lost, sum(c.entries for c in summary.per_cpu) + summary.total)
