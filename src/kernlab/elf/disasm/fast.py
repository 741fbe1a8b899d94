"""x86 code decoded in bulk: capstone's C core without details, its text rewritten as objdump's.

Decoding with details (:mod:`~kernlab.elf.disasm.x86`) costs tens of microseconds per
instruction in Python; a whole libc has 336,000 instructions. Here capstone decodes each block
with one ``cs_disasm`` call and no details, and an instruction's text is kept by what decides
it:

* by its bytes (:attr:`FastX86.plain`): most instructions repeat byte for byte (``push %rbp``,
  ``ret``, ``mov %rax,%rdi``);
* a plain relative jump or call by its opcode (:attr:`FastX86.branch_heads`), its target named
  per instruction;
* bytes not seen before by their *shape* (:mod:`~kernlab.elf.disasm.x86shape`: the bytes but
  the displacement and immediate) and the signs of those numbers: the first of a shape is
  rewritten from capstone's AT&T text, the next ones fill its :class:`Template`.

Only instructions whose capstone text the rules are known to turn into objdump's are
rewritten (:data:`FAST_MNEMONICS`, checked against objdump on whole files in
tests/elf/test_disasm_file.py); the rest — x87, string instructions, unusual prefixes, AVX-512
masks, ``%riz`` — are decoded with details by :class:`~kernlab.elf.disasm.x86.X86Formatter`.
Templates are checked against rewriting every instruction in tests/elf/test_x86_shape.py.
"""

from __future__ import annotations

import ctypes
import re
import struct
from typing import Any

from kernlab.elf.disasm.symbols import Symbolizer
from kernlab.elf.disasm.x86 import NO_SUFFIX, X86Formatter
from kernlab.elf.disasm.x86shape import HOLE_IMM, HOLE_REL, HOLE_RIP, _measure

__all__ = [
    "BAD",
    "BRANCH",
    "FAST_MNEMONICS",
    "PLAIN",
    "RECORDS",
    "RIP",
    "TRAP",
    "FastX86",
    "Template",
    "template_key",
]

# Kinds of a cached instruction text.
PLAIN = 0  # the text is the same wherever the bytes are
BRANCH = 1  # mnemonic + target: "je     263f2 <abort+0x53>"
RIP = 2  # text + "        # target <name>"
BAD = 3  # formatted again each time
TRAP = 4  # a system-call instruction: plain text, but kernlab annotates it
X86_TRAPS = frozenset({b"\x0f\x05", b"\xcd\x80", b"\x0f\x34"})  # syscall, int $0x80, sysenter

# capstone's instruction names (Intel, without size) whose AT&T text the rules below rewrite
# exactly as objdump writes it. Anything else goes through the detailed formatter.
FAST_MNEMONICS = frozenset(
    [
        "adc",
        "add",
        "and",
        "bsf",
        "bsr",
        "bswap",
        "bt",
        "btc",
        "btr",
        "bts",
        "call",
        "cmova",
        "cmovae",
        "cmovb",
        "cmovbe",
        "cmove",
        "cmovg",
        "cmovge",
        "cmovl",
        "cmovle",
        "cmovne",
        "cmovno",
        "cmovnp",
        "cmovns",
        "cmovo",
        "cmovp",
        "cmovs",
        "cmp",
        "cmpxchg",
        "dec",
        "div",
        "endbr64",
        "hlt",
        "idiv",
        "imul",
        "inc",
        "ja",
        "jae",
        "jb",
        "jbe",
        "je",
        "jg",
        "jge",
        "jl",
        "jle",
        "jmp",
        "jne",
        "jno",
        "jnp",
        "jns",
        "jo",
        "jp",
        "js",
        "lea",
        "leave",
        "mov",
        "movabs",
        "movsx",
        "movsxd",
        "movzx",
        "mul",
        "neg",
        "nop",
        "not",
        "or",
        "pop",
        "push",
        "rcl",
        "rcr",
        "ret",
        "rol",
        "ror",
        "sar",
        "sbb",
        "seta",
        "setae",
        "setb",
        "setbe",
        "sete",
        "setg",
        "setge",
        "setl",
        "setle",
        "setne",
        "setno",
        "setnp",
        "setns",
        "seto",
        "setp",
        "sets",
        "shl",
        "shld",
        "shr",
        "shrd",
        "sub",
        "syscall",
        "test",
        "tzcnt",
        "lzcnt",
        "popcnt",
        "ud2",
        "xadd",
        "xchg",
        "xor",
        "pause",
        "int3",
        "cpuid",
        "rdtsc",
        "andn",
        "bextr",
        "blsi",
        "blsmsk",
        "blsr",
        "bzhi",
        "mulx",
        "pdep",
        "pext",
        "rorx",
        "sarx",
        "shlx",
        "shrx",
        "movd",
        "movq",
        "movdqa",
        "movdqu",
        "movaps",
        "movups",
        "movapd",
        "movupd",
        "movss",
        "movsd",
        "movlps",
        "movhps",
        "movlpd",
        "movhpd",
        "pxor",
        "por",
        "pand",
        "pandn",
        "pcmpeqb",
        "pcmpeqw",
        "pcmpeqd",
        "pcmpgtb",
        "pminub",
        "pmaxub",
        "pmovmskb",
        "pshufd",
        "pshufb",
        "punpcklbw",
        "punpcklwd",
        "punpckldq",
        "punpcklqdq",
        "punpckhqdq",
        "paddq",
        "paddd",
        "psubb",
        "psubq",
        "psubd",
        "pslldq",
        "psrldq",
        "psllq",
        "psrlq",
        "pslld",
        "psrld",
        "palignr",
        "ptest",
        "pcmpistri",
        "xorps",
        "xorpd",
        "andps",
        "andpd",
        "orps",
        "addsd",
        "addss",
        "subsd",
        "subss",
        "mulsd",
        "mulss",
        "divsd",
        "divss",
        "sqrtsd",
        "ucomisd",
        "ucomiss",
        "comisd",
        "comiss",
        "cvttsd2si",
        "cvttss2si",
        "cvtss2sd",
        "cvtsd2ss",
        "maxsd",
        "minsd",
        "unpcklpd",
        "unpcklps",
        "shufps",
        "movmskpd",
        "movmskps",
        "vmovdqu",
        "vmovdqa",
        "vmovdqu64",
        "vmovdqu8",
        "vmovdqa64",
        "vpxor",
        "vpor",
        "vpand",
        "vpandn",
        "vpcmpeqb",
        "vpcmpeqd",
        "vpminub",
        "vpmaxub",
        "vpmovmskb",
        "vpbroadcastb",
        "vpbroadcastd",
        "vpbroadcastq",
        "vptest",
        "vzeroupper",
        "vmovd",
        "vmovq",
        "vpxorq",
        "vporq",
        "vpternlogd",
        "vpminud",
        "vpcmpgtb",
        "vpsubb",
        "vpshufb",
        "vpalignr",
        "vpcmpeqw",
        "vpminuw",
        "vmovups",
        "vmovaps",
    ]
)

# Register -> operand size, for masking immediates the way objdump prints them.
_REG64 = [
    "rax",
    "rbx",
    "rcx",
    "rdx",
    "rsi",
    "rdi",
    "rbp",
    "rsp",
    "r8",
    "r9",
    "r10",
    "r11",
    "r12",
    "r13",
    "r14",
    "r15",
]
REGISTER_SIZES: dict[str, int] = {f"%{r}": 8 for r in _REG64}
REGISTER_SIZES.update({f"%e{r[1:]}": 4 for r in _REG64[:8]})
REGISTER_SIZES.update({f"%{r}d": 4 for r in _REG64[8:]})
REGISTER_SIZES.update({f"%{r[1:]}": 2 for r in _REG64[:8]})
REGISTER_SIZES.update({f"%{r}w": 2 for r in _REG64[8:]})
REGISTER_SIZES.update({f"%{r}b": 1 for r in _REG64[8:]})
REGISTER_SIZES.update({r: 1 for r in ("%al", "%bl", "%cl", "%dl", "%ah", "%bh", "%ch", "%dh")})
REGISTER_SIZES.update({r: 1 for r in ("%sil", "%dil", "%bpl", "%spl")})
SUFFIX_SIZES = {"b": 1, "w": 2, "l": 4, "q": 8}

# The cs_insn record: id, address, size, bytes[24], mnemonic[32], op_str[160], detail pointer.
_INSN = struct.Struct("<I4xQH24s32s160s6x8x")
RECORDS = struct.Struct("<8xQH24s206x")
"""(address, size, bytes) of each cs_insn record: all the common path reads."""
assert RECORDS.size == _INSN.size

_MEMORY = re.compile(
    r"^(?P<seg>%[a-z]s:)?(?P<disp>-?(?:0x[0-9a-f]+|\d+))?"
    r"(?:\((?P<base>%\w+)?(?:, (?P<index>%\w+)(?:, (?P<scale>\d))?)?\))?$"
)
_ALLOWED_PREFIXES = frozenset({0x64, 0x65, 0xF0, 0xF2, 0xF3, 0x66})
_LEGACY_PREFIXES = frozenset({0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67})


class FastX86:
    """objdump's text of x86 instructions decoded in bulk, cached by their bytes."""

    def __init__(self, mode64: bool, symbolizer: Symbolizer) -> None:
        import capstone

        mode = capstone.CS_MODE_64 if mode64 else capstone.CS_MODE_32
        self.mode64 = mode64
        self.lite = capstone.Cs(capstone.CS_ARCH_X86, mode)
        self.lite.syntax = capstone.CS_OPT_SYNTAX_ATT
        self.detail = capstone.Cs(capstone.CS_ARCH_X86, mode)
        self.detail.detail = True
        self.detail.syntax = capstone.CS_OPT_SYNTAX_INTEL
        self.formatter = X86Formatter(mode64, "att", symbolizer)
        self.sym = symbolizer
        # Bytes -> text of an instruction written alike wherever it is; never a trap, fwait
        # (objdump may join it with the next one) or bytes starting with a zero (objdump may
        # write a run of zeros as "...").
        self.plain: dict[bytes, str] = {}
        self.special: dict[bytes, tuple[int, str, int]] = {}  # bytes -> (kind, text, value)
        self.templates: dict[bytes, Template | None] = {}  # shape and signs -> template
        self.names: dict[int, str] = {}  # capstone instruction id -> name
        self.target_names: dict[int, str | None] = {}
        self.target_texts: dict[int, str] = {}  # branch target -> "263f2 <abort+0x53>"
        self.name_of = symbolizer.namer(None)
        self.name_tables = symbolizer.namer_tables(None)  # name_of for the C loop (whole._hits)
        self.branch_heads: dict[int, str] = {}  # opcode | length << 8 -> "je     "
        self.address_mask = (1 << 64) - 1 if mode64 else 0xFFFFFFFF

    # ------------------------------------------------------------------ decoding

    def chunk(self, code: Any, start: int, offset: int, end: int, count: int = 8192) -> bytes:
        """capstone's ``cs_insn`` records for up to ``count`` instructions from ``offset`` of
        ``code`` (a ctypes buffer of the section starting at address ``start``) to ``end``, as
        one byte string (read them with :data:`RECORDS`); empty when the first byte cannot be
        decoded."""
        from capstone import _cs, _cs_insn

        insns = ctypes.POINTER(_cs_insn)()
        count = _cs.cs_disasm(
            self.lite.csh,
            ctypes.cast(ctypes.addressof(code) + offset, ctypes.POINTER(ctypes.c_char)),
            end - offset,
            start + offset,
            count,
            ctypes.byref(insns),
        )
        if count <= 0:
            return b""
        try:
            return ctypes.string_at(insns, count * _INSN.size)
        finally:
            _cs.cs_free(insns, count)

    # ------------------------------------------------------------------ text

    def text(self, insn_id: int, address: int, raw: bytes, mn: str, ops: str) -> tuple[int, str, int]:
        """(kind, text, value) for an instruction first seen: for BRANCH the value is the
        displacement's size in bytes, for RIP the displacement, else 0."""
        name = self.names.get(insn_id)
        if name is None:
            name = self.names[insn_id] = self.lite.insn_name(insn_id) or ""
        found = None
        if name in FAST_MNEMONICS:
            found = self._rewrite(name, raw, mn, ops)
        if found is None:
            found = self._detailed(address, raw)
        if self.mode64 and found[0] != BAD:
            word = unused_rex_word(raw, found[1])
            if word is not None:
                found = (found[0], _with_word(found[1], word, found[0] == BRANCH), found[2])
        if raw in X86_TRAPS and found[0] == PLAIN:
            return TRAP, found[1], 0
        return found

    def _rewrite(self, name: str, raw: bytes, mn: str, ops: str) -> tuple[int, str, int] | None:
        prefixes = 0
        for b in raw:
            if b not in _LEGACY_PREFIXES:
                break
            if b not in _ALLOWED_PREFIXES:
                return None  # segment words, address size: the detailed formatter's job
            prefixes += 1
        if raw.count(0x66, 0, prefixes) > 1 or raw.count(0xF0, 0, prefixes) > 1:
            return None
        opcode_at = prefixes + (
            1 if self.mode64 and prefixes < len(raw) and 0x40 <= raw[prefixes] <= 0x4F else 0
        )
        opcode = raw[opcode_at] if opcode_at < len(raw) else 0
        if opcode_at > prefixes and raw[prefixes] & 8 and 0x66 in raw[:prefixes] and opcode != 0x0F:
            return None  # REX.W overrides 0x66, which objdump then writes as "data16"
        if opcode in (0xD0, 0xD1) or (opcode == 0x90 and len(raw) > 1):
            return None  # shift by an implicit 1, "xchg %ax,%ax": the detailed formatter knows them
        if not mn or "{" in ops or "%st" in ops or "riz" in ops:
            return None
        words = mn.split(" ")
        att = words[-1]
        lead = words[:-1]
        if any(w not in ("lock", "rep", "repne", "bnd", "notrack") for w in lead):
            return None
        if lead and name not in (
            "ret",
            "jmp",
            "call",
            "cmpxchg",
            "xadd",
            "add",
            "sub",
            "and",
            "or",
            "xor",
            "inc",
            "dec",
            "xchg",
            "bts",
            "btr",
            "btc",
            "adc",
            "sbb",
            "neg",
            "not",
        ):
            return None  # rep-prefixed string or SSE forms
        if "notrack" in lead:
            return None
        operands = ops.split(", ") if ops else []
        # Re-join a memory operand split at its inner ", ".
        joined: list[str] = []
        for part in operands:
            if joined and joined[-1].count("(") > joined[-1].count(")"):
                joined[-1] += ", " + part
            else:
                joined.append(part)
        operands = joined
        has_reg = any(op.startswith("%") and ":" not in op for op in operands)
        if name in ("rol", "ror", "rcl", "rcr", "shl", "sal", "shr", "sar") and operands[:1] == ["%cl"]:
            has_reg = any(op.startswith("%") and ":" not in op for op in operands[1:])  # %cl is the count
        if not lead and (0xF2 in raw[:prefixes] or 0xF3 in raw[:prefixes]):
            repeat = 0xF3 if raw[:prefixes].rfind(0xF3) > raw[:prefixes].rfind(0xF2) else 0xF2
            if raw.count(repeat, 0, prefixes) > 1 or not self.formatter._mandatory(raw, repeat, name):
                return None  # a repeat prefix nothing uses: objdump writes it (repnz or ...)
        if (0x64 in raw[:prefixes] or 0x65 in raw[:prefixes]) and "(" not in ops and ":" not in ops:
            return None  # fs/gs with no memory operand: objdump writes the prefix as a word
        if name in ("movmskps", "movmskpd") and opcode_at > prefixes and raw[prefixes] & 8:
            return None  # REX.W makes the register 64-bit: the detailed formatter knows
        if name == "vmovq" and raw[prefixes] == 0x62:
            return None  # capstone's EVEX disp8 scale is wrong for one form: the formatter fixes it
        if name in ("jmp", "call") and att.startswith("l"):
            return None  # far, through memory: the detailed formatter writes ljmp/lcall
        suffix = att[len(name) :] if att.startswith(name) else ""
        if suffix and suffix not in SUFFIX_SIZES:
            return None
        # The size of the operation, for masking immediates.
        size = SUFFIX_SIZES.get(suffix, 0)
        if not size:
            regs = [REGISTER_SIZES[op] for op in operands if op in REGISTER_SIZES]
            size = regs[-1] if regs else 0
        if size == 1 and 0x66 in raw[:prefixes]:
            return None  # an operand-size prefix on a byte operation: objdump writes data16
        is_branch = name in ("call", "jmp") or (name.startswith("j") and name != "jmp")
        kind, value = PLAIN, 0
        out: list[str] = []
        mod = _modrm_mod(raw, prefixes, self.mode64)
        for op in operands:
            star = "*" if op.startswith("*") else ""
            op = op[len(star) :]
            if op.startswith("$"):
                number = int(op[1:], 0)
                if number < 0:
                    if not size:
                        return None
                    number &= (1 << (8 * size)) - 1
                out.append(f"${number:#x}")
            elif op.startswith("%") and ":" not in op:
                if op not in REGISTER_SIZES and not op.startswith(("%xmm", "%ymm", "%zmm", "%mm", "%k")):
                    return None
                out.append(star + op)
            elif is_branch and not star and op[:1].isdigit() and "(" not in op:
                if lead and lead != ["bnd"]:
                    return None
                kind, value = BRANCH, _branch_displacement(raw, self.mode64)
                if not value:
                    return None
            else:
                if _padding_sib(raw, prefixes, self.mode64):
                    return None  # objdump writes its index as %eiz/%riz: the detailed formatter's job
                memory = _memory(op, mod, self.mode64)
                if memory is None:
                    return None
                text, rip_disp = memory
                if rip_disp is not None:
                    kind, value = RIP, rip_disp
                out.append(star + text)
        # objdump's mnemonic: the size suffix only where no register gives the size.
        if name in ("movsx", "movzx", "movsxd"):
            word = att
        elif name in NO_SUFFIX or name in ("ret", "leave", "call", "jmp", "syscall") or has_reg:
            word = name if (suffix or att == name) else att
        elif not operands:
            word = name if suffix else att
        else:
            word = att
        if name == "movsxd":
            word = "movslq" if operands and REGISTER_SIZES.get(operands[-1]) == 8 else "movsxd"
        if is_branch and name.startswith("j") and name != "jmp":
            word = name
        full = " ".join([*lead, word])
        if kind == BRANCH:
            return BRANCH, f"{full:<6} ", value
        text = f"{full:<6} {','.join(out)}" if out else full
        return kind, text, value

    def _detailed(self, address: int, raw: bytes) -> tuple[int, str, int]:
        for insn in self.detail.disasm(raw, address, 1):
            mnemonic, operands, target, _name, comment = self.formatter.format(insn)
            if comment is not None and target is not None:
                # RIP-relative: keep the text, name the target per instruction.
                text = mnemonic if not operands else f"{mnemonic:<6} {operands}"
                disp = target - (address + len(raw))
                return RIP, text, disp
            if target is not None and operands.startswith(f"{self.sym.bare_prefix}{target:x}"):
                size = _branch_displacement(raw, self.mode64) or 0
                if size:
                    return BRANCH, f"{mnemonic:<6} ", size
                return BAD, mnemonic, 0  # not cacheable: formatted per instruction
            text = mnemonic if not operands else f"{mnemonic:<6} {operands}"
            return PLAIN, text, 0
        return PLAIN, "(bad)", 0

    # ------------------------------------------------------------------ per instruction

    def start_section(self, name: str) -> None:
        """Texts stay valid from one section to the next; names of targets do not (objdump
        prefers a symbol of the section being listed)."""
        self.formatter.section = name
        self.target_names.clear()
        self.target_texts.clear()
        self.name_of = self.sym.namer(name)
        self.name_tables = self.sym.namer_tables(name)

    def describe(self, address: int, raw: bytes, data: bytes, index: int) -> str:
        """The text of the instruction at ``address``, record ``index`` of ``data``, for one not
        in :attr:`plain`: a branch or RIP-relative one names its target here."""
        entry = self.special.get(raw)
        if entry is None:
            entry = self._entry(address, raw, data, index)
        kind, text, value = entry
        if kind == BRANCH:
            return text + self._target((address + len(raw) + value) & self.address_mask)
        if kind == RIP:
            target = (address + len(raw) + value) & self.address_mask
            name = self._name(target)
            if name:
                return f"{text}        # {target:x} <{name}>"
            return f"{text}        # {self.sym.bare_prefix}{target:x}"
        if kind != BAD:
            return text
        for insn in self.detail.disasm(raw, address, 1):  # not cacheable: decoded again
            mnemonic, operands, *_ = self.formatter.format(insn)
            return mnemonic if not operands else f"{mnemonic:<6} {operands}"
        return "(bad)"

    def _target(self, target: int) -> str:
        """``263f2 <abort+0x53>``: a branch target as objdump writes it."""
        found = self.target_texts.get(target)
        if found is None:
            name = self._name(target)
            bare = f"{self.sym.bare_prefix}{target:x}"
            found = self.target_texts[target] = f"{target:x} <{name}>" if name else bare
        return found

    def _name(self, target: int) -> str | None:
        names = self.target_names
        if target in names:
            return names[target]
        name = names[target] = self.name_of(target)
        return name

    def _entry(self, address: int, raw: bytes, data: bytes, index: int) -> tuple[int, str, int]:
        """The entry of bytes not seen before, kept in :attr:`plain` (text only) or
        :attr:`special`. Instructions of one shape (:mod:`~kernlab.elf.disasm.x86shape`) and one
        sign of each number are written alike but for their numbers: only the first of them is
        rewritten, the others fill its template."""
        shape = _measure(raw, self.mode64) if raw[0] != 0x9B else None
        entry = None
        key = b""
        if shape is not None and shape[3] and shape[0] == len(raw):
            _n, fixed, tail, holes = shape
            key = template_key(raw, fixed, tail, holes)
            template = self.templates.get(key)
            if template is not None:
                entry = template.fill(raw)
        if entry is None:
            entry = self._full(address, raw, data, index)
            if key and key not in self.templates:
                assert shape is not None
                self.templates[key] = Template.learn(entry, raw, shape[3])
            if entry[0] == BRANCH:
                entry = (BRANCH, entry[1], int.from_bytes(raw[-entry[2] :], "little", signed=True))
                self._branch_head(raw, entry[1])
        kind = entry[0]
        if kind == PLAIN and raw[0] != 0 and raw[0] != 0x9B:
            self.plain[raw] = entry[1]
        elif kind != BAD:
            self.special[raw] = entry
        return entry

    def undefined_form(self, code: bytes, address: int, opcode_at: int) -> tuple[bytes, str] | None:
        """(bytes, text) of ud1/ud0 (``0f b9``/``0f ff``) at the start of ``code``, with the
        ModRM operands objdump decodes (``ud1    %eax,%eax``): they are laid out as imul's
        (``0f af /r``), whose decoding gives the length and the operand text."""
        escape = opcode_at + 1
        if len(code) <= escape + 1:
            return None
        word = "ud1" if code[escape] == 0xB9 else "ud0"
        twin = code[:escape] + b"\xaf" + code[escape + 1 :]
        for insn in self.detail.disasm(twin, address, 1):
            _mnemonic, operands, *_ = self.formatter.format(insn)
            return code[: insn.size], f"{word:<6} {operands}"
        return None

    def _branch_head(self, raw: bytes, head: str) -> None:
        """Remember ``je     `` for the plain forms of a relative branch (``eb``/``7x`` rel8,
        ``e8``/``e9`` rel32, ``0f 8x`` rel32, no prefix), keyed by opcode | length << 8, so
        that the listing writes the next ones without looking at anything else."""
        n = len(raw)
        b0 = raw[0]
        if (n == 2 and (0x70 <= b0 <= 0x7F or b0 == 0xEB)) or (n == 5 and b0 in (0xE8, 0xE9)):
            self.branch_heads[b0 | n << 8] = head
        elif n == 6 and b0 == 0x0F and 0x80 <= raw[1] <= 0x8F:
            self.branch_heads[raw[1] | n << 8] = head

    def _full(self, address: int, raw: bytes, data: bytes, index: int) -> tuple[int, str, int]:
        insn_id, _a, _s, _b, mn, ops = _INSN.unpack_from(data, index * _INSN.size)
        return self.text(insn_id, address, raw, _cstring(mn), _cstring(ops))


_SIGNS = [bytes([n]) for n in range(16)]


def template_key(raw: bytes, fixed: int, tail: int, holes: tuple[tuple[int, int, int], ...]) -> bytes:
    """The key of the template serving ``raw`` (laid out as :func:`~kernlab.elf.disasm.x86shape.layout`
    says): its shape, and the sign of each number, since objdump writes a negative immediate
    masked to the operand size (``$0xffffffff``) and a negative displacement signed."""
    signs = 1
    for _kind, at, size in holes:
        signs = signs << 1 | raw[at + size - 1] >> 7
    return raw[:fixed] + raw[tail:] + _SIGNS[signs]


class Template:
    """The text of one instruction shape with holes for its numbers: literal pieces, and for
    each hole (offset, size, how to spell it). A spelling is -1 for a signed displacement
    (``-0x8(%rbp)``), else the mask of the unsigned number objdump writes (``$0xffffffff``)."""

    __slots__ = ("holes", "kind", "pieces", "value_at")

    def __init__(
        self, kind: int, pieces: list[str], holes: list[tuple[int, int, int]], value_at: tuple[int, int]
    ) -> None:
        self.kind = kind
        self.pieces = pieces
        self.holes = holes
        self.value_at = value_at  # (offset, size) of the number the entry carries (RIP, BRANCH)

    def fill(self, raw: bytes) -> tuple[int, str, int]:
        pieces = self.pieces
        out = pieces[0]
        for i, (at, size, spelling) in enumerate(self.holes, 1):
            v = int.from_bytes(raw[at : at + size], "little", signed=True)
            if spelling < 0:
                out += (f"-{-v:#x}" if v < 0 else f"{v:#x}") + pieces[i]
            else:
                out += f"{v & spelling:#x}" + pieces[i]
        at, size = self.value_at
        return self.kind, out, int.from_bytes(raw[at : at + size], "little", signed=True) if size else 0

    @staticmethod
    def learn(
        entry: tuple[int, str, int], raw: bytes, holes: tuple[tuple[int, int, int], ...]
    ) -> Template | None:
        """The template of ``entry`` (the instruction ``raw``, whose numbers are at ``holes``),
        or None when its text does not show each number exactly once where it is expected."""
        kind, text, value = entry
        values = [int.from_bytes(raw[at : at + size], "little", signed=True) for _k, at, size in holes]
        if kind == BRANCH:
            if len(holes) == 1 and holes[0][0] == HOLE_REL and value == holes[0][2]:
                return Template(BRANCH, [text], [], holes[0][1:])
            return None
        if kind not in (PLAIN, RIP, TRAP) or any(h[0] == HOLE_REL for h in holes):
            return None
        value_at = (0, 0)
        if kind == RIP:
            rips = [h[1:] for i, h in enumerate(holes) if h[0] == HOLE_RIP and values[i] == value]
            if len(rips) != 1:
                return None
            value_at = rips[0]
        head, _sep, operands = text.rpartition(" ")
        if not head:
            return None
        base = len(head) + 1
        spans = _operand_spans(operands)
        cuts: list[tuple[int, int, int, int]] = []  # (start, end, hole index, spelling)
        for index, (hole_kind, _at, size) in enumerate(holes):
            found = _number_in(operands, spans, hole_kind, values[index], size)
            if found is None:
                return None
            cuts.append((base + found[0], base + found[1], index, found[2]))
        cuts.sort()
        pieces: list[str] = []
        at = 0
        ordered: list[tuple[int, int, int]] = []
        for start, end, index, spelling in cuts:
            if start < at:
                return None
            pieces.append(text[at:start])
            ordered.append((holes[index][1], holes[index][2], spelling))
            at = end
        pieces.append(text[at:])
        return Template(kind, pieces, ordered, value_at)


def _operand_spans(operands: str) -> list[tuple[int, int]]:
    """(start, end) of each operand of objdump's operand text (commas inside parentheses
    belong to a memory operand)."""
    spans = []
    depth = 0
    start = 0
    for i, ch in enumerate(operands):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            spans.append((start, i))
            start = i + 1
    spans.append((start, len(operands)))
    return spans


_NUMBER = re.compile(r"-?0x[0-9a-f]+")


def _number_in(
    operands: str, spans: list[tuple[int, int]], hole_kind: int, value: int, size: int
) -> tuple[int, int, int] | None:
    """Where the one operand holding a hole's number spells it: (start, end, spelling)."""
    found = None
    for start, end in spans:
        op = operands[start:end]
        lead = 1 if op.startswith("*") else 0
        if op.startswith("%", lead) and ":" in op:
            lead = op.index(":") + 1  # a segment: %fs:0x28
        if hole_kind == HOLE_IMM:
            if not op.startswith("$"):
                continue
            m = _NUMBER.fullmatch(op, 1)
        else:
            if op.startswith(("$", "%"), lead):
                continue
            m = _NUMBER.match(op, lead)
            if m is None or not (m.end() == len(op) or op[m.end()] == "("):
                continue
            if (hole_kind == HOLE_RIP) != op.endswith("(%rip)"):
                continue
        if m is None or found is not None:
            return None  # not a number, or two candidates: no template
        spelled = m.group()
        if hole_kind != HOLE_IMM and m.end() < len(op):
            # A displacement beside a base register is written signed.
            if spelled != (f"-{-value:#x}" if value < 0 else f"{value:#x}"):
                return None
            found = (start + m.start(), start + m.end(), -1)
            continue
        if spelled.startswith("-"):
            return None
        number = int(spelled, 16)
        if value >= 0:
            if number != value:
                return None
            found = (start + m.start(), start + m.end(), (1 << 64) - 1)
            continue
        for bits in (8 * size, 16, 32, 64):
            if bits >= 8 * size and value & ((1 << bits) - 1) == number:
                found = (start + m.start(), start + m.end(), (1 << bits) - 1)
                break
        else:
            return None
    return found


def _modrm_at(raw: bytes, prefixes: int, mode64: bool) -> tuple[int, int, bool] | None:
    """(index of the ModRM byte, the REX byte or 0, VEX/EVEX-encoded) for the common layouts:
    legacy prefixes counted already, then REX, a VEX/EVEX prefix or the 0F/0F38/0F3A escape, then
    a one-byte opcode. None when the bytes end first."""
    i = prefixes
    rex = 0
    if i < len(raw) and mode64 and 0x40 <= raw[i] <= 0x4F:
        rex = raw[i]
        i += 1
    if i >= len(raw):
        return None
    b = raw[i]
    vex = b in (0xC4, 0xC5, 0x62) and mode64
    if b == 0xC5:
        i += 3
    elif b == 0xC4:
        i += 4
    elif b == 0x62:
        i += 5
    elif b == 0x0F:
        i += 3 if i + 1 < len(raw) and raw[i + 1] in (0x38, 0x3A) else 2
    else:
        i += 1
    return i, rex, vex


def _modrm_mod(raw: bytes, prefixes: int, mode64: bool) -> int | None:
    """The mod field of the ModRM byte (None when the layout is not one of the common ones)."""
    at = _modrm_at(raw, prefixes, mode64)
    if at is None or at[0] >= len(raw):
        return None
    return raw[at[0]] >> 6


def _padding_sib(raw: bytes, prefixes: int, mode64: bool) -> bool:
    """True when the memory operand has a SIB byte without index that no base needs (any base
    but rsp/r12, or none): objdump then writes the index as ``%eiz``/``%riz``, capstone omits
    it. VEX and EVEX forms say True on any SIB without index (rare; decoded with details)."""
    at = _modrm_at(raw, prefixes, mode64)
    if at is None:
        return False
    i, rex, vex = at
    if i + 1 >= len(raw):
        return False
    modrm, sib = raw[i], raw[i + 1]
    if modrm >> 6 == 3 or modrm & 7 != 4 or (sib >> 3) & 7 != 4:
        return False
    if vex:
        return True
    return not rex & 2 and sib & 7 != 4


def _branch_displacement(raw: bytes, mode64: bool) -> int:
    """Bytes of a relative branch's displacement (1, 2 or 4), or 0 when it is not one."""
    i = 0
    while i < len(raw) and raw[i] in _LEGACY_PREFIXES:
        i += 1
    if i < len(raw) and mode64 and 0x40 <= raw[i] <= 0x4F:
        i += 1
    if i >= len(raw):
        return 0
    b = raw[i]
    rest = len(raw) - i
    if (0x70 <= b <= 0x7F or 0xE0 <= b <= 0xE3 or b == 0xEB) and rest == 2:
        return 1
    if b in (0xE8, 0xE9) and rest in (3, 5):
        return rest - 1
    if b == 0x0F and rest in (4, 6) and i + 1 < len(raw) and 0x80 <= raw[i + 1] <= 0x8F:
        return rest - 2
    return 0


def _memory(op: str, mod: int | None, mode64: bool) -> tuple[str, int | None] | None:
    """objdump's spelling of a capstone AT&T memory operand, and the displacement when it is
    RIP-relative; None when the operand is not one the rules know."""
    star = op.startswith("*")
    if star:
        op = op[1:]
    m = _MEMORY.match(op)
    if m is None or mod is None:
        return None
    seg, disp, base, index, scale = m["seg"] or "", m["disp"], m["base"], m["index"], m["scale"]
    if base is None and index is None:
        if disp is None:
            return None
        value = int(disp, 0) & ((1 << 64) - 1 if mode64 else 0xFFFFFFFF)
        return f"{seg}{value:#x}", None
    number = int(disp, 0) if disp is not None else 0
    if base == "%rip" or base == "%eip":
        if index is not None:
            return None
        return f"{seg}{_signed(number)}(%rip)", number
    encoded = disp is not None or mod in (1, 2) or (base is None)
    text = seg + (_signed(number) if encoded else "")
    if index is not None:
        text += f"({base or ''},{index},{scale or 1})"
    else:
        text += f"({base})"
    return text, None


def _signed(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


# Words of instructions whose operand size is 64 bits without REX.W (so REX.W is unused) and of
# those REX.W makes (so it is used though no 64-bit register shows).
_DEFAULT_64 = frozenset(("push", "pop", "call", "jmp", "ret", "leave", "enter", "pushf", "popf"))
_W_WORDS = frozenset(("cltq", "cqto", "iretq", "sysretq", "sysexitq", "lretq", "cmpxchg16b"))
_EXTENDED = re.compile(r"%(?:r(?:8|9|1[0-5])[dwb]?|(?:[xyz]mm|cr|db)(?:8|9|1[0-5]))\b")
_WIDE = re.compile(r"%(?:r[a-ds][xip]|r[sb]p|r[sd]i|r(?:8|9|1[0-5]))(?![dwb\w])")


_PREFIX_WORDS = frozenset(
    ("lock", "rep", "repz", "repnz", "data16", "addr32", "cs", "ds", "es", "ss", "fs", "gs", "bnd", "notrack")
)


def _with_word(text: str, word: str, branch: bool) -> str:
    """``text`` with ``word`` (a REX prefix) just before its mnemonic, padded as objdump pads
    the words and mnemonic together: ``rex.B jle d27ad``, ``lock rex.W or ...``."""
    parts = text.split(" ")
    lead = []
    while len(parts) > 1 and parts[0] in _PREFIX_WORDS:
        lead.append(parts.pop(0))
    mnemonic = parts[0]
    operands = " ".join(parts[1:]).lstrip(" ")
    full = " ".join([*lead, word, mnemonic])
    if branch:
        return f"{full:<6} "
    return f"{full:<6} {operands}" if operands else full


def unused_rex_word(raw: bytes, text: str) -> str | None:
    """``rex.WRB`` when the instruction's REX prefix has a bit it does not use, as objdump then
    writes the whole prefix as a word (``rex.B jle``, ``rex cli``); None when every bit is
    used. Compilers emit only used bits: this is for data decoded as code. The use of each bit
    is read off objdump's text: R and B extend registers that show, X needs a SIB byte, W a
    64-bit operand, a bare 0x40 one of %sil/%dil/%spl/%bpl."""
    at = 0
    while at < len(raw) - 1 and raw[at] in _LEGACY_PREFIXES:
        at += 1
    rex = raw[at]
    if not 0x40 <= rex <= 0x4F or at == len(raw) - 1 or "rex" in text:
        return None  # none, or written already (data16 data16 rex.W call __tls_get_addr@plt)
    mnemonic, _sep, operands = text.partition(" ")
    if mnemonic in _PREFIX_WORDS:
        mnemonic = next((w for w in text.split() if w not in _PREFIX_WORDS), "")
    memory = "(" in operands and "%es:(" not in operands and "%ds:(" not in operands  # not a string op
    if rex & 8 and _w_unused(mnemonic, operands, memory):
        return rex_name(rex)
    # R extends a ModRM.reg register, B the rm one, a base or an opcode's register
    if rex & 5 and (rex & 4 or not memory) and not _EXTENDED.search(operands):
        return rex_name(rex)
    if rex & 2 and not (memory and _SIB.search(operands)):  # X: an index, so a SIB byte
        return rex_name(rex)
    if rex == 0x40 and not any(r in operands for r in ("%sil", "%dil", "%spl", "%bpl")):
        return "rex"
    return None


def _w_unused(mnemonic: str, operands: str, memory: bool) -> bool:
    """REX.W does nothing: the operation is 64-bit by default (push, jmp, jcc) or shows no
    64-bit operand (registers inside an address do not count)."""
    if mnemonic in _DEFAULT_64 or (mnemonic.startswith(("j", "loop")) and mnemonic != "jrcxz"):
        return True
    if mnemonic.endswith(("q", "64")) or mnemonic in _W_WORDS:
        return False
    outside = re.sub(r"\([^)]*\)", "", operands) if memory else operands
    return not _WIDE.search(outside)


# Prefix bytes and the words objdump writes for one on its own (before an instruction it
# cannot decode, or cut by the end of what it lists).
PREFIX_BYTE_WORDS = {0x66: "data16", 0x67: "addr32", 0xF0: "lock", 0xF2: "repnz", 0xF3: "repz"}
PREFIX_BYTE_WORDS.update({0x2E: "cs", 0x36: "ss", 0x3E: "ds", 0x26: "es", 0x64: "fs", 0x65: "gs"})


def cut_byte_text(byte: int, mode64: bool) -> str:
    """What objdump writes for the first byte of an instruction that the end of the listed
    range (the next symbol, --stop-address) cuts: a prefix's word, ``rex.W``, ``fwait``, else
    ``.byte 0xb8``; it goes on at the next byte."""
    if byte == 0x67 and not mode64:
        return "addr16"
    if byte == 0x9B:
        return "fwait"
    word = PREFIX_BYTE_WORDS.get(byte) or (rex_name(byte) if mode64 and 0x40 <= byte <= 0x4F else None)
    return word or f".byte {byte:#x}"


def rex_name(rex: int) -> str:
    """objdump's word for a REX prefix byte: ``rex``, ``rex.W``, ``rex.WRXB``."""
    bits = "".join(flag for flag, mask in zip("WRXB", (8, 4, 2, 1), strict=True) if rex & mask)
    return f"rex.{bits}" if bits else "rex"


_SIB = re.compile(r"\([^)]*,|\(%r12|\(%rsp|%riz")


def _cstring(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("ascii", "replace")
