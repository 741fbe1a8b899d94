"""`kernlab struct` for a person: the layout printed the way pahole prints it."""

from __future__ import annotations

from kernlab.explain import struct as explain
from kernlab.render.output import Output
from kernlab.render.terminal import console
from kernlab.reports.struct import StructReport

__all__ = ["layout_lines", "show"]

COLUMN_LIMIT = 64  # declarations longer than this push their comment further right
_PAD = " " * 8


def show(report: StructReport, out: Output) -> None:
    for line in layout_lines(report):
        # pahole-style lines must not be wrapped at the terminal width: the columns would break.
        console().print(line, markup=False, highlight=False, soft_wrap=True)
    out.sentence(explain.layout_sentence(report))


def layout_lines(layout: StructReport) -> list[str]:
    """The layout as pahole's lines: members with /* offset size */ comments, then the totals."""
    body = _body(layout)
    width = min(COLUMN_LIMIT, max((len(code.expandtabs(8)) for code, c in body if c), default=0))
    lines = [f"{layout.kind} {layout.name} {{"]
    for code, comment in body:
        lines.append(f"{code.expandtabs(8):<{width}} {comment}" if comment else code.expandtabs(8))
    lines.append("")
    summary = f"size: {layout.size}, cachelines: {layout.cachelines}, members: {layout.member_count}"
    lines.append(f"{_PAD}/* {summary} */")
    holes = [h for h in layout.holes if not h.padding and h.size]
    if holes or layout.padding:
        lines.append(f"{_PAD}/* sum holes: {layout.hole_bytes} in {len(holes)}, padding: {layout.padding} */")
    tail = layout.size % layout.cacheline_size
    if tail:
        lines.append(f"{_PAD}/* last cacheline: {tail} bytes */")
    lines.append("};")
    return lines


def _comment(offset: int, size: int, bit_offset: int | None = None) -> str:
    if bit_offset is None:
        return f"/* {offset:6} {size:6} */"
    return f"/* {offset:6}:{bit_offset:2} {size:3} */"


def _body(layout: StructReport) -> list[tuple[str, str]]:
    """(code, comment) pairs in display order, cache-line boundaries included."""
    lines: list[tuple[str, str]] = []
    next_line = 1
    line_size = layout.cacheline_size

    def boundary(offset: int, depth: int) -> None:
        nonlocal next_line
        while offset >= next_line * line_size:
            mark = next_line * line_size
            lines.append(
                ("\t" * (depth + 1) + f"/* --- cacheline {next_line} boundary ({mark} bytes) --- */", "")
            )
            next_line += 1

    for what, index in layout.outline:
        if what == "member":
            m = layout.members[index]
            boundary(m.offset_bytes, m.depth)
            indent = "\t" * (m.depth + 1)
            if m.bit_size:
                lines.append(
                    (f"{indent}{m.declaration}:{m.bit_size};", _comment(m.offset_bytes, m.size, m.bit_offset))
                )
            else:
                lines.append((f"{indent}{m.declaration};", _comment(m.offset_bytes, m.size)))
        elif what == "open":
            b = layout.blocks[index]
            boundary(b.offset_bytes, b.depth)
            lines.append(("\t" * (b.depth + 1) + f"{b.type_name if b.name else b.kind} {{", ""))
        elif what == "close":
            b = layout.blocks[index]
            label = f"}} {b.name};" if b.name else "};"
            lines.append(("\t" * (b.depth + 1) + label, _comment(b.offset_bytes, b.size)))
        else:
            h = layout.holes[index]
            indent = "\t" * (h.depth + 1)
            if h.bits:
                lines.append((f"{indent}/* XXX {h.bits} bits hole, try to pack */", ""))
            if h.size:
                word = "padding" if h.padding else "hole, try to pack"
                lines.append((f"{indent}/* XXX {h.size} bytes {word} */", ""))
            lines.append(("", ""))
    return lines
