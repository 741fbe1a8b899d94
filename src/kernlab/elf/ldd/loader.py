"""What the dynamic loader file itself holds: its built-in directories and its glibc release.

Read from the loader's bytes, never by running it: the search path (SYSTEM_DIRS in
elf/dl-load.c) is one string of directories joined by NULs, each ending in '/'; the release is
in the banner ``ld.so --version`` prints. The bytes also tell whether ``ld.so --help`` lists
the library search subdirectories (glibc 2.33 and later), before kernlab asks it to.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

__all__ = ["LoaderFacts", "read_loader", "system_dirs_of_loader"]

_SYSTEM_DIRS = re.compile(rb"(?:/[\x21-\x7e]+/\x00){2,}")
_GLIBC_RELEASE = re.compile(rb"release version (\d+)\.(\d+)")
# A heading of glibc's `ld.so --help` (elf/dl-usage.c): present since glibc 2.33.
_HELP_LISTS_SUBDIRS = b"Subdirectories of glibc-hwcaps directories"


@dataclass(frozen=True)
class LoaderFacts:
    """What the dynamic loader file itself says: its built-in directories and glibc release."""

    system_dirs: list[str] | None
    glibc_version: tuple[int, int] | None
    help_lists_subdirs: bool = False  # `ld.so --help` prints the search subdirectories


@functools.cache
def _loader_facts(loader: str, mtime_ns: int, size: int) -> LoaderFacts:
    try:
        with open(loader, "rb") as f:
            data = f.read()
    except OSError:
        return LoaderFacts(None, None)
    dirs = None
    for match in _SYSTEM_DIRS.finditer(data):
        found = [d.decode("utf-8", "replace") for d in match.group(0).split(b"\x00") if d]
        if any(d.startswith("/usr/lib") for d in found) and all(d.count("/") <= 4 for d in found):
            dirs = found
            break
    release = _GLIBC_RELEASE.search(data)
    version = (int(release.group(1)), int(release.group(2))) if release else None
    return LoaderFacts(dirs, version, _HELP_LISTS_SUBDIRS in data)


def read_loader(loader: str) -> LoaderFacts:
    """glibc's built-in search path and release, read from the loader's own bytes.

    The run of NUL-separated directories containing "/usr/lib" is the search path. Fields are
    None when the loader is missing.
    """
    try:
        st = os.stat(loader)
    except OSError:
        return LoaderFacts(None, None)
    return _loader_facts(loader, st.st_mtime_ns, st.st_size)


def system_dirs_of_loader(loader: str) -> list[str] | None:
    """glibc's built-in search path, read from the loader (None when it cannot be read)."""
    return read_loader(loader).system_dirs
