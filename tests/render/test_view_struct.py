"""views.struct: a layout of fixed figures printed the way pahole prints it, compared with golden
text; the closing sentence comes from explain.struct in the language in force."""

from __future__ import annotations

import dataclasses

from kernlab.render.output import Output
from kernlab.render.views import struct as view
from kernlab.reports.struct import StructReport
from kernlab.source.btf_layout import Hole, LayoutBlock, LayoutMember


def _member(name: str, type_name: str, offset: int, size: int, depth: int = 0, bits: int = 0) -> LayoutMember:
    return LayoutMember(
        name=name,
        type_name=type_name,
        offset_bytes=offset,
        bit_offset=0,
        bit_size=bits,
        size=size,
        depth=depth,
        via_anonymous=depth > 0,
        offset_bits=offset * 8,
        declaration=f"{type_name} {name}",
        path=name,
        type_id=1,
    )


def _layout() -> StructReport:
    """struct demo { int a; long b; union { int c; char d; }; unsigned int flag:3; char e; }
    with 16-byte cache lines: a 4-byte hole after a, a 5-bit hole after flag, 2 bytes of padding."""
    members = [
        _member("a", "int", 0, 4),
        _member("b", "long", 8, 8),
        _member("c", "int", 16, 4, depth=1),
        _member("d", "char", 16, 1, depth=1),
        _member("flag", "unsigned int", 20, 4, bits=3),
        _member("e", "char", 21, 1),
    ]
    return StructReport(
        name="demo",
        kind="struct",
        size=24,
        type_id=7,
        members=members,
        blocks=[LayoutBlock("union", "union", "", 16, 4, 0, 2, 4)],
        holes=[Hole(4, 4, 0, 0), Hole(20, 0, 5, 0)],
        padding=2,
        hole_bytes=4,
        cacheline_size=16,
        cachelines=2,
        member_count=5,
        anonymous_blocks=1,
        btf_path="/saved/btf",
        _outline=[
            ("member", 0),
            ("hole", 0),
            ("member", 1),
            ("open", 0),
            ("member", 2),
            ("member", 3),
            ("close", 0),
            ("member", 4),
            ("hole", 1),
            ("member", 5),
        ],
    )


GOLDEN = """\
struct demo {
        int a;               /*      0      4 */
        /* XXX 4 bytes hole, try to pack */

        long b;              /*      8      8 */
        /* --- cacheline 1 boundary (16 bytes) --- */
        union {
                int c;       /*     16      4 */
                char d;      /*     16      1 */
        };                   /*     16      4 */
        unsigned int flag:3; /*     20: 0   4 */
        /* XXX 5 bits hole, try to pack */

        char e;              /*     21      1 */

        /* size: 24, cachelines: 2, members: 5 */
        /* sum holes: 4 in 1, padding: 2 */
        /* last cacheline: 8 bytes */
};
→ struct demo is 24 bytes over 2 cache lines of 16 bytes; 1 hole wastes 4 bytes; \
5 bits sit unused between bit-fields; 2 bytes of padding fill it up to a multiple of its alignment; \
2 of its 6 fields sit inside one anonymous union, listed at their offsets in demo.
"""


def test_view_prints_the_golden_text(capsys):
    view.show(_layout(), Output())
    assert capsys.readouterr().out == GOLDEN


def test_other_definitions_and_quiet(capsys):
    view.show(dataclasses.replace(_layout(), other_definitions=[9, 11]), Output())
    flat = " ".join(capsys.readouterr().out.split())
    assert "BTF holds 2 other definitions under this name (type ids 9, 11); this one is id 7" in flat
    view.show(_layout(), Output(quiet=True))
    out = capsys.readouterr().out
    assert "→" not in out and out.endswith("};\n")


def test_sentence_speaks_the_language_in_force(capsys):
    from kernlab import explain

    explain.set_language("ko")
    try:
        view.show(_layout(), Output())
    finally:
        explain.set_language("en")
    out = capsys.readouterr().out
    assert "24바이트" in out and "bytes over" not in out
