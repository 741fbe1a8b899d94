"""Where a function's code is: its symbol, its size, the executable section holding it."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from kernlab.elf.disasm.symbols import Symbolizer, display_name, external_rank, objdump_rank
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
        raise BadInput(
            f"{image.source}: no PLT entry named {name}",
            key="errors.elf.no_plt_entry",
            fields={"path": image.source, "name": name},
        )
    if symbolizer.external is not None:
        return _find_external(image, name, symbolizer)
    base, _, version = name.partition("@")
    version = version.lstrip("@")
    candidates = [
        s
        for s in image.find_symbols(base)
        if s.shndx not in ("UND", "ABS", "COM") and (not version or s.version == version)
    ]
    if not candidates:
        raise BadInput(
            f"{image.source}: no symbol named {name!r} (defined in this file)",
            key="disasm.errors.no_symbol",
            fields={"path": image.source, "name": name},
        )
    code = [s for s in candidates if s.type in ("FUNC", "IFUNC", "NOTYPE")]
    if not code:
        sym = candidates[0]
        raise BadInput(
            f"{image.source}: {name} is a data symbol (type {sym.type}) in {sym.section}, not code",
            key="errors.elf.data_symbol",
            fields={"path": image.source, "name": name, "type": sym.type, "section": sym.section},
        )
    code.sort(key=lambda s: (s.size == 0, objdump_rank(s)))
    sym = code[0]
    value = sym.value & ~1 if image.arch == "arm" else sym.value
    size = sym.size or size_to_next_symbol(image, value, symbolizer)
    return display_name(sym, symbolizer.versioned, symbolizer.base_versions), value, size


def _find_external(image: ElfImage, name: str, symbolizer: Symbolizer) -> tuple[str, int, int]:
    """A function named by a System.map or kallsyms table: they give no size, so it ends at the
    next symbol's address (as ``objdump --stop-address`` would be given it). Of several symbols
    of that name (static functions of different files) code wins, then a global one."""
    external = symbolizer.external
    assert external is not None
    found = [
        (external_rank(kind, sym, index), value)
        for index, (value, kind, sym) in enumerate(external.entries)
        if sym == name
    ]
    if not found:
        raise BadInput(
            f"{image.source}: no symbol named {name!r} in {external.source}",
            key="errors.elf.no_table_symbol",
            fields={"path": image.source, "name": repr(name), "table": external.source},
        )
    rank, value = min(found)
    if rank[0] != 0:
        section = image.section_for_address(value)
        where = section.name if section is not None else "no section"
        raise BadInput(
            f"{image.source}: {name} is a data symbol in {where} ({external.source}), not code",
            key="errors.elf.table_data_symbol" if section is not None else "errors.elf.table_data_nowhere",
            fields={"path": image.source, "name": name, "section": where, "table": external.source},
        )
    return name, value, size_to_next_symbol(image, value, symbolizer)


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
        raise BadInput(
            f"{image.source}: address {address:#x} is not inside any section of the file",
            key="errors.elf.address_no_section",
            fields={"path": image.source, "address": f"{address:#x}"},
        )
    if "X" not in section.flags:
        raise BadInput(
            f"{image.source}: address {address:#x} is in {section.name}, which is not code "
            f"(section flags {section.flags or 'none'}, no X)",
            key="errors.elf.address_not_code" if section.flags else "errors.elf.address_not_code_no_flags",
            fields={
                "path": image.source,
                "address": f"{address:#x}",
                "section": section.name,
                "flags": section.flags,
            },
        )
    return section
