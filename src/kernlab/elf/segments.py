"""Program headers as :class:`~kernlab.elf.model.Segment` records, with the section-to-segment
mapping and each segment's sentence of meaning computed on first use.

``ldd`` and the symbolizer open hundreds of files and look only at a segment's type and
addresses; the mapping (every section tested against every segment) and the catalog sentence
were most of ``open_elf``'s time. So segments are built without them, and the first read of
any segment's ``sections`` or ``meaning`` fills both in for every segment of the file at once
(``Segment.__getattr__`` calls the ``_fill`` this module leaves in each record).
"""

from __future__ import annotations

from typing import Any

from kernlab.elf import descriptions as d
from kernlab.elf.headers import RawElf
from kernlab.elf.layout import Phdr
from kernlab.elf.model import Section, Segment
from kernlab.elf.segmap import map_sections
from kernlab.units import format_bytes as human_size


def interpreter_of(raw: RawElf, p: Phdr) -> str | None:
    """The path a PT_INTERP segment names."""
    if p.offset >= raw.size or p.filesz == 0:
        return None
    return raw.cstring(p.offset, p.offset + p.filesz)


def build_segments(raw: RawElf, sections: list[Section]) -> list[Segment]:
    """Every program header; ``sections`` and ``meaning`` are filled in on first use."""
    out: list[Segment] = []
    new = Segment.__new__
    set_dict = object.__setattr__

    def fill() -> None:
        _fill_mapping(raw, sections, out)

    for i, p in enumerate(raw.phdrs):
        seg = new(Segment)
        # Segment is frozen: its fields go straight into __dict__, without sections and meaning.
        set_dict(
            seg,
            "__dict__",
            {
                "index": i,
                "type": d.segment_type_name(p.type, raw.e_machine),
                "offset": p.offset,
                "vaddr": p.vaddr,
                "paddr": p.paddr,
                "filesz": p.filesz,
                "memsz": p.memsz,
                "flags": d.segment_flags(p.flags),
                "align": p.align,
                "interpreter": interpreter_of(raw, p) if p.type == d.PT_INTERP else None,
                "type_value": p.type,
                "flags_value": p.flags,
                "_fill": fill,
            },
        )
        out.append(seg)
    return out


def _fill_mapping(raw: RawElf, sections: list[Section], segments: list[Segment]) -> None:
    from kernlab.catalog import say

    mapping = map_sections(raw.shdrs, raw.phdrs, [s.name for s in sections])
    for seg, p, mapped in zip(segments, raw.phdrs, mapping, strict=True):
        key, fields = segment_meaning(seg.type, p, seg.flags, mapped, seg.interpreter)
        state = seg.__dict__
        state["sections"] = mapped
        state["meaning"] = say(key, **fields)
        state.pop("_fill", None)


def segment_meaning(
    type_word: str, p: Phdr, flags: str, sections: tuple[str, ...], interp: str | None
) -> tuple[str, dict[str, Any]]:
    """(catalog key, fields) of the sentence explaining one segment."""
    fields: dict[str, Any] = {
        "filesz": human_size(p.filesz),
        "memsz": human_size(p.memsz),
        "bss": human_size(max(p.memsz - p.filesz, 0)),
        "vaddr": f"{p.vaddr:#x}",
        "flags": flags.strip() or "no access",
        "interp": interp or "?",
        "align": human_size(p.align),
        "sections": ", ".join(sections) if sections else "no sections",
    }
    if type_word == "LOAD":
        if p.flags & 1:
            key = "elf.segment.load_code"
        elif p.flags & 2:
            key = "elf.segment.load_data_bss" if p.memsz > p.filesz else "elf.segment.load_data"
        else:
            key = "elf.segment.load_readonly"
    elif type_word in d.SEGMENT_MEANING_KEYS:
        key = f"elf.segment.{d.SEGMENT_MEANING_KEYS[type_word]}"
        if type_word == "GNU_STACK" and p.flags & 1:
            key = "elf.segment.gnu_stack_exec"
    else:
        key = "elf.segment.other"
    return key, fields
