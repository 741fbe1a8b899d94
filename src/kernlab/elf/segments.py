"""Program headers as :class:`~kernlab.elf.model.Segment` records, with the section-to-segment
mapping computed on first use.

``ldd`` and the symbolizer open hundreds of files and look only at a segment's type and
addresses; the mapping (every section tested against every segment) was most of
``open_elf``'s time. So segments are built without it, and the first read of any segment's
``sections`` fills it in for every segment of the file at once (``Segment.__getattr__`` calls
the ``_fill`` this module leaves in each record). A segment's meaning is a key
(``segment.load_code``), cheap enough to set at once; :mod:`kernlab.explain.elf` words it.
"""

from __future__ import annotations

from kernlab.elf import descriptions as d
from kernlab.elf.headers import RawElf
from kernlab.elf.layout import Phdr
from kernlab.elf.model import Section, Segment
from kernlab.elf.segmap import map_sections

__all__ = ["build_segments", "interpreter_of", "segment_meaning"]


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
                "meaning": segment_meaning(type_word, p.flags, p.filesz, p.memsz),
                "interpreter": interpreter_of(raw, p) if p.type == d.PT_INTERP else None,
                "type_value": p.type,
                "flags_value": p.flags,
                "_fill": fill,
            },
        )
        out.append(seg)
    return out


def _fill_mapping(raw: RawElf, sections: list[Section], segments: list[Segment]) -> None:
    mapping = map_sections(raw.shdrs, raw.phdrs, [s.name for s in sections])
    for seg, mapped in zip(segments, mapping, strict=True):
        state = seg.__dict__
        state["sections"] = mapped
        state.pop("_fill", None)


def segment_meaning(type_word: str, flags: int, filesz: int, memsz: int) -> str:
    """The key of what one segment is for: "segment.load_code", "segment.gnu_stack_exec", ..."""
    if type_word == "LOAD":
        if flags & 1:
            return "segment.load_code"
        if flags & 2:
            return "segment.load_data_bss" if memsz > filesz else "segment.load_data"
        return "segment.load_readonly"
    if type_word in d.SEGMENT_MEANING_KEYS:
        if type_word == "GNU_STACK" and flags & 1:
            return "segment.gnu_stack_exec"
        return f"segment.{d.SEGMENT_MEANING_KEYS[type_word]}"
    return "segment.other"
