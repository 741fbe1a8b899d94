"""The layout of an x86 instruction: where its displacement and immediate are, from its bytes.

An instruction is prefixes, REX/VEX/EVEX, opcode, ModRM, SIB, displacement, immediate
(Intel SDM vol. 2, chapter 2). Two instructions equal in every byte but their displacement and
immediate are written alike by objdump but for those numbers, so a rewritten text can be kept
as a template for the instruction's *shape* (its bytes but the holes of :func:`layout`) and
filled with each one's numbers: libc's 35,000 distinct byte strings are about 9,000 shapes.

Only what decides the layout is decoded: which opcodes have a ModRM byte, the displacement
size from mod/rm/SIB and the address size, the immediate size from the opcode and the operand
size. Forms whose layout is not that simple (3DNow!, XOP, SSE4a's two immediates, 16-bit
addressing, control-register moves whose mod bits are ignored) give None, and so does a byte
string this decoder would measure at another length than it has.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["HOLE_DISP", "HOLE_IMM", "HOLE_REL", "HOLE_RIP", "Layout", "c_tables", "layout", "measure"]

HOLE_DISP = 0  # a memory operand's displacement (a signed number, or an absolute address)
HOLE_RIP = 1  # a RIP-relative displacement: the text names the target
HOLE_IMM = 2  # an immediate operand
HOLE_REL = 3  # a relative branch's displacement


class Layout(NamedTuple):
    """Where the numbers of one instruction are. ``fixed`` bytes decide everything else of its
    text; the holes follow them, each (kind, offset, size)."""

    length: int
    fixed: int  # bytes [0, fixed) and [tail, length) are the shape
    tail: int  # the holes are contiguous, from ``fixed`` to ``tail``
    holes: tuple[tuple[int, int, int], ...]


_LEGACY = frozenset({0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67})

# One-byte map: opcodes with a ModRM byte.
_MODRM1 = frozenset(
    [o for base in range(0, 0x40, 8) for o in range(base, base + 4)]
    + [0x62, 0x63, 0x69, 0x6B]
    + list(range(0x80, 0x90))
    + [0xC0, 0xC1, 0xC4, 0xC5, 0xC6, 0xC7, 0xD0, 0xD1, 0xD2, 0xD3]
    + list(range(0xD8, 0xE0))
    + [0xF6, 0xF7, 0xFE, 0xFF]
)
# One-byte map: immediate of 1 byte, or of the operand size ("z": 2 or 4).
_IMM8_1 = frozenset(
    [base + 4 for base in range(0, 0x40, 8)]
    + [0x6A, 0x6B, 0x80, 0x82, 0x83, 0xA8, 0xC0, 0xC1, 0xC6, 0xCD, 0xD4, 0xD5, 0xE4, 0xE5, 0xE6, 0xE7]
    + list(range(0xB0, 0xB8))
)
_IMMZ_1 = frozenset([base + 5 for base in range(0, 0x40, 8)] + [0x68, 0x69, 0x81, 0xA9, 0xC7])
_REL8_1 = frozenset([*range(0x70, 0x80), 0xE0, 0xE1, 0xE2, 0xE3, 0xEB])
# Opcodes whose layout this decoder leaves alone: far pointers, enter's two immediates, moffs.
_ODD_1 = frozenset([0x9A, 0xEA, 0xC8, 0xA0, 0xA1, 0xA2, 0xA3])

# Two-byte map (0F xx): opcodes without a ModRM byte, and those with an 8-bit immediate.
_NO_MODRM2 = frozenset(
    [
        *(0x05, 0x06, 0x07, 0x08, 0x09, 0x0B, 0x0E, 0x77, 0xA0, 0xA1, 0xA2, 0xA8, 0xA9, 0xAA),
        *range(0x30, 0x38),
        *range(0x80, 0x90),
        *range(0xC8, 0xD0),
    ]
)
_IMM8_2 = frozenset([0x70, 0x71, 0x72, 0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6])
_ODD_2 = frozenset([0x0F, 0x78, 0x79, 0x20, 0x21, 0x22, 0x23, 0x24, 0x26, 0x7A, 0x7B])
# An immediate objdump folds into the mnemonic for some values (cmpps $1 -> cmpltps,
# pclmulqdq $0 -> pclmullqlqdq, vpcmpub $1 -> vpcmpltub): it stays in the shape.
# An immediate whose high nibble names a register (is4: vblendvps, FMA4, vpermil2ps) is not a
# number either.
_FOLDED_IMM = frozenset(
    [(1, 0xC2), (3, 0x44), (3, 0x1E), (3, 0x1F), (3, 0x3E), (3, 0x3F), (3, 0xC2)]
    + [(3, op) for op in [*range(0x48, 0x4D), *range(0x5C, 0x60), *range(0x68, 0x70), *range(0x78, 0x80)]]
)
_VEX_IMM8_1 = frozenset([0x70, 0x71, 0x72, 0x73, 0xC2, 0xC4, 0xC5, 0xC6])


# Per opcode of the one-byte and 0F maps: (has ModRM, immediate kind), immediate kinds being
# the size in bytes, or Z (2 or 4 by the operand size), V (B8+r: 2, 4 or 8), RZ (a relative
# branch's 2 or 4), negative for a relative 1-byte branch, ODD for a layout left alone.
Z, V, RZ, ODD = 10, 11, 12, 13


def _table1() -> list[tuple[bool, int]]:
    out = []
    for op in range(256):
        if op in _ODD_1:
            out.append((False, ODD))
            continue
        if op in _IMM8_1:
            imm = 1
        elif op in _REL8_1:
            imm = -1
        elif op in _IMMZ_1:
            imm = Z
        elif op in (0xE8, 0xE9):
            imm = RZ
        elif 0xB8 <= op <= 0xBF:
            imm = V
        elif op in (0xC2, 0xCA):
            imm = 2
        else:
            imm = 0
        out.append((op in _MODRM1, imm))
    return out


def _table2() -> list[tuple[bool, int]]:
    out = []
    for op in range(256):
        if op in _ODD_2 or op in (0x38, 0x3A):
            out.append((False, ODD))
        elif 0x80 <= op <= 0x8F:
            out.append((False, RZ))
        else:
            out.append((op not in _NO_MODRM2, 1 if op in _IMM8_2 else 0))
    return out


_MAP1 = _table1()
_MAP2 = _table2()
_NOTHING: tuple[tuple[int, int, int], ...] = ()


def layout(raw: bytes, mode64: bool = True) -> Layout | None:
    """The layout of the instruction ``raw`` (all its bytes), or None when it is not one this
    decoder measures, or its measured length is not ``len(raw)``."""
    found = _measure(raw, mode64)
    if found is None or found[0] != len(raw):
        return None
    return Layout(*found)


def measure(raw: bytes, mode64: bool = True) -> Layout | None:
    """The layout of the instruction at the start of ``raw`` (which may hold more bytes after
    it), or None when it is not one this decoder measures."""
    found = _measure(raw, mode64)
    return None if found is None else Layout(*found)


def _measure(raw: bytes, mode64: bool) -> tuple[int, int, int, tuple[tuple[int, int, int], ...]] | None:
    """:func:`measure` as a plain tuple (length, fixed, tail, holes): the hot path's form."""
    n = len(raw)
    i = 0
    opsize16 = False
    b = raw[0]
    if b in _LEGACY:
        addr_other = False
        while b in _LEGACY:
            if b == 0x66:
                opsize16 = True
            elif b == 0x67:
                addr_other = True
            i += 1
            if i >= n:
                return None
            b = raw[i]
        if addr_other and not mode64:
            return None  # 16-bit addressing
    rex_w = False
    if mode64 and 0x40 <= b <= 0x4F:
        rex_w = b >= 0x48
        i += 1
        if i >= n:
            return None
        b = raw[i]
    evex = False
    folded = False
    rel = False
    if b == 0x0F:
        if i + 1 >= n:
            return None
        op = raw[i + 1]
        if op == 0x38 or op == 0x3A:
            if i + 2 >= n:
                return None
            opmap = 2 if op == 0x38 else 3
            op = raw[i + 2]
            i += 3
            has_modrm = True
            imm = 1 if opmap == 3 else 0
            folded = opmap == 3 and (3, op) in _FOLDED_IMM
        else:
            has_modrm, imm = _MAP2[op]
            i += 2
            if imm == ODD:
                return None
            if imm == RZ:
                rel = True
                imm = 2 if opsize16 and not mode64 else 4
            folded = op == 0xC2
    elif (b == 0xC4 or b == 0xC5 or b == 0x62) and (mode64 or (i + 1 < n and raw[i + 1] >= 0xC0)):
        if b == 0xC5:
            opmap = 1
            i += 2
        elif b == 0xC4:
            if i + 2 >= n:
                return None
            opmap = raw[i + 1] & 0x1F
            i += 3
        else:
            if i + 3 >= n:
                return None
            opmap = raw[i + 1] & 0x07
            i += 4
            evex = True
        if i >= n or opmap < 1 or opmap > 3:
            return None
        op = raw[i]
        i += 1
        if opmap == 1 and op == 0x77 and not evex:
            return (i, i, i, _NOTHING)  # vzeroupper, vzeroall: no ModRM
        has_modrm = True
        imm = 1 if opmap == 3 or (opmap == 1 and op in _VEX_IMM8_1) else 0
        folded = (opmap, op) in _FOLDED_IMM
    else:
        has_modrm, imm = _MAP1[b]
        i += 1
        if imm:
            if imm == ODD:
                return None
            if imm < 0:
                imm, rel = 1, True
            elif imm == Z:
                imm = 2 if opsize16 else 4
            elif imm == RZ:
                imm, rel = (2 if opsize16 and not mode64 else 4), True
            elif imm == V:
                imm = 8 if rex_w else 2 if opsize16 else 4
        if has_modrm:
            if i >= n:
                return None
            if b == 0xF6 or b == 0xF7:
                if (raw[i] >> 3) & 7 < 2:
                    imm = 1 if b == 0xF6 else 2 if opsize16 else 4
            elif b == 0xC7 and raw[i] == 0xF8:
                rel = True  # xbegin
            elif b == 0x8F and raw[i] & 0x38:
                return None  # AMD's XOP
    holes: list[tuple[int, int, int]] = []
    if has_modrm:
        if i >= n:
            return None
        modrm = raw[i]
        i += 1
        mod = modrm >> 6
        if mod != 3:
            rm = modrm & 7
            disp = 0
            kind = HOLE_DISP
            if rm == 4:
                if i >= n:
                    return None
                if mod == 0 and raw[i] & 7 == 5:
                    disp = 4
                i += 1
            elif mod == 0 and rm == 5:
                disp = 4
                if mode64:
                    kind = HOLE_RIP
            if mod == 1:
                disp = 1
            elif mod == 2:
                disp = 4
            if disp and not (evex and mod == 1):  # EVEX scales a one-byte displacement (disp8*N)
                holes.append((kind, i, disp))
            i += disp
    if imm:
        if not folded:
            holes.append((HOLE_REL if rel else HOLE_IMM, i, imm))
        i += imm
    if i > n:
        return None
    if not holes:
        return (i, i, i, _NOTHING)
    last = holes[-1]
    return (i, holes[0][1], last[1] + last[2], tuple(holes))


def c_tables() -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """The opcode tables above as the C twin of :func:`_measure` reads them (elf/disasm/_hits.c):
    per opcode of the one-byte and 0F maps, has-ModRM in bit 7 and the immediate kind below it
    (a relative 1-byte branch as 14); then a byte per (map, opcode) whose immediate is folded,
    per VEX map-1 opcode with an 8-bit immediate, and per legacy prefix."""
    rel8 = 14

    def packed(table: list[tuple[bool, int]]) -> bytes:
        return bytes((0x80 if modrm else 0) | (rel8 if imm < 0 else imm) for modrm, imm in table)

    folded = bytearray(4 * 256)
    for opmap, op in _FOLDED_IMM:
        folded[opmap * 256 + op] = 1
    vex = bytes(1 if op in _VEX_IMM8_1 else 0 for op in range(256))
    legacy = bytes(1 if b in _LEGACY else 0 for b in range(256))
    return packed(_MAP1), packed(_MAP2), bytes(folded), vex, legacy
