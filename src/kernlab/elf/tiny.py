"""A hello world without a compiler: the smallest static x86-64 ELF executable that prints a line.

The file is written byte by byte: the 64-byte ELF header, one program header (a single
``PT_LOAD`` segment, read and execute, mapping the whole file at :data:`BASE`), then the code —
``write(1, message, len)`` and ``exit(0)`` as bare ``syscall`` instructions, no libc, no loader —
and the message. There are no section headers (the kernel's execve reads only the program
headers), so ``readelf -h`` shows ``Number of section headers: 0``.

`kernlab tour` runs and reads it when no C compiler is at hand; it exists for x86-64 only
(:func:`supported`), elsewhere the tour falls back on a program already on the machine.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["BASE", "MESSAGE", "supported", "tiny_hello", "write_tiny_hello"]

MESSAGE = b"hello, world\n"
BASE = 0x400000
"""Where the segment (the whole file) is mapped: the classic start of a non-PIE x86-64 program."""
MACHINES = ("x86_64", "amd64")

EHDR_SIZE = 64
PHDR_SIZE = 56
ET_EXEC = 2
EM_X86_64 = 62
PT_LOAD = 1
PF_X, PF_R = 1, 4
PAGE_ALIGN = 0x1000
SYS_WRITE, SYS_EXIT = 1, 60


def supported(machine: str | None = None) -> bool:
    """Whether the tiny program runs here (``uname -m`` is x86-64)."""
    return (machine or os.uname().machine) in MACHINES


def _code(message_at: int, length: int) -> bytes:
    """write(1, message, length); exit(0) — ``message_at`` is the message's address, ``length``
    its size; the code starts right after the headers."""
    code = bytearray()
    code += b"\xb8" + struct.pack("<I", SYS_WRITE)  # mov $1, %eax
    code += b"\xbf" + struct.pack("<I", 1)  # mov $1, %edi        (stdout)
    lea_end = BASE + EHDR_SIZE + PHDR_SIZE + len(code) + 7
    code += b"\x48\x8d\x35" + struct.pack("<i", message_at - lea_end)  # lea msg(%rip), %rsi
    code += b"\xba" + struct.pack("<I", length)  # mov $len, %edx
    code += b"\x0f\x05"  # syscall
    code += b"\xb8" + struct.pack("<I", SYS_EXIT)  # mov $60, %eax
    code += b"\x31\xff"  # xor %edi, %edi     (status 0)
    code += b"\x0f\x05"  # syscall
    return bytes(code)


CODE_SIZE = len(_code(0, 0))


def tiny_hello(message: bytes = MESSAGE) -> bytes:
    """The whole file: ELF header, one PT_LOAD program header, code, message."""
    entry = BASE + EHDR_SIZE + PHDR_SIZE
    message_at = entry + CODE_SIZE
    code = _code(message_at, len(message))
    size = EHDR_SIZE + PHDR_SIZE + len(code) + len(message)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, version 1, SysV ABI
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH",
        ET_EXEC,
        EM_X86_64,
        1,  # e_version
        entry,
        EHDR_SIZE,  # e_phoff: the program header follows
        0,  # e_shoff: no section headers
        0,  # e_flags
        EHDR_SIZE,
        PHDR_SIZE,
        1,  # e_phnum
        64,  # e_shentsize (the size a section header would have)
        0,  # e_shnum
        0,  # e_shstrndx (SHN_UNDEF)
    )
    program_header = struct.pack(
        "<IIQQQQQQ",
        PT_LOAD,
        PF_R | PF_X,
        0,  # p_offset: the whole file, headers included
        BASE,  # p_vaddr
        BASE,  # p_paddr
        size,  # p_filesz
        size,  # p_memsz
        PAGE_ALIGN,
    )
    data = header + program_header + code + message
    assert len(header) == EHDR_SIZE and len(program_header) == PHDR_SIZE and len(data) == size
    return data


def write_tiny_hello(path: str | os.PathLike[str], message: bytes = MESSAGE) -> Path:
    """Write the program to ``path``, executable (0755), and return its path."""
    target = Path(path)
    target.write_bytes(tiny_hello(message))
    target.chmod(0o755)
    return target
