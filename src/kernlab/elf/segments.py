"""Program headers as :class:`~kernlab.elf.model.Segment` records, with the section-to-segment
mapping computed on first use.

``ldd`` and the symbolizer open hundreds of files and look only at a segment's type and
addresses; the mapping (every section tested against every segment) was most of
``open_elf``'s time. So segments are built without it, and the first read of any segment's
``sections`` fills it in for every segment of the file at once (``Segment.__getattr__`` calls
the ``_fill`` this module leaves in each record). A segment's meaning is a key
(``segment.load``), cheap enough to set at once, with its permissions as a key (``access``:
"rx", "rwx", "none" …) and what its sections are (``contents``: "code", "rodata", "unwind" …,
filled with the mapping); :mod:`kernlab.explain.elf` words them. The permissions come from
p_flags alone and the contents from the sections' types, flags and names, never from a guess
by the segment's type, so an RWE kernel segment is not called read-only code and a read-only
segment of .rodata and .eh_frame is not called symbol tables.
"""

from __future__ import annotations

from kernlab.elf import descriptions as d
from kernlab.elf.headers import RawElf
from kernlab.elf.layout import Phdr
from kernlab.elf.model import Section, Segment
from kernlab.elf.segmap import MappingCandidates, section_in_segment, tbss_special

__all__ = ["access_key", "build_segments", "interpreter_of", "section_content", "segment_meaning"]

ET_CORE = 4
PF_X, PF_W, PF_R = 1, 2, 4
SHT_PROGBITS = 1
SHT_STRTAB = 3
SHT_HASH = 5
SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY = 14, 15, 16
SHT_RELR = 19
SHT_GNU_HASH = 0x6FFFFFF6
SHT_PROC_UNWIND = 0x70000001  # SHT_X86_64_UNWIND on x86-64, SHT_ARM_EXIDX on ARM: unwind both
DYNAMIC_SYMBOL_TYPES = {
    d.SHT_DYNSYM,
    SHT_HASH,
    SHT_GNU_HASH,
    d.SHT_GNU_VERSYM,
    d.SHT_GNU_VERDEF,
    d.SHT_GNU_VERNEED,
}
RELOCATION_TYPES = {d.SHT_REL, d.SHT_RELA, SHT_RELR}
POINTER_ARRAY_TYPES = {SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY}
UNWIND_PREFIXES = (".eh_frame", ".gcc_except_table", ".sframe", ".ARM.exidx", ".ARM.extab", ".orc_")
GOT_PREFIXES = (".got", ".igot")
PLT_PREFIXES = (".plt", ".iplt")


def interpreter_of(raw: RawElf, p: Phdr) -> str | None:
    """The path a PT_INTERP segment names."""
    if p.offset >= raw.size or p.filesz == 0:
        return None
    return raw.cstring(p.offset, p.offset + p.filesz)


def build_segments(raw: RawElf, sections: list[Section]) -> list[Segment]:
    """Every program header; ``sections`` is filled in on first use."""
    out: list[Segment] = []
    new = Segment.__new__
    set_dict = object.__setattr__

    core = raw.e_type == ET_CORE

    def fill() -> None:
        _fill_mapping(raw, sections, out)

    for i, p in enumerate(raw.phdrs):
        seg = new(Segment)
        # Segment is frozen: its fields go straight into __dict__, without sections.
        type_word = d.segment_type_name(p.type, raw.e_machine)
        set_dict(
            seg,
            "__dict__",
            {
                "index": i,
                "type": type_word,
                "offset": p.offset,
                "vaddr": p.vaddr,
                "paddr": p.paddr,
                "filesz": p.filesz,
                "memsz": p.memsz,
                "flags": d.segment_flags(p.flags),
                "align": p.align,
                "meaning": segment_meaning(type_word, p.flags, p.filesz, p.memsz, core=core),
                "access": access_key(p.flags),
                "interpreter": interpreter_of(raw, p) if p.type == d.PT_INTERP else None,
                "type_value": p.type,
                "flags_value": p.flags,
                "_fill": fill,
            },
        )
        out.append(seg)
    return out


def _fill_mapping(raw: RawElf, sections: list[Section], segments: list[Segment]) -> None:
    # The same rule as readelf -l (kernlab.elf.segmap.map_sections), kept as indexes so that
    # each section's type and flags say what the segment holds.
    candidates = MappingCandidates(raw.shdrs)
    for seg, p in zip(segments, raw.phdrs, strict=True):
        inside = [
            j
            for j in candidates.near(p)
            if not tbss_special(raw.shdrs[j], p) and section_in_segment(raw.shdrs[j], p, strict=True)
        ]
        found: list[str] = []
        if p.type == d.PT_LOAD and _holds_headers(raw, p):
            found.append("headers")
        for j in inside:
            kind = section_content(sections[j])
            if kind not in found:
                found.append(kind)
        state = seg.__dict__
        state["sections"] = tuple(sections[j].name for j in inside)
        state["contents"] = tuple(found)
        state.pop("_fill", None)


def _holds_headers(raw: RawElf, p: Phdr) -> bool:
    """The segment maps the ELF header (offset 0) or the program header table itself."""
    if p.filesz == 0:
        return False
    if p.offset == 0:
        return True
    return raw.e_phoff != 0 and p.offset <= raw.e_phoff < p.offset + p.filesz


def section_content(s: Section) -> str:
    """What one section holds, as a key: "code", "plt", "rodata", "data", "bss", "unwind",
    "dynsym", "relocs", "dynamic", "got", "init_array", "relro", "tls", "notes", "interp",
    "other" — from its type and flags first, its name only where the type says nothing more
    (.eh_frame and .got are plain PROGBITS)."""
    name, kind, flags = s.name, s.type_value, s.flags_value
    if not flags & d.SHF_ALLOC:
        return "other"
    if flags & d.SHF_TLS:
        return "tls"
    if kind == SHT_PROC_UNWIND or name.startswith(UNWIND_PREFIXES):
        return "unwind"
    if flags & d.SHF_EXECINSTR:
        return "plt" if name.startswith(PLT_PREFIXES) else "code"
    if kind == d.SHT_NOTE:
        return "notes"
    if kind == d.SHT_NOBITS:
        return "bss"
    if kind in DYNAMIC_SYMBOL_TYPES or (kind == SHT_STRTAB and name == ".dynstr"):
        return "dynsym"
    if kind in RELOCATION_TYPES:
        return "relocs"
    if kind == d.SHT_DYNAMIC:
        return "dynamic"
    if kind in POINTER_ARRAY_TYPES or name in (".ctors", ".dtors"):
        return "init_array"
    if name == ".interp":
        return "interp"
    if name.startswith(GOT_PREFIXES):
        return "got"
    if name.startswith(".data.rel.ro"):
        return "relro"
    return "data" if flags & d.SHF_WRITE else "rodata"


def access_key(flags: int) -> str:
    """p_flags as a key of what may be done with the memory: "r", "rw", "rx", "rwx", "none" …"""
    key = ("r" if flags & PF_R else "") + ("w" if flags & PF_W else "") + ("x" if flags & PF_X else "")
    return key or "none"


def segment_meaning(type_word: str, flags: int, filesz: int, memsz: int, *, core: bool = False) -> str:
    """The key of what one segment is for: "segment.load", "segment.load_bss",
    "segment.core_memory", "segment.gnu_stack_exec", ... Permissions (:func:`access_key`) and
    contents (``Segment.contents``) are figures beside it, not part of the key."""
    if type_word == "LOAD":
        if core:
            if filesz == 0:
                return "segment.core_memory_unsaved"
            return "segment.core_memory_partial" if memsz > filesz else "segment.core_memory"
        if filesz == 0 and memsz > 0:
            return "segment.load_zero"
        return "segment.load_bss" if memsz > filesz else "segment.load"
    if type_word == "NOTE" and core:
        return "segment.note_core"
    if type_word == "TLS":
        if filesz == 0:
            return "segment.tls_bss"
        return "segment.tls" if memsz > filesz else "segment.tls_data"
    if type_word in d.SEGMENT_MEANING_KEYS:
        if type_word == "GNU_STACK" and flags & PF_X:
            return "segment.gnu_stack_exec"
        return f"segment.{d.SEGMENT_MEANING_KEYS[type_word]}"
    return "segment.other"
