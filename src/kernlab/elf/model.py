"""Typed records for what an ELF file holds; produced by :mod:`kernlab.elf.reader`.

Numbers stay numbers (addresses, offsets, sizes as int); names of enumerated values are the
words readelf prints (``DYN``, ``LOAD``, ``FUNC``, ``GLOBAL``), so oracles compare directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile


@dataclass(frozen=True)
class ElfHeader:
    """Every field ``readelf -h`` shows."""

    magic: bytes
    elf_class: str  # "ELF32" | "ELF64"
    data: str  # "little endian" | "big endian"
    ident_version: int
    os_abi: str  # readelf words, e.g. "UNIX - System V"
    abi_version: int
    type: str  # "EXEC" | "DYN" | "REL" | "CORE" | ...
    type_description: str  # readelf's "(Shared object file)" text without parentheses
    machine: str  # readelf's words, e.g. "Advanced Micro Devices X86-64"
    arch: str  # short name kernlab uses everywhere: x86_64, i386, aarch64, arm, riscv64, ...
    version: int
    entry: int
    phoff: int
    shoff: int
    flags: int
    ehsize: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: str  # readelf words: PROGBITS, NOBITS, SYMTAB, ...
    address: int
    offset: int
    size: int
    entsize: int
    flags: str  # readelf letters: "AX", "WA", ...
    link: int
    info: int
    align: int


@dataclass(frozen=True)
class Segment:
    index: int
    type: str  # readelf words: LOAD, INTERP, GNU_STACK, ...
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    flags: str  # "R E", "RW ", as readelf prints them
    align: int
    sections: tuple[str, ...]  # section-to-segment mapping, exactly as readelf -l computes it
    meaning: str  # one plain sentence from the catalog
    interpreter: str | None = None  # for PT_INTERP


@dataclass(frozen=True)
class Symbol:
    table: str  # ".symtab" | ".dynsym"
    index: int
    name: str  # without version
    version: str | None  # "GLIBC_2.2.5"; None when unversioned
    version_hidden: bool  # True prints name@VER, False name@@VER (readelf's convention)
    value: int
    size: int
    type: str  # NOTYPE, OBJECT, FUNC, SECTION, FILE, TLS, IFUNC, ...
    bind: str  # LOCAL, GLOBAL, WEAK, UNIQUE
    visibility: str  # DEFAULT, HIDDEN, PROTECTED, INTERNAL
    shndx: str  # "UND", "ABS", "COM", or the section index as decimal text
    section: str | None  # section name when shndx is an index


@dataclass(frozen=True)
class DynamicEntry:
    tag: str  # NEEDED, SONAME, RUNPATH, FLAGS, ...
    value: int
    text: str | None = None  # library name, path, or decoded flags


@dataclass(frozen=True)
class Note:
    section: str | None
    owner: str  # "GNU"
    type: str  # NT_GNU_BUILD_ID, NT_GNU_ABI_TAG, NT_GNU_PROPERTY_TYPE_0, ...
    description: str  # decoded: build-id hex, "Linux 3.2.0", property names


@dataclass
class ElfImage:
    """An opened ELF file. Large tables are read lazily on first use.

    ``source`` is the path given; ``inner`` says where the ELF came from when it was found
    inside another file (a compressed kernel image: ``"gzip at offset 0x4a0c"``).
    """

    source: str
    header: ElfHeader
    sections: list[Section]
    segments: list[Segment]
    inner: str | None = None
    _elffile: ELFFile | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
