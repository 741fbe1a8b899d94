"""Calls that reach an imported function without a PLT stub: ``call *slot(%rip)`` on a GOT slot.

Code built with ``-fno-plt`` (or a function whose GOT slot the compiler loads itself) calls an
import as ``call *name@GOTPCREL(%rip)`` — ``ff 15 disp32``, the slot at the next instruction +
disp — and tail-calls it as ``jmp *name@GOTPCREL(%rip)`` (``ff 25``). objdump names them by the
relocation (``GLOB_DAT``/``JUMP_SLOT``) whose ``r_offset`` is that slot, as :mod:`kernlab.elf.plt`
names PLT entries.

A probe must sit on the first byte of an instruction (one placed inside an instruction corrupts
the program), so a site is only taken from a linear disassembly of the code: per function where
the symbol table gives bounds, per section otherwise (compiler output has no data in ``.text``).
The byte pattern is searched first, so files without such calls are not disassembled at all.

x86-64 only for now (AArch64's ``adrp; ldr; blr`` sequences are not matched): other
architectures get no site, and the caller says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kernlab.elf.plt import PLT_SECTIONS, got_slot_names

if TYPE_CHECKING:
    from kernlab.elf.reader import ElfImage

__all__ = ["CALL", "TAIL", "CallSite", "got_call_sites"]

CALL = "call"
TAIL = "tail"

_PATTERN = re.compile(rb"\xff[\x15\x25]", re.DOTALL)
_PREFIXES = frozenset(b"\xf2\x3e\x2e")  # bnd, notrack (ds), cs: what compilers put before them
_SHF_EXECINSTR = 0x4


@dataclass(frozen=True)
class CallSite:
    """One ``call``/``jmp`` through a GOT slot."""

    address: int
    """The instruction's address (where the entry probe goes)."""
    size: int
    name: str
    """The imported function's bare name (``puts``)."""
    kind: str
    """:data:`CALL` (returns to the next instruction) or :data:`TAIL` (``jmp``: returns to its
    own caller)."""
    slot: int
    """The GOT slot it jumps through."""
    function_end: int = 0
    """End of the function it is in (0 when no symbol gives it): a ``call`` at the very end of a
    function (to a function that never returns) has no next instruction of its own."""

    @property
    def next_address(self) -> int:
        return self.address + self.size


def _slot_of(raw: bytes, address: int) -> tuple[str, int] | None:
    """(kind, slot) when ``raw`` is ``[prefixes] ff 15|25 disp32``, else None."""
    at = 0
    while at < len(raw) and raw[at] in _PREFIXES:
        at += 1
    if len(raw) == at + 5 and raw[at] in (0xE8, 0xE9):  # call/jmp rel32 (to a PLT stub)
        rel = int.from_bytes(raw[at + 1 : at + 5], "little", signed=True)
        return (CALL if raw[at] == 0xE8 else TAIL), address + len(raw) + rel
    if len(raw) != at + 6 or raw[at] != 0xFF or raw[at + 1] not in (0x15, 0x25):
        return None
    disp = int.from_bytes(raw[at + 2 : at + 6], "little", signed=True)
    return (CALL if raw[at + 1] == 0x15 else TAIL), address + len(raw) + disp


def _ranges(image: ElfImage, start: int, end: int) -> list[tuple[int, int]]:
    """The functions (from the symbol tables) inside [start, end); the whole range when none."""
    found: dict[int, int] = {}
    for table in (".symtab", ".dynsym"):
        for sym in image.symbols(table):
            if sym.type in ("FUNC", "IFUNC") and sym.size and start <= sym.value < end:
                found[sym.value] = max(found.get(sym.value, 0), sym.value + sym.size)
        if found:
            break
    return sorted(found.items()) if found else [(start, end)]


def got_call_sites(
    image: ElfImage, names: set[str] | None = None, stubs: dict[int, str] | None = None
) -> list[CallSite]:
    """Every ``call``/``jmp`` through the GOT slot of an import (of ``names``, when given), and
    every direct ``call``/``jmp`` to one of ``stubs`` (PLT entry address -> name); for those,
    :attr:`CallSite.slot` is the stub's address."""
    if image.arch != "x86_64":
        return []
    slots = {
        slot: bare
        for slot, (_full, bare, _type) in got_slot_names(image).items()
        if not bare.startswith("*ABS*") and (names is None or bare in names)
    }
    slots.update(stubs or {})
    if not slots:
        return []
    import capstone

    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.skipdata = False
    out: list[CallSite] = []
    for sec in image.sections:
        if not sec.flags_value & _SHF_EXECINSTR or sec.is_nobits or sec.name in PLT_SECTIONS or not sec.size:
            continue
        code = bytes(image.section_data(sec))
        hinted = bool(stubs)
        for m in _PATTERN.finditer(code):
            disp = int.from_bytes(code[m.start() + 2 : m.start() + 6], "little", signed=True)
            if sec.address + m.start() + 6 + disp in slots:
                hinted = True
                break
        if not hinted:
            continue
        for lo, hi in _ranges(image, sec.address, sec.address + sec.size):
            piece = code[lo - sec.address : min(hi, sec.address + sec.size) - sec.address]
            bounded = (lo, hi) != (sec.address, sec.address + sec.size)
            # disasm_lite stops at the first byte it cannot decode: what follows is not trusted.
            for address, size, _mnemonic, _ops in md.disasm_lite(piece, lo):
                raw = piece[address - lo : address - lo + size]
                if b"\xff" not in raw and not (stubs and (b"\xe8" in raw or b"\xe9" in raw)):
                    continue
                found = _slot_of(raw, address)
                if found is None or found[1] not in slots:
                    continue
                kind, slot = found
                out.append(CallSite(address, size, slots[slot], kind, slot, hi if bounded else 0))
    return out
