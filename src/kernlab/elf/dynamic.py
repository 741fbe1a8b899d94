"""The dynamic section (``Elf_Dyn`` entries up to DT_NULL): what ld.so reads at load time."""

from __future__ import annotations

from kernlab.elf import descriptions as d
from kernlab.elf.headers import RawElf
from kernlab.elf.layout import cstr
from kernlab.elf.model import DynamicEntry

# (d_tag, d_un) as stored
RawDynamic = tuple[int, int]


def dynamic_location(raw: RawElf) -> tuple[int, int, int] | None:
    """(offset, size, string table section index or -1) of the dynamic table: the SHT_DYNAMIC
    section, else the PT_DYNAMIC segment."""
    for s in raw.shdrs:
        if s.type == d.SHT_DYNAMIC:
            if s.offset >= raw.size:
                return None
            return s.offset, min(s.size, raw.size - s.offset), s.link
    for p in raw.phdrs:
        if p.type == d.PT_DYNAMIC and p.offset < raw.size:
            return p.offset, min(p.filesz, raw.size - p.offset), -1
    return None


def read_dynamic_raw(raw: RawElf) -> list[RawDynamic]:
    """The (tag, value) pairs up to and including DT_NULL."""
    loc = dynamic_location(raw)
    out: list[RawDynamic] = []
    if loc is not None:
        offset, size, _link = loc
        entry = raw.lay.dyn
        n = size // entry.size
        for tag, value in entry.iter_unpack(raw.view[offset : offset + n * entry.size]):
            out.append((tag, value))
            if tag == 0:
                break
    return out


def is_pie(entries: list[RawDynamic]) -> bool:
    """readelf calls a DYN file a PIE when DT_FLAGS_1 has DF_1_PIE."""
    return any(tag == d.DT_FLAGS_1 and value & d.DF_1_PIE for tag, value in entries)


def _dynamic_strings(raw: RawElf, entries: list[RawDynamic]) -> bytes:
    loc = dynamic_location(raw)
    if loc is not None and loc[2] > 0:
        return raw.strtab(loc[2])
    # No section headers: follow DT_STRTAB (an address) through the PT_LOAD segments.
    addr = next((value for tag, value in entries if tag == d.DT_STRTAB), None)
    size = next((value for tag, value in entries if tag == 10), 0)  # DT_STRSZ
    off = raw.offset_for_vaddr(addr) if addr is not None else None
    if off is None:
        return b""
    return bytes(raw.view[off : min(off + size, raw.size)])


def decode_dynamic(raw: RawElf, entries: list[RawDynamic]) -> list[DynamicEntry]:
    """The entries with readelf -d's tag names, strings and flag words."""
    strings = _dynamic_strings(raw, entries) if entries else b""
    out = []
    for tag, value in entries:
        text = None
        if tag in d.STRING_TAGS:
            text = cstr(strings, value)
        elif tag == d.DT_FLAGS:
            text = d.flag_words(value, d.DT_FLAGS_WORDS)
        elif tag == d.DT_FLAGS_1:
            text = d.flag_words(value, d.DT_FLAGS_1_WORDS)
        elif tag == d.DT_PLTREL:
            text = {7: "RELA", 17: "REL"}.get(value)
        out.append(
            DynamicEntry(tag=d.dynamic_tag_name(tag, raw.e_machine), value=value, text=text, tag_value=tag)
        )
    return out
