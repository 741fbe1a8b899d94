"""Disassembly in the style of ``objdump -d``, with capstone as the decoder.

capstone decodes; this module writes what objdump writes, because that is the text people
compare with course notes and with each other:

* x86: AT&T syntax as GNU objdump spells it -- size suffixes only where no register operand
  gives the size (``movq $0x0,0x8(%rsp)`` but ``mov %rax,0x8(%rsp)``), hex immediates masked to
  the operand size, ``0x0(%rax,%rax,1)`` when a zero displacement is encoded, segment prefixes
  that mean nothing in 64-bit mode written as words (``cs nopw``), string instructions with their
  implicit ``%es:(%rdi)`` operands; Intel syntax with ``--intel``;
* branch and call targets as ``1030 <puts@plt>``, RIP-relative operands followed by
  ``# 4018 <counter>``; symbols are chosen like objdump: at one address a function before an
  object, a global before a weak or local one, then by name; a GOT slot is named after the
  dynamic relocation that fills it (``<puts@GLIBC_2.2.5>``); PLT entries are ``name@plt``
  (:mod:`kernlab.elf.plt`);
* AArch64: objdump's ``bl 400510 <puts@plt>``, ``#imm`` offsets in decimal inside brackets.

A system-call number loaded as a constant into the number register (eax/rax on x86, x8/w8 on
AArch64, r7 on arm) before the trap instruction is remembered and the trap is annotated with
the call's name from kernlab's tables.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from kernlab.errors import BadInput, NotSupported

if TYPE_CHECKING:
    from kernlab.elf.model import Section, Symbol
    from kernlab.elf.reader import ElfImage

# Architecture -> (capstone arch, mode) names, resolved lazily so importing this is cheap.
CAPSTONE_MODES: dict[str, tuple[str, str]] = {
    "x86_64": ("CS_ARCH_X86", "CS_MODE_64"),
    "i386": ("CS_ARCH_X86", "CS_MODE_32"),
    "aarch64": ("CS_ARCH_ARM64", "CS_MODE_ARM"),
    "arm": ("CS_ARCH_ARM", "CS_MODE_ARM"),
    "riscv64": ("CS_ARCH_RISCV", "CS_MODE_RISCV64"),
}

# How each architecture enters the kernel, and where the number goes (syscall(2)).
SYSCALL_TRAPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # arch: (trap mnemonics, registers that hold the number)
    "x86_64": (("syscall",), ("eax", "rax")),
    "i386": (("int 0x80", "sysenter"), ("eax",)),
    "aarch64": (("svc",), ("x8", "w8")),
    "arm": (("svc", "swi"), ("r7",)),
    "riscv64": (("ecall",), ("a7",)),
}

# Architectures whose ELF files carry $x/$d/$a/$t mapping symbols.
MAPPING_SYMBOL_ARCHES = frozenset({"arm", "aarch64", "riscv64", "riscv32"})

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
USELESS_SEGMENTS_64 = {0x2E: "cs", 0x3E: "ds", 0x26: "es", 0x36: "ss"}
PREFIX_BYTES = {0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67}


@dataclass(frozen=True)
class SyscallNote:
    """A trap instruction whose system-call number is known."""

    number: int
    name: str | None  # None when kernlab's table for the arch lacks the number
    arch: str
    loaded_at: int  # address of the instruction that put the number in the register


@dataclass(frozen=True)
class Instruction:
    address: int
    raw: bytes
    mnemonic: str
    operands: str
    target: int | None = None  # branch/call destination or RIP-relative address
    target_name: str | None = None  # "puts@plt", "_IO_stdin_used+0x4"
    comment: str | None = None  # objdump's "# 2004 <_IO_stdin_used+0x4>"
    syscall: SyscallNote | None = None
    loads_syscall_number: bool = False  # this instruction puts the number in the register

    @property
    def text(self) -> str:
        """The instruction as objdump prints it (mnemonic, operands, target, comment)."""
        out = self.mnemonic if not self.operands else f"{self.mnemonic:<6} {self.operands}"
        if self.comment:
            out += f"        {self.comment}"
        return out


@dataclass(frozen=True)
class Disassembly:
    path: str
    arch: str
    syntax: str  # "att" or "intel" (x86); "default" elsewhere
    function: str | None  # the symbol disassembled, with version when it has one
    start: int
    size: int
    section: str
    instructions: list[Instruction]
    syscalls: list[SyscallNote] = field(default_factory=list)
    address_bits: int = 64  # ELF class: objdump prints 8 hex digits for 32-bit files, 16 for 64-bit


# --------------------------------------------------------------------------- symbols


def _objdump_rank(sym: Symbol) -> tuple[int, int, int, int, str, int, int]:
    """Sort key among symbols at one address, following objdump's choice: functions first, then
    not-local, then global (over weak), then names not starting with '.', then by name (without
    version); among versions of one name the largest, then the first in the table."""
    return (
        0 if sym.type in ("FUNC", "IFUNC") else 1,
        1 if sym.bind == "LOCAL" else 0,
        0 if sym.bind == "GLOBAL" else 1,
        1 if sym.name.startswith(".") else 0,
        sym.name,
        -sym.size,
        sym.index,
    )


def display_name(sym: Symbol, versioned_file: bool = False) -> str:
    """The name objdump prints: ``rename@@GLIBC_2.2.5`` for a version this file defines,
    ``puts@GLIBC_2.2.5`` for one it needs or a hidden one, ``main@@Base`` for an unversioned
    dynamic symbol of a file that uses versions."""
    if sym.version is None:
        if not versioned_file or sym.table != ".dynsym":
            return sym.name
        if sym.shndx == "ABS" and sym.type == "OBJECT" and not sym.size:
            return f"{sym.name}@@{sym.name}"  # the symbol that names a version definition
        return f"{sym.name}{'@' if sym.shndx == 'UND' else '@@'}Base"
    # A reference to another object's version (undefined here, or copied in: readelf's "(n)")
    # is written with one @.
    hidden = sym.version_hidden or sym.shndx == "UND" or getattr(sym, "version_index", None) is not None
    return f"{sym.name}{'@' if hidden else '@@'}{sym.version}"


@dataclass(frozen=True)
class _Named:
    value: int
    name: str
    section: str | None
    synthetic: bool  # a name@plt entry
    undefined: bool


class Symbolizer:
    """Address -> ``name``, ``name+0x10`` or ``name-0x10``, as objdump's find_symbol_for_address
    and objdump_print_addr_with_sym choose them (binutils/objdump.c):

    1. the symbols are sorted by address, and at one address by :func:`_objdump_rank`;
    2. the nearest symbol at or below the address wins (the first of its address, preferring
       one in the section being disassembled); below every symbol, the first symbol is used;
    3. unless that symbol is a synthetic ``@plt`` one, a dynamic relocation patching exactly
       that address names it instead (a GOT slot);
    4. an undefined symbol is printed without offset.
    """

    def __init__(self, image: ElfImage) -> None:
        from kernlab.elf.plt import plt_entries

        self.image = image
        present = {s.name for s in image.sections}
        self.versioned = ".gnu.version" in present
        # objdump uses the static table when there is one, else the dynamic one.
        tables = {s.table for s in image.symbols()}
        table = ".symtab" if ".symtab" in tables else ".dynsym"
        ranked: list[tuple[int, tuple[Any, ...], _Named]] = []
        for sym in image.symbols(table):
            if not sym.name or sym.shndx in ("UND", "COM") or sym.type in ("SECTION", "FILE"):
                continue
            if sym.type == "NOTYPE" and sym.name.startswith("$") and image.arch in MAPPING_SYMBOL_ARCHES:
                continue  # $x/$d mapping symbols mark code and data, objdump never names targets after them
            value = sym.value & ~1 if image.arch == "arm" and sym.type == "FUNC" else sym.value
            named = _Named(value, display_name(sym, self.versioned), sym.section, False, False)
            ranked.append((value, _objdump_rank(sym), named))
        self.plt = plt_entries(image)
        for entry in self.plt:
            # A synthetic @plt symbol sorts like a global function.
            ranked.append(
                (
                    entry.address,
                    (0, 0, 0, 0, entry.name, 0, -1),
                    _Named(entry.address, entry.name, entry.section, True, False),
                )
            )
        ranked.sort(key=lambda r: (r[0], r[1]))
        self.symbols = [r[2] for r in ranked]
        self.addresses = [r[0] for r in ranked]
        self.relocated = _dynamic_relocation_names(image, self.versioned)
        self.section_base = {s.name: s.address for s in image.sections}

    def lookup(self, address: int, section: str | None = None) -> _Named | None:
        """The symbol objdump would print for ``address`` while disassembling ``section``."""
        if not self.symbols:
            return None
        i = max(bisect.bisect_right(self.addresses, address) - 1, 0)
        first = bisect.bisect_left(self.addresses, self.addresses[i])
        place = first
        for j in range(first, bisect.bisect_right(self.addresses, self.addresses[i])):
            if self.symbols[j].section == section:
                place = j
                break
        found = self.symbols[place]
        # objdump compares the symbol's section-relative value with the address here, so in a
        # linked file a relocation at the address wins even over a symbol that starts there.
        relative = found.value - self.section_base.get(found.section or "", 0)
        if relative != address and not found.synthetic and address in self.relocated:
            return self.relocated[address]
        return found

    def name(self, address: int, section: str | None = None) -> str | None:
        """``sym``, ``sym+0x10`` or ``sym-0x10`` for ``address`` (None when there are no symbols)."""
        found = self.lookup(address, section)
        if found is None:
            return None
        if found.value == address or found.undefined:
            return found.name
        if found.value > address:
            return f"{found.name}-{found.value - address:#x}"
        return f"{found.name}+{address - found.value:#x}"


def _dynamic_relocation_names(image: ElfImage, versioned: bool) -> dict[int, _Named]:
    """Patched address -> the symbol of a dynamic relocation there (one with a real symbol)."""
    from kernlab.elf.plt import GOT_RELOCATION_SECTIONS

    present = {s.name for s in image.sections}
    dynsym = {sym.index: sym for sym in image.symbols(".dynsym")} if ".dynsym" in present else {}
    out: dict[int, _Named] = {}
    for section in GOT_RELOCATION_SECTIONS:
        if section not in present:
            continue
        for rel in image.relocations(section):
            sym = dynsym.get(rel.symbol_index)
            if sym is None or not sym.name or sym.shndx == "ABS":
                continue
            undefined = sym.shndx == "UND"
            named = _Named(sym.value, display_name(sym, versioned), sym.section, False, undefined)
            out.setdefault(rel.offset, named)
    return out


# --------------------------------------------------------------------------- finding code


def find_function(image: ElfImage, name: str, symbolizer: Symbolizer) -> tuple[str, int, int]:
    """(display name, start, size) of the function called ``name`` (``rename``,
    ``rename@@GLIBC_2.2.5``, ``puts@plt``); BadInput when there is none."""
    if name.endswith("@plt"):
        for entry in symbolizer.plt:
            if entry.name == name:
                return entry.name, entry.address, entry.size
        raise BadInput(f"{image.source}: no PLT entry named {name}")
    base, _, version = name.partition("@")
    version = version.lstrip("@")
    candidates = [
        s
        for s in image.find_symbols(base)
        if s.shndx not in ("UND", "ABS", "COM") and (not version or s.version == version)
    ]
    if not candidates:
        raise BadInput(f"{image.source}: no symbol named {name!r} (defined in this file)")
    code = [s for s in candidates if s.type in ("FUNC", "IFUNC", "NOTYPE")]
    if not code:
        sym = candidates[0]
        raise BadInput(
            f"{image.source}: {name} is a data symbol (type {sym.type}) in {sym.section}, not code"
        )
    code.sort(key=lambda s: (s.size == 0, _objdump_rank(s)))
    sym = code[0]
    value = sym.value & ~1 if image.arch == "arm" else sym.value
    size = sym.size or _size_to_next_symbol(image, value, symbolizer)
    return display_name(sym, symbolizer.versioned), value, size


def _size_to_next_symbol(image: ElfImage, start: int, symbolizer: Symbolizer) -> int:
    section = image.section_for_address(start)
    end = section.address + section.size if section is not None else start
    i = bisect.bisect_right(symbolizer.addresses, start)
    if i < len(symbolizer.addresses):
        end = min(end, symbolizer.addresses[i])
    return max(end - start, 0)


def code_section(image: ElfImage, address: int) -> Section:
    """The executable section holding ``address``; BadInput when it is data or nowhere."""
    section = image.section_for_address(address)
    if section is None:
        raise BadInput(f"{image.source}: address {address:#x} is not inside any section of the file")
    if "X" not in section.flags:
        raise BadInput(
            f"{image.source}: address {address:#x} is in {section.name}, which is not code "
            f"(section flags {section.flags or 'none'}, no X)"
        )
    return section


# --------------------------------------------------------------------------- x86 AT&T text


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

        for op in ops:
            if op.type == x86.X86_OP_REG:
                rendered.append(self._reg(insn, op.reg))
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
            if string_op in ("stos", "lods", "scas", "ins", "outs") and any(
                o.type == x86.X86_OP_REG for o in ops
            ):
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


# --------------------------------------------------------------------------- AArch64 / others


_BRACKET_HEX = re.compile(r"(\[[^\]]*?#)(-?)0x([0-9a-f]+)")


class GenericFormatter:
    """capstone's text for AArch64/ARM/RISC-V, with objdump's targets and decimal offsets."""

    # Instructions whose immediate is an address (besides capstone's jump and call groups).
    ADDRESS_OPERANDS = frozenset({"adr", "adrp"})
    # Jumps through a register, whose immediate is an offset from that register.
    REGISTER_JUMPS = frozenset({"jalr", "jr", "c.jr", "c.jalr"})

    def __init__(self, arch: str, symbolizer: Symbolizer) -> None:
        self.arch = arch
        self.sym = symbolizer
        self.section: str | None = None

    def format(self, insn: Any) -> tuple[str, str, int | None, str | None, str | None]:
        from capstone import CS_GRP_CALL, CS_GRP_JUMP

        mn, ops = insn.mnemonic, insn.op_str
        target = target_name = None
        branch = insn.group(CS_GRP_JUMP) or insn.group(CS_GRP_CALL) or mn in self.ADDRESS_OPERANDS
        if branch and mn not in self.REGISTER_JUMPS:
            # A direct target is the last operand, an immediate: capstone makes it absolute on
            # ARM and AArch64 but leaves RISC-V's relative to the instruction.
            match = re.search(r"(?P<lead>^|, )#?(?P<address>-?0x[0-9a-f]+|-?\d+)$", ops)
            if match:
                target = int(match["address"], 0)
                if self.arch.startswith("riscv"):
                    target = (insn.address + target) & ((1 << 64) - 1)
                target_name = self.sym.name(target, self.section)
                named = f"{target:x}" + (f" <{target_name}>" if target_name else "")
                ops = ops[: match.start()] + match["lead"] + named
        comment = None
        if self.arch == "aarch64":
            ops, comment = _aarch64_immediates(mn, ops)
        return mn, ops, target, target_name, comment


_A64_IMM = re.compile(r"(?P<pre>^|, )#(?P<neg>-?)(?P<num>0x[0-9a-f]+|\d+)(?P<post>\]?!?)")
_A64_SHIFTS = (
    "lsl",
    "lsr",
    "asr",
    "ror",
    "msl",
    "sxtw",
    "uxtw",
    "sxtx",
    "uxtx",
    "sxtb",
    "uxtb",
    "sxth",
    "uxth",
)


def _aarch64_immediates(mn: str, ops: str) -> tuple[str, str | None]:
    """GNU objdump's AArch64 numbers: offsets in decimal inside and right after brackets
    (``[sp, #16]``, ``[sp], #16``), other immediates in hex, shift amounts in decimal, and a
    ``// #64`` comment after a mov of a constant."""
    out: list[str] = []
    depth = 0
    comment = None
    pieces = re.split(r"(\[|\])", ops)
    after_bracket = False
    for piece in pieces:
        if piece == "[":
            depth += 1
        elif piece == "]":
            depth -= 1
            after_bracket = True
        elif piece:

            def repl(m: re.Match[str], inside: bool = depth > 0 or after_bracket) -> str:
                value = int(m["num"], 0) * (-1 if m["neg"] else 1)
                before = m.string[: m.start()].rstrip(", ").split(" ")[-1] if m.start() else ""
                if inside or before in _A64_SHIFTS:
                    text = str(value)
                else:
                    text = f"-{-value:#x}" if value < 0 else f"{value:#x}"
                return f"{m['pre']}#{text}{m['post']}"

            piece = _A64_IMM.sub(repl, piece)
            after_bracket = False if depth == 0 and not piece.startswith(",") else after_bracket
        out.append(piece)
    text = "".join(out)
    match = re.fullmatch(r"(\w+), #(-?0x[0-9a-f]+)", text)
    if mn in ("mov", "movz", "movn") and match:
        comment = f"// #{int(match[2], 0)}"
    return text, comment


# --------------------------------------------------------------------------- driver


def _capstone(arch: str, syntax: str, thumb: bool = False) -> Any:
    import capstone

    if arch not in CAPSTONE_MODES:
        raise NotSupported(f"kernlab cannot disassemble {arch} code (it knows {', '.join(CAPSTONE_MODES)})")
    arch_name, mode_name = CAPSTONE_MODES[arch]
    mode = getattr(capstone, mode_name)
    if arch == "riscv64":
        mode |= getattr(capstone, "CS_MODE_RISCVC", 0)
    if arch == "arm" and thumb:
        mode = capstone.CS_MODE_THUMB
    md = capstone.Cs(getattr(capstone, arch_name), mode)
    md.detail = True
    if arch in ("x86_64", "i386"):
        md.syntax = capstone.CS_OPT_SYNTAX_INTEL  # operands are re-written from the details
    return md


@dataclass
class _SyscallTracker:
    """Follows the last constant written to the number register, instruction by instruction.

    A call or return forgets it (the callee may change the register); any other write to the
    register that is not a constant forgets it too.
    """

    arch: str
    value: int | None = None
    loaded_at: int | None = None
    constants: dict[str, int] = field(default_factory=dict)  # register family -> known constant

    @cached_property
    def rules(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return SYSCALL_TRAPS.get(self.arch, ((), ()))

    @cached_property
    def table(self) -> dict[int, str]:
        from kernlab.errors import KernlabError
        from kernlab.syscalls.tables import by_number

        try:
            return {n: s.name for n, s in by_number(self.arch).items()}
        except KernlabError:
            return {}  # no table for this architecture: numbers without names

    def step(self, insn: Any) -> tuple[SyscallNote | None, bool]:
        """Look at one instruction: (the trap's note if it is a trap, loads-the-number flag)."""
        from capstone import CS_GRP_CALL, CS_GRP_RET, CsError

        traps, regs = self.rules
        text = f"{insn.mnemonic} {insn.op_str}".strip()
        if any(text == t or insn.mnemonic == t for t in traps):
            if self.value is None or self.loaded_at is None:
                return None, False
            return SyscallNote(self.value, self.table.get(self.value), self.arch, self.loaded_at), False
        if insn.group(CS_GRP_CALL) or insn.group(CS_GRP_RET):
            self.value = self.loaded_at = None
            self.constants.clear()
            return None, False
        try:
            _read, written = insn.regs_access()
            written_names = {insn.reg_name(r) for r in written}
        except CsError:
            # No register details for this architecture: its first operand is the destination.
            written_names = {insn.op_str.split(",")[0].strip()}
        constant = self._constant(insn, regs)
        copied = self._copied_constant(insn)
        for name in written_names:
            self.constants.pop(_register_family(name), None)
        if constant is not None or copied is not None:
            destination = insn.op_str.split(",")[0].strip()
            self.constants[_register_family(destination)] = constant if constant is not None else copied
        if not written_names & set(regs):
            return None, False
        value = constant if constant is not None else copied
        self.value, self.loaded_at = (value, insn.address) if value is not None else (None, None)
        return None, value is not None

    def _copied_constant(self, insn: Any) -> int | None:
        """x86 ``mov %esi,%eax`` of a register holding a known constant (glibc's _exit keeps
        the numbers of exit and exit_group in other registers and copies one into eax)."""
        if self.arch not in ("x86_64", "i386") or insn.mnemonic != "mov":
            return None
        from capstone import x86

        ops = list(insn.operands)
        if len(ops) == 2 and ops[0].type == ops[1].type == x86.X86_OP_REG and ops[1].size >= 4:
            return self.constants.get(_register_family(insn.reg_name(ops[1].reg)))
        return None

    def _constant(self, insn: Any, regs: tuple[str, ...]) -> int | None:
        """The value when ``insn`` puts a constant in the number register, else None."""
        ops = list(insn.operands)
        mn = insn.mnemonic
        if self.arch in ("x86_64", "i386"):
            from capstone import x86

            if mn == "mov" and len(ops) == 2 and ops[1].type == x86.X86_OP_IMM:
                return ops[1].imm & 0xFFFFFFFF
            same_register = len(ops) == 2 and ops[0].type == ops[1].type == x86.X86_OP_REG
            if mn == "xor" and same_register and ops[0].reg == ops[1].reg:
                return 0
            return None
        match = re.fullmatch(r"(\w+), #?(-?0x[0-9a-f]+|-?\d+)", insn.op_str)
        if mn in ("mov", "movz", "movw", "li", "c.li") and match and match[1] in regs:
            return int(match[2], 0)
        # RISC-V without the li alias: addi a7, zero, imm
        match = re.fullmatch(r"(\w+), (?:zero|x0), (-?0x[0-9a-f]+|-?\d+)", insn.op_str)
        if mn in ("addi", "addiw") and match and match[1] in regs:
            return int(match[2], 0)
        return None


def _disassemble(
    image: ElfImage, start: int, size: int, syntax: str, symbolizer: Symbolizer, thumb: bool = False
) -> tuple[list[Instruction], list[SyscallNote]]:
    arch = image.arch
    md = _capstone(arch, syntax, thumb)
    section = image.section_for_address(start)
    # Like objdump, an instruction that starts inside the range is shown whole even when it
    # ends past it: read up to 15 more bytes (the longest x86 instruction) within the section.
    slack = 0
    if section is not None:
        slack = max(0, min(15, section.address + section.size - (start + size)))
    code = image.read(start, size + slack)
    formatter: Any
    if arch in ("x86_64", "i386"):
        formatter = X86Formatter(arch == "x86_64", syntax, symbolizer)
    else:
        formatter = GenericFormatter(arch, symbolizer)
    formatter.section = section.name if section is not None else None
    tracker = _SyscallTracker(arch)
    out: list[Instruction] = []
    notes: list[SyscallNote] = []
    offset = 0
    while offset < size:
        decoded = False
        for insn in md.disasm(code[offset:], start + offset):
            if offset >= size:
                break
            decoded = True
            mnemonic, operands, target, target_name, comment = formatter.format(insn)
            note, loads = tracker.step(insn)
            if note is not None:
                notes.append(note)
            if _merges_with_wait(out, insn):
                # objdump reads 9b (fwait) and a following fnstsw/fnstcw/... as one instruction,
                # fstsw/fstcw: the assembler's spelling of the waiting form.
                wait = out.pop()
                mnemonic = mnemonic.replace(insn.mnemonic, "f" + insn.mnemonic[2:], 1)
                out.append(
                    Instruction(
                        wait.address, wait.raw + bytes(insn.bytes), mnemonic, operands, target, target_name
                    )
                )
                offset += insn.size
                continue
            out.append(
                Instruction(
                    insn.address,
                    bytes(insn.bytes),
                    mnemonic,
                    operands,
                    target,
                    target_name,
                    comment,
                    note,
                    loads,
                )
            )
            offset += insn.size
        if offset < size:
            # capstone stops at bytes it cannot decode; objdump prints them as "(bad)".
            out.append(Instruction(start + offset, code[offset : offset + 1], "(bad)", ""))
            offset += 1
        elif not decoded:
            break
    return out, notes


def _register_family(name: str) -> str:
    """The 64-bit register a 32-bit name belongs to on x86 (eax -> rax, r8d -> r8); other names
    are returned as they are."""
    if len(name) == 3 and name[0] == "e" and name[1:] in ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp"):
        return "r" + name[1:]
    if name.startswith("r") and name.endswith("d") and name[1:-1].isdigit():
        return name[:-1]
    return name


def _merges_with_wait(out: list[Instruction], insn: Any) -> bool:
    return (
        bool(out)
        and out[-1].mnemonic == "fwait"
        and out[-1].address + len(out[-1].raw) == insn.address
        and insn.mnemonic in ("fnstsw", "fnstcw", "fnstenv", "fnsave", "fnclex", "fninit")
    )


def open_code(path: str) -> ElfImage:
    return _opened(path)[0]


def _opened(path: str) -> tuple[ElfImage, Symbolizer]:
    """The image and its symbolizer, reused while the file is unchanged (a libc wrapper and the
    functions it calls are disassembled from one file in a row)."""
    import os

    try:
        st = os.stat(path)
    except OSError:
        st = None
    key = (os.path.realpath(path), st.st_mtime_ns if st else 0, st.st_size if st else 0)
    return _opened_cached(path, key)


@lru_cache(maxsize=4)
def _opened_cached(path: str, key: tuple[str, int, int]) -> tuple[ElfImage, Symbolizer]:
    from kernlab.elf.reader import open_elf

    image = open_elf(path)
    return image, Symbolizer(image)


def disassemble_function(path: str, name: str, syntax: str = "att") -> Disassembly:
    """The instructions of the function called ``name`` in the ELF file at ``path``."""
    image, symbolizer = _opened(path)
    full, start, size = find_function(image, name, symbolizer)
    # On 32-bit ARM an odd function address means Thumb code (the low bit is the mode).
    thumb = image.arch == "arm" and any(s.value == start | 1 for s in image.find_symbols(name.split("@")[0]))
    section = code_section(image, start)
    if size <= 0:
        raise BadInput(
            f"{path}: {full} has size 0 and no following symbol to bound it; use --address and --length"
        )
    instructions, notes = _disassemble(image, start, size, syntax, symbolizer, thumb)
    return Disassembly(
        path,
        image.arch,
        _syntax(image, syntax),
        full,
        start,
        size,
        section.name,
        instructions,
        notes,
        64 if image.is_64bit else 32,
    )


def disassemble_range(path: str, address: int, length: int | None = None, syntax: str = "att") -> Disassembly:
    """``length`` bytes of code from ``address`` (default: to the end of the symbol holding it)."""
    image, symbolizer = _opened(path)
    section = code_section(image, address)
    section_end = section.address + section.size
    if length is None:
        length = _size_to_next_symbol(image, address, symbolizer) or min(64, section_end - address)
    if length <= 0:
        raise BadInput(f"length must be positive, not {length}")
    length = min(length, section_end - address)
    instructions, notes = _disassemble(image, address, length, syntax, symbolizer)
    return Disassembly(
        path,
        image.arch,
        _syntax(image, syntax),
        symbolizer.name(address, section.name),
        address,
        length,
        section.name,
        instructions,
        notes,
        64 if image.is_64bit else 32,
    )


def _syntax(image: ElfImage, syntax: str) -> str:
    return syntax if image.arch in ("x86_64", "i386") else "default"
