"""`kernlab struct NAME`: a kernel structure's layout from BTF, printed the way pahole does."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.source.btf_layout import StructLayout

_COLUMN_LIMIT = 64  # declarations longer than this push their comment further right


@click.command(
    "struct",
    epilog=examples(
        "kernlab struct mm_struct            fields of one anonymous struct, inline at their offsets",
        "kernlab struct task_struct -q       the layout without the closing sentence",
        "kernlab struct list_head --json     offsets and sizes as JSON",
        "kernlab struct file --expand        embedded structs opened up too",
    ),
)
@click.argument("name")
@click.option("--expand", "-E", is_flag=True, help="Also list the members of embedded structs and unions.")
@click.option(
    "--btf",
    "btf_path",
    default="/sys/kernel/btf/vmlinux",
    show_default=True,
    metavar="FILE",
    help="BTF file to read (a module's file in /sys/kernel/btf is read on top of vmlinux).",
)
@click.option(
    "--id",
    "type_id",
    type=int,
    default=None,
    metavar="TYPE_ID",
    help="When several structures share NAME, the BTF type id of the one to show.",
)
@output_options
def struct(name: str, expand: bool, btf_path: str, type_id: int | None, out: Output) -> None:
    """A kernel structure's layout from the running kernel's BTF: members, offsets, sizes,
    bit-fields, holes and cache lines, like pahole. Members of anonymous structs and unions
    are shown at their offsets in the outer structure."""
    from kernlab.source.btf import load_btf
    from kernlab.source.btf_layout import struct_layout

    layout = struct_layout(load_btf(btf_path), name, expand=expand, type_id=type_id)
    out.emit(layout, _render)


def _comment(offset: int, size: int, bit_offset: int | None = None) -> str:
    if bit_offset is None:
        return f"/* {offset:6} {size:6} */"
    return f"/* {offset:6}:{bit_offset:2} {size:3} */"


def _render(layout: StructLayout, out: Output) -> None:
    from kernlab.render.terminal import console
    from kernlab.source.btf_layout import layout_sentence

    def print_line(text: str) -> None:
        # pahole-style lines must not be wrapped at the terminal width: the columns would break.
        console().print(text, markup=False, highlight=False, soft_wrap=True)

    lines: list[tuple[str, str]] = []  # (code, comment)
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

    width = min(_COLUMN_LIMIT, max((len(code.expandtabs(8)) for code, c in lines if c), default=0))
    print_line(f"{layout.kind} {layout.name} {{")
    for code, comment in lines:
        if comment:
            print_line(f"{code.expandtabs(8):<{width}} {comment}")
        else:
            print_line(code.expandtabs(8))
    print_line("")
    pad = " " * 8
    summary = f"size: {layout.size}, cachelines: {layout.cachelines}, members: {layout.member_count}"
    print_line(f"{pad}/* {summary} */")
    holes = [h for h in layout.holes if not h.padding and h.size]
    if holes or layout.padding:
        print_line(f"{pad}/* sum holes: {layout.hole_bytes} in {len(holes)}, padding: {layout.padding} */")
    tail = layout.size % line_size
    if tail:
        print_line(f"{pad}/* last cacheline: {tail} bytes */")
    print_line("};")
    out.sentence(layout_sentence(layout))
