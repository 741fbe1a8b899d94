"""The section-to-segment mapping, exactly as binutils computes it for readelf -l.

The rule is ``ELF_SECTION_IN_SEGMENT_STRICT`` of binutils' ``include/elf/internal.h``, in
64-bit unsigned arithmetic (corrupt files wrap the way binutils' do).
"""

from __future__ import annotations

import bisect

from kernlab.elf import descriptions as d
from kernlab.elf.layout import MASK64, Phdr, Shdr


class MappingCandidates:
    """Sections that can possibly lie in a segment, found by file offset.

    Testing every section against every segment is quadratic: a core file written by gcore
    has one section per segment, thousands of each. A section with file bytes can only be in
    a segment if its offset lies within the segment's file range, so a bisect over sections
    sorted by offset finds those; NOBITS sections and sections whose end overflows 64 bits
    (possible only in corrupt files, where binutils' unsigned arithmetic wraps) are always
    tested. The result is the same as testing all of them.
    """

    def __init__(self, shdrs: list[Shdr]) -> None:
        ordered = sorted((s.offset, j) for j, s in enumerate(shdrs) if j and s.type != d.SHT_NOBITS)
        self._offsets = [o for o, _ in ordered]
        self._indexes = [j for _, j in ordered]
        self._always = [
            j for j, s in enumerate(shdrs) if j and (s.type == d.SHT_NOBITS or s.offset + s.size > MASK64)
        ]

    def near(self, p: Phdr) -> list[int]:
        lo = bisect.bisect_left(self._offsets, p.offset)
        hi = bisect.bisect_right(self._offsets, p.offset + p.filesz)
        return sorted({*self._indexes[lo:hi], *self._always})


def tbss_special(s: Shdr, p: Phdr) -> bool:
    """ELF_TBSS_SPECIAL: .tbss takes neither file nor memory space outside PT_TLS."""
    return bool(s.flags & d.SHF_TLS) and s.type == d.SHT_NOBITS and p.type != d.PT_TLS


def section_in_segment(s: Shdr, p: Phdr, *, strict: bool, check_vma: bool = True) -> bool:
    """binutils' ELF_SECTION_IN_SEGMENT_1 (include/elf/internal.h), in 64-bit unsigned arithmetic.

    readelf -l lists a section under a segment when this holds with strict=True and the
    section is not ``tbss_special``.
    """
    size = 0 if tbss_special(s, p) else s.size
    tls = bool(s.flags & d.SHF_TLS)
    alloc = bool(s.flags & d.SHF_ALLOC)
    # Only PT_LOAD, PT_GNU_RELRO and PT_TLS hold TLS sections; PT_TLS holds only those; PT_PHDR none.
    if tls:
        if p.type not in (d.PT_TLS, d.PT_GNU_RELRO, d.PT_LOAD):
            return False
    elif p.type in (d.PT_TLS, d.PT_PHDR):
        return False
    # PT_LOAD and similar segments hold only SHF_ALLOC sections.
    if not alloc and (
        p.type
        in (d.PT_LOAD, d.PT_DYNAMIC, d.PT_GNU_EH_FRAME, d.PT_GNU_STACK, d.PT_GNU_RELRO, d.PT_GNU_SFRAME)
        or d.PT_GNU_MBIND_LO <= p.type <= d.PT_GNU_MBIND_HI
    ):
        return False
    # Sections with file bytes must lie within the segment's file image.
    if s.type != d.SHT_NOBITS:
        if s.offset < p.offset:
            return False
        rel = (s.offset - p.offset) & MASK64
        if strict and rel > ((p.filesz - 1) & MASK64):
            return False
        if ((rel + size) & MASK64) > p.filesz:
            return False
    # Alloc sections must lie within the segment's memory image.
    if check_vma and alloc:
        if s.addr < p.vaddr:
            return False
        rel = (s.addr - p.vaddr) & MASK64
        if strict and rel > ((p.memsz - 1) & MASK64):
            return False
        if ((rel + size) & MASK64) > p.memsz:
            return False
    # No zero-size sections at the start or end of PT_DYNAMIC or PT_NOTE.
    if p.type in (d.PT_DYNAMIC, d.PT_NOTE) and s.size == 0 and p.memsz != 0:
        in_file = s.type == d.SHT_NOBITS or (s.offset > p.offset and (s.offset - p.offset) < p.filesz)
        in_mem = not alloc or (s.addr > p.vaddr and (s.addr - p.vaddr) < p.memsz)
        if not (in_file and in_mem):
            return False
    return True


def map_sections(shdrs: list[Shdr], phdrs: list[Phdr], names: list[str]) -> list[tuple[str, ...]]:
    """For each segment, the names of the sections readelf -l lists under it."""
    candidates = MappingCandidates(shdrs)
    return [
        tuple(
            names[j]
            for j in candidates.near(p)
            if not tbss_special(shdrs[j], p) and section_in_segment(shdrs[j], p, strict=True)
        )
        for p in phdrs
    ]
