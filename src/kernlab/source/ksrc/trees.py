"""Kernel source trees at hand on this machine: the one given, /usr/src/linux*, and the
linux-source trees kernlab extracted into its cache. The tour's source step and the
syscall-path lab both look for one here."""

from __future__ import annotations

from pathlib import Path

__all__ = ["kernel_trees"]

SYSTEM_TREES = Path("/usr/src")


def kernel_trees(given: str | None = None) -> list[Path]:
    """Kernel source trees at hand: the one given, /usr/src/linux*, and those kernlab extracted
    (a folder with a top-level Makefile), in that order."""
    from kernlab.source.ksrc.index import cache_dir  # the index module is large; only when asked

    candidates: list[Path] = []
    if given:
        candidates.append(Path(given))
    for base in (SYSTEM_TREES, cache_dir() / "ksrc-src"):
        try:
            candidates += sorted(p for p in base.iterdir() if p.name.startswith("linux") and p.is_dir())
        except OSError:
            continue
    return [p for p in candidates if (p / "Makefile").is_file()]
