"""Decoding a range of an ELF file's code into objdump's lines, and the two ways to ask for one.

capstone decodes; the formatters write what objdump writes, because that is the text people
compare with course notes and with each other.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from kernlab.elf.disasm.fast import cut_byte_text
from kernlab.elf.disasm.generic import GenericFormatter
from kernlab.elf.disasm.locate import code_section, find_function, size_to_next_symbol
from kernlab.elf.disasm.model import Disassembly, Instruction, SyscallNote
from kernlab.elf.disasm.symbols import ExternalSymbols, Symbolizer
from kernlab.elf.disasm.traps import SyscallTracker
from kernlab.elf.disasm.x86 import X86Formatter
from kernlab.errors import BadInput, NotSupported

if TYPE_CHECKING:
    from kernlab.elf.reader import ElfImage

__all__ = ["CAPSTONE_MODES", "disassemble_function", "disassemble_range", "open_code", "relocated_slot"]

# Architecture -> (capstone arch, mode) names, resolved lazily so importing this is cheap.
CAPSTONE_MODES: dict[str, tuple[str, str]] = {
    "x86_64": ("CS_ARCH_X86", "CS_MODE_64"),
    "i386": ("CS_ARCH_X86", "CS_MODE_32"),
    "aarch64": ("CS_ARCH_ARM64", "CS_MODE_ARM"),
    "arm": ("CS_ARCH_ARM", "CS_MODE_ARM"),
    "riscv64": ("CS_ARCH_RISCV", "CS_MODE_RISCV64"),
}


def _capstone(arch: str, syntax: str, thumb: bool = False) -> Any:
    import capstone

    if arch not in CAPSTONE_MODES:
        known = ", ".join(CAPSTONE_MODES)
        raise NotSupported(
            f"kernlab cannot disassemble {arch} code (it knows {known})",
            key="errors.elf.disasm_arch",
            fields={"arch": arch, "choices": known},
        )
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


def _disassemble(
    image: ElfImage, start: int, size: int, syntax: str, symbolizer: Symbolizer, thumb: bool = False
) -> tuple[list[Instruction], list[SyscallNote]]:
    arch = image.arch
    md = _capstone(arch, syntax, thumb)
    section = image.section_for_address(start)
    # Up to 15 bytes past the range (the longest x86 instruction), within the section: on x86
    # objdump never decodes past the end of what it lists (the next symbol, --stop-address)
    # and writes an instruction the end cuts as its first byte (cut_byte_text); elsewhere an
    # instruction that starts inside the range is shown whole.
    slack = 0
    if section is not None:
        slack = max(0, min(15, section.address + section.size - (start + size)))
    x86 = arch in ("x86_64", "i386")
    beyond = image.read(start + size, slack) if x86 and slack else b""
    code = image.read(start, size + (0 if x86 else slack))
    formatter: Any
    if arch in ("x86_64", "i386"):
        formatter = X86Formatter(arch == "x86_64", syntax, symbolizer)
    else:
        formatter = GenericFormatter(arch, symbolizer)
    formatter.section = section.name if section is not None else None
    tracker = SyscallTracker(arch)
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
            byte = code[offset : offset + 1]
            window = (code[offset:] + beyond)[:15]
            if x86 and len(code) - offset < 15 and any(True for _ in md.disasm(window, start + offset, 1)):
                # a whole instruction with the bytes past the end: the end cuts it
                out.append(Instruction(start + offset, byte, cut_byte_text(byte[0], arch == "x86_64"), ""))
            else:
                # capstone stops at bytes it cannot decode; objdump prints them as "(bad)".
                out.append(Instruction(start + offset, byte, "(bad)", ""))
            offset += 1
        elif not decoded:
            break
    return out, notes


def _merges_with_wait(out: list[Instruction], insn: Any) -> bool:
    return (
        bool(out)
        and out[-1].mnemonic == "fwait"
        and out[-1].address + len(out[-1].raw) == insn.address
        and insn.mnemonic in ("fnstsw", "fnstcw", "fnstenv", "fnsave", "fnclex", "fninit")
    )


def _opened(path: str, symbols: ExternalSymbols | None = None) -> tuple[ElfImage, Symbolizer]:
    """The image and its symbolizer, reused while the file is unchanged (a libc wrapper and the
    functions it calls are disassembled from one file in a row). With ``symbols`` (a stripped
    vmlinux's System.map) addresses are named after those instead of the file's own tables."""
    try:
        st = os.stat(path)
    except OSError:
        st = None
    key = (os.path.realpath(path), st.st_mtime_ns if st else 0, st.st_size if st else 0)
    image, own = _opened_cached(path, key)
    if symbols is None:
        return image, own
    return image, _external_symbolizer(image, symbols)


def open_code(path: str) -> ElfImage:
    """The ELF file at ``path`` (decompressed from a kernel image), as disassembly reads it."""
    return _opened(path)[0]


@lru_cache(maxsize=2)
def _external_symbolizer(image: ElfImage, symbols: ExternalSymbols) -> Symbolizer:
    return Symbolizer(image, symbols)


@lru_cache(maxsize=4)
def _opened_cached(path: str, key: tuple[str, int, int]) -> tuple[ElfImage, Symbolizer]:
    from kernlab.elf.reader import open_elf

    image = open_elf(path)
    return image, Symbolizer(image)


def relocated_slot(path: str, address: int) -> str | None:
    """The symbol of the dynamic relocation that writes the word at ``address`` (a GOT slot
    ld.so fills at load time), or None."""
    _image, symbolizer = _opened(path)
    found = symbolizer.relocated.get(address)
    return found.name if found is not None else None


def disassemble_function(
    path: str, name: str, syntax: str = "att", symbols: ExternalSymbols | None = None
) -> Disassembly:
    """The instructions of the function called ``name`` in the ELF file at ``path`` (named
    after ``symbols`` when given)."""
    image, symbolizer = _opened(path, symbols)
    full, start, size = find_function(image, name, symbolizer)
    # On 32-bit ARM an odd function address means Thumb code (the low bit is the mode).
    thumb = image.arch == "arm" and any(s.value == start | 1 for s in image.find_symbols(name.split("@")[0]))
    section = code_section(image, start)
    if size <= 0:
        raise BadInput(
            f"{path}: {full} has size 0 and no following symbol to bound it; use --address and --length",
            key="errors.elf.disasm_size_zero",
            fields={"path": path, "name": full},
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


def disassemble_range(
    path: str,
    address: int,
    length: int | None = None,
    syntax: str = "att",
    symbols: ExternalSymbols | None = None,
) -> Disassembly:
    """``length`` bytes of code from ``address`` (default: to the end of the symbol holding it)."""
    image, symbolizer = _opened(path, symbols)
    section = code_section(image, address)
    section_end = section.address + section.size
    if length is None:
        length = size_to_next_symbol(image, address, symbolizer) or min(64, section_end - address)
    if length <= 0:
        raise BadInput(
            f"length must be positive, not {length}",
            key="errors.elf.disasm_length",
            fields={"length": length},
        )
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
