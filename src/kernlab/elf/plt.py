"""Names for PLT entries (``puts@plt``), found the way objdump finds them.

A PLT entry is a few instructions that jump through one GOT slot; the dynamic relocation that
fills that slot names the function. So each entry of ``.plt``, ``.plt.sec`` and ``.plt.got`` is
decoded, the GOT address it loads from is computed, and matched with the ``r_offset`` of a
JUMP_SLOT (``.rela.plt``), GLOB_DAT (``.rela.dyn``, used by ``.plt.got``) or IRELATIVE
relocation -- the latter has no symbol and is named ``*ABS*+0x<addend>@plt`` as objdump does.

Entry decoding per architecture:

* x86-64: ``jmp *disp(%rip)`` (``bnd jmp`` too) -> slot = next instruction + disp;
* i386: ``jmp *disp(%ebx)`` (PIC, %ebx = .got.plt) or ``jmp *abs32``;
* AArch64: ``adrp x16, page; ldr x17, [x16, #off]`` -> slot = page + off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernlab.elf.reader import ElfImage

PLT_SECTIONS = (".plt", ".plt.sec", ".plt.got", ".iplt")
GOT_RELOCATION_SECTIONS = (".rela.plt", ".rel.plt", ".rela.dyn", ".rel.dyn")
SLOT_TYPES = ("JUMP_SLOT", "GLOB_DAT", "IRELATIVE", "JMP_SLOT")

_VERSION_INDEX = re.compile(r" \(\d+\)$")


@dataclass(frozen=True)
class PltEntry:
    """One synthetic ``name@plt`` symbol."""

    address: int  # first byte of the entry
    size: int
    name: str  # "puts@plt", "*ABS*+0x9f550@plt"
    section: str  # .plt, .plt.sec, .plt.got
    got_slot: int  # the GOT address the entry jumps through
    relocation: str  # relocation type name, R_X86_64_JUMP_SLOT ...


def _clean(name: str) -> str:
    """``puts@GLIBC_2.2.5 (3)`` -> ``puts@GLIBC_2.2.5`` (readelf's version index left out)."""
    return _VERSION_INDEX.sub("", name)


def got_slot_names(image: ElfImage) -> dict[int, tuple[str, str, str]]:
    """GOT address -> (symbol name with version, bare name or ``*ABS*+0x..``, relocation type)."""
    names = {s.name for s in image.sections}
    slots: dict[int, tuple[str, str, str]] = {}
    for section in GOT_RELOCATION_SECTIONS:
        if section not in names:
            continue
        for rel in image.relocations(section):
            if not any(rel.type_name.endswith(t) for t in SLOT_TYPES):
                continue
            full = _clean(rel.symbol_name)
            if full:
                bare = full.split("@", 1)[0]
            elif rel.type_name.endswith("IRELATIVE"):
                # REL (i386) keeps the resolver's address in the GOT slot, not in the relocation:
                # objdump then names the entry plain *ABS*.
                bare = full = f"*ABS*+{rel.addend:#x}" if rel.addend else "*ABS*"
            else:
                continue
            slots.setdefault(rel.offset, (full, bare, rel.type_name))
    return slots


def _cs_for(arch: str) -> Any:
    import capstone

    if arch == "x86_64":
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    elif arch == "i386":
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    elif arch == "aarch64":
        md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    else:
        return None
    md.detail = True
    return md


def _x86_slot(insn: Any, arch: str, got_plt: int | None) -> int | None:
    from capstone import x86

    if insn.mnemonic not in ("jmp", "bnd jmp") or len(insn.operands) != 1:
        return None
    op = insn.operands[0]
    if op.type != x86.X86_OP_MEM or op.mem.index != 0:
        return None
    base = insn.reg_name(op.mem.base) if op.mem.base else None
    if base == "rip":
        return insn.address + insn.size + op.mem.disp
    if base is None:
        return op.mem.disp & 0xFFFFFFFF
    if base == "ebx" and got_plt is not None:
        return (got_plt + op.mem.disp) & 0xFFFFFFFF
    return None


def _entry_slots(image: ElfImage, section_name: str, md: Any) -> list[tuple[int, int]]:
    """(address of the instruction that reveals the slot, GOT slot) for each jump in a section."""
    from capstone import arm64

    sec = image.section_by_name(section_name)
    if sec is None or not sec.size:
        return []
    code = bytes(image.section_data(sec))
    got_plt = image.section_by_name(".got.plt")
    got_plt_addr = got_plt.address if got_plt is not None else None
    found: list[tuple[int, int]] = []
    page: dict[int, int] = {}  # aarch64: register -> page from the last adrp
    for insn in md.disasm(code, sec.address):
        if image.arch in ("x86_64", "i386"):
            slot = _x86_slot(insn, image.arch, got_plt_addr)
            if slot is not None:
                found.append((insn.address, slot))
        elif insn.mnemonic == "adrp":
            page[insn.operands[0].reg] = insn.operands[1].imm
        elif insn.mnemonic == "ldr" and len(insn.operands) == 2:
            mem = insn.operands[1]
            if mem.type == arm64.ARM64_OP_MEM and mem.mem.base in page:
                found.append((insn.address, page[mem.mem.base] + mem.mem.disp))
    return found


def plt_entries(image: ElfImage) -> list[PltEntry]:
    """Every PLT entry that jumps through a GOT slot a dynamic relocation names."""
    md = _cs_for(image.arch)
    if md is None:
        return []
    slots = got_slot_names(image)
    if not slots:
        return []
    out: list[PltEntry] = []
    for name in PLT_SECTIONS:
        sec = image.section_by_name(name)
        if sec is None or not sec.size:
            continue
        # Entries are sh_entsize apart (16 bytes for .plt on x86-64 and AArch64, 8 or 16 for
        # .plt.got); the header entry PLT0 has no slot relocation so it is never named.
        entsize = sec.entsize or 16
        for at, slot in _entry_slots(image, name, md):
            if slot not in slots:
                continue
            start = sec.address + (at - sec.address) // entsize * entsize
            _full, bare, rtype = slots[slot]
            out.append(PltEntry(start, entsize, f"{bare}@plt", name, slot, rtype))
    # With IBT (.plt.sec) both .plt and .plt.sec jump through the same slot; objdump names the
    # .plt.sec entry, the one calls go to.
    sec_slots = {e.got_slot for e in out if e.section == ".plt.sec"}
    return [e for e in out if not (e.section == ".plt" and e.got_slot in sec_slots)]
