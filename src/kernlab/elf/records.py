"""The ELF header and section headers as records in readelf's words (:mod:`kernlab.elf.model`)."""

from __future__ import annotations

from kernlab.elf import descriptions as d
from kernlab.elf.eflags import flags_text
from kernlab.elf.guards import no_gc
from kernlab.elf.headers import RawElf
from kernlab.elf.model import ElfHeader, Section


def build_header(raw: RawElf, is_pie: bool) -> ElfHeader:
    """readelf -h's fields; ``is_pie`` (DF_1_PIE in the dynamic section) words a DYN file."""
    ident = raw.ident
    osabi = ident[7]
    e_type = raw.e_type
    type_word, type_text = d.FILE_TYPES.get(e_type, ("", ""))
    if not type_word:
        if 0xFE00 <= e_type <= 0xFEFF:
            type_word, type_text = f"OS Specific: ({e_type:x})", ""
        elif e_type >= 0xFF00:
            type_word, type_text = f"Processor Specific: ({e_type:x})", ""
        else:
            type_word, type_text = f"<unknown>: {e_type:x}", ""
    elif e_type == 3 and is_pie:
        type_text = d.PIE_DESCRIPTION
    machine_text = d.MACHINES.get(raw.e_machine, (f"<unknown>: 0x{raw.e_machine:x}", ""))[0]
    if osabi in d.OSABI_NAMES:
        osabi_text = d.OSABI_NAMES[osabi]
    elif osabi == 97 and raw.e_machine == d.EM_ARM:
        osabi_text = "ARM"
    else:
        osabi_text = f"<unknown: {osabi:x}>"
    return ElfHeader(
        magic=ident,
        elf_class=d.CLASS_NAMES[ident[4]],
        data=d.DATA_NAMES[ident[5]],
        ident_version=ident[6],
        os_abi=osabi_text,
        abi_version=ident[8],
        type=type_word,
        type_description=type_text,
        machine=machine_text,
        arch=d.short_arch(raw.e_machine, ident[4]),
        version=raw.e_version,
        entry=raw.e_entry,
        phoff=raw.e_phoff,
        shoff=raw.e_shoff,
        flags=raw.e_flags,
        ehsize=raw.e_ehsize,
        phentsize=raw.e_phentsize,
        phnum=len(raw.phdrs) if raw.phdrs else raw.e_phnum,
        shentsize=raw.e_shentsize,
        shnum=len(raw.shdrs),
        shstrndx=raw.shstrndx,
        type_value=e_type,
        machine_value=raw.e_machine,
        osabi_value=osabi,
        flags_text=flags_text(raw.e_machine, raw.e_flags),
        data_readelf=f"2's complement, {d.DATA_NAMES[ident[5]]}",
    )


def build_sections(raw: RawElf) -> list[Section]:
    """Every section header with its name, type word and flag letters."""
    machine, osabi = raw.e_machine, raw.ident[7]
    names = raw.section_names()
    # Type words and flag letters repeat: decode each distinct value once.
    type_words: dict[int, str] = {}
    flag_letters: dict[int, str] = {}
    new = Section.__new__
    set_dict = object.__setattr__
    out = []
    with no_gc():  # files with 60k+ sections exist (kernel modules, -ffunction-sections)
        for i, s in enumerate(raw.shdrs):
            type_word = type_words.get(s.type)
            if type_word is None:
                type_word = type_words[s.type] = d.section_type_name(s.type, machine)
            letters = flag_letters.get(s.flags)
            if letters is None:
                letters = flag_letters[s.flags] = d.section_flag_letters(s.flags, machine, osabi)
            sec = new(Section)
            # Section is frozen: set its fields at once rather than through __init__'s setattrs.
            set_dict(
                sec,
                "__dict__",
                {
                    "index": i,
                    "name": names[i],
                    "type": type_word,
                    "address": s.addr,
                    "offset": s.offset,
                    "size": s.size,
                    "entsize": s.entsize,
                    "flags": letters,
                    "link": s.link,
                    "info": s.info,
                    "align": s.addralign,
                    "type_value": s.type,
                    "flags_value": s.flags,
                },
            )
            out.append(sec)
    return out
