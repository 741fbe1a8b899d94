"""The recording directory: create it, or move a previous recording in it out of the way.

A previous recording at ``DIR`` is kept as ``DIR.old`` (uftrace's convention; an older
``DIR.old`` is removed first). Only a directory that is a kernlab recording is ever moved or
removed — anything else at ``DIR`` or ``DIR.old`` is refused — so kernlab never deletes a
user's files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import BadInput
from kernlab.recording import layout, path_strings
from kernlab.recording.spawn import GO_FIFO

__all__ = [
    "KNOWN_ENTRIES",
    "OLD_ENTRIES",
    "PreparedOutput",
    "is_recording",
    "old_path",
    "only_kernlab_files",
    "prepare_output",
]

OLD_ENTRIES = ".kernlab-old"
"""Where the recording being removed (the former ``DIR.old``) waits to be deleted, inside the
new recording directory: deleting tens of MB of pages takes 0.1–0.3 s, which the kernel-tables
copier spends while the command runs."""
KNOWN_ENTRIES = (
    layout.META,
    layout.STATE,
    layout.HEADER_PAGE,
    layout.HEADER_EVENT,
    layout.FORMATS_DIR,
    layout.CPUS_DIR,
    layout.MAPS_DIR,
    layout.KALLSYMS,
    layout.SAVED_CMDLINES,
    layout.SYSCALL_FORMATS,
    layout.PRINTK_FORMATS,
    path_strings.DATA_FILE,
    path_strings.STATUS_FILE,
    "parquet",  # kernlab sql's cache of the recording's tables (reports/parquet.py)
)


LEFTOVERS = frozenset({OLD_ENTRIES, GO_FIFO, layout.META + ".tmp"})
"""What a recording killed midway leaves besides its own files."""


@dataclass(frozen=True)
class PreparedOutput:
    """The recording directory made ready: what was moved aside, and what waits for deletion."""

    previous: Path | None
    """Where the recording that was at the directory went (``DIR.old``); None when none was."""
    to_delete: Path | None
    """The older ``DIR.old``, moved into the new directory for the table copier to delete."""


def old_path(directory: Path) -> Path:
    """``DIR.old`` next to ``DIR`` (a trailing slash in ``-d DIR/`` makes no difference)."""
    return directory.parent / (directory.name + ".old")


def _entries(directory: Path) -> set[str] | None:
    try:
        return set(os.listdir(directory))
    except OSError:
        return None


def only_kernlab_files(directory: Path) -> bool:
    """True when every entry of ``directory`` is one a recording consists of (or none is)."""
    entries = _entries(directory)
    return entries is not None and entries <= set(KNOWN_ENTRIES) | LEFTOVERS


def is_recording(directory: Path) -> bool:
    """True for a directory kernlab may move aside: a recording (meta.json), or only the files
    a recording consists of (what a killed one left). Unreadable: False."""
    entries = _entries(directory)
    return entries is not None and (layout.META in entries or only_kernlab_files(directory))


def prepare_output(directory: Path) -> PreparedOutput:
    """Create the recording directory; a recording already there becomes ``DIR.old``.

    A path that is not a directory, or a non-empty directory that is not a recording, is
    refused; so is a ``DIR.old`` that is not a recording (it would have to be removed).
    """
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise BadInput(
            f"{directory} exists and is not a directory",
            path=directory,
            key="errors.recording.not_a_directory",
            fields={"path": str(directory)},
        )
    previous: Path | None = None
    to_delete: Path | None = None
    if directory.is_dir():
        try:
            entries = os.listdir(directory)
        except OSError as exc:
            raise BadInput(
                f"cannot use {directory} as the recording directory: {exc.strerror}",
                path=directory,
                key="errors.recording.cannot_use_directory",
                fields={"path": str(directory), "reason": exc.strerror},
            ) from exc
        if entries and not is_recording(directory):
            raise BadInput(
                f"{directory} exists, is not empty and is not a kernlab recording; choose -d",
                path=directory,
                key="errors.recording.not_empty",
                fields={"path": str(directory)},
            )
        if layout.META in entries:
            previous, to_delete = _move_aside(directory)
        else:  # empty, or only the files of a run killed before it had a meta.json
            for name in entries:
                _remove(directory / name)
    try:
        (directory / layout.CPUS_DIR).mkdir(parents=True, exist_ok=True)
        (directory / layout.MAPS_DIR).mkdir(exist_ok=True)
    except OSError as exc:
        raise BadInput(
            f"cannot create recording directory {directory}: {exc.strerror}",
            path=directory,
            key="errors.recording.cannot_create_directory",
            fields={"path": str(directory), "reason": exc.strerror},
        ) from exc
    if to_delete is not None:
        # Inside the new directory, so a run killed before the copier deleted it leaves it
        # where the next run finds it (as a leftover) instead of a stray sibling.
        parked = directory / OLD_ENTRIES
        os.replace(to_delete, parked)
        to_delete = parked
    return PreparedOutput(previous, to_delete)


def _move_aside(directory: Path) -> tuple[Path, Path | None]:
    """Rename the recording at ``directory`` to ``DIR.old``; return it and the older one."""
    old = old_path(directory)
    to_delete: Path | None = None
    if old.is_symlink() or (old.exists() and not old.is_dir()):
        raise BadInput(
            f"{old} exists and is not a directory: cannot keep {directory} there",
            path=old,
            key="errors.recording.old_not_directory",
            fields={"old": str(old), "path": str(directory)},
        )
    if old.is_dir():
        # It is removed: it may hold only a recording's own files, nothing a user put there.
        if not only_kernlab_files(old):
            raise BadInput(
                f"{old} exists and holds files that are not a kernlab recording's, so it is not "
                f"removed to keep {directory} there: move it or choose another -d",
                path=old,
                key="errors.recording.old_not_recording",
                fields={"old": str(old), "path": str(directory)},
            )
        to_delete = directory.parent / f".{old.name}.kernlab-deleting-{os.getpid()}"
        os.replace(old, to_delete)
    try:
        os.replace(directory, old)
    except OSError as exc:
        raise BadInput(
            f"cannot move {directory} to {old}: {exc.strerror}",
            path=directory,
            key="errors.recording.cannot_move",
            fields={"path": str(directory), "old": str(old), "reason": exc.strerror},
        ) from exc
    for name in (OLD_ENTRIES, GO_FIFO):  # never carry a pending deletion or a FIFO along
        with contextlib.suppress(FileNotFoundError):
            _remove(old / name)
    return old, to_delete


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
