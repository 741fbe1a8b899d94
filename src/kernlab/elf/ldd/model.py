"""What a resolution finds: the objects ld.so would load, who needs whom, where it looked."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Dependency", "LoadedObject", "Resolution", "SearchSetup"]


@dataclass(frozen=True)
class LoadedObject:
    """One line of ldd's output: a library, the vDSO or the dynamic loader."""

    name: str  # as ldd prints it first: the DT_NEEDED text, the vDSO's soname, the loader's path
    path: str | None  # the file that would be mapped (None: not found, or the vDSO)
    status: str  # "found" | "not found" | "vdso" | "interpreter"
    found_via: str | None  # which search step found it: "ld.so.cache", "RUNPATH of prog", ...
    needed_by: str | None  # the object whose DT_NEEDED loaded it
    depth: int  # 1 for the file's own DT_NEEDED entries, 2 for theirs, ...
    soname: str | None = None
    needed: list[str] = field(default_factory=list)
    realpath: str | None = None
    tried: list[str] = field(default_factory=list)  # paths tried before (or instead of) finding it


@dataclass(frozen=True)
class Dependency:
    """One DT_NEEDED entry: who needs whom, and whether that entry loaded it or found it loaded."""

    parent: str  # the needing object's name ("" for the file itself)
    name: str
    path: str | None
    loaded_here: bool


@dataclass(frozen=True)
class SearchSetup:
    """Where the search looked, besides each object's own RPATH/RUNPATH."""

    ld_library_path: list[str]
    cache: str | None  # the cache file read, None when there is none
    cache_entries: int
    system_dirs: list[str]
    system_dirs_from: str  # the loader file they were read from, or "built-in list"
    hwcaps: list[str]  # active glibc-hwcaps subdirectories, best first
    subdirs: list[str]  # tried in each directory before the directory itself, in order
    loader_glibc: str | None  # the loader's glibc release, e.g. "2.36"
    platform: str
    lib: str  # what $LIB expands to
    subdirs_from: str = "built-in list"  # the loader whose `--help` listed hwcaps and subdirs


@dataclass(frozen=True)
class Resolution:
    """The libraries ``file`` needs, in the order ldd lists them."""

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
