"""The one argument every recording report takes: a recording directory, or one already open."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeAlias

from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.reader import Recording, open_recording

__all__ = ["RecordingSource", "as_recording"]

RecordingSource: TypeAlias = Recording | str | os.PathLike[str]


def as_recording(source: RecordingSource = DEFAULT_DIR) -> Recording:
    """``source`` itself when it is open, else the recording in that directory (decoded lazily)."""
    return source if isinstance(source, Recording) else open_recording(Path(os.fspath(source)))
