"""Read /proc/PID/pagemap: one 64-bit entry per virtual page saying where the page is.

Bit layout from Documentation/admin-guide/mm/pagemap.rst (fs/proc/task_mmu.c, PM_* macros):
bits 0-54 the page frame number when present, or swap type (0-4) and offset (5-54) when
swapped; 55 soft-dirty; 56 exclusively mapped; 57 uffd-wp; 58 guard region; 61 file page or
shared anonymous; 62 swapped; 63 present. Without CAP_SYS_ADMIN the kernel reports PFN 0.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from kernlab.errors import NoSuchProcess
from kernlab.proc.errors import proc_errors, process_exists, require_process, resolve_pid

PFN_MASK = (1 << 55) - 1
SWAP_TYPE_MASK = 0x1F
SWAP_OFFSET_SHIFT = 5
SOFT_DIRTY = 1 << 55
EXCLUSIVE = 1 << 56
UFFD_WP = 1 << 57
GUARD = 1 << 58
FILE_OR_SHARED = 1 << 61
SWAPPED = 1 << 62
PRESENT = 1 << 63

ENTRY_SIZE = 8
# Entries read per pread: 64 Ki entries = 512 KiB, 256 MiB of address space with 4 KiB pages.
CHUNK_ENTRIES = 1 << 16


@dataclass(frozen=True)
class PagemapEntry:
    """The pagemap entry of the page at ``address`` (page aligned), decoded."""

    address: int
    raw: int
    present: bool
    swapped: bool
    pfn: int | None  # None when not present, or when the kernel hid it (no CAP_SYS_ADMIN)
    pfn_hidden: bool  # present, but the kernel reported PFN 0 because we lack CAP_SYS_ADMIN
    swap_type: int | None
    swap_offset: int | None
    soft_dirty: bool
    exclusive: bool  # mapped by exactly one process (pagemap bit 56)
    uffd_wp: bool
    guard: bool  # a guard region installed with MADV_GUARD_INSTALL (bit 58, Linux 6.13+)
    file_or_shared_anon: bool
    state: str  # "present", "swapped" or "absent" (never touched, or dropped)


def decode_entry(address: int, raw: int) -> PagemapEntry:
    """Decode one raw pagemap word for the page at ``address``."""
    present = bool(raw & PRESENT)
    swapped = bool(raw & SWAPPED)
    frame = raw & PFN_MASK
    return PagemapEntry(
        address=address,
        raw=raw,
        present=present,
        swapped=swapped,
        pfn=frame if present and frame else None,
        pfn_hidden=present and frame == 0,
        swap_type=(raw & SWAP_TYPE_MASK) if swapped else None,
        swap_offset=(frame >> SWAP_OFFSET_SHIFT) if swapped else None,
        soft_dirty=bool(raw & SOFT_DIRTY),
        exclusive=bool(raw & EXCLUSIVE),
        uffd_wp=bool(raw & UFFD_WP),
        guard=bool(raw & GUARD),
        file_or_shared_anon=bool(raw & FILE_OR_SHARED),
        state="present" if present else "swapped" if swapped else "absent",
    )


def read_pagemap_raw(
    pid: int | str,
    start: int,
    pages: int,
    page_size: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> array:
    """The raw pagemap words of ``pages`` pages from ``start`` (rounded down to a page).

    Read in large chunks (one pread per 64 Ki pages); ``on_chunk(n)`` is called after each
    chunk with the number of pages read, for progress bars. Returns an ``array('Q')`` that is
    shorter than ``pages`` when the range runs past the end of the user address space
    (TASK_SIZE: pagemap has no entries for [vsyscall]) or the process has no memory any more.
    """
    page_size = page_size or os.sysconf("SC_PAGE_SIZE")
    number = resolve_pid(pid)
    require_process(number)
    first = start // page_size
    words = array("Q")
    if pages <= 0:
        return words
    path = f"/proc/{number}/pagemap"
    with proc_errors(number, path):
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        done = 0
        while done < pages:
            count = min(CHUNK_ENTRIES, pages - done)
            with proc_errors(number, path):
                data = os.pread(fd, count * ENTRY_SIZE, (first + done) * ENTRY_SIZE)
            words.frombytes(data[: len(data) - len(data) % ENTRY_SIZE])
            if on_chunk:
                on_chunk(len(data) // ENTRY_SIZE)
            if len(data) < count * ENTRY_SIZE:
                if not process_exists(number):
                    raise NoSuchProcess(
                        number, "it exited while its pagemap was being read", key="errors.process_exited"
                    )
                break
            done += count
    finally:
        os.close(fd)
    return words


def read_pagemap(
    pid: int | str, start: int, pages: int = 1, page_size: int | None = None
) -> list[PagemapEntry]:
    """Decoded pagemap entries of ``pages`` pages from ``start`` (rounded down to a page)."""
    page_size = page_size or os.sysconf("SC_PAGE_SIZE")
    base = start - start % page_size
    raw = read_pagemap_raw(pid, base, pages, page_size)  # may be short: see read_pagemap_raw
    return [decode_entry(base + i * page_size, word) for i, word in enumerate(raw)]
