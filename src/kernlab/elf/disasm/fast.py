"""x86 code decoded in bulk: capstone's C core without details, its text rewritten as objdump's.

Decoding with details (:mod:`~kernlab.elf.disasm.x86`) costs tens of microseconds per
instruction in Python; a whole libc has 335,000 instructions. Here capstone decodes big chunks
with ``cs_disasm`` and no details, the ``cs_insn`` array is read with one :mod:`struct` pass, and
each instruction's text is made from capstone's own AT&T text by a few string rules, then kept
by its raw bytes: most instructions of a program repeat byte for byte (``push %rbp``, ``ret``,
``mov %rax,%rdi``). Branch and RIP-relative instructions keep their text without the target and
name the target per instruction.

Only instructions whose capstone text the rules are known to turn into objdump's take this lane
(:data:`FAST_MNEMONICS`, checked against objdump on whole files in
tests/elf/test_disasm_file.py); the rest — x87, string instructions, unusual prefixes, AVX-512
masks, ``%riz`` — are decoded with details by :class:`~kernlab.elf.disasm.x86.X86Formatter`.
"""

from __future__ import annotations

import ctypes
import re
import struct
from typing import Any

from kernlab.elf.disasm.symbols import Symbolizer
from kernlab.elf.disasm.x86 import NO_SUFFIX, X86Formatter

__all__ = ["BAD", "BRANCH", "FAST_MNEMONICS", "PLAIN", "RECORDS", "RIP", "TRAP", "FastX86"]

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
_CHUNK = 8192  # instructions per cs_disasm call

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
        self.cache: dict[bytes, tuple[int, str, int]] = {}
        self.names: dict[int, str] = {}  # capstone instruction id -> name
        self.target_names: dict[int, str | None] = {}
        self.branches: dict[bytes, str] = {}  # opcode bytes -> "je     "
        self.rips: dict[bytes, tuple[str, str]] = {}  # bytes around the displacement -> text around it
        self.address_mask = (1 << 64) - 1 if mode64 else 0xFFFFFFFF

    # ------------------------------------------------------------------ decoding

    def chunk(self, code: Any, start: int, offset: int, end: int) -> bytes:
        """capstone's ``cs_insn`` records for up to 8192 instructions from ``offset`` of
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
            _CHUNK,
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
        if raw.count(0x66, 0, prefixes) > 1:
            return None
        opcode_at = prefixes + (
            1 if self.mode64 and prefixes < len(raw) and 0x40 <= raw[prefixes] <= 0x4F else 0
        )
        opcode = raw[opcode_at] if opcode_at < len(raw) else 0
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
        suffix = att[len(name) :] if att.startswith(name) else ""
        if suffix and suffix not in SUFFIX_SIZES:
            return None
        # The size of the operation, for masking immediates.
        size = SUFFIX_SIZES.get(suffix, 0)
        if not size:
            regs = [REGISTER_SIZES[op] for op in operands if op in REGISTER_SIZES]
            size = regs[-1] if regs else 0
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
            word = "movslq"
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
            if target is not None and operands.startswith(f"{target:x}"):
                size = _branch_displacement(raw, self.mode64) or 0
                if size:
                    return BRANCH, f"{mnemonic:<6} ", size
                return BAD, mnemonic, 0  # not cacheable: formatted per instruction
            text = mnemonic if not operands else f"{mnemonic:<6} {operands}"
            return PLAIN, text, 0
        return PLAIN, "(bad)", 0

    def describe(self, address: int, raw: bytes, data: bytes, index: int) -> str:
        """The text of the instruction at ``address``, record ``index`` of ``data``: cached
        when its bytes are seen again."""
        entry = self.cache.get(raw)
        if entry is None:
            entry = self.cache[raw] = self._entry(address, raw, data, index)
        kind, text, value = entry
        if kind in (PLAIN, TRAP):
            return text
        if kind == BRANCH:
            disp = int.from_bytes(raw[-value:], "little", signed=True)
            target = (address + len(raw) + disp) & self.address_mask
            name = self._name(target)
            return f"{text}{target:x} <{name}>" if name else f"{text}{target:x}"
        if kind == RIP:
            target = (address + len(raw) + value) & self.address_mask
            name = self._name(target)
            return f"{text}        # {target:x}" + (f" <{name}>" if name else "")
        # Not cacheable: decode again with details.
        for insn in self.detail.disasm(raw, address, 1):
            mnemonic, operands, *_ = self.formatter.format(insn)
            return mnemonic if not operands else f"{mnemonic:<6} {operands}"
        return "(bad)"

    def _name(self, target: int) -> str | None:
        names = self.target_names
        if target in names:
            return names[target]
        name = names[target] = self.sym.name(target, self.formatter.section)
        return name

    def _entry(self, address: int, raw: bytes, data: bytes, index: int) -> tuple[int, str, int]:
        """The cache entry for bytes not seen before. A branch or RIP-relative instruction is
        the same text as another one with the same bytes but its displacement: such texts are
        kept without the displacement (by opcode bytes, or by the bytes around the
        displacement), so only the first of them is rewritten."""
        n = len(raw)
        b0 = raw[0]
        key = None
        if (n == 5 and b0 in (0xE8, 0xE9)) or (n == 2 and (0x70 <= b0 <= 0x7F or b0 == 0xEB)):
            key, rel = raw[:1], n - 1
        elif n == 6 and b0 == 0x0F and 0x80 <= raw[1] <= 0x8F:
            key, rel = raw[:2], 4
        if key is not None:
            template = self.branches.get(key)
            if template is None:
                full = self._full(address, raw, data, index)
                if full[0] != BRANCH or full[2] != rel:
                    return full
                template = self.branches[key] = full[1]
            return BRANCH, template, rel
        if self.mode64:
            at = _modrm_at(raw)
            if at + 5 <= n and raw[at] & 0xC7 == 0x05:
                key = raw[: at + 1] + raw[at + 5 :]
                disp = int.from_bytes(raw[at + 1 : at + 5], "little", signed=True)
                parts = self.rips.get(key)
                if parts is None:
                    full = self._full(address, raw, data, index)
                    spelled = f"{_signed(disp)}(%rip)"
                    if full[0] == RIP and full[2] == disp and full[1].count(spelled) == 1:
                        pre, post = full[1].split(spelled)
                        self.rips[key] = (pre, post)
                    return full
                return RIP, f"{parts[0]}{_signed(disp)}(%rip){parts[1]}", disp
        return self._full(address, raw, data, index)

    def _full(self, address: int, raw: bytes, data: bytes, index: int) -> tuple[int, str, int]:
        insn_id, _a, _s, _b, mn, ops = _INSN.unpack_from(data, index * _INSN.size)
        return self.text(insn_id, address, raw, _cstring(mn), _cstring(ops))


def _modrm_at(raw: bytes) -> int:
    """Where the ModRM byte of a 64-bit instruction would be (after legacy prefixes, REX, VEX or
    EVEX, and the opcode); meaningless for an opcode without one, which callers check."""
    i = 0
    n = len(raw)
    while i < n and raw[i] in _LEGACY_PREFIXES:
        i += 1
    if i < n and 0x40 <= raw[i] <= 0x4F:
        i += 1
    if i >= n:
        return n
    b = raw[i]
    if b == 0xC5:
        return i + 3
    if b == 0xC4:
        return i + 4
    if b == 0x62:
        return i + 5
    if b == 0x0F:
        return i + 3 if i + 1 < n and raw[i + 1] in (0x38, 0x3A) else i + 2
    return i + 1


def _modrm_mod(raw: bytes, prefixes: int, mode64: bool) -> int | None:
    """The mod field of the ModRM byte (None when the layout is not one of the common ones)."""
    i = prefixes
    if i < len(raw) and mode64 and 0x40 <= raw[i] <= 0x4F:
        i += 1
    if i >= len(raw):
        return None
    b = raw[i]
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
    return raw[i] >> 6 if i < len(raw) else None


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


def _cstring(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("ascii", "replace")
