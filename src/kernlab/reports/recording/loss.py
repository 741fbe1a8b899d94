"""How many events a recording lost, as every listing states it (never silently), and whether
the recording is complete and whole: cut short, or files that could not be read."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernlab.recording.reader import FileDamage, Recording
from kernlab.recording.state import Completeness

__all__ = ["Loss", "recording_loss"]


@dataclass(frozen=True)
class Loss:
    """Events lost by the recording, and how many the kernel wrote."""

    lost: int
    written: int
    completeness: Completeness | None = None
    """Complete, or cut short: why and the span read (None: not known, e.g. built by hand)."""
    damage: list[FileDamage] = field(default_factory=list)
    """The raw files that could not be read whole."""

    @property
    def percent(self) -> float:
        return 100.0 * self.lost / max(self.written, 1)


def recording_loss(rec: Recording) -> Loss:
    summary = rec.loss()
    lost = max(summary.total, summary.missed_in_pages)
    return Loss(
        lost,
        sum(c.entries for c in summary.per_cpu) + summary.total,
        summary.completeness,
        list(summary.damage),
    )
