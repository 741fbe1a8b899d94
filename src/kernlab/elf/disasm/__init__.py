"""Disassembly in the style of ``objdump -d``, with capstone as the decoder.

One module per job:

* :mod:`~kernlab.elf.disasm.model` -- :class:`Disassembly`, :class:`Instruction`, :class:`SyscallNote`;
* :mod:`~kernlab.elf.disasm.symbols` -- addresses named as objdump names them;
* :mod:`~kernlab.elf.disasm.locate` -- a function's start, size and code section;
* :mod:`~kernlab.elf.disasm.x86` -- x86 text in AT&T or Intel syntax, as GNU objdump writes it;
* :mod:`~kernlab.elf.disasm.generic` -- AArch64, ARM and RISC-V text;
* :mod:`~kernlab.elf.disasm.traps` -- the system-call number loaded before a trap instruction;
* :mod:`~kernlab.elf.disasm.decode` -- :func:`disassemble_function`, :func:`disassemble_range`;
* :mod:`~kernlab.elf.disasm.libc` -- libc.so.6 and its wrapper for a system call.
"""

from kernlab.elf.disasm.decode import CAPSTONE_MODES, disassemble_function, disassemble_range, open_code
from kernlab.elf.disasm.locate import code_section, find_function
from kernlab.elf.disasm.model import Disassembly, Instruction, SyscallNote
from kernlab.elf.disasm.symbols import ExternalSymbols, Symbolizer, display_name
from kernlab.elf.disasm.traps import SYSCALL_TRAPS

__all__ = [
    "CAPSTONE_MODES",
    "SYSCALL_TRAPS",
    "Disassembly",
    "ExternalSymbols",
    "Instruction",
    "Symbolizer",
    "SyscallNote",
    "code_section",
    "disassemble_function",
    "disassemble_range",
    "display_name",
    "find_function",
    "open_code",
]
