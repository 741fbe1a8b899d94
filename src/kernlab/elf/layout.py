"""The binary layout of ELF records: struct formats for one class (32/64-bit) and byte order.

Every other module decodes the file through these ``struct.Struct`` objects, so the choice of
ELF32/ELF64 and little/big endian is made once, when the header is read.
"""

from __future__ import annotations

import struct
from functools import cache
from typing import NamedTuple

MASK64 = (1 << 64) - 1


class Shdr(NamedTuple):
    """A section header as stored (``Elf{32,64}_Shdr``), numbers only."""

    name: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int


class Phdr(NamedTuple):
    """A program header as stored (``Elf{32,64}_Phdr``), in Elf64 field order."""

    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


class Layout(NamedTuple):
    """struct formats for one class and byte order."""

    ehdr: struct.Struct
    shdr: struct.Struct
    phdr: struct.Struct
    sym: struct.Struct
    dyn: struct.Struct
    rel: struct.Struct
    rela: struct.Struct
    half: struct.Struct
    word: struct.Struct
    addr: struct.Struct
    wide: bool


@cache  # four possible layouts; building 11 Structs per opened file showed in ldd's profile
def layout(wide: bool, endian: str) -> Layout:
    """The formats for ELF64 (``wide``) or ELF32, ``endian`` being "<" or ">"."""
    if wide:
        return Layout(
            ehdr=struct.Struct(endian + "HHIQQQIHHHHHH"),
            shdr=struct.Struct(endian + "IIQQQQIIQQ"),
            phdr=struct.Struct(endian + "IIQQQQQQ"),
            sym=struct.Struct(endian + "IBBHQQ"),
            dyn=struct.Struct(endian + "QQ"),
            rel=struct.Struct(endian + "QQ"),
            rela=struct.Struct(endian + "QQq"),
            half=struct.Struct(endian + "H"),
            word=struct.Struct(endian + "I"),
            addr=struct.Struct(endian + "Q"),
            wide=True,
        )
    return Layout(
        ehdr=struct.Struct(endian + "HHIIIIIHHHHHH"),
        shdr=struct.Struct(endian + "IIIIIIIIII"),
        phdr=struct.Struct(endian + "IIIIIIII"),
        sym=struct.Struct(endian + "IIIBBH"),
        dyn=struct.Struct(endian + "II"),
        rel=struct.Struct(endian + "II"),
        rela=struct.Struct(endian + "IIi"),
        half=struct.Struct(endian + "H"),
        word=struct.Struct(endian + "I"),
        addr=struct.Struct(endian + "I"),
        wide=False,
    )


def align_up(value: int, align: int) -> int:
    return (value + align - 1) & ~(align - 1)


def cstr(table: bytes, offset: int) -> str:
    """The NUL-terminated string at ``offset`` of a string table ("<corrupt>" past its end)."""
    if offset >= len(table):
        return "<corrupt>"
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "backslashreplace")
