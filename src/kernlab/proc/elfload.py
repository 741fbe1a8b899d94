"""The extent of an ELF file's PT_LOAD segments, enough to tell its .bss from a neighbouring mmap.

Only the ELF header and program headers are read (a few hundred bytes); results are cached per
(path, inode) because every process maps the same few libraries.
"""

from __future__ import annotations

import os
import struct
from functools import lru_cache

PAGE_SIZE: int = os.sysconf("SC_PAGE_SIZE")
PT_LOAD = 1


@lru_cache(maxsize=4096)
def elf_load_layout(path: str, inode: int) -> tuple[int, int] | None:
    """(lowest PT_LOAD p_vaddr, highest p_vaddr + p_memsz) of the ELF file at ``path``.

    ``inode`` is only part of the cache key, so a replaced file is read again. None when the file
    cannot be read or is not ELF.
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(64)
            if len(header) < 52 or header[:4] != b"\x7fELF":
                return None
            is64 = header[4] == 2
            order = "<" if header[5] == 1 else ">"
            if is64:
                (phoff,) = struct.unpack_from(order + "Q", header, 32)
                phentsize, phnum = struct.unpack_from(order + "HH", header, 54)
            else:
                (phoff,) = struct.unpack_from(order + "I", header, 28)
                phentsize, phnum = struct.unpack_from(order + "HH", header, 42)
            if phnum == 0 or phentsize == 0 or phnum > 4096:
                return None
            handle.seek(phoff)
            table = handle.read(phentsize * phnum)
    except OSError:
        return None
    low: int | None = None
    high = 0
    for index in range(min(phnum, len(table) // phentsize)):
        entry = table[index * phentsize : (index + 1) * phentsize]
        if is64:
            p_type, _flags, _off, vaddr, _paddr, _filesz, memsz = struct.unpack_from(order + "IIQQQQQ", entry)
        else:
            p_type, _off, vaddr, _paddr, _filesz, memsz = struct.unpack_from(order + "IIIIII", entry)
        if p_type != PT_LOAD:
            continue
        low = vaddr if low is None else min(low, vaddr)
        high = max(high, vaddr + memsz)
    return None if low is None else (low, high)
