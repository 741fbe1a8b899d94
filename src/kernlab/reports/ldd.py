"""`kernlab ldd FILE`: the shared-library tree ld.so would load, found without running FILE."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from kernlab.elf.ldd import Dependency, LoadedObject, Resolution, SearchSetup, resolve_libraries

__all__ = ["LddReport", "build"]


@dataclass(frozen=True)
class LddReport:
    """The libraries ``file`` needs, in the order ldd lists them, and where the search looked."""

    file: str
    kind: str  # "dynamic" | "static" (no PT_DYNAMIC) | "static-pie" (dynamic, but needs nothing)
    elf_class: str
    arch: str
    abi: str
    interpreter: str | None  # PT_INTERP, or the ABI's loader for a shared library
    rpath: str | None
    runpath: str | None
    objects: list[LoadedObject]
    dependencies: list[Dependency]
    missing: list[str]
    search: SearchSetup | None

    @classmethod
    def of(cls, resolution: Resolution) -> LddReport:
        return cls(**{f.name: getattr(resolution, f.name) for f in fields(Resolution)})


def build(file: str | os.PathLike[str], *, ld_library_path: str | None = None) -> LddReport:
    """Resolve ``file``'s libraries as ld.so would with ``ld_library_path`` as LD_LIBRARY_PATH."""
    return LddReport.of(resolve_libraries(file, ld_library_path=ld_library_path))
