"""The CPU as the kernel describes it in /proc/cpuinfo."""

from __future__ import annotations

__all__ = ["cpu_flags"]

CPUINFO = "/proc/cpuinfo"


def cpu_flags(path: str = CPUINFO) -> frozenset[str] | None:
    """The first CPU's feature flags (``la57``, ``avx2``, …); None when the file cannot be read
    or lists no flags (architectures other than x86 name them differently)."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None
