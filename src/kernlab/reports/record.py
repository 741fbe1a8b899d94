"""`kernlab record`: what a finished recording run wrote (the recorder does the recording)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kernlab.recording.layout import RecordingMeta
from kernlab.recording.recorder import RecordResult

__all__ = ["RecordReport", "build"]


@dataclass(frozen=True)
class RecordReport:
    """The recording directory, its metadata (per-CPU loss, rusage, exit code) and its size."""

    directory: Path
    meta: RecordingMeta
    raw_bytes: int
    elapsed_s: float
    target: str = "command"
    """``command``, ``process`` (-p), ``kernel_thread`` (-p of one) or ``system`` (-a)."""
    previous: Path | None = None
    """Where the recording that was at ``directory`` was kept (``DIR.old``); None when none was."""

    @property
    def events_read(self) -> int:
        """Records drained from every CPU's buffer."""
        return sum(c.read for c in self.meta.loss)


def build(result: RecordResult) -> RecordReport:
    """The figures of a finished run (``kernlab.recording.recorder.record``)."""
    return RecordReport(
        result.directory,
        result.meta,
        result.raw_bytes,
        result.elapsed_s,
        target=result.target,
        previous=result.previous,
    )
