"""Where an address of a process falls inside the ELF file mapped there: section and symbol.

The ELF loader maps each PT_LOAD segment at ``load bias + p_vaddr`` (fs/binfmt_elf.c,
elf_map/elf_load), page by page, so the bias is the same for every segment of one file and can
be found from any VMA of that file: the VMA maps file offset ``vma.offset`` at ``vma.start``.
With the bias, any address of the file's segments (including .bss past the last file page,
which the loader maps anonymous) turns into the ELF virtual address that the section headers
and the symbol table use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kernlab.errors import KernlabError
from kernlab.proc.maps import Vma


@dataclass(frozen=True)
class ElfPlace:
    """An address as the ELF file sees it."""

    path: str
    load_bias: int
    elf_vaddr: int
    section: str | None  # the section whose [address, address + size) holds elf_vaddr
    symbol: str | None  # the symbol whose [value, value + size) holds it
    symbol_offset: int | None
    note: str | None = None  # why section or symbol could not be found


def _load_segments(image: Any) -> list[Any]:
    return [s for s in image.segments if s.type == "LOAD"]


def load_bias(image: Any, vma: Vma, page_size: int) -> int | None:
    """The bias at which the loader placed ``image``, from one VMA mapping it."""
    mask = page_size - 1
    for seg in _load_segments(image):
        page_off = seg.offset & ~mask
        if page_off <= vma.offset < seg.offset + max(seg.filesz, 1):
            return vma.start - (seg.vaddr & ~mask) - (vma.offset - page_off)
    return None


def _section_for(image: Any, vaddr: int) -> str | None:
    finder = getattr(image, "section_for_address", None)
    if finder is not None:
        section = finder(vaddr)
        return section.name if section is not None else None
    for section in image.sections:
        if (
            "A" in section.flags
            and section.size
            and section.address <= vaddr < section.address + section.size
        ):
            return section.name
    return None


def owner_file(vmas: Sequence[Vma], vma: Vma) -> Vma | None:
    """The file VMA that an anonymous VMA continues (.bss past the last file page), if any."""
    if vma.path is not None:
        return vma
    if vma.kind not in ("binary-bss", "shared-lib"):
        return None
    below = [v for v in vmas if v.end == vma.start and v.path is not None]
    return below[0] if below else None


def elf_place(
    vmas: Sequence[Vma],
    vma: Vma,
    address: int,
    page_size: int,
    open_image: Callable[[str], Any | None] | None = None,
) -> ElfPlace | None:
    """Section and symbol of ``address`` in the ELF file mapped by (or continued by) ``vma``.

    None when the area is not a file's or the file is not ELF. ``open_image(path)`` may supply
    the image (a cache that opens each file once, or one that adds a separate debug file's
    symbols); it returns None for a file that is not usable ELF.
    """
    file_vma = owner_file(vmas, vma)
    if file_vma is None or file_vma.path is None:
        return None
    if open_image is not None:
        image = open_image(file_vma.path)
        if image is None:
            return None
    else:
        try:
            from kernlab.elf.reader import open_elf
        except ImportError:  # the ELF reader is part of another module that may be absent
            return None
        try:
            image = open_elf(file_vma.path)
        except (KernlabError, OSError):
            return None  # not an ELF file (a data file mapped with mmap), or gone
    # The VMA that holds the address gives the bias directly. Other mappings of the same file
    # are only a fallback (e.g. a gap VMA whose offset is in no LOAD segment), nearest first: a
    # file can be mapped more than once (a reader's own mmap of libc.so.6, a second namespace),
    # and a far-away mapping of it carries another bias.
    same_file = sorted(
        (v for v in vmas if v.path == file_vma.path and v.inode == file_vma.inode and v is not file_vma),
        key=lambda v: abs(v.start - file_vma.start),
    )
    bias = None
    for candidate in [file_vma, *same_file]:
        bias = load_bias(image, candidate, page_size)
        if bias is not None:
            break
    if bias is None:
        return None
    vaddr = address - bias
    section = _section_for(image, vaddr)
    symbol_name = None
    symbol_offset = None
    # Between sections (alignment padding) no symbol holds the address, whatever precedes it.
    found = image.symbolize(vaddr) if section is not None and hasattr(image, "symbolize") else None
    if found is not None:
        symbol, symbol_offset = found
        symbol_name = symbol.name
    return ElfPlace(file_vma.path, bias, vaddr, section, symbol_name, symbol_offset)
