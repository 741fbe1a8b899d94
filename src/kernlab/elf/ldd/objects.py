"""The dynamic-section entries the search reads from each object it loads."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernlab.elf.reader import ElfImage

__all__ = ["DF_1_NODEFLIB", "DynamicInfo", "dynamic_info", "nodeflib", "open_image"]

DF_1_NODEFLIB = 0x800
_DT_FLAGS_1 = 0x6FFFFFFB


@dataclass(frozen=True)
class DynamicInfo:
    """The dynamic-section entries the search needs from one object."""

    needed: tuple[str, ...]
    soname: str | None
    rpath: str | None
    runpath: str | None
    nodeflib: bool


def open_image(path: str) -> ElfImage:
    # Imported when first needed: `kernlab ldd --help` must not pay for the ELF reader.
    from kernlab.elf.reader import open_elf

    # ld.so reads program headers only (PT_DYNAMIC, PT_INTERP): a library whose section
    # header table is cut off or bogus still loads, so it must still resolve here.
    return open_elf(path, sections=False)


def nodeflib(image: ElfImage) -> bool:
    """DF_1_NODEFLIB: the object forbids ld.so.cache and the default directories."""
    return any(e.tag_value == _DT_FLAGS_1 and e.value & DF_1_NODEFLIB for e in image.dynamic())


@functools.lru_cache(maxsize=4096)
def dynamic_info(path: str, dev: int, ino: int, mtime_ns: int, size: int) -> DynamicInfo:
    """DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH and DF_1_NODEFLIB of ``path``.

    Keyed by the file's identity and change time too, so libc, read for nearly every file
    when many are resolved in one process, is decoded once and a changed file is re-read.
    """
    image = open_image(path)
    return DynamicInfo(tuple(image.needed), image.soname, image.rpath, image.runpath, nodeflib(image))
