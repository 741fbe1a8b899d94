"""What a disassembly is: instructions as objdump prints them, and the system calls they make."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Disassembly", "Instruction", "SyscallNote"]


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
