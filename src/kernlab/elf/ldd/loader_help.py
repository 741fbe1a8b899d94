"""The library search list as the loader itself prints it: ``ld.so --help``.

Since glibc 2.33, ``ld.so --help`` ends with the directories it searches and, for each
glibc-hwcaps subdirectory (x86-64-v4, ...) and each legacy hwcap subdirectory (tls, x86_64,
avx512_1, ...), whether this CPU supports it and whether it is searched. glibc decides that
from CPUID, the CPU vendor and GLIBC_TUNABLES (avx512_1 is set on Intel CPUs only, so an AMD
CPU with AVX-512 lists it as not searched); asking the loader is the only way to agree with it.
``--help`` prints and exits before anything is loaded: no program runs.

The loader is run only when it is a root-owned file nobody else may write and its bytes hold
that help text (see :mod:`.loader`): an older loader would take "--help" for a program name.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import subprocess
from dataclasses import dataclass

from kernlab.elf.ldd.loader import read_loader

__all__ = ["LoaderSearchList", "loader_search_list", "parse_loader_help"]

_TIMEOUT = 10.0
_ENTRY = re.compile(r"^  (\S+)(?: \((.*)\))?$")
# Variables that change what --help prints; the others (LD_LIBRARY_PATH above all) are the
# caller's business, given to the resolver separately.
_KEPT_ENV = ("GLIBC_TUNABLES", "LD_HWCAP_MASK")


@dataclass(frozen=True)
class LoaderSearchList:
    """The search subdirectories and directories one loader reports for this machine."""

    loader: str
    system_dirs: list[str]  # each ending in "/", as glibc keeps them
    hwcaps: list[str]  # glibc-hwcaps subdirectories searched, best first
    legacy: list[str] | None  # legacy hwcap names searched, in --help's order; None: no such list
    platform: str | None  # AT_PLATFORM, when the legacy list names it


def parse_loader_help(text: str, loader: str) -> LoaderSearchList | None:
    """The search list in ``ld.so --help``'s text (None when the text has none)."""
    section = ""
    seen = False
    dirs: list[str] = []
    hwcaps: list[str] = []
    legacy: list[str] | None = None
    platform: str | None = None
    for line in text.splitlines():
        if not line.startswith("  "):
            if line.startswith("Shared library search path:"):
                section = "dirs"
            elif line.startswith("Subdirectories of glibc-hwcaps directories"):
                section, seen = "hwcaps", True
            elif line.startswith("No subdirectories of glibc-hwcaps directories"):
                section, seen = "", True
            elif line.startswith("Legacy HWCAP subdirectories"):
                section, legacy = "legacy", []
            else:
                section = "" if line.strip() else section
            continue
        match = _ENTRY.match(line)
        if match is None:
            continue
        name, notes = match.group(1), match.group(2) or ""
        words = {w.strip() for w in re.split(r"[;,]", notes)}
        if section == "dirs" and "system search path" in words:
            dirs.append(name.rstrip("/") + "/")
        elif section == "hwcaps" and "searched" in words:
            hwcaps.append(name)
        elif section == "legacy" and legacy is not None:
            if "AT_PLATFORM" in words:
                platform = name
            elif name != "tls" and "searched" in words:
                legacy.append(name)
    if not seen:
        return None
    return LoaderSearchList(loader, dirs, hwcaps, legacy, platform)


def _trusted(path: str, st: os.stat_result) -> bool:
    # A file anyone but root could have written is not run, whatever PT_INTERP says.
    return stat.S_ISREG(st.st_mode) and st.st_uid == 0 and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


@functools.cache
def _run_help(loader: str, mtime_ns: int, size: int, env_key: tuple[str | None, ...]) -> str | None:
    env = {"PATH": os.defpath}
    env.update({name: value for name, value in zip(_KEPT_ENV, env_key, strict=True) if value is not None})
    try:
        proc = subprocess.run(
            [loader, "--help"],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            env=env,
            cwd="/",
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # not executable here (another architecture, noexec mount, ...)
    return proc.stdout


def loader_search_list(loader: str) -> LoaderSearchList | None:
    """What ``loader --help`` says is searched, or None when it cannot or would not say."""
    try:
        st = os.stat(loader)
    except OSError:
        return None
    if not _trusted(loader, st) or not read_loader(loader).help_lists_subdirs:
        return None
    text = _run_help(loader, st.st_mtime_ns, st.st_size, tuple(os.environ.get(k) for k in _KEPT_ENV))
    return parse_loader_help(text, loader) if text else None
