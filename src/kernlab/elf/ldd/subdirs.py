"""The subdirectories ld.so tries inside every search directory, best first.

glibc-hwcaps subdirectories (glibc 2.33+: ``glibc-hwcaps/x86-64-v3``) come first, then, before
glibc 2.37, the legacy ones: every combination of "tls", the platform and the searched hwcap
names (elf/dl-hwcaps.c _dl_important_hwcaps). Which names are searched is the loader's
decision; :mod:`.loader_help` asks it. Without its answer (a loader older than 2.33, another
architecture, musl) the list holds only what glibc sets on every CPU of the ABI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kernlab.elf.ldd.abi import Abi
from kernlab.elf.ldd.loader_help import LoaderSearchList

__all__ = ["ALWAYS_SEARCHED", "SearchSubdirs", "legacy_combinations", "search_subdirs"]

# Legacy hwcap names glibc before 2.37 searched on every CPU of the ABI: HWCAP_X86_64 is set
# unconditionally on x86-64, and every CPU that runs i386 code on a 64-bit kernel has SSE2.
# Names that depend on the CPU (avx512_1) are left out: only the loader can tell.
ALWAYS_SEARCHED: dict[str, list[str]] = {"x86-64": ["x86_64"], "i386": ["sse2"]}


@dataclass(frozen=True)
class SearchSubdirs:
    hwcaps: list[str]  # active glibc-hwcaps subdirectories, best first (for ld.so.cache too)
    subdirs: list[str]  # every subdirectory tried, in order, before the directory itself
    platform: str  # what $PLATFORM expands to
    source: str  # the loader whose --help listed them, or "built-in list"


def legacy_combinations(platform: str | None, names: list[str]) -> list[str]:
    """Every combination of "tls", ``platform`` and ``names``, most specific first, as LD_DEBUG=libs
    lists them: tls/x86_64/x86_64, tls/x86_64, tls/x86_64, tls, x86_64/x86_64, x86_64, x86_64.

    ``names`` come in ``ld.so --help``'s order (highest hwcap bit first), which is the order
    glibc writes them into each path.
    """
    parts = ["tls", *([platform] if platform else []), *names]
    n = len(parts)
    return [
        "/".join(parts[k] for k in range(n) if mask & (1 << (n - 1 - k)))
        for mask in range((1 << n) - 1, 0, -1)
    ]


def search_subdirs(abi: Abi, glibc: tuple[int, int] | None, told: LoaderSearchList | None) -> SearchSubdirs:
    """The subdirectories for ``abi``, from the loader's own list when it gave one."""
    if told is not None:
        platform = told.platform or abi.platform
        legacy = legacy_combinations(told.platform, told.legacy) if told.legacy is not None else []
        return SearchSubdirs(
            told.hwcaps, [f"glibc-hwcaps/{h}" for h in told.hwcaps] + legacy, platform, told.loader
        )
    # A loader that cannot list them predates glibc-hwcaps (2.33); musl has no subdirectories.
    legacy = []
    if (
        glibc is not None
        and glibc < (2, 37)
        and abi.name in ALWAYS_SEARCHED
        and os.uname().machine == "x86_64"
    ):
        legacy = legacy_combinations(abi.platform, ALWAYS_SEARCHED[abi.name])
    return SearchSubdirs([], legacy, abi.platform, "built-in list")
