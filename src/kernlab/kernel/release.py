"""Which kernel is running: the fields ``uname -a`` prints."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KernelRelease:
    """The running kernel's identity, from uname(2) (the same as /proc/sys/kernel/osrelease)."""

    release: str  # uname -r: "6.18.44-fc-v782"
    version: str  # uname -v: build number, flags and date
    machine: str  # uname -m: "x86_64"
    hostname: str  # uname -n
    proc_version: str | None  # /proc/version: also names the compiler that built it


def read_release() -> KernelRelease:
    """uname(2) plus /proc/version (None when /proc is not mounted)."""
    uts = os.uname()
    try:
        proc_version = Path("/proc/version").read_text().strip()
    except OSError:
        proc_version = None
    return KernelRelease(uts.release, uts.version, uts.machine, uts.nodename, proc_version)
