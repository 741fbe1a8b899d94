"""What a structure's layout means: size, cache lines, holes, padding, anonymous parts."""

from __future__ import annotations

from kernlab.explain import count, say
from kernlab.reports.struct import StructReport

__all__ = ["layout_sentence"]


def layout_sentence(layout: StructReport) -> str:
    """One sentence of clauses, each from a figure of the layout."""
    # Every count is said with its noun, or picks the key whose verb agrees (explain.count).
    size = count("struct.n.byte", layout.size)
    if layout.cachelines <= 1:
        parts = [
            say(
                "struct.summary_one_line",
                kind=layout.kind,
                name=layout.name,
                size=size,
                line=layout.cacheline_size,
            )
        ]
    else:
        parts = [
            say(
                "struct.summary",
                kind=layout.kind,
                name=layout.name,
                size=size,
                lines=count("struct.n.cacheline", layout.cachelines),
                line=count("struct.n.byte", layout.cacheline_size),
            )
        ]
    holes = [h for h in layout.holes if not h.padding and h.size]
    if layout.kind == "union":
        parts.append(say("struct.union_note"))
    elif not holes:
        parts.append(say("struct.no_holes"))
    else:
        parts.append(count("struct.holes", len(holes), bytes=count("struct.n.byte", layout.hole_bytes)))
    bits = sum(h.bits for h in layout.holes if not h.padding)
    if bits:
        parts.append(count("struct.bit_holes", bits))
    if layout.padding:
        parts.append(count("struct.padding", layout.padding))
    parts += _anonymous_parts(layout)
    if layout.other_definitions:
        others = layout.other_definitions
        ids = ", ".join(map(str, others))
        parts.append(count("struct.other_definitions", len(others), ids=ids, chosen=layout.type_id))
    return say("struct.sentence", parts="; ".join(parts))


def _anonymous_parts(layout: StructReport) -> list[str]:
    top_anon = [b for b in layout.blocks if not b.name and b.depth == 0]
    inside = sum(1 for m in layout.members if m.via_anonymous)
    if not (top_anon and inside):
        return []
    fields = count("struct.n.field", len(layout.members))
    if len(top_anon) == 1:
        return [count("struct.anon_block", inside, fields=fields, kind=top_anon[0].kind, name=layout.name)]
    blocks = count("struct.n.anon_block", len(top_anon))
    return [count("struct.anon_blocks", inside, fields=fields, blocks=blocks, name=layout.name)]
