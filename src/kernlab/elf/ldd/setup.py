"""The search directories that do not depend on one object: environment, cache, loader's own."""

from __future__ import annotations

import os
import re

from kernlab.elf.ldcache import LdCache
from kernlab.elf.ldd.abi import Abi, native_abi
from kernlab.elf.ldd.loader import LoaderFacts, read_loader
from kernlab.elf.ldd.loader_help import LoaderSearchList, loader_search_list
from kernlab.elf.ldd.model import SearchSetup
from kernlab.elf.ldd.subdirs import search_subdirs

__all__ = ["env_dirs", "search_setup"]


def env_dirs(ld_library_path: str | None) -> list[str]:
    """LD_LIBRARY_PATH as ld.so splits it (':' or ';'; an empty element is the working directory)."""
    if not ld_library_path:
        return []
    return [
        part.rstrip("/") or ("/" if part.startswith("/") else ".")
        for part in re.split(r"[:;]", ld_library_path)
    ]


def _built_in_dirs(abi: Abi, loader: str) -> list[str]:
    multi = [f"/lib/{abi.triplet}/", f"/usr/lib/{abi.triplet}/"] if abi.triplet else []
    # A multiarch system (Debian, Ubuntu) keeps every ABI's libraries in /lib/<triplet>.
    native = native_abi()
    multiarch = os.path.isdir(multi[0]) if multi else False
    multiarch = multiarch or (native is not None and os.path.isdir(f"/usr/lib/{native.triplet}"))
    if multi and multiarch:
        return [*multi, "/lib/", "/usr/lib/"]
    if "64" in loader:
        return ["/lib64/", "/usr/lib64/"]
    return ["/lib/", "/usr/lib/"]


def _told_by_loader(abi: Abi, loader: str) -> LoaderSearchList | None:
    # PT_INTERP first; when it cannot be asked (untrusted, missing), the ABI's standard loader.
    for candidate in dict.fromkeys(c for c in (loader, abi.interpreter) if c):
        told = loader_search_list(candidate)
        if told is not None:
            return told
    return None


def search_setup(
    abi: Abi, interpreter: str | None, ld_library_path: str | None, cache: LdCache | None
) -> SearchSetup:
    """Where ld.so looks for every object: LD_LIBRARY_PATH, the cache, the loader's directories
    and the subdirectories it tries inside each."""
    loader = interpreter or abi.interpreter
    facts = read_loader(loader) if loader else LoaderFacts(None, None)
    told = _told_by_loader(abi, loader)
    dirs, source = facts.system_dirs, loader
    if told is not None and told.system_dirs and told.loader == loader:
        dirs = told.system_dirs
    if not dirs:
        dirs, source = _built_in_dirs(abi, loader), "built-in list"
    subdirs = search_subdirs(abi, facts.glibc_version, told)
    return SearchSetup(
        ld_library_path=env_dirs(ld_library_path),
        cache=cache.path if cache else None,
        cache_entries=len(cache.entries) if cache else 0,
        system_dirs=dirs,
        system_dirs_from=source,
        hwcaps=subdirs.hwcaps,
        subdirs=subdirs.subdirs,
        loader_glibc=".".join(map(str, facts.glibc_version)) if facts.glibc_version else None,
        platform=subdirs.platform,
        lib=dirs[0].strip("/") or "lib",
        subdirs_from=subdirs.source,
    )
