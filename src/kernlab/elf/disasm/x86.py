"""x86 instructions as GNU objdump writes them, from capstone's decoded details.

AT&T syntax: size suffixes only where no register operand gives the size (``movq $0x0,0x8(%rsp)``
but ``mov %rax,0x8(%rsp)``), hex immediates masked to the operand size, ``0x0(%rax,%rax,1)`` when
a zero displacement is encoded, segment prefixes that mean nothing in 64-bit mode written as
words (``cs nopw``), string instructions with their implicit ``%es:(%rdi)`` operands; Intel
syntax with ``--intel``. Branch targets are ``1030 <puts@plt>``, RIP-relative operands are
followed by ``# 4018 <counter>``.
"""

from __future__ import annotations

from typing import Any

from kernlab.elf.disasm.symbols import Symbolizer

__all__ = ["X86Formatter"]

# Machine words for which objdump never writes a size suffix even with only memory operands:
# their operand size is fixed (stack and control transfer default to 64 bits in long mode).
NO_SUFFIX = frozenset(
    (
        "push",
        "pop",
        "call",
        "jmp",
        "lcall",
        "ljmp",
        "lgdt",
        "lidt",
        "sgdt",
        "sidt",
        "lldt",
        "sldt",
        "ltr",
        "str",
        "invlpg",
        "clflush",
        "clflushopt",
        "clwb",
        "prefetch",
        "prefetchw",
        "prefetcht0",
        "prefetcht1",
        "prefetcht2",
        "prefetchnta",
        "fxsave",
        "fxrstor",
        "fxsave64",
        "fxrstor64",
        "xsave",
        "xrstor",
        "xsave64",
        "xrstor64",
        "xsavec",
        "xsavec64",
        "xsaveopt",
        "xsaveopt64",
        "xsaves",
        "xsaves64",
        "xrstors",
        "xrstors64",
        "ldmxcsr",
        "stmxcsr",
        "vldmxcsr",
        "vstmxcsr",
        "lea",
        "rdrand",
        "rdseed",
        "cmpxchg8b",
        "cmpxchg16b",
        "setb",
        "setae",
        "sete",
        "setne",
        "setbe",
        "seta",
        "sets",
        "setns",
        "setp",
        "setnp",
        "setl",
        "setge",
        "setle",
        "setg",
        "seto",
        "setno",
        "fnstcw",
        "fldcw",
        "fnstsw",
        "fnstenv",
        "fldenv",
        "lfence",
        "mfence",
        "sfence",
        "bound",
    )
)
# Intel mnemonic -> objdump's AT&T word for sign/zero-extension and conversions.
ATT_CONVERSIONS: dict[str, str] = {
    "cbw": "cbtw",
    "cwde": "cwtl",
    "cdqe": "cltq",
    "cwd": "cwtd",
    "cdq": "cltd",
    "cqo": "cqto",
}
SIZE_SUFFIX = {1: "b", 2: "w", 4: "l", 8: "q"}
INTEL_SIZES = {
    1: "BYTE",
    2: "WORD",
    4: "DWORD",
    8: "QWORD",
    10: "TBYTE",
    16: "XMMWORD",
    32: "YMMWORD",
    64: "ZMMWORD",
}
SCALAR_COMPARE_SIZES = {
    "comisd": 8,
    "ucomisd": 8,
    "vcomisd": 8,
    "vucomisd": 8,
    "comiss": 4,
    "ucomiss": 4,
    "vcomiss": 4,
    "vucomiss": 4,
}
REX_IGNORED_OPCODES = frozenset({0xE8, 0xE9, 0xEB})
MNEMONIC_PREFIXES = frozenset(
    ("rep", "repe", "repz", "repne", "repnz", "lock", "bnd", "notrack", "xacquire", "xrelease")
)
STRING_SEGMENTS = {"rdi": "es", "edi": "es", "di": "es", "rsi": "ds", "esi": "ds", "si": "ds"}
STRING_OPS = {"stos", "lods", "movs", "scas", "cmps", "ins", "outs"}
# Port I/O instructions (capstone's names), whose %dx port AT&T writes as (%dx).
PORT_IO = frozenset({"in", "out", "insb", "insw", "insd", "outsb", "outsw", "outsd"})
USELESS_SEGMENTS_64 = {0x2E: "cs", 0x3E: "ds", 0x26: "es", 0x36: "ss"}
# capstone's repeat prefixes -> objdump's: f3/f2 are "repz"/"repnz" except that f3 on a string
# move, store, load or port string is "rep".
REPEAT_WORDS = {"repe": "repz", "repne": "repnz"}
REPEAT_PREFIXES = {0xF2: "repnz", 0xF3: "repz"}
# capstone's words showing that it took a repeat prefix as part of the instruction.
REPEAT_LEADS = frozenset(("rep", "repz", "repnz", "bnd", "xacquire", "xrelease"))
# Shifts and rotates: a count in %cl says nothing of the operand size, so with a memory
# operand objdump writes the suffix (shrq %cl,0x10(%rbx)).
SHIFTS = frozenset(("rol", "ror", "rcl", "rcr", "shl", "sal", "shr", "sar"))
# objdump's pseudo-op names of pclmulqdq by its immediate (PCLMUL_Fixup in i386-dis.c: the
# immediates 0x10 and 0x11 become 2 and 3, and any immediate below 4 picks a name).
PCLMUL_NAMES = ("lqlq", "hqlq", "lqhq", "hqhq")
# VIA PadLock instructions, as objdump spells them.
PADLOCK_NAMES = {f"xcrypt{mode}": f"xcrypt-{mode}" for mode in ("ecb", "cbc", "ctr", "cfb", "ofb")}
PADLOCK_NAMES["xstore"] = "xstore-rng"
# capstone's far return -> objdump's.
ATT_RENAMES = {"retf": "lret", "retfq": "lretq"}
# capstone's flags pushes and pops -> objdump's word, the same in both modes and syntaxes.
FLAGS_WORDS = {"pushf": "pushf", "pushfq": "pushf", "pushfd": "pushf", "popf": "popf", "popfq": "popf"}
FLAGS_WORDS["popfd"] = "popf"
# capstone's X86_AVX_RM_* -> objdump's embedded rounding (with sae implied).
EVEX_ROUNDING = {1: "{rn-sae}", 2: "{rd-sae}", 3: "{ru-sae}", 4: "{rz-sae}"}
# SSE4.1 and SHA instructions reading %xmm0 implicitly: objdump lists it as their first
# AT&T operand (blendvps %xmm0,%xmm1,%xmm2), capstone leaves it out.
IMPLICIT_XMM0 = frozenset(("blendvps", "blendvpd", "pblendvb", "sha256rnds2"))
# Instructions whose general register is 64-bit with REX.W though capstone names its low half.
REX_W_WIDENS = frozenset(("movmskps", "movmskpd"))
# Relative branches whose 0x67 prefix selects the count register (jecxz, loopl), not unused.
COUNT_BRANCHES = frozenset((0xE0, 0xE1, 0xE2, 0xE3))
PREFIX_BYTES = {0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67}


def _hex(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def _is_vector(insn: Any, op: Any) -> bool:
    from capstone import x86

    return op.type == x86.X86_OP_REG and insn.reg_name(op.reg).startswith(("xmm", "ymm"))


def _string_op(insn: Any, mn: str, ops: list[Any]) -> str | None:
    """``stos`` for stosb/stosd/..., None for other instructions (movsd of SSE included)."""
    stem = mn[:-1] if mn[:-1] in STRING_OPS and mn[-1] in "bwdq" else (mn if mn in STRING_OPS else None)
    if stem is not None and any(_is_vector(insn, o) for o in ops):
        return None
    return stem


def _prefix_bytes(raw: bytes) -> list[int]:
    out = []
    for b in raw:
        if b in PREFIX_BYTES:
            out.append(b)
        else:
            break
    return out


def _evex_disp8_fixed(insn: Any, disp: int) -> int:
    """capstone scales the 8-bit displacement of EVEX ``vmovq %xmmN,m64`` (66 0F 7E W1) by 16;
    its element is 8 bytes (disp8*N with N = 8), as objdump has it."""
    raw = bytes(insn.bytes)
    if len(raw) < 7 or raw[0] != 0x62 or raw[1] & 3 != 1 or raw[2] & 0x83 != 0x81 or raw[4] != 0x7E:
        return disp
    if raw[5] >> 6 != 1:
        return disp
    return int.from_bytes(raw[-1:], "little", signed=True) * 8  # mod 01: the last byte


def _branch_hint(prefixes: list[int], opcode: int, body: bytes, has_rex: bool) -> str:
    """objdump's ``,pn`` (2e) or ``,pt`` (3e) for the last such prefix of a conditional jump."""
    conditional = 0x70 <= opcode <= 0x7F or (
        opcode == 0x0F and len(body) > 1 + has_rex and 0x80 <= body[1 + has_rex] <= 0x8F
    )
    hints = [b for b in prefixes if b in (0x2E, 0x3E)]
    if not conditional or not hints:
        return ""
    return ",pn" if hints[-1] == 0x2E else ",pt"


def _widened(register: str) -> str:
    """%rdx for %edx, %r9 for %r9d (either syntax)."""
    pct = "%" if register.startswith("%") else ""
    name = register[len(pct) :]
    if name.startswith("e"):
        return f"{pct}r{name[1:]}"
    return f"{pct}{name[:-1]}" if name.endswith("d") else register


def _pclmul_pseudo_op(mn: str, ops: list[Any], imm_type: int) -> tuple[list[Any], str]:
    """``pclmullqhqdq %xmm0,%xmm1`` for ``pclmulqdq $0x10,%xmm0,%xmm1`` (and the VEX form): the
    immediate objdump folds into the name, dropped from the operands."""
    if mn not in ("pclmulqdq", "vpclmulqdq") or not ops or ops[-1].type != imm_type:
        return ops, mn
    selector = ops[-1].imm & 0xFF
    selector = {0x10: 2, 0x11: 3}.get(selector, selector)
    if selector >= len(PCLMUL_NAMES):
        return ops, mn
    return ops[:-1], mn[:-3] + PCLMUL_NAMES[selector] + "dq"


def _evex_rounding(insn: Any, rendered: list[str], att: bool) -> None:
    """EVEX embedded rounding or suppressed exceptions: ``{rn-sae}`` or ``{sae}`` as an operand of
    its own, first in AT&T order (after an immediate), stuck to the last operand in Intel."""
    word = EVEX_ROUNDING.get(insn.avx_rm) or ("{sae}" if insn.avx_sae else None)
    if word is None or not rendered:
        return
    if att:
        # rendered is still in Intel order: the AT&T first operand is its last one.
        at = len(rendered) - 1 if rendered[-1].startswith("$") else len(rendered)
        rendered.insert(at, word)
    else:
        rendered[-1] += word  # Intel: zmm1{rn-sae}, no comma


class X86Formatter:
    """capstone (Intel syntax, with details) -> objdump's AT&T or Intel text."""

    def __init__(self, mode64: bool, syntax: str, symbolizer: Symbolizer) -> None:
        from capstone import x86

        self.x86 = x86
        self.mode64 = mode64
        self.syntax = syntax
        self.sym = symbolizer
        self.section: str | None = None  # the section being disassembled (objdump prefers its symbols)
        self._bare: Any = None  # a capstone handle without details, for _mandatory_66

    def _reg(self, insn: Any, reg: int) -> str:
        name = insn.reg_name(reg)
        if name.startswith("dr") and self.syntax == "att":
            name = "db" + name[2:]  # objdump's AT&T name of a debug register: %db7
        return f"%{name}" if self.syntax == "att" else name

    def _imm(self, value: int, size: int) -> str:
        size = size or (8 if self.mode64 else 4)
        masked = value & ((1 << (8 * size)) - 1)
        return f"${masked:#x}" if self.syntax == "att" else f"{masked:#x}"

    def _target(self, address: int) -> tuple[str, str | None]:
        name = self.sym.name(address, self.section)
        text = f"{address:x} <{name}>" if name else f"{self.sym.bare_prefix}{address:x}"
        return text, name

    def _mem_att(self, insn: Any, op: Any, implicit_seg: str | None = None) -> str:
        mem = op.mem
        base = insn.reg_name(mem.base) if mem.base else None
        index = insn.reg_name(mem.index) if mem.index else None
        seg = insn.reg_name(mem.segment) if mem.segment else implicit_seg
        if seg in ("cs", "ds", "es", "ss") and implicit_seg is None and self.mode64:
            seg = None  # written as a prefix word instead (see _prefix_words)
        text = f"%{seg}:" if seg else ""
        if base is None and index is None:
            mask = (1 << 64) - 1 if self.mode64 else 0xFFFFFFFF
            return text + f"{mem.disp & mask:#x}"
        disp = _evex_disp8_fixed(insn, mem.disp)
        if insn.disp_size or disp:
            text += _hex(disp)
        if index is None and base is not None and self._sib_without_index(insn, base):
            index = "riz" if self.mode64 else "eiz"
        if index is not None:
            text += f"({'%' + base if base else ''},%{index},{mem.scale})"
        else:
            text += f"(%{base})"
        return text

    def _sib_without_index(self, insn: Any, base: str) -> bool:
        # A SIB byte with index 100 (none) is needed for an rsp/r12 base; for any other base it is
        # a padding encoding, which objdump shows as %riz.
        if not insn.sib or base in ("rsp", "r12", "esp", "rip"):
            return False
        return (insn.sib_index == 0) and ((insn.sib >> 3) & 7) == 4

    def _mem_intel(self, insn: Any, op: Any, sized: bool = True, implicit: str | None = None) -> str:
        """objdump's Intel memory operand: ``QWORD PTR [rbp-0x8]``, ``fs:0x28``, ``ds:0x0``."""
        mem = op.mem
        # capstone gives the scalar compares a 16-byte operand; they read 8 (sd) or 4 (ss).
        width = SCALAR_COMPARE_SIZES.get(insn.mnemonic, op.size)
        size = INTEL_SIZES.get(width, "") if sized else ""
        prefix = f"{size} PTR " if size else ""
        seg = insn.reg_name(mem.segment) if mem.segment else implicit
        if seg in ("cs", "ds", "es", "ss") and implicit is None and self.mode64:
            seg = None  # written as a prefix word instead
        if not mem.base and not mem.index:
            mask = (1 << 64) - 1 if self.mode64 else 0xFFFFFFFF
            return f"{prefix}{seg or 'ds'}:{mem.disp & mask:#x}"
        parts = []
        if mem.base:
            parts.append(insn.reg_name(mem.base))
        if mem.index:
            parts.append(f"{insn.reg_name(mem.index)}*{mem.scale}")
        elif mem.base and self._sib_without_index(insn, insn.reg_name(mem.base)):
            parts.append(f"{'riz' if self.mode64 else 'eiz'}*{mem.scale}")
        inner = "+".join(parts)
        if parts and parts[0] in ("rip", "eip"):
            inner += f"+{mem.disp & ((1 << 64) - 1):#x}"  # objdump shows rip offsets unsigned
        elif mem.disp or insn.disp_size:
            inner += _hex(mem.disp) if mem.disp < 0 else f"+{mem.disp:#x}"
        return f"{prefix}{seg + ':' if seg else ''}[{inner}]"

    def format(self, insn: Any) -> tuple[str, str, int | None, str | None, str | None]:
        """(mnemonic, operands, target, target name, comment)."""
        x86 = self.x86
        ops = list(insn.operands)
        raw = bytes(insn.bytes)
        prefixes = _prefix_bytes(raw)
        body = raw[len(prefixes) :]  # REX (64-bit mode), opcode, ModRM, ...
        has_rex = self.mode64 and len(body) > 1 and 0x40 <= body[0] <= 0x4F
        opcode = body[1] if has_rex else (body[0] if body else 0)

        # capstone folds prefixes into the mnemonic ("rep stosd", "lock cmpxchg", "bnd jmp").
        parts = insn.mnemonic.split()
        lead = [REPEAT_WORDS.get(p, p) for p in parts[:-1] if p in MNEMONIC_PREFIXES]
        base_mn = "shl" if parts[-1] == "sal" else parts[-1]  # objdump names /6 of D0-D3 shl too
        base_mn = PADLOCK_NAMES.get(base_mn, base_mn)

        if body[:1] == b"\x90" and 0x66 in prefixes:
            # 66 90 is objdump's "xchg %ax,%ax"
            words = ["data16"] * (prefixes.count(0x66) - 1)
            operands = "%ax,%ax" if self.syntax == "att" else "ax,ax"
            return " ".join([*words, "xchg"]), operands, None, None, None
        words = self._prefix_words(insn, prefixes, body[1:2] if has_rex else body[:1], ops, base_mn, lead)
        if has_rex and opcode in REX_IGNORED_OPCODES:
            # A REX prefix a relative call/jump ignores (TLS sequences pad with one): objdump
            # shows it as a word, e.g. "data16 data16 rex.W call __tls_get_addr@plt".
            bits = "".join(flag for flag, mask in zip("WRXB", (8, 4, 2, 1), strict=True) if body[0] & mask)
            words.append(f"rex.{bits}" if bits else "rex")

        if body == b"\x0f\x01\xd9" and prefixes == [0xF3]:
            return "vmgexit", "", None, None, None  # capstone ignores the f3 that makes vmmcall vmgexit
        if base_mn == "wait":
            return " ".join([*words, "fwait"]), "", None, None, None
        modrm_at = 2 if has_rex else 1
        modrm = body[modrm_at] if len(body) > modrm_at else 0
        far = opcode == 0xFF and modrm < 0xC0 and (modrm >> 3) & 7 in (3, 5)
        if far and not has_rex and self.syntax == "att":
            base_mn = "lcall" if (modrm >> 3) & 7 == 3 else "ljmp"  # far, through memory
        if 0xD8 <= opcode <= 0xDF and modrm >= 0xC0:
            x87 = self._x87_register_form(opcode, modrm, base_mn)
            if x87 is not None:
                return " ".join([*words, *lead, x87[0]]), x87[1], None, None, None
        fixed = self._fixed_form(base_mn, prefixes, words)
        if fixed is not None:
            return fixed[0], fixed[1], None, None, None
        ops, base_mn = _pclmul_pseudo_op(base_mn, ops, x86.X86_OP_IMM)

        target = target_name = comment = None
        is_branch = insn.group(x86.X86_GRP_JUMP) or insn.group(x86.X86_GRP_CALL) or opcode in COUNT_BRANCHES
        rendered: list[str] = []
        # Shift-by-one forms (D0/D1) carry an implicit 1: objdump leaves it out in AT&T syntax
        # and writes it as a plain "1" in Intel syntax.
        shift_by_one = (
            opcode in (0xD0, 0xD1) and len(ops) == 2 and ops[1].type == x86.X86_OP_IMM and ops[1].imm == 1
        )
        if shift_by_one and self.syntax == "att":
            ops = ops[:1]

        string_op = _string_op(insn, base_mn, ops)

        port_io = base_mn in PORT_IO
        for op in ops:
            if op.type == x86.X86_OP_REG:
                reg = self._reg(insn, op.reg)
                if port_io and reg == "%dx":
                    reg = "(%dx)"  # GNU's AT&T spelling of the port in a register
                rendered.append(reg)
            elif op.type == x86.X86_OP_IMM:
                if base_mn == "xabort":
                    rendered.append(self._imm(op.imm, 1))
                elif shift_by_one and op is ops[-1]:
                    rendered.append("1")
                elif base_mn == "enter":
                    rendered.append(self._imm(op.imm, 2 if op is ops[0] else 1))  # imm16, imm8
                elif is_branch:
                    target = op.imm & ((1 << 64) - 1 if self.mode64 else 0xFFFFFFFF)
                    text, target_name = self._target(target)
                    rendered.append(text)
                else:
                    rendered.append(self._imm(op.imm, op.size))
            elif op.type == x86.X86_OP_MEM:
                implicit = None
                if string_op:
                    # String instructions name their implicit segments: %es:(%rdi), %ds:(%rsi).
                    base = insn.reg_name(op.mem.base) if op.mem.base else ""
                    implicit = STRING_SEGMENTS.get(base)
                if self.syntax == "att":
                    text = self._mem_att(insn, op, implicit)
                else:
                    text = self._mem_intel(insn, op, sized=base_mn != "lea", implicit=implicit)
                if "{1to" in insn.op_str:
                    # capstone's detail leaves avx_bcast 0; its text has the broadcast, which
                    # objdump writes (%rax){1to16} in AT&T, DWORD BCST [rax] in Intel syntax
                    if self.syntax == "att":
                        text += insn.op_str[insn.op_str.index("{1to") :].split("}", 1)[0] + "}"
                    else:
                        text = text.replace(" PTR ", " BCST ", 1)
                if is_branch:
                    text = ("*" if self.syntax == "att" else "") + text
                rendered.append(text)
                if op.mem.base and insn.reg_name(op.mem.base) in ("rip", "eip"):
                    target = (insn.address + insn.size + op.mem.disp) & ((1 << 64) - 1)
                    target_name = self.sym.name(target, self.section)
                    if target_name:
                        comment = f"# {target:x} <{target_name}>"
                    else:
                        comment = f"# {self.sym.bare_prefix}{target:x}"
        if is_branch and ops and ops[0].type == x86.X86_OP_REG and self.syntax == "att":
            rendered[0] = "*" + rendered[0]
        self._evex_mask(insn, body, ops, rendered)
        _evex_rounding(insn, rendered, self.syntax == "att")
        if base_mn in IMPLICIT_XMM0:
            rendered.append("%xmm0" if self.syntax == "att" else "xmm0")
        if base_mn in REX_W_WIDENS and has_rex and body[0] & 8:
            rendered[0] = _widened(rendered[0])

        if self.syntax == "att" and base_mn != "enter":  # objdump keeps enter's Intel order
            rendered.reverse()
        if self.syntax == "att":
            mn = self._att_mnemonic(insn, base_mn, ops, string_op)
            operands = ",".join(rendered)
        else:
            mn = string_op or base_mn  # objdump writes "stos", "movs" with sized operands
            operands = ",".join(rendered)
        hint = _branch_hint(prefixes, opcode, body, has_rex)
        if hint:
            # 2e/3e on a conditional jump is a hint: jb,pn / jl,pt, its segment word dropped
            mn += hint
            words.remove("cs" if hint == ",pn" else "ds")
        full = " ".join([*words, *lead, mn])
        return full, operands, target, target_name, comment

    def _prefix_words(
        self, insn: Any, prefixes: list[int], escape: bytes, ops: list[Any], mn: str, lead: list[str]
    ) -> list[str]:
        """Prefixes objdump writes as words, in byte order: segment overrides that mean nothing
        in 64-bit mode (``cs nopw``), and operand-size prefixes the instruction does not consume
        (the last 0x66 is consumed by a 16-bit operand or as the mandatory prefix of an SSE
        opcode; any other is ``data16``)."""
        uses_66 = any(o.size == 2 for o in ops) or (
            escape == b"\x0f" and any(_is_vector(insn, o) for o in ops)
        )
        if 0x66 in prefixes and not uses_66:
            uses_66 = self._mandatory(bytes(insn.bytes), 0x66, mn)
        last_66 = len(prefixes) - 1 - prefixes[::-1].index(0x66) if 0x66 in prefixes else -1
        repeats = [i for i, b in enumerate(prefixes) if b in REPEAT_PREFIXES]
        last_repeat = repeats[-1] if repeats else -1
        words = []
        for i, b in enumerate(prefixes):
            if b in REPEAT_PREFIXES:
                # objdump writes a repeat prefix nothing uses (repnz nop, repz add); capstone
                # drops it. One is used when capstone names it (rep, bnd, xacquire) or when the
                # bytes without it are another instruction (pause, popcnt, movsd).
                used = i == last_repeat and (
                    any(w in REPEAT_LEADS for w in lead) or self._mandatory(bytes(insn.bytes), b, mn)
                )
                if not used:
                    words.append(REPEAT_PREFIXES[b])
                continue
            if b == 0x3E and "notrack" in lead:
                continue  # 3e is the notrack prefix of an indirect branch
            if b in USELESS_SEGMENTS_64 and self.mode64:
                words.append(USELESS_SEGMENTS_64[b])
            elif b == 0xF0 and i < len(prefixes) - 1 - prefixes[::-1].index(0xF0):
                words.append("lock")  # all but the last lock, which capstone writes itself
            elif b in (0x64, 0x65) and not any(o.type == self.x86.X86_OP_MEM for o in ops):
                words.append("fs" if b == 0x64 else "gs")  # no memory operand to apply it to
            elif b == 0x66 and not (i == last_66 and uses_66):
                words.append("data16")
            elif b == 0x67 and self._unused_address_size(ops, escape):
                words.append("addr32" if self.mode64 else "addr16")
        return words

    def _unused_address_size(self, ops: list[Any], escape: bytes) -> bool:
        """0x67 with no memory operand to address, on anything but jecxz and loopl (whose
        count register it selects): objdump writes it as ``addr32``."""
        if any(o.type == self.x86.X86_OP_MEM for o in ops):
            return False
        return bool(escape) and escape[0] not in COUNT_BRANCHES

    def _mandatory(self, raw: bytes, prefix: int, mnemonic: str) -> bool:
        """True when the last ``prefix`` byte (0x66, 0xf2, 0xf3) is part of the opcode (adcx,
        pause, popcnt): without it the bytes decode as another instruction. objdump writes an
        unused prefix as a word (data16, repz), a mandatory one not."""
        if self._bare is None:
            import capstone

            self._bare = capstone.Cs(
                capstone.CS_ARCH_X86, capstone.CS_MODE_64 if self.mode64 else capstone.CS_MODE_32
            )
        at = len(raw) - 1 - raw[::-1].index(prefix, len(raw) - len(_prefix_bytes(raw)))
        for other in self._bare.disasm(raw[:at] + raw[at + 1 :], 0, 1):
            word = other.mnemonic.split()[-1]
            return PADLOCK_NAMES.get(word, word) != mnemonic
        return True

    def _fixed_form(self, mn: str, prefixes: list[int], words: list[str]) -> tuple[str, str] | None:
        """Instructions objdump writes unlike capstone whatever their bytes: ``pushf``/``popf``
        (``pushfw`` with 0x66) and ``xlat %ds:(%rbx)``."""
        if mn in FLAGS_WORDS:
            word = FLAGS_WORDS[mn]
            if 0x66 in prefixes:
                words = [w for w in words if w != "data16"]  # consumed by the 16-bit form
                word += "w"
            return " ".join([*words, word]), ""
        if mn in ("iretd", "iret") and (mn == "iretd" or 0x66 in prefixes):
            # capstone's iretd is objdump's iret, its 16-bit iret objdump's iretw
            word = "iret" if mn == "iretd" else "iretw"
            return " ".join([*(w for w in words if w != "data16"), word]), ""
        if mn == "xlatb":
            base = (
                "rbx"
                if self.mode64 and 0x67 not in prefixes
                else "ebx"
                if self.mode64
                else "bx"
                if 0x67 in prefixes
                else "ebx"
            )
            if self.syntax == "att":
                return " ".join([*words, "xlat"]), f"%ds:(%{base})"
            return " ".join([*words, "xlat"]), f"BYTE PTR ds:[{base}]"
        return None

    def _evex_mask(self, insn: Any, body: bytes, ops: list[Any], rendered: list[str]) -> None:
        """EVEX opmask: capstone lists it as an operand, objdump writes ``dst{%k1}{z}``."""
        if not self.mode64 or len(body) < 4 or body[0] != 0x62 or len(rendered) < 2:
            return
        aaa, zeroing = body[3] & 7, body[3] >> 7
        if not aaa:
            return
        mask = f"k{aaa}"
        if ops[1].type == self.x86.X86_OP_REG and insn.reg_name(ops[1].reg) == mask:
            del rendered[1]
            pct = "%" if self.syntax == "att" else ""
            rendered[0] += f"{{{pct}{mask}}}" + ("{z}" if zeroing else "")

    def _x87_register_form(self, opcode: int, modrm: int, mn: str) -> tuple[str, str] | None:
        """objdump's operands for x87 register forms: ``st(i)`` with or without ``st``, in the
        syntax's order, and AT&T's fsub/fsubr swap in the DC/DE forms."""
        i = modrm & 7
        att = self.syntax == "att"
        st, sti = ("%st", f"%st({i})") if att else ("st", f"st({i})")

        def pair(src: str, dst: str) -> str:
            return f"{src},{dst}" if att else f"{dst},{src}"

        if mn == "fcompp":
            return mn, ""
        if mn == "ffreep":
            return mn, sti
        if opcode in (0xDC, 0xDE):
            return (X87_ATT_SWAP.get(mn, mn) if att else mn), pair(st, sti)
        if opcode == 0xD8:
            return (mn, sti) if mn in ("fcom", "fcomp") else (mn, pair(sti, st))
        if opcode in (0xDA, 0xDB, 0xDF) and mn not in ("fnstsw", "fnclex", "fninit", "fucompp"):
            return X87_RENAMES.get(mn, mn), pair(sti, st)
        if opcode in (0xD9, 0xDD) and (opcode != 0xD9 or modrm < 0xE0):
            return mn, sti
        return None

    def _att_mnemonic(self, insn: Any, mn: str, ops: list[Any], string_op: str | None) -> str:
        x86 = self.x86
        if mn in ATT_CONVERSIONS:
            return ATT_CONVERSIONS[mn]
        if mn in ("movzx", "movsx") and len(ops) == 2:
            return f"{mn[:4]}{SIZE_SUFFIX.get(ops[1].size, '')}{SIZE_SUFFIX.get(ops[0].size, '')}"
        if mn == "movsxd":
            # movslq only into a 64-bit register; objdump keeps movsxd for the 32-bit form
            return "movslq" if ops and ops[0].size == 8 else "movsxd"
        if string_op:
            # stos/lods/scas name their size by the register; ins/outs (whose register is
            # the port, %dx) take a suffix as movs does: insb (%dx),%es:(%rdi).
            if string_op in ("stos", "lods", "scas") and any(o.type == x86.X86_OP_REG for o in ops):
                return string_op
            size = next((o.size for o in ops if o.type == x86.X86_OP_MEM), 0)
            return string_op + SIZE_SUFFIX.get(size, "")
        if mn.startswith("f") and mn not in ("fxsave", "fxrstor", "fxsave64", "fxrstor64"):
            return self._x87_mnemonic(mn, ops)
        if mn in ("cvtsi2sd", "cvtsi2ss", "vcvtsi2sd", "vcvtsi2ss", "vcvtusi2sd", "vcvtusi2ss") and any(
            o.type == x86.X86_OP_MEM for o in ops
        ):
            size = next(o.size for o in ops if o.type == x86.X86_OP_MEM)
            return mn + SIZE_SUFFIX.get(size, "")
        if mn in ATT_RENAMES:
            return ATT_RENAMES[mn]
        mem = [o for o in ops if o.type == x86.X86_OP_MEM]
        if mn == "crc32" and mem:
            return mn + SIZE_SUFFIX.get(mem[0].size, "")  # the source's size: crc32b (%rsi),%eax
        registers = [o for o in ops if o.type == x86.X86_OP_REG]
        if mn in SHIFTS:
            registers = [o for o in registers if insn.reg_name(o.reg) != "cl"]
        has_reg = bool(registers)
        if has_reg or not mem or mn in NO_SUFFIX or mn.startswith(("f", "v", "j", "set", "cmov")):
            return mn
        # SSE/AVX and other vector or special instructions have no integer size suffix.
        if mem[0].size not in SIZE_SUFFIX or insn.group(x86.X86_GRP_SSE1) or insn.group(x86.X86_GRP_SSE2):
            return mn
        return mn + SIZE_SUFFIX[mem[0].size]

    def _x87_mnemonic(self, mn: str, ops: list[Any]) -> str:
        mn = X87_RENAMES.get(mn, mn)
        mem = [o for o in ops if o.type == self.x86.X86_OP_MEM]
        if not mem or mn in X87_NO_SUFFIX:
            return mn
        size = mem[0].size
        if mn.startswith("fi"):
            return mn + {2: "s", 4: "l", 8: "ll"}.get(size, "")
        return mn + {4: "s", 8: "l", 10: "t"}.get(size, "")


# AT&T's historical operand-order mix-up for the reversed x87 forms (DC and DE register forms):
# GNU as and objdump keep it, so Intel's fsubrp is AT&T's fsubp and vice versa.
X87_ATT_SWAP = {
    "fsub": "fsubr",
    "fsubr": "fsub",
    "fsubp": "fsubrp",
    "fsubrp": "fsubp",
    "fdiv": "fdivr",
    "fdivr": "fdiv",
    "fdivp": "fdivrp",
    "fdivrp": "fdivp",
}
# capstone's spelling -> objdump's, for x87 compare-and-pop forms.
X87_RENAMES = {"fucompi": "fucomip", "fcompi": "fcomip"}
# x87 instructions whose memory operand has a fixed meaning, so objdump adds no size letter.
X87_NO_SUFFIX = frozenset(
    (
        "fldcw",
        "fnstcw",
        "fstcw",
        "fnstsw",
        "fstsw",
        "fldenv",
        "fnstenv",
        "fstenv",
        "frstor",
        "fnsave",
        "fsave",
        "fbld",
        "fbstp",
    )
)
