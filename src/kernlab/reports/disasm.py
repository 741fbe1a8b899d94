"""`kernlab disasm`: a function's (or an address range's) instructions, objdump -d style."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kernlab.elf.disasm import Disassembly, Instruction, disassemble_function, disassemble_range
from kernlab.errors import BadInput

__all__ = ["CALL_MNEMONICS", "DisasmReport", "SyscallSite", "build"]

# The last word of a call instruction on each architecture (x86, AArch64/ARM, RISC-V).
CALL_MNEMONICS = frozenset({"call", "bl", "blr", "jal"})


@dataclass(frozen=True)
class SyscallSite:
    """One system call the code makes, and at how many trap instructions."""

    number: int
    name: str | None  # None when kernlab's table for the arch lacks the number
    arch: str
    places: int


@dataclass(frozen=True)
class DisasmReport(Disassembly):
    """The disassembly, and what the listing says at a glance: whom it calls, which calls it makes."""

    calls: tuple[str, ...] = ()  # named call targets, sorted, each once
    syscall_sites: tuple[SyscallSite, ...] = ()  # in order of the first trap of each number


def build(
    path: str,
    symbol: str | None = None,
    *,
    address: int | None = None,
    length: int | None = None,
    syntax: str = "att",
) -> DisasmReport:
    """Disassemble ``symbol`` of the ELF file at ``path``, or ``length`` bytes from ``address``."""
    if symbol is None and address is None:
        raise BadInput("give a SYMBOL or --address ADDR")
    if symbol is not None and address is not None:
        raise BadInput("give either a SYMBOL or --address, not both")
    if length is not None and address is None:
        raise BadInput("--length goes with --address")
    if symbol is not None:
        dis = disassemble_function(path, symbol, syntax)
    else:
        assert address is not None
        dis = disassemble_range(path, address, length, syntax)
    return _report(dis)


def _report(dis: Disassembly) -> DisasmReport:
    calls = sorted({i.target_name for i in dis.instructions if i.target_name and is_call(i)})
    sites: dict[int, SyscallSite] = {}
    for note in dis.syscalls:
        seen = sites.get(note.number)
        sites[note.number] = SyscallSite(note.number, note.name, note.arch, seen.places + 1 if seen else 1)
    fields = {f.name: getattr(dis, f.name) for f in dataclasses.fields(Disassembly)}
    return DisasmReport(**fields, calls=tuple(calls), syscall_sites=tuple(sites.values()))


def is_call(ins: Instruction) -> bool:
    return ins.mnemonic.split()[-1] in CALL_MNEMONICS
