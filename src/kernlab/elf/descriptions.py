"""Numbers in an ELF file → the words GNU readelf prints for them.

These are tables, not code: each maps a value from the ELF specification (``<elf.h>``, the
System V gABI and the processor supplements) to readelf's spelling, so that kernlab's output
and ``readelf`` can be compared word for word. Processor-specific values live in per-machine
tables because the same number means different things on different machines (0x70000001 is
``X86_64_UNWIND`` on x86-64 but ``ARM_EXIDX`` on ARM).
"""

from __future__ import annotations

# --- ELF identification (e_ident) -----------------------------------------------------------

CLASS_NAMES: dict[int, str] = {0: "none", 1: "ELF32", 2: "ELF64"}

DATA_NAMES: dict[int, str] = {0: "none", 1: "little endian", 2: "big endian"}

OSABI_NAMES: dict[int, str] = {
    0: "UNIX - System V",
    1: "UNIX - HP-UX",
    2: "UNIX - NetBSD",
    3: "UNIX - GNU",
    6: "UNIX - Solaris",
    7: "UNIX - AIX",
    8: "UNIX - IRIX",
    9: "UNIX - FreeBSD",
    10: "UNIX - TRU64",
    11: "Novell - Modesto",
    12: "UNIX - OpenBSD",
    13: "VMS - OpenVMS",
    14: "HP - Non-Stop Kernel",
    15: "AROS",
    16: "FenixOS",
    17: "Nuxi CloudABI",
    18: "Stratus Technologies OpenVOS",
    255: "Standalone App",
}

# --- e_type ---------------------------------------------------------------------------------

# value -> (readelf's short word, readelf's parenthesised description)
FILE_TYPES: dict[int, tuple[str, str]] = {
    0: ("NONE", "None"),
    1: ("REL", "Relocatable file"),
    2: ("EXEC", "Executable file"),
    3: ("DYN", "Shared object file"),
    4: ("CORE", "Core file"),
}
PIE_DESCRIPTION = "Position-Independent Executable file"

# --- e_machine: readelf's words and kernlab's short architecture name -----------------------

MACHINES: dict[int, tuple[str, str]] = {
    0: ("None", "none"),
    2: ("Sparc", "sparc"),
    3: ("Intel 80386", "i386"),
    4: ("MC68000", "m68k"),
    8: ("MIPS R3000", "mips"),
    10: ("MIPS R4000 big-endian", "mips"),
    15: ("HPPA", "parisc"),
    18: ("Sparc v8+", "sparc"),
    20: ("PowerPC", "ppc"),
    21: ("PowerPC64", "ppc64"),
    22: ("IBM S/390", "s390"),
    40: ("ARM", "arm"),
    42: ("Renesas / SuperH SH", "sh"),
    43: ("Sparc v9", "sparc64"),
    50: ("Intel IA-64", "ia64"),
    62: ("Advanced Micro Devices X86-64", "x86_64"),
    183: ("AArch64", "aarch64"),
    243: ("RISC-V", "riscv"),
    247: ("Linux BPF", "bpf"),
    258: ("LoongArch", "loongarch"),
}

EM_386 = 3
EM_MIPS = 8
EM_MIPS_RS3_LE = 10
EM_PPC = 20
EM_PPC64 = 21
EM_S390 = 22
EM_ARM = 40
EM_X86_64 = 62
EM_AARCH64 = 183
EM_RISCV = 243
EM_LOONGARCH = 258


def short_arch(machine: int, elf_class: int) -> str:
    """kernlab's short architecture name; the 64-bit variant where the class decides it."""
    name = MACHINES.get(machine, ("", f"em{machine}"))[1]
    wide = elf_class == 2
    if name == "riscv":
        return "riscv64" if wide else "riscv32"
    if name == "mips":
        return "mips64" if wide else "mips"
    if name == "s390":
        return "s390x" if wide else "s390"
    if name == "loongarch":
        return "loongarch64" if wide else "loongarch32"
    return name


# RISC-V e_flags as readelf decodes them (bits, words).
RISCV_FLAG_WORDS: tuple[tuple[int, str], ...] = ((0x1, "RVC"), (0x8, "RVE"), (0x10, "TSO"))
RISCV_FLOAT_ABI: dict[int, str] = {
    0x0: "soft-float ABI",
    0x2: "single-float ABI",
    0x4: "double-float ABI",
    0x6: "quad-float ABI",
}

# ARM e_flags bits readelf names after "Version5 EABI" / "Version4 EABI".
ARM_EABI5_FLAG_WORDS: dict[int, str] = {
    0x800000: "BE8",
    0x400000: "LE8",
    0x200: "soft-float ABI",
    0x400: "hard-float ABI",
}
ARM_EABI4_FLAG_WORDS: dict[int, str] = {0x800000: "BE8", 0x400000: "LE8"}

# --- section header types (sh_type) ---------------------------------------------------------

SECTION_TYPES: dict[int, str] = {
    0: "NULL",
    1: "PROGBITS",
    2: "SYMTAB",
    3: "STRTAB",
    4: "RELA",
    5: "HASH",
    6: "DYNAMIC",
    7: "NOTE",
    8: "NOBITS",
    9: "REL",
    10: "SHLIB",
    11: "DYNSYM",
    14: "INIT_ARRAY",
    15: "FINI_ARRAY",
    16: "PREINIT_ARRAY",
    17: "GROUP",
    18: "SYMTAB SECTION INDICES",
    19: "RELR",
    0x6FFFFFF5: "GNU_ATTRIBUTES",
    0x6FFFFFF6: "GNU_HASH",
    0x6FFFFFF7: "GNU_LIBLIST",
    0x6FFFFFF8: "CHECKSUM",
    0x6FFFFFFD: "VERDEF",
    0x6FFFFFFE: "VERNEED",
    0x6FFFFFFF: "VERSYM",
    0x6FFFFFF0: "VERSYM",
}

MACHINE_SECTION_TYPES: dict[int, dict[int, str]] = {
    EM_X86_64: {0x70000001: "X86_64_UNWIND"},
    EM_ARM: {
        0x70000001: "ARM_EXIDX",
        0x70000002: "ARM_PREEMPTMAP",
        0x70000003: "ARM_ATTRIBUTES",
        0x70000004: "ARM_DEBUGOVERLAY",
        0x70000005: "ARM_OVERLAYSECTION",
    },
    EM_AARCH64: {0x70000003: "AARCH64_ATTRIBUTES"},
    EM_RISCV: {0x70000003: "RISCV_ATTRIBUTES"},
    EM_MIPS: {
        0x70000000: "MIPS_LIBLIST",
        0x70000001: "MIPS_MSYM",
        0x70000002: "MIPS_CONFLICT",
        0x70000003: "MIPS_GPTAB",
        0x70000004: "MIPS_UCODE",
        0x70000005: "MIPS_DEBUG",
        0x70000006: "MIPS_REGINFO",
        0x7000000D: "MIPS_OPTIONS",
        0x7000001E: "MIPS_DWARF",
        0x70000029: "MIPS_XHASH",
        0x7000002A: "MIPS_ABIFLAGS",
    },
    EM_LOONGARCH: {},
}
MACHINE_SECTION_TYPES[EM_MIPS_RS3_LE] = MACHINE_SECTION_TYPES[EM_MIPS]

SHT_NOBITS = 8
SHT_NOTE = 7
SHT_SYMTAB = 2
SHT_DYNSYM = 11
SHT_DYNAMIC = 6
SHT_REL = 9
SHT_RELA = 4
SHT_GNU_VERSYM = 0x6FFFFFFF
SHT_GNU_VERDEF = 0x6FFFFFFD
SHT_GNU_VERNEED = 0x6FFFFFFE
SHT_SYMTAB_SHNDX = 18


def section_type_name(sh_type: int, machine: int) -> str:
    """readelf's word for a section type (``LOOS+0x…`` etc. for values it does not name)."""
    special = MACHINE_SECTION_TYPES.get(machine, {})
    if sh_type in special:
        return special[sh_type]
    if sh_type in SECTION_TYPES:
        return SECTION_TYPES[sh_type]
    if 0x70000000 <= sh_type <= 0x7FFFFFFF:
        return f"LOPROC+{sh_type - 0x70000000:#x}"
    if 0x60000000 <= sh_type <= 0x6FFFFFFF:
        return f"LOOS+{sh_type - 0x60000000:#x}"
    if 0x80000000 <= sh_type <= 0xFFFFFFFF:
        return f"LOUSER+{sh_type - 0x80000000:#x}"
    return f"{sh_type:08x}"


# --- section flags (sh_flags), as readelf's one-letter key ----------------------------------

SECTION_FLAG_LETTERS: dict[int, str] = {
    0x1: "W",
    0x2: "A",
    0x4: "X",
    0x10: "M",
    0x20: "S",
    0x40: "I",
    0x80: "L",
    0x100: "O",
    0x200: "G",
    0x400: "T",
    0x800: "C",
    0x80000000: "E",
}
SECTION_FLAG_WORDS: dict[str, str] = {
    "W": "write",
    "A": "alloc",
    "X": "execute",
    "M": "merge",
    "S": "strings",
    "I": "info",
    "L": "link order",
    "O": "extra OS processing required",
    "G": "group",
    "T": "TLS",
    "C": "compressed",
    "x": "unknown",
    "o": "OS specific",
    "E": "exclude",
    "D": "mbind",
    "R": "retain",
    "l": "large",
    "y": "purecode",
    "p": "processor specific",
}
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHF_TLS = 0x400
SHF_MASKOS = 0x0FF00000
SHF_MASKPROC = 0xF0000000
SHF_GNU_RETAIN = 0x200000
SHF_GNU_MBIND = 0x01000000
SHF_X86_64_LARGE = 0x10000000
SHF_ARM_PURECODE = 0x20000000


def section_flag_letters(flags: int, machine: int, osabi: int) -> str:
    """readelf -S's flag letters, lowest bit first, exactly as its get_elf_section_flags."""
    out = []
    while flags:
        bit = flags & -flags
        flags &= ~bit
        letter = SECTION_FLAG_LETTERS.get(bit)
        if letter is None:
            if machine == EM_X86_64 and bit == SHF_X86_64_LARGE:
                letter = "l"
            elif machine == EM_ARM and bit == SHF_ARM_PURECODE:
                letter = "y"
            elif bit & SHF_MASKOS:
                # readelf names RETAIN only for the GNU and FreeBSD OS/ABIs, MBIND also for none.
                if osabi in (3, 9) and bit == SHF_GNU_RETAIN:
                    letter = "R"
                elif osabi in (0, 3, 9) and bit == SHF_GNU_MBIND:
                    letter = "D"
                else:
                    letter = "o"
                    flags &= ~SHF_MASKOS
            elif bit & SHF_MASKPROC:
                letter = "p"
                flags &= ~SHF_MASKPROC
            else:
                letter = "x"
        out.append(letter)
    return "".join(out)


# --- program header types (p_type) ----------------------------------------------------------

SEGMENT_TYPES: dict[int, str] = {
    0: "NULL",
    1: "LOAD",
    2: "DYNAMIC",
    3: "INTERP",
    4: "NOTE",
    5: "SHLIB",
    6: "PHDR",
    7: "TLS",
    0x6474E550: "GNU_EH_FRAME",
    0x6474E551: "GNU_STACK",
    0x6474E552: "GNU_RELRO",
    0x6474E553: "GNU_PROPERTY",
    0x6474E554: "GNU_SFRAME",
    0x65A3DBE5: "OPENBSD_MUTABLE",
    0x65A3DBE6: "OPENBSD_RANDOMIZE",
    0x65A3DBE7: "OPENBSD_WXNEEDED",
    0x65A41BE6: "OPENBSD_BOOTDATA",
}

MACHINE_SEGMENT_TYPES: dict[int, dict[int, str]] = {
    EM_ARM: {0x70000001: "EXIDX"},
    EM_AARCH64: {0x70000002: "AARCH64_MEMTAG_MTE"},
    EM_MIPS: {0x70000000: "REGINFO", 0x70000001: "RTPROC", 0x70000002: "OPTIONS", 0x70000003: "ABIFLAGS"},
    EM_RISCV: {0x70000003: "RISCV_ATTRIBUTES"},
    EM_S390: {0x70000000: "S390_PGSTE"},
}
MACHINE_SEGMENT_TYPES[EM_MIPS_RS3_LE] = MACHINE_SEGMENT_TYPES[EM_MIPS]

PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
PT_NOTE = 4
PT_PHDR = 6
PT_TLS = 7
PT_GNU_EH_FRAME = 0x6474E550
PT_GNU_STACK = 0x6474E551
PT_GNU_RELRO = 0x6474E552
PT_GNU_SFRAME = 0x6474E554
PT_GNU_MBIND_LO = 0x6474E555
PT_GNU_MBIND_HI = PT_GNU_MBIND_LO + 4096 - 1


def segment_type_name(p_type: int, machine: int) -> str:
    """readelf -l's word for a segment type."""
    special = MACHINE_SEGMENT_TYPES.get(machine, {})
    if p_type in special:
        return special[p_type]
    if p_type in SEGMENT_TYPES:
        return SEGMENT_TYPES[p_type]
    if PT_GNU_MBIND_LO <= p_type <= PT_GNU_MBIND_HI:
        return f"GNU_MBIND+{p_type - PT_GNU_MBIND_LO:#x}"
    if 0x70000000 <= p_type <= 0x7FFFFFFF:
        return f"LOPROC+{p_type - 0x70000000:#x}"
    if 0x60000000 <= p_type <= 0x6FFFFFFF:
        return f"LOOS+{p_type - 0x60000000:#x}"
    return f"<unknown>: {p_type:x}"


def segment_flags(p_flags: int) -> str:
    """readelf's three-column flags: R, W and E (for PF_X) or blanks."""
    return ("R" if p_flags & 4 else " ") + ("W" if p_flags & 2 else " ") + ("E" if p_flags & 1 else " ")


# Which catalog sentence explains a segment: type word -> key under elf.segment.
SEGMENT_MEANING_KEYS: dict[str, str] = {
    "INTERP": "interp",
    "DYNAMIC": "dynamic",
    "NOTE": "note",
    "PHDR": "phdr",
    "TLS": "tls",
    "GNU_STACK": "gnu_stack",
    "GNU_RELRO": "gnu_relro",
    "GNU_EH_FRAME": "gnu_eh_frame",
    "GNU_PROPERTY": "gnu_property",
    "GNU_SFRAME": "gnu_sframe",
    "NULL": "null",
    "SHLIB": "shlib",
    "EXIDX": "exidx",
    "REGINFO": "reginfo",
    "OPTIONS": "options",
    "ABIFLAGS": "abiflags",
    "RISCV_ATTRIBUTES": "riscv_attributes",
}

# --- symbols --------------------------------------------------------------------------------

SYMBOL_TYPES: dict[int, str] = {
    0: "NOTYPE",
    1: "OBJECT",
    2: "FUNC",
    3: "SECTION",
    4: "FILE",
    5: "COMMON",
    6: "TLS",
    7: "RELC",
    8: "SRELC",
}
STT_GNU_IFUNC = 10
SYMBOL_BINDS: dict[int, str] = {0: "LOCAL", 1: "GLOBAL", 2: "WEAK"}
STB_GNU_UNIQUE = 10
VISIBILITIES: dict[int, str] = {0: "DEFAULT", 1: "INTERNAL", 2: "HIDDEN", 3: "PROTECTED"}
# readelf names STT_GNU_IFUNC "IFUNC" only for the GNU and FreeBSD OS/ABIs, and STB_GNU_UNIQUE
# "UNIQUE" only for GNU; for System V files both are "<OS specific>: 10".
IFUNC_OSABIS = (3, 9)
UNIQUE_OSABIS = (3,)


def symbol_type_name(st_type: int, machine: int, osabi: int) -> str:
    """readelf -s's Type column."""
    if st_type in SYMBOL_TYPES:
        return SYMBOL_TYPES[st_type]
    if st_type == STT_GNU_IFUNC and osabi in IFUNC_OSABIS:
        return "IFUNC"
    if st_type == 13 and machine == EM_ARM:
        return "THUMB_FUNC"
    if 13 <= st_type <= 15:
        return f"<processor specific>: {st_type}"
    if 10 <= st_type <= 12:
        return f"<OS specific>: {st_type}"
    return f"<unknown>: {st_type}"


def symbol_bind_name(st_bind: int, osabi: int) -> str:
    """readelf -s's Bind column."""
    if st_bind in SYMBOL_BINDS:
        return SYMBOL_BINDS[st_bind]
    if st_bind == STB_GNU_UNIQUE and osabi in UNIQUE_OSABIS:
        return "UNIQUE"
    if 13 <= st_bind <= 15:
        return f"<processor specific>: {st_bind}"
    if 10 <= st_bind <= 12:
        return f"<OS specific>: {st_bind}"
    return f"<unknown>: {st_bind}"


SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
SHN_XINDEX = 0xFFFF
SPECIAL_SECTION_INDEXES: dict[int, str] = {SHN_UNDEF: "UND", SHN_ABS: "ABS", SHN_COMMON: "COM"}
MACHINE_SECTION_INDEXES: dict[int, dict[int, str]] = {
    EM_X86_64: {0xFF02: "LARGE_COM"},
    EM_MIPS: {0xFF03: "SCOM", 0xFF04: "SUND"},
}


def section_index_text(shndx: int, machine: int) -> str:
    """readelf -s's Ndx column for an index that is not a plain section number."""
    if shndx in SPECIAL_SECTION_INDEXES:
        return SPECIAL_SECTION_INDEXES[shndx]
    special = MACHINE_SECTION_INDEXES.get(machine, {})
    if shndx in special:
        return special[shndx]
    if 0xFF00 <= shndx <= 0xFF1F:
        return f"PRC[0x{shndx:04x}]"
    if 0xFF20 <= shndx <= 0xFF3F:
        return f"OS [0x{shndx:04x}]"
    if shndx >= SHN_LORESERVE:
        return f"RSV[0x{shndx:04x}]"
    return str(shndx)


# --- dynamic section tags (d_tag) -----------------------------------------------------------

DYNAMIC_TAGS: dict[int, str] = {
    0: "NULL",
    1: "NEEDED",
    2: "PLTRELSZ",
    3: "PLTGOT",
    4: "HASH",
    5: "STRTAB",
    6: "SYMTAB",
    7: "RELA",
    8: "RELASZ",
    9: "RELAENT",
    10: "STRSZ",
    11: "SYMENT",
    12: "INIT",
    13: "FINI",
    14: "SONAME",
    15: "RPATH",
    16: "SYMBOLIC",
    17: "REL",
    18: "RELSZ",
    19: "RELENT",
    20: "PLTREL",
    21: "DEBUG",
    22: "TEXTREL",
    23: "JMPREL",
    24: "BIND_NOW",
    25: "INIT_ARRAY",
    26: "FINI_ARRAY",
    27: "INIT_ARRAYSZ",
    28: "FINI_ARRAYSZ",
    29: "RUNPATH",
    30: "FLAGS",
    32: "PREINIT_ARRAY",
    33: "PREINIT_ARRAYSZ",
    34: "SYMTAB_SHNDX",
    35: "RELRSZ",
    36: "RELR",
    37: "RELRENT",
    0x6FFFFDF5: "GNU_PRELINKED",
    0x6FFFFDF6: "GNU_CONFLICTSZ",
    0x6FFFFDF7: "GNU_LIBLISTSZ",
    0x6FFFFDF8: "CHECKSUM",
    0x6FFFFDF9: "PLTPADSZ",
    0x6FFFFDFA: "MOVEENT",
    0x6FFFFDFB: "MOVESZ",
    0x6FFFFDFC: "FEATURE",
    0x6FFFFDFD: "POSFLAG_1",
    0x6FFFFDFE: "SYMINSZ",
    0x6FFFFDFF: "SYMINENT",
    0x6FFFFEF5: "GNU_HASH",
    0x6FFFFEF6: "TLSDESC_PLT",
    0x6FFFFEF7: "TLSDESC_GOT",
    0x6FFFFEF8: "GNU_CONFLICT",
    0x6FFFFEF9: "GNU_LIBLIST",
    0x6FFFFEFA: "CONFIG",
    0x6FFFFEFB: "DEPAUDIT",
    0x6FFFFEFC: "AUDIT",
    0x6FFFFEFD: "PLTPAD",
    0x6FFFFEFE: "MOVETAB",
    0x6FFFFEFF: "SYMINFO",
    0x6FFFFFF0: "VERSYM",
    0x6FFFFFF9: "RELACOUNT",
    0x6FFFFFFA: "RELCOUNT",
    0x6FFFFFFB: "FLAGS_1",
    0x6FFFFFFC: "VERDEF",
    0x6FFFFFFD: "VERDEFNUM",
    0x6FFFFFFE: "VERNEED",
    0x6FFFFFFF: "VERNEEDNUM",
    0x7FFFFFFD: "AUXILIARY",
    0x7FFFFFFE: "USED",
    0x7FFFFFFF: "FILTER",
}
MACHINE_DYNAMIC_TAGS: dict[int, dict[int, str]] = {
    EM_AARCH64: {
        0x70000001: "AARCH64_BTI_PLT",
        0x70000003: "AARCH64_PAC_PLT",
        0x70000005: "AARCH64_VARIANT_PCS",
    },
    EM_PPC64: {
        0x70000000: "PPC64_GLINK",
        0x70000001: "PPC64_OPD",
        0x70000002: "PPC64_OPDSZ",
        0x70000003: "PPC64_OPT",
    },
    EM_PPC: {0x70000000: "PPC_GOT", 0x70000001: "PPC_OPT"},
    EM_X86_64: {0x70000000: "X86_64_PLT", 0x70000001: "X86_64_PLTSZ", 0x70000003: "X86_64_PLTENT"},
    EM_MIPS: {
        0x70000001: "MIPS_RLD_VERSION",
        0x70000002: "MIPS_TIME_STAMP",
        0x70000003: "MIPS_ICHECKSUM",
        0x70000004: "MIPS_IVERSION",
        0x70000005: "MIPS_FLAGS",
        0x70000006: "MIPS_BASE_ADDRESS",
        0x70000008: "MIPS_CONFLICT",
        0x70000009: "MIPS_LIBLIST",
        0x7000000A: "MIPS_LOCAL_GOTNO",
        0x7000000B: "MIPS_CONFLICTNO",
        0x70000010: "MIPS_LIBLISTNO",
        0x70000011: "MIPS_SYMTABNO",
        0x70000012: "MIPS_UNREFEXTNO",
        0x70000013: "MIPS_GOTSYM",
        0x70000016: "MIPS_RLD_MAP",
        0x70000035: "MIPS_RLD_MAP_REL",
    },
}
MACHINE_DYNAMIC_TAGS[EM_MIPS_RS3_LE] = MACHINE_DYNAMIC_TAGS[EM_MIPS]

DT_NEEDED = 1
DT_STRTAB = 5
DT_SONAME = 14
DT_RPATH = 15
DT_RUNPATH = 29
DT_FLAGS = 30
DT_FLAGS_1 = 0x6FFFFFFB
DT_PLTREL = 20
STRING_TAGS = frozenset({DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH, 0x7FFFFFFD, 0x7FFFFFFF, 0x6FFFFEFC})


def dynamic_tag_name(tag: int, machine: int) -> str:
    """readelf -d's Type column, without the parentheses."""
    special = MACHINE_DYNAMIC_TAGS.get(machine, {})
    if tag in special:
        return special[tag]
    if tag in DYNAMIC_TAGS:
        return DYNAMIC_TAGS[tag]
    if 0x70000000 <= tag <= 0x7FFFFFFF:
        return f"Processor Specific: {tag:x}"
    if 0x6000000D <= tag <= 0x6FFFF000:
        return f"Operating System specific: {tag:x}"
    return f"<unknown>: {tag:x}"


DT_FLAGS_WORDS: dict[int, str] = {
    0x1: "ORIGIN",
    0x2: "SYMBOLIC",
    0x4: "TEXTREL",
    0x8: "BIND_NOW",
    0x10: "STATIC_TLS",
}
DT_FLAGS_1_WORDS: dict[int, str] = {
    0x1: "NOW",
    0x2: "GLOBAL",
    0x4: "GROUP",
    0x8: "NODELETE",
    0x10: "LOADFLTR",
    0x20: "INITFIRST",
    0x40: "NOOPEN",
    0x80: "ORIGIN",
    0x100: "DIRECT",
    0x200: "TRANS",
    0x400: "INTERPOSE",
    0x800: "NODEFLIB",
    0x1000: "NODUMP",
    0x2000: "CONFALT",
    0x4000: "ENDFILTEE",
    0x8000: "DISPRELDNE",
    0x10000: "DISPRELPND",
    0x20000: "NODIRECT",
    0x40000: "IGNMULDEF",
    0x80000: "NOKSYMS",
    0x100000: "NOHDR",
    0x200000: "EDITED",
    0x400000: "NORELOC",
    0x800000: "SYMINTPOSE",
    0x1000000: "GLOBAUDIT",
    0x2000000: "SINGLETON",
    0x4000000: "STUB",
    0x8000000: "PIE",
    0x10000000: "KMOD",
    0x20000000: "WEAKFILTER",
    0x40000000: "NOCOMMON",
}
DF_1_PIE = 0x8000000


def flag_words(value: int, table: dict[int, str]) -> str:
    """Set bits of ``value`` as words from ``table``; unknown bits as hex."""
    words = [word for bit, word in table.items() if value & bit]
    rest = value & ~sum(table)
    if rest:
        words.append(f"{rest:#x}")
    return " ".join(words)


# --- notes ----------------------------------------------------------------------------------

# Notes whose owner readelf recognises: (owner, n_type) -> readelf's name.
NOTE_TYPES: dict[tuple[str, int], str] = {
    ("GNU", 1): "NT_GNU_ABI_TAG",
    ("GNU", 2): "NT_GNU_HWCAP",
    ("GNU", 3): "NT_GNU_BUILD_ID",
    ("GNU", 4): "NT_GNU_GOLD_VERSION",
    ("GNU", 5): "NT_GNU_PROPERTY_TYPE_0",
    ("stapsdt", 3): "NT_STAPSDT",
    ("Go", 4): "GO BUILDID",
    ("FDO", 0xCAFE1A7E): "FDO_PACKAGING_METADATA",
}
# Any other owner in a core file: the core-dump note types (elf.h NT_*).
CORE_NOTE_TYPES: dict[int, str] = {
    1: "NT_PRSTATUS",
    2: "NT_FPREGSET",
    3: "NT_PRPSINFO",
    4: "NT_TASKSTRUCT",
    6: "NT_AUXV",
    0x100: "NT_PPC_VMX",
    0x200: "NT_386_TLS",
    0x201: "NT_386_IOPERM",
    0x202: "NT_X86_XSTATE",
    0x204: "NT_X86_SHSTK",
    0x300: "NT_S390_HIGH_GPRS",
    0x400: "NT_ARM_VFP",
    0x401: "NT_ARM_TLS",
    0x402: "NT_ARM_HW_BREAK",
    0x403: "NT_ARM_HW_WATCH",
    0x406: "NT_ARM_SYSTEM_CALL",
    0x407: "NT_ARM_SVE",
    0x409: "NT_ARM_PAC_MASK",
    0x46494C45: "NT_FILE",
    0x46E62B7F: "NT_PRXFPREG",
    0x53494749: "NT_SIGINFO",
    0xFF000000: "NT_GDB_TDESC",
}
# Any other owner outside core files.
GENERIC_NOTE_TYPES: dict[int, str] = {1: "NT_VERSION", 2: "NT_ARCH", 0x100: "OPEN", 0x101: "func"}
# Owners whose notes readelf decodes with their own table (NOTE_TYPES), not the generic one.
NOTE_OWNERS = frozenset({"GNU", "stapsdt", "FDO", "Go"})
NOTE_GNU_ABI_OS: dict[int, str] = {
    0: "Linux",
    1: "Hurd",
    2: "Solaris",
    3: "FreeBSD",
    4: "NetBSD",
    5: "Syllable",
}
GNU_PROPERTY_X86_FEATURE_1_AND = 0xC0000002
GNU_PROPERTY_X86_ISA_1_NEEDED = 0xC0008002
GNU_PROPERTY_X86_FEATURE_2_USED = 0xC0010001
GNU_PROPERTY_X86_ISA_1_USED = 0xC0010002
GNU_PROPERTY_AARCH64_FEATURE_1_AND = 0xC0000000
X86_FEATURE_1_WORDS: dict[int, str] = {0x1: "IBT", 0x2: "SHSTK", 0x4: "LAM_U48", 0x8: "LAM_U57"}
X86_ISA_1_WORDS: dict[int, str] = {
    0x1: "x86-64-baseline",
    0x2: "x86-64-v2",
    0x4: "x86-64-v3",
    0x8: "x86-64-v4",
}
AARCH64_FEATURE_1_WORDS: dict[int, str] = {0x1: "BTI", 0x2: "PAC"}
X86_FEATURE_2_WORDS: dict[int, str] = {
    0x1: "x86",
    0x2: "x87",
    0x4: "MMX",
    0x8: "XMM",
    0x10: "YMM",
    0x20: "ZMM",
    0x40: "FXSR",
    0x80: "XSAVE",
    0x100: "XSAVEOPT",
    0x200: "XSAVEC",
    0x400: "TMM",
    0x800: "MASK",
}


# --- relocation types pyelftools does not name ------------------------------------------------

# Added to pyelftools' ENUM_RELOC_TYPE_* tables (which lack e.g. R_X86_64_GOTPCRELX, the
# RISC-V set); names as in <elf.h>, which readelf prints.
EXTRA_RELOC_NAMES: dict[int, dict[int, str]] = {
    EM_386: {
        38: "R_386_SIZE32",
        43: "R_386_GOT32X",
    },
    EM_X86_64: {
        32: "R_X86_64_SIZE32",
        33: "R_X86_64_SIZE64",
        38: "R_X86_64_RELATIVE64",
        41: "R_X86_64_GOTPCRELX",
    },
    EM_AARCH64: {
        0: "R_AARCH64_NONE",
        1: "R_AARCH64_P32_ABS32",
        180: "R_AARCH64_P32_COPY",
        181: "R_AARCH64_P32_GLOB_DAT",
        182: "R_AARCH64_P32_JUMP_SLOT",
        183: "R_AARCH64_P32_RELATIVE",
        184: "R_AARCH64_P32_TLS_DTPMOD",
        185: "R_AARCH64_P32_TLS_DTPREL",
        186: "R_AARCH64_P32_TLS_TPREL",
        187: "R_AARCH64_P32_TLSDESC",
        188: "R_AARCH64_P32_IRELATIVE",
        299: "R_AARCH64_LDST128_ABS_LO12_NC",
        313: "R_AARCH64_LD64_GOTPAGE_LO15",
        560: "R_AARCH64_TLSDESC_LD_PREL19",
        561: "R_AARCH64_TLSDESC_ADR_PREL21",
        562: "R_AARCH64_TLSDESC_ADR_PAGE21",
        563: "R_AARCH64_TLSDESC_LD64_LO12",
        564: "R_AARCH64_TLSDESC_ADD_LO12",
        565: "R_AARCH64_TLSDESC_OFF_G1",
        566: "R_AARCH64_TLSDESC_OFF_G0_NC",
        567: "R_AARCH64_TLSDESC_LDR",
        568: "R_AARCH64_TLSDESC_ADD",
        569: "R_AARCH64_TLSDESC_CALL",
        570: "R_AARCH64_TLSLE_LDST128_TPREL_LO12",
        571: "R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC",
        572: "R_AARCH64_TLSLD_LDST128_DTPREL_LO12",
        573: "R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC",
    },
    EM_ARM: {
        90: "R_ARM_TLS_GOTDESC",
        91: "R_ARM_TLS_CALL",
        92: "R_ARM_TLS_DESCSEQ",
        93: "R_ARM_THM_TLS_CALL",
        160: "R_ARM_IRELATIVE",
        249: "R_ARM_RXPC25",
        250: "R_ARM_RSBREL32",
        251: "R_ARM_THM_RPC22",
        252: "R_ARM_RREL32",
        253: "R_ARM_RABS22",
        254: "R_ARM_RPC24",
        255: "R_ARM_RBASE",
    },
    EM_PPC: {
        32: "R_PPC_SDAREL16",
        67: "R_PPC_TLS",
        68: "R_PPC_DTPMOD32",
        69: "R_PPC_TPREL16",
        70: "R_PPC_TPREL16_LO",
        71: "R_PPC_TPREL16_HI",
        72: "R_PPC_TPREL16_HA",
        73: "R_PPC_TPREL32",
        74: "R_PPC_DTPREL16",
        75: "R_PPC_DTPREL16_LO",
        76: "R_PPC_DTPREL16_HI",
        77: "R_PPC_DTPREL16_HA",
        78: "R_PPC_DTPREL32",
        79: "R_PPC_GOT_TLSGD16",
        80: "R_PPC_GOT_TLSGD16_LO",
        81: "R_PPC_GOT_TLSGD16_HI",
        82: "R_PPC_GOT_TLSGD16_HA",
        83: "R_PPC_GOT_TLSLD16",
        84: "R_PPC_GOT_TLSLD16_LO",
        85: "R_PPC_GOT_TLSLD16_HI",
        86: "R_PPC_GOT_TLSLD16_HA",
        87: "R_PPC_GOT_TPREL16",
        88: "R_PPC_GOT_TPREL16_LO",
        89: "R_PPC_GOT_TPREL16_HI",
        90: "R_PPC_GOT_TPREL16_HA",
        91: "R_PPC_GOT_DTPREL16",
        92: "R_PPC_GOT_DTPREL16_LO",
        93: "R_PPC_GOT_DTPREL16_HI",
        94: "R_PPC_GOT_DTPREL16_HA",
        95: "R_PPC_TLSGD",
        96: "R_PPC_TLSLD",
        180: "R_PPC_DIAB_SDA21_LO",
        181: "R_PPC_DIAB_SDA21_HI",
        182: "R_PPC_DIAB_SDA21_HA",
        183: "R_PPC_DIAB_RELSDA_LO",
        184: "R_PPC_DIAB_RELSDA_HI",
        185: "R_PPC_DIAB_RELSDA_HA",
        248: "R_PPC_IRELATIVE",
        249: "R_PPC_REL16",
        250: "R_PPC_REL16_LO",
        251: "R_PPC_REL16_HI",
        252: "R_PPC_REL16_HA",
        255: "R_PPC_TOC16",
    },
    EM_PPC64: {
        247: "R_PPC64_JMP_IREL",
    },
    EM_S390: {
        40: "R_390_TLS_GD32",
        43: "R_390_TLS_GOTIE32",
        45: "R_390_TLS_LDM32",
        47: "R_390_TLS_IE32",
        50: "R_390_TLS_LE32",
        52: "R_390_TLS_LDO32",
    },
    EM_RISCV: {
        0: "R_RISCV_NONE",
        1: "R_RISCV_32",
        2: "R_RISCV_64",
        3: "R_RISCV_RELATIVE",
        4: "R_RISCV_COPY",
        5: "R_RISCV_JUMP_SLOT",
        6: "R_RISCV_TLS_DTPMOD32",
        7: "R_RISCV_TLS_DTPMOD64",
        8: "R_RISCV_TLS_DTPREL32",
        9: "R_RISCV_TLS_DTPREL64",
        10: "R_RISCV_TLS_TPREL32",
        11: "R_RISCV_TLS_TPREL64",
        16: "R_RISCV_BRANCH",
        17: "R_RISCV_JAL",
        18: "R_RISCV_CALL",
        19: "R_RISCV_CALL_PLT",
        20: "R_RISCV_GOT_HI20",
        21: "R_RISCV_TLS_GOT_HI20",
        22: "R_RISCV_TLS_GD_HI20",
        23: "R_RISCV_PCREL_HI20",
        24: "R_RISCV_PCREL_LO12_I",
        25: "R_RISCV_PCREL_LO12_S",
        26: "R_RISCV_HI20",
        27: "R_RISCV_LO12_I",
        28: "R_RISCV_LO12_S",
        29: "R_RISCV_TPREL_HI20",
        30: "R_RISCV_TPREL_LO12_I",
        31: "R_RISCV_TPREL_LO12_S",
        32: "R_RISCV_TPREL_ADD",
        33: "R_RISCV_ADD8",
        34: "R_RISCV_ADD16",
        35: "R_RISCV_ADD32",
        36: "R_RISCV_ADD64",
        37: "R_RISCV_SUB8",
        38: "R_RISCV_SUB16",
        39: "R_RISCV_SUB32",
        40: "R_RISCV_SUB64",
        41: "R_RISCV_GNU_VTINHERIT",
        42: "R_RISCV_GNU_VTENTRY",
        43: "R_RISCV_ALIGN",
        44: "R_RISCV_RVC_BRANCH",
        45: "R_RISCV_RVC_JUMP",
        46: "R_RISCV_RVC_LUI",
        47: "R_RISCV_GPREL_I",
        48: "R_RISCV_GPREL_S",
        49: "R_RISCV_TPREL_I",
        50: "R_RISCV_TPREL_S",
        51: "R_RISCV_RELAX",
        52: "R_RISCV_SUB6",
        53: "R_RISCV_SET6",
        54: "R_RISCV_SET8",
        55: "R_RISCV_SET16",
        56: "R_RISCV_SET32",
        57: "R_RISCV_32_PCREL",
        58: "R_RISCV_IRELATIVE",
    },
}
