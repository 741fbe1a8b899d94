"""The recording directory: create it, or move a previous recording in it out of the way.

Only the files a recording consists of are ever touched, so kernlab never deletes a user's files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from kernlab.errors import BadInput
from kernlab.recording import layout
from kernlab.recording.spawn import GO_FIFO

__all__ = ["KNOWN_ENTRIES", "OLD_ENTRIES", "prepare_output"]

OLD_ENTRIES = ".kernlab-old"
"""Where a previous recording's files wait to be deleted (inside the recording directory)."""
KNOWN_ENTRIES = (
    layout.META,
    layout.HEADER_PAGE,
    layout.HEADER_EVENT,
    layout.FORMATS_DIR,
    layout.CPUS_DIR,
    layout.MAPS_DIR,
    layout.KALLSYMS,
    layout.SAVED_CMDLINES,
    layout.SYSCALL_FORMATS,
    layout.PRINTK_FORMATS,
)


def prepare_output(directory: Path) -> Path | None:
    """Create the recording directory, or move a previous recording in it out of the way.

    A non-empty directory that is not a recording is refused. The previous recording's
    files are renamed into ``directory/.kernlab-old`` (returned), which the kernel-tables
    copier deletes while the command runs: deleting tens of MB of pages takes 0.1–0.3 s.
    """
    if directory.exists() and not directory.is_dir():
        raise BadInput(f"{directory} exists and is not a directory", path=directory)
    old: Path | None = None
    if directory.is_dir():
        try:
            entries = os.listdir(directory)
        except OSError as exc:
            raise BadInput(
                f"cannot use {directory} as the recording directory: {exc.strerror}", path=directory
            ) from exc
        leftovers = {OLD_ENTRIES, GO_FIFO, layout.CPUS_DIR, layout.MAPS_DIR}  # of a killed run
        if entries and layout.META not in entries and not set(entries) <= leftovers:
            raise BadInput(
                f"{directory} exists, is not empty and is not a kernlab recording; choose -d", path=directory
            )
        if GO_FIFO in entries:
            with contextlib.suppress(OSError):
                os.unlink(directory / GO_FIFO)
        if OLD_ENTRIES in entries:  # left by a run that was killed before deleting it
            shutil.rmtree(directory / OLD_ENTRIES, ignore_errors=True)
        for name in entries:
            if name in KNOWN_ENTRIES or name == layout.META + ".tmp":
                old = directory / OLD_ENTRIES
                old.mkdir(exist_ok=True)
                os.replace(directory / name, old / name)
    try:
        (directory / layout.CPUS_DIR).mkdir(parents=True, exist_ok=True)
        (directory / layout.MAPS_DIR).mkdir(exist_ok=True)
    except OSError as exc:
        raise BadInput(
            f"cannot create recording directory {directory}: {exc.strerror}", path=directory
        ) from exc
    return old
