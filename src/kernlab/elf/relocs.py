"""Relocation sections (``Elf_Rel``/``Elf_Rela``): the places the linker or ld.so must patch,
with readelf -r's type names and symbol names."""

from __future__ import annotations

from kernlab.elf import descriptions as d
from kernlab.elf.headers import RawElf
from kernlab.elf.model import Relocation, Section, Symbol


def read_relocations(raw: RawElf, sec: Section, symbols: list[Symbol]) -> list[Relocation]:
    """The entries of a REL/RELA section; ``symbols`` is the symbol table it links to."""
    rela = sec.type_value == d.SHT_RELA
    entry = raw.lay.rela if rela else raw.lay.rel
    data = raw.section_bytes(sec.index)
    n = len(data) // entry.size
    names = reloc_type_names(raw.e_machine)
    mips64_le = raw.wide and raw.e_machine == d.EM_MIPS and raw.endian == "<"
    out = []
    for rec in entry.iter_unpack(data[: n * entry.size]):
        offset, info = rec[0], rec[1]
        addend = rec[2] if rela else None
        if mips64_le:
            # MIPS64 little-endian stores r_sym as a 32-bit word followed by four type bytes.
            sym_index, rtype = info & 0xFFFFFFFF, (info >> 56) & 0xFF
        elif raw.wide:
            sym_index, rtype = info >> 32, info & 0xFFFFFFFF
        else:
            sym_index, rtype = info >> 8, info & 0xFF
        sym = symbols[sym_index] if 0 < sym_index < len(symbols) else None
        out.append(
            Relocation(
                offset=offset,
                info=info,
                type=rtype,
                type_name=names.get(rtype, f"unrecognized: {rtype:x}"),
                symbol_index=sym_index,
                symbol_name=relocation_symbol_name(sym) if sym is not None else "",
                symbol_value=sym.value if sym is not None else 0,
                addend=addend,
            )
        )
    return out


SHT_RELR = 19


def read_relr(raw: RawElf, sec: Section) -> list[Relocation]:
    """The relative relocations a SHT_RELR section (``.relr.dyn``) packs, one per address.

    RELR (gABI, binutils 2.38+, lld ``-z pack-relative-relocs``) stores only where to add the
    load base: an even word is an address (relocate it; the next word's address follows), an
    odd word is a bitmap whose bits 1..N-1 say which of the next N-1 words are relocated.
    Each becomes a Relocation of the machine's RELATIVE type at that address, as readelf -r
    lists the offsets; RELR has no r_info, symbol or addend (the addend is in the place).
    """
    word = raw.lay.addr
    bits = 8 * word.size
    data = raw.section_bytes(sec.index)
    n = len(data) // word.size
    rtype, type_name = relative_type(raw.e_machine)
    addresses: list[int] = []
    where = 0
    for (entry,) in word.iter_unpack(data[: n * word.size]):
        if entry & 1 == 0:
            addresses.append(entry)
            where = entry + word.size
            continue
        bitmap, i = entry >> 1, 0
        while bitmap:
            if bitmap & 1:
                addresses.append(where + i * word.size)
            bitmap >>= 1
            i += 1
        where += (bits - 1) * word.size
    return [
        Relocation(
            offset=address,
            info=0,
            type=rtype,
            type_name=type_name,
            symbol_index=0,
            symbol_name="",
            symbol_value=0,
            addend=None,
        )
        for address in addresses
    ]


def relative_type(machine: int) -> tuple[int, str]:
    """The machine's relative relocation (R_X86_64_RELATIVE, R_AARCH64_RELATIVE, ...)."""
    found = [(len(name), name, number) for number, name in reloc_type_names(machine).items()]
    found = [f for f in found if f[1].endswith("_RELATIVE") and "IRELATIVE" not in f[1]]
    if not found:
        return 0, "RELATIVE"
    _, name, number = min(found)
    return number, name


def reloc_type_names(machine: int) -> dict[int, str]:
    """Relocation type numbers → names, from pyelftools' tables for the machine."""
    from elftools.elf import enums

    table_name = {
        d.EM_X86_64: "ENUM_RELOC_TYPE_x64",
        d.EM_386: "ENUM_RELOC_TYPE_i386",
        d.EM_AARCH64: "ENUM_RELOC_TYPE_AARCH64",
        d.EM_ARM: "ENUM_RELOC_TYPE_ARM",
        d.EM_MIPS: "ENUM_RELOC_TYPE_MIPS",
        d.EM_PPC: "ENUM_RELOC_TYPE_PPC",
        d.EM_PPC64: "ENUM_RELOC_TYPE_PPC64",
        d.EM_S390: "ENUM_RELOC_TYPE_S390X",
        d.EM_LOONGARCH: "ENUM_RELOC_TYPE_LOONGARCH",
        247: "ENUM_RELOC_TYPE_BPF",
    }.get(machine)
    table = getattr(enums, table_name, {}) if table_name else {}
    names = {v: k for k, v in table.items() if k != "_default_" and isinstance(v, int)}
    names.update(d.EXTRA_RELOC_NAMES.get(machine, {}))
    return names


def relocation_symbol_name(sym: Symbol) -> str:
    """The symbol as readelf -r names it: name@VER for needed or hidden versions, name@@VER."""
    if not sym.name and sym.type == "SECTION":
        return sym.section or ""
    if sym.version is None:
        return sym.name
    public = not sym.version_hidden and sym.version_index is None
    return f"{sym.name}{'@@' if public else '@'}{sym.version}"
