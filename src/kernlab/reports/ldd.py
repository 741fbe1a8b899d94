"""`kernlab ldd FILE`: the shared-library tree ld.so would load, found without running FILE."""

from __future__ import annotations

import os

from kernlab.elf.ldd import Resolution, resolve_libraries

__all__ = ["LddReport", "build"]


LddReport = Resolution
"""The resolution is the whole result: the libraries in ldd's order and where the search looked."""


def build(file: str | os.PathLike[str], *, ld_library_path: str | None = None) -> LddReport:
    """Resolve ``file``'s libraries as ld.so would with ``ld_library_path`` as LD_LIBRARY_PATH."""
    return resolve_libraries(file, ld_library_path=ld_library_path)
