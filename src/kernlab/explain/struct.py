"""What a structure's layout means: size, cache lines, holes, padding, anonymous parts."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.reports.struct import StructReport

__all__ = ["layout_sentence"]


def layout_sentence(layout: StructReport) -> str:
    """One sentence of clauses, each from a figure of the layout."""
    fields = {"kind": layout.kind, "name": layout.name, "size": layout.size, "line": layout.cacheline_size}
    if layout.cachelines <= 1:
        parts = [say("struct.summary_one_line", **fields)]
    else:
        parts = [say("struct.summary", cachelines=layout.cachelines, **fields)]
    holes = [h for h in layout.holes if not h.padding and h.size]
    if layout.kind == "union":
        parts.append(say("struct.union_note"))
    elif not holes:
        parts.append(say("struct.no_holes"))
    elif len(holes) == 1:
        parts.append(say("struct.one_hole", bytes=layout.hole_bytes))
    else:
        parts.append(say("struct.holes", count=len(holes), bytes=layout.hole_bytes))
    bits = sum(h.bits for h in layout.holes if not h.padding)
    if bits:
        parts.append(say("struct.bit_holes", bits=bits))
    if layout.padding:
        parts.append(say("struct.padding", padding=layout.padding))
    parts += _anonymous_parts(layout)
    if layout.other_definitions:
        others = layout.other_definitions
        ids = ", ".join(map(str, others))
        parts.append(say("struct.other_definitions", count=len(others), ids=ids, chosen=layout.type_id))
    return say("struct.sentence", parts="; ".join(parts))


def _anonymous_parts(layout: StructReport) -> list[str]:
    top_anon = [b for b in layout.blocks if not b.name and b.depth == 0]
    inside = sum(1 for m in layout.members if m.via_anonymous)
    if not (top_anon and inside):
        return []
    total = len(layout.members)
    if len(top_anon) == 1:
        return [say("struct.anon_one", inside=inside, total=total, kind=top_anon[0].kind, name=layout.name)]
    return [say("struct.anon_many", inside=inside, total=total, blocks=len(top_anon), name=layout.name)]
