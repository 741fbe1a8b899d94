"""Typed records for what an ELF file holds; produced by :mod:`kernlab.elf.reader`.

Numbers stay numbers (addresses, offsets, sizes as int); names of enumerated values are the
words readelf prints (``DYN``, ``LOAD``, ``FUNC``, ``GLOBAL``), so oracles compare directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ElfHeader:
    """The ELF header (``Elf32_Ehdr``/``Elf64_Ehdr`` of ``<elf.h>``): every field ``readelf -h`` shows."""

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
    type_value: int = 0  # e_type as a number
    machine_value: int = 0  # e_machine as a number
    osabi_value: int = 0  # e_ident[EI_OSABI] as a number
    flags_text: str = ""  # e_flags decoded as readelf does for the machine ("RVC, double-float ABI")
    data_readelf: str = ""  # readelf's Data line: "2's complement, little endian"


@dataclass(frozen=True)
class Section:
    """One entry of the section header table (``Elf{32,64}_Shdr``)."""

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
    type_value: int = 0  # sh_type as a number
    flags_value: int = 0  # sh_flags as a number

    @property
    def is_alloc(self) -> bool:
        """SHF_ALLOC: the section occupies memory while the program runs."""
        return bool(self.flags_value & 0x2)

    @property
    def is_nobits(self) -> bool:
        """SHT_NOBITS: memory only, no bytes in the file (.bss, .tbss)."""
        return self.type_value == 8


@dataclass(frozen=True)
class Segment:
    """One entry of the program header table (``Elf{32,64}_Phdr``): what the kernel maps."""

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
    # What those sections are, as keys, in file order: "headers", "code", "rodata", "unwind",
    # "dynsym", "relocs", "data", "bss", "tls" … (elf.segments.section_content). No default:
    # like ``sections`` it is filled on first use, which a class-level default would hide.
    contents: tuple[str, ...]
    meaning: str  # what the segment is for, as a key: "segment.load" (explain.elf words it)
    interpreter: str | None = None  # for PT_INTERP
    type_value: int = 0  # p_type as a number
    flags_value: int = 0  # p_flags as a number (PF_X 1, PF_W 2, PF_R 4)
    access: str = ""  # p_flags as a key: "r", "rw", "rx", "rwx", "none" … (elf.segments.access_key)

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes missing from __dict__: a segment read from a file gets
        # its section mapping when first asked, for all segments of the file at once
        # (kernlab.elf.segments), because most callers never look at it.
        if name in ("sections", "contents"):
            fill = self.__dict__.get("_fill")
            if fill is not None:
                fill()
                return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


@dataclass(frozen=True)
class Symbol:
    """One ``Elf{32,64}_Sym`` of .symtab or .dynsym, version resolved from .gnu.version*."""

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
    version_index: int | None = None  # for a needed version (undefined symbol): readelf's "(2)"

    @property
    def display_name(self) -> str:
        """The name as readelf -sW prints it: ``free@GLIBC_2.2.5 (3)``, ``malloc@@GLIBC_2.2.5``;
        an unnamed SECTION symbol shows its section's name."""
        if self.type == "SECTION" and not self.name and self.section:
            return self.section
        if self.version is None:
            return self.name
        if self.version_index is not None:
            return f"{self.name}@{self.version} ({self.version_index})"
        return f"{self.name}{'@' if self.version_hidden else '@@'}{self.version}"


@dataclass(frozen=True)
class DynamicEntry:
    """One ``Elf{32,64}_Dyn`` of the dynamic section: what ld.so reads at load time."""

    tag: str  # NEEDED, SONAME, RUNPATH, FLAGS, ...
    value: int
    text: str | None = None  # library name, path, or decoded flags
    tag_value: int = 0  # d_tag as a number


@dataclass(frozen=True)
class Relocation:
    """One ``Elf{32,64}_Rel``/``Rela`` entry: a place the linker or ld.so must patch."""

    offset: int  # r_offset
    info: int  # r_info as stored
    type: int  # relocation type number (from r_info)
    type_name: str  # as readelf prints it: R_X86_64_JUMP_SLOT
    symbol_index: int
    symbol_name: str  # with version, as readelf -r prints it ("" for none)
    symbol_value: int
    addend: int | None  # None for REL (the addend is in the patched place)


@dataclass(frozen=True)
class Note:
    """One ELF note (``Elf_Nhdr`` + name + descriptor) from a SHT_NOTE section or PT_NOTE segment."""

    section: str | None
    owner: str  # "GNU"
    type: str  # NT_GNU_BUILD_ID, NT_GNU_ABI_TAG, NT_GNU_PROPERTY_TYPE_0, ...
    description: str  # decoded: build-id hex, "OS: Linux, ABI: 3.2.0", property names
    type_value: int = 0  # n_type as a number
    data_size: int = 0  # n_descsz


@dataclass(frozen=True)
class LoadSegment:
    """One PT_LOAD as the summary counts it: what it holds (a key) and its sizes."""

    kind: str  # "code" | "data" | "data_bss" | "readonly"
    flags: str  # "R E", as readelf prints them
    filesz: int
    memsz: int


@dataclass(frozen=True)
class CoreProcess:
    """The process a core file is the memory of (NT_PRPSINFO)."""

    command: str
    pid: int
    args: str


@dataclass(frozen=True)
class ElfSummary:
    """What a file is: the figures of file(1)'s line and of the closing sentence, as keys and numbers."""

    path: str
    inner: str | None  # "gzip at offset 0x4a0c" for a compressed kernel image
    elf_class: str  # ELF32 | ELF64
    endianness: str  # little endian | big endian
    type: str  # EXEC, DYN, REL, CORE
    kind: str  # "pie", "exec", "static_pie", "shared", "rel", "core", "kernel" or "other"
    machine: str
    arch: str
    entry: int
    interpreter: str | None
    build_id: str | None
    stripped: bool
    is_kernel: bool
    start_kernel: int | None  # address of start_kernel in a vmlinux
    start_kernel_section: str | None
    meaning: str  # which closing sentence fits the file: "summary.with_interp", "summary.rel", ...
    dynamically_linked: bool | None  # has PT_DYNAMIC (None for files that are not EXEC or DYN)
    soname: str | None
    loads: tuple[LoadSegment, ...]
    exported_symbols: int  # defined, non-local symbols of .dynsym
    section_count: int
    segment_count: int
    symbol_count: int
    note_count: int  # counted for core files only (0 otherwise)
    process: CoreProcess | None  # for a core file whose NT_PRPSINFO names the process
