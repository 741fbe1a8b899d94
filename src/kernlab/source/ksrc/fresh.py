"""Which files an index covers, and which of them changed since it was written.

The index keeps the tree's *layout*: every folder walked (hidden ones skipped) with its identity
(ctime and inode) and, for each ``.c``/``.h``/``.S`` file in it, the file's number in the index
and its identity (size, mtime, inode, ctime). :func:`scan` walks the tree again without reading
any file:

* a folder whose identity is the stored one had no entry added, removed or renamed (creating,
  deleting or renaming an entry updates the folder's ctime), so its stored listing is reused;
  any other folder is listed again (``make`` writing ``.o`` files costs a listing, not a parse);
* every file is ``stat``-ed (relative to its open folder, so the kernel resolves one path
  component) and its identity compared with the stored one: an in-place edit changes the ctime
  (which, unlike the mtime, cannot be set back by ``touch -d`` or ``tar``);
* a file or folder no longer found is gone; a rename is a removal plus an addition.

A file whose identity differs is only a *candidate*: :mod:`.index` reads it and compares its git
blob id (stored at the build) before parsing it again, so ``touch``, or a ``git checkout`` that
puts the same content back, costs a read and no parse.

Timestamps are coarse (one clock tick, a few ms), so a change within the tick of the ``stat``
could leave the identity as it was. As git does with "racily clean" entries, an identity whose
ctime falls within :data:`RACY_NS` of the scan is stored with ctime ``-1``: the next scan treats
that file (or re-lists that folder) as a candidate, which its blob id settles.
"""

from __future__ import annotations

import os
import stat as statmod
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from kernlab.errors import PermissionNeeded

SOURCE_SUFFIXES = (".c", ".h", ".S")
ASSEMBLY_SUFFIX = ".S"
"""Assembly run through the C preprocessor (arch/x86/entry/entry_64.S); ``.s`` files are
generated, not sources."""
RACY_NS = 50_000_000
"""How close (ns) to a scan a ctime must be to count as "may change again within its tick":
several ticks even at HZ=100, and timestamps of a file system on another clock."""
UNSURE = -1
"""The ctime stored for an identity taken too close to its change (see above)."""

Identity = tuple[int, int, int, int]
"""(size, mtime_ns, inode, ctime_ns) of a file; ctime_ns is UNSURE for a racy one."""


class Folder(NamedTuple):
    """One folder of the tree as the index saw it."""

    path: str
    """Relative to the tree ("" for the tree itself)."""
    ctime: int
    """The folder's ctime when it was listed (UNSURE: list it again next time)."""
    inode: int
    sources: tuple[str, ...]
    """Names of its .c/.h/.S files (regular files, not symbolic links), sorted."""
    numbers: tuple[int, ...]
    """Each source's number in the index (-1 in a scan for a file the index does not have)."""
    identities: tuple[Identity, ...]
    """Each source's identity when it was last read (or stat-ed, for an unchanged one)."""
    subfolders: tuple[str, ...]
    """Names of its sub-folders that are walked (not hidden, not symbolic links), sorted."""


@dataclass
class Scan:
    """What a walk of the tree found, against the stored layout."""

    layout: list[Folder]
    """The tree now, parents before children (the order files are numbered in by a build)."""
    candidates: list[tuple[int, str, Identity]] = field(default_factory=list)
    """(number, path, identity now) of known files whose identity differs from the stored one."""
    added: list[tuple[str, Identity]] = field(default_factory=list)
    """(path, identity) of files the index does not have, in walk order."""
    removed: list[int] = field(default_factory=list)
    """Numbers of indexed files no longer in the tree (renamed ones included)."""
    relisted: int = 0
    """Folders listed again because their identity changed."""
    layout_changed: bool = False
    """Whether any stored identity (of a folder or a file) differs from the tree's."""

    @property
    def files_changed(self) -> bool:
        return bool(self.candidates or self.added or self.removed)


def walk_key(path: str) -> tuple[tuple[int, str], ...]:
    """Sorting by this puts paths in the walk's order: a folder's files, then its sub-folders."""
    parts = path.split("/")
    return (*((1, p) for p in parts[:-1]), (0, parts[-1]))


def _listing(entries: Iterable[os.DirEntry[str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    sources, subfolders = [], []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if not entry.name.startswith("."):
                subfolders.append(entry.name)
        elif entry.name.endswith(SOURCE_SUFFIXES) and entry.is_file(follow_symlinks=False):
            sources.append(entry.name)
    return tuple(sorted(sources)), tuple(sorted(subfolders))


def scan(tree: Path, known: Mapping[str, Folder] | None = None) -> Scan:
    """Walk ``tree`` (no file is read) and compare it with ``known`` (None: an empty index)."""
    known = known or {}
    racy_after = time.time_ns() - RACY_NS
    found = Scan([])
    seen: set[int] = set()
    stat, fstat = os.stat, os.fstat
    stack = [""]
    while stack:
        relative = stack.pop()
        where = os.path.join(tree, relative) if relative else str(tree)
        old = known.get(relative)
        fd = -1
        try:
            if old is not None and not old.sources:
                # One stat, no open: a third of a kernel's folders hold no source.
                st = stat(where, follow_symlinks=False)
                if not statmod.S_ISDIR(st.st_mode):
                    raise NotADirectoryError(where)
            else:
                fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
                st = fstat(fd)
        except PermissionError as exc:
            raise PermissionNeeded(
                f"cannot read {where}: permission denied",
                key="errors.source.folder_denied",
                fields={"path": str(where)},
            ) from exc
        except OSError:
            if not relative:
                raise
            found.layout_changed = True
            continue  # gone, or replaced by a file or a link: its files are removed below
        try:
            unchanged = old is not None and old.ctime == st.st_ctime_ns and old.inode == st.st_ino
            if unchanged and old is not None:
                sources, subfolders = old.sources, old.subfolders
            else:
                if fd < 0:
                    fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
                with os.scandir(fd) as entries:
                    sources, subfolders = _listing(entries)
                found.relisted += 1
                found.layout_changed = True
            folder_ctime = st.st_ctime_ns if st.st_ctime_ns < racy_after else UNSURE
            stored = (
                dict(zip(old.sources, zip(old.numbers, old.identities, strict=True), strict=True))
                if old
                else {}
            )
            names: list[str] = []
            numbers: list[int] = []
            identities: list[Identity] = []
            for name in sources:
                try:
                    s = stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    folder_ctime = UNSURE  # listed a moment ago: the folder changed under the walk
                    found.layout_changed = True
                    continue
                if not statmod.S_ISREG(s.st_mode):
                    continue
                ctime = s.st_ctime_ns if s.st_ctime_ns < racy_after else UNSURE
                identity = (s.st_size, s.st_mtime_ns, s.st_ino, ctime)
                path = os.path.join(relative, name) if relative else name
                before = stored.get(name)
                if before is None:
                    found.added.append((path, identity))
                    numbers.append(-1)
                else:
                    number, was = before
                    seen.add(number)
                    numbers.append(number)
                    if was != identity or was[3] == UNSURE:
                        found.candidates.append((number, path, identity))
                        found.layout_changed = True
                names.append(name)
                identities.append(identity)
            if folder_ctime != (old.ctime if old else None):
                found.layout_changed = True
        finally:
            if fd >= 0:
                os.close(fd)
        found.layout.append(
            Folder(
                relative, folder_ctime, st.st_ino, tuple(names), tuple(numbers), tuple(identities), subfolders
            )
        )
        stack.extend(os.path.join(relative, name) if relative else name for name in reversed(subfolders))
    found.removed = sorted(
        number for folder in known.values() for number in folder.numbers if number not in seen
    )
    if found.removed:
        found.layout_changed = True
    return found


def source_paths(layout: list[Folder]) -> list[str]:
    """The relative paths of every source file of ``layout``, in walk order."""
    return [os.path.join(f.path, name) if f.path else name for f in layout for name in f.sources]


class ChangeCheck:
    """:func:`scan` run in a thread, started when the index is opened.

    The stat calls release the interpreter lock, so on a second CPU the scan overlaps the
    lookup; :meth:`result` waits for it.
    """

    def __init__(self, tree: Path, layout_loader: Callable[[], Mapping[str, Folder]]) -> None:
        self._found: Scan | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._found = scan(tree, layout_loader())
            except BaseException as exc:  # re-raised by result(), in the caller's thread
                self._error = exc

        self._thread = threading.Thread(target=run, name="ksrc-freshness", daemon=True)
        self._thread.start()

    def result(self) -> Scan:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._found is not None
        return self._found
