"""Which files an index covers, and whether the tree still matches it.

The walk that lists a tree's sources also records its *layout*: every folder visited (hidden
ones skipped), the ``.c``/``.h``/``.S`` names in it and its sub-folders. The freshness check compares
the tree with that layout and the index's ``stamp`` (touched before the walk):

* a folder whose ctime is newer than the stamp had an entry added, removed or renamed; its
  listing is read again and compared with the layout (so object files written by ``make`` do
  not count, a new ``.c``, ``.h``, ``.S`` or sub-folder does);
* a file whose ctime is newer was written in place (ctime, unlike mtime, cannot be set back);
* a file or folder that cannot be opened any more was deleted.

Every indexed file is looked at, not only those an answer comes from: an edit anywhere can add
a definition (``def``), a table binding (``ops``), a ``SYSCALL_DEFINE`` (``syscall``) or a use
(``refs``) of the very name asked about, so no query kind can trust a file it did not check.
The check costs one ``stat`` per file (relative to an open folder, so the kernel resolves one
path component) and one per folder, and stops at the first change.
A change within the same clock tick as the stamp (a few ms) can go unseen; the index is built
long after a tree is unpacked, so in practice that window is the build itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from kernlab.errors import PermissionNeeded

SOURCE_SUFFIXES = (".c", ".h", ".S")
ASSEMBLY_SUFFIX = ".S"
"""Assembly run through the C preprocessor (arch/x86/entry/entry_64.S); ``.s`` files are
generated, not sources."""


class Folder(NamedTuple):
    """One folder of the tree as the index saw it."""

    path: str
    """Relative to the tree ("" for the tree itself)."""
    sources: tuple[str, ...]
    """Names of its .c/.h/.S files (regular files, not symbolic links)."""
    subfolders: tuple[str, ...]
    """Names of its sub-folders that are walked (not hidden, not symbolic links)."""


def _listing(entries: Iterable[os.DirEntry[str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    sources, subfolders = [], []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if not entry.name.startswith("."):
                subfolders.append(entry.name)
        elif entry.name.endswith(SOURCE_SUFFIXES) and entry.is_file(follow_symlinks=False):
            sources.append(entry.name)
    return tuple(sorted(sources)), tuple(sorted(subfolders))


def walk_tree(tree: Path) -> list[Folder]:
    """Every folder of ``tree`` worth indexing, parents before children, in a stable order."""
    folders: list[Folder] = []
    stack = [""]
    while stack:
        relative = stack.pop()
        folder = os.path.join(tree, relative) if relative else str(tree)
        try:
            with os.scandir(folder) as entries:
                sources, subfolders = _listing(entries)
        except PermissionError:
            raise PermissionNeeded(f"cannot read {folder}: permission denied") from None
        folders.append(Folder(relative, sources, subfolders))
        stack.extend(os.path.join(relative, name) if relative else name for name in reversed(subfolders))
    return folders


def source_paths(layout: list[Folder]) -> list[str]:
    """The relative paths of every source file of ``layout``."""
    return [os.path.join(f.path, name) if f.path else name for f in layout for name in f.sources]


def first_change(tree: Path, layout: list[Folder], since_ns: int) -> str | None:
    """The first path found added, removed or written after ``since_ns`` (ctime), else None."""
    stat = os.stat
    for folder in layout:
        where = os.path.join(tree, folder.path)
        if not folder.sources:  # one stat, no open: a third of a kernel's folders hold no source
            try:
                if stat(where, follow_symlinks=False).st_ctime_ns <= since_ns:
                    continue
                with os.scandir(where) as entries:
                    if _listing(entries) != (folder.sources, folder.subfolders):
                        return folder.path or "."
                continue
            except OSError:
                return folder.path or "."
        try:
            fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            return folder.path or "."  # removed, replaced by a file, or unreadable
        try:
            if os.fstat(fd).st_ctime_ns > since_ns:
                with os.scandir(fd) as entries:
                    if _listing(entries) != (folder.sources, folder.subfolders):
                        return folder.path or "."
            for name in folder.sources:
                if stat(name, dir_fd=fd, follow_symlinks=False).st_ctime_ns > since_ns:
                    return os.path.join(folder.path, name)
        except OSError:
            return folder.path or "."  # a file vanished between the listing and its stat
        finally:
            os.close(fd)
    return None


class ChangeCheck:
    """:func:`first_change` run in a thread, started when the index is opened.

    The stat calls release the interpreter lock, so on a second CPU the check overlaps the
    lookup; :meth:`changed` waits for it.
    """

    def __init__(self, tree: Path, layout_loader: Callable[[], list[Folder]], since_ns: int) -> None:
        self._found: str | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._found = first_change(tree, layout_loader(), since_ns)
            except BaseException as exc:  # reported by changed(): a damaged layout means rebuild
                self._error = exc

        self._thread = threading.Thread(target=run, name="ksrc-freshness", daemon=True)
        self._thread.start()

    def changed(self) -> bool:
        self._thread.join()
        return self._error is not None or self._found is not None

    @property
    def first_changed(self) -> str | None:
        self._thread.join()
        return self._found
