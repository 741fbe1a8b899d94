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


class X86Formatter:
    """capstone (Intel syntax, with details) -> objdump's AT&T or Intel text."""

    def __init__(self, mode64: bool, syntax: str, symbolizer: Symbolizer) -> None:
        from capstone import x86

        self.x86 = x86
        self.mode64 = mode64
        self.syntax = syntax
        self.sym = symbolizer
        self.section: str | None = None  # the section being disassembled (objdump prefers its symbols)

    def _reg(self, insn: Any, reg: int) -> str:
        name = insn.reg_name(reg)
        return f"%{name}" if self.syntax == "att" else name

    def _imm(self, value: int, size: int) -> str:
        size = size or (8 if self.mode64 else 4)
        masked = value & ((1 << (8 * size)) - 1)
        return f"${masked:#x}" if self.syntax == "att" else f"{masked:#x}"

    def _target(self, address: int) -> tuple[str, str | None]:
        name = self.sym.name(address, self.section)
        text = f"{address:x}" + (f" <{name}>" if name else "")
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
        if insn.disp_size or mem.disp:
            text += _hex(mem.disp)
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
        lead = [p for p in parts[:-1] if p in MNEMONIC_PREFIXES]
        base_mn = parts[-1]

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
        if 0xD8 <= opcode <= 0xDF and modrm >= 0xC0:
            x87 = self._x87_register_form(opcode, modrm, base_mn)
            if x87 is not None:
                return " ".join([*words, *lead, x87[0]]), x87[1], None, None, None

        target = target_name = comment = None
        is_branch = insn.group(x86.X86_GRP_JUMP) or insn.group(x86.X86_GRP_CALL)
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
                if is_branch:
                    text = ("*" if self.syntax == "att" else "") + text
                rendered.append(text)
                if op.mem.base and insn.reg_name(op.mem.base) in ("rip", "eip"):
                    target = (insn.address + insn.size + op.mem.disp) & ((1 << 64) - 1)
                    target_name = self.sym.name(target, self.section)
                    comment = f"# {target:x}" + (f" <{target_name}>" if target_name else "")
        if is_branch and ops and ops[0].type == x86.X86_OP_REG and self.syntax == "att":
            rendered[0] = "*" + rendered[0]
        self._evex_mask(insn, body, ops, rendered)

        if self.syntax == "att":
            rendered.reverse()
            mn = self._att_mnemonic(insn, base_mn, ops, string_op)
            operands = ",".join(rendered)
        else:
            mn = string_op or base_mn  # objdump writes "stos", "movs" with sized operands
            operands = ",".join(rendered)
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
        last_66 = len(prefixes) - 1 - prefixes[::-1].index(0x66) if 0x66 in prefixes else -1
        words = []
        for i, b in enumerate(prefixes):
            if b == 0x3E and "notrack" in lead:
                continue  # 3e is the notrack prefix of an indirect branch
            if b in USELESS_SEGMENTS_64 and self.mode64:
                words.append(USELESS_SEGMENTS_64[b])
            elif b == 0x66 and not (i == last_66 and uses_66):
                words.append("data16")
        return words

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
            return "movslq"
        if string_op:
            # stos/lods/scas name their size by the register; ins/outs (whose register is
            # the port, %dx) take a suffix as movs does: insb (%dx),%es:(%rdi).
            if string_op in ("stos", "lods", "scas") and any(o.type == x86.X86_OP_REG for o in ops):
                return string_op
            size = next((o.size for o in ops if o.type == x86.X86_OP_MEM), 0)
            return string_op + SIZE_SUFFIX.get(size, "")
        if mn.startswith("f") and mn not in ("fxsave", "fxrstor", "fxsave64", "fxrstor64"):
            return self._x87_mnemonic(mn, ops)
        if mn in ("cvtsi2sd", "cvtsi2ss", "vcvtsi2sd", "vcvtsi2ss") and any(
            o.type == x86.X86_OP_MEM for o in ops
        ):
            size = next(o.size for o in ops if o.type == x86.X86_OP_MEM)
            return mn + SIZE_SUFFIX.get(size, "")
        has_reg = any(o.type == x86.X86_OP_REG for o in ops)
        mem = [o for o in ops if o.type == x86.X86_OP_MEM]
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
