"""System calls a piece of code makes: the number loaded as a constant before the trap.

A system-call number loaded as a constant into the number register (eax/rax on x86, x8/w8 on
AArch64, r7 on arm, a7 on RISC-V) before the trap instruction is remembered, and the trap is
annotated with the call's name from kernlab's tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from kernlab.elf.disasm.model import SyscallNote
from kernlab.errors import KernlabError
from kernlab.syscalls.tables import by_number

__all__ = ["SYSCALL_TRAPS", "SyscallTracker", "syscall_name"]

# How each architecture enters the kernel, and where the number goes (syscall(2)).
SYSCALL_TRAPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # arch: (trap mnemonics, registers that hold the number)
    "x86_64": (("syscall",), ("eax", "rax")),
    "i386": (("int 0x80", "sysenter"), ("eax",)),
    "aarch64": (("svc",), ("x8", "w8")),
    "arm": (("svc", "swi"), ("r7",)),
    "riscv64": (("ecall",), ("a7",)),
}


@dataclass
class SyscallTracker:
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
        return _names(self.arch)

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
        # Read before the written registers are forgotten: mov %esi,%eax copies esi's value.
        value = constant if constant is not None else self._copied_constant(insn)
        for name in written_names:
            self.constants.pop(register_family(name), None)
        if value is not None:
            destination = insn.op_str.split(",")[0].strip()
            self.constants[register_family(destination)] = value
        if not written_names & set(regs):
            return None, False
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
            return self.constants.get(register_family(insn.reg_name(ops[1].reg)))
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


@lru_cache(maxsize=8)
def _names(arch: str) -> dict[int, str]:
    """System-call number -> name for ``arch`` (a tracker is made per trap of a whole file)."""
    try:
        return {n: s.name for n, s in by_number(arch).items()}
    except KernlabError:
        return {}  # no table for this architecture: numbers without names


def syscall_name(arch: str, number: int) -> str | None:
    """The name of system call ``number`` on ``arch`` in kernlab's tables, or None."""
    return _names(arch).get(number)


def register_family(name: str) -> str:
    """The 64-bit register a 32-bit name belongs to on x86 (eax -> rax, r8d -> r8); other names
    are returned as they are."""
    if len(name) == 3 and name[0] == "e" and name[1:] in ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp"):
        return "r" + name[1:]
    if name.startswith("r") and name.endswith("d") and name[1:-1].isdigit():
        return name[:-1]
    return name
