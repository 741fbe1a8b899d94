"""Where a function's code is: its symbol, its size, the executable section holding it."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from kernlab.elf.disasm.symbols import Symbolizer, display_name, objdump_rank
from kernlab.errors import BadInput

if TYPE_CHECKING:
    from kernlab.elf.model import Section
    from kernlab.elf.reader import ElfImage

__all__ = ["code_section", "find_function", "size_to_next_symbol"]


def find_function(image: ElfImage, name: str, symbolizer: Symbolizer) -> tuple[str, int, int]:
    """(display name, start, size) of the function called ``name`` (``rename``,
    ``rename@@GLIBC_2.2.5``, ``puts@plt``); BadInput when there is none."""
    if name.endswith("@plt"):
        for entry in symbolizer.plt:
            if entry.name == name:
                return entry.name, entry.address, entry.size
        raise BadInput(f"{image.source}: no PLT entry named {name}")
    base, _, version = name.partition("@")
    version = version.lstrip("@")
    candidates = [
        s
        for s in image.find_symbols(base)
        if s.shndx not in ("UND", "ABS", "COM") and (not version or s.version == version)
    ]
    if not candidates:
        raise BadInput(f"{image.source}: no symbol named {name!r} (defined in this file)")
    code = [s for s in candidates if s.type in ("FUNC", "IFUNC", "NOTYPE")]
    if not code:
        sym = candidates[0]
        raise BadInput(
            f"{image.source}: {name} is a data symbol (type {sym.type}) in {sym.section}, not code"
        )
    code.sort(key=lambda s: (s.size == 0, objdump_rank(s)))
    sym = code[0]
    value = sym.value & ~1 if image.arch == "arm" else sym.value
    size = sym.size or size_to_next_symbol(image, value, symbolizer)
    return display_name(sym, symbolizer.versioned), value, size


def size_to_next_symbol(image: ElfImage, start: int, symbolizer: Symbolizer) -> int:
    section = image.section_for_address(start)
    end = section.address + section.size if section is not None else start
    i = bisect.bisect_right(symbolizer.addresses, start)
    if i < len(symbolizer.addresses):
        end = min(end, symbolizer.addresses[i])
    return max(end - start, 0)


def code_section(image: ElfImage, address: int) -> Section:
    """The executable section holding ``address``; BadInput when it is data or nowhere."""
    section = image.section_for_address(address)
    if section is None:
        raise BadInput(f"{image.source}: address {address:#x} is not inside any section of the file")
    if "X" not in section.flags:
        raise BadInput(
            f"{image.source}: address {address:#x} is in {section.name}, which is not code "
            f"(section flags {section.flags or 'none'}, no X)"
        )
    return section
