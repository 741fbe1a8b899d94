"""Addresses named as objdump names them: ``puts@plt``, ``counter+0x4``, ``<puts@GLIBC_2.2.5>``.

At one address a function wins over an object, a global over a weak or local symbol, then the
name decides; a GOT slot is named after the dynamic relocation that fills it; PLT entries are
``name@plt`` (:mod:`kernlab.elf.plt`).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from kernlab.elf.model import Symbol
    from kernlab.elf.reader import ElfImage

__all__ = [
    "MAPPING_SYMBOL_ARCHES",
    "ExternalSymbols",
    "NamedAddress",
    "NamerTables",
    "Symbolizer",
    "display_name",
    "objdump_rank",
]

VERSION_INDEX = 0x7FFF  # of a .gnu.version entry; 0 local, 1 global (Base)
VERSION_HIDDEN = 0x8000

# Architectures whose ELF files carry $x/$d/$a/$t mapping symbols.
MAPPING_SYMBOL_ARCHES = frozenset({"arm", "aarch64", "riscv64", "riscv32"})


Rank = tuple[int, int, int, int, int, int, int, int, str, int]


def objdump_rank(sym: Symbol) -> Rank:
    """Sort key among symbols at one address, objdump's compare_symbols: gcc2_compiled markers
    and file names last; then functions (STT_FUNC only: BFD gives an IFUNC no BSF_FUNCTION),
    then objects, then not-local, then global (over weak); then the larger; then names not
    starting with '.'; then by name (without version), then the first in the table."""
    return (
        1 if "gnu_compiled" in sym.name or "gcc2_compiled" in sym.name else 0,
        1 if sym.type == "FILE" or _looks_like_file(sym.name) else 0,
        0 if sym.type == "FUNC" else 1,
        0 if sym.type == "OBJECT" else 1,
        1 if sym.bind == "LOCAL" else 0,
        0 if sym.bind == "GLOBAL" else 1,
        -sym.size,
        1 if sym.name.startswith(".") else 0,
        sym.name,
        sym.index,
    )


def _looks_like_file(name: str) -> bool:
    """objdump's file_symbol heuristic: a name ending in ``.o`` or ``.a``."""
    return len(name) > 2 and name[-2] == "." and name[-1] in "oa"


def display_name(sym: Symbol, versioned_file: bool = False, base: Mapping[int, int] | None = None) -> str:
    """The name objdump prints: ``rename@@GLIBC_2.2.5`` for a version this file defines,
    ``puts@GLIBC_2.2.5`` for one it needs or a hidden one, ``main@@Base`` for an unversioned
    dynamic symbol of a file that uses versions. ``base`` holds the raw .gnu.version entries
    of the unversioned ones (0 or 1, maybe with the hidden bit): BFD writes an entry 0 with no
    version at all and a hidden 1 as ``@Base``."""
    if sym.version is None:
        entry = base.get(sym.index, 1) if base else 1
        if not versioned_file or sym.table != ".dynsym" or not entry & VERSION_INDEX:
            return sym.name
        if sym.shndx == "ABS" and sym.type == "OBJECT" and not sym.size:
            return f"{sym.name}@@{sym.name}"  # the symbol that names a version definition
        return f"{sym.name}{'@' if sym.shndx == 'UND' or entry & VERSION_HIDDEN else '@@'}Base"
    # A reference to another object's version (undefined here, or copied in: readelf's "(n)")
    # is written with one @.
    hidden = sym.version_hidden or sym.shndx == "UND" or getattr(sym, "version_index", None) is not None
    return f"{sym.name}{'@' if hidden else '@@'}{sym.version}"


@dataclass(frozen=True, eq=False)
class ExternalSymbols:
    """Symbols from outside the ELF file, for a stripped vmlinux whose code names nothing by
    itself: a kernel's System.map, or the kallsyms tables inside the image. Compared by
    identity, so a symbolizer built from them is cached without hashing every entry."""

    source: str  # where they were read ("/boot/System.map-6.1.0-57-amd64", "kallsyms table")
    entries: tuple[tuple[int, str, str], ...]  # (address, nm's type letter, name)


# nm's letters of code symbols (weak ones included), for objdump's function-first rule.
_CODE_TYPES = frozenset("TtWw")


def external_rank(kind: str, name: str, index: int) -> Rank:
    """:func:`objdump_rank` for a symbol known only by nm's type letter (upper case global)."""
    weak = kind in "WwVv"
    return (
        0,
        0,
        0 if kind in _CODE_TYPES else 1,
        1,
        1 if kind.islower() and not weak else 0,
        0 if kind.isupper() and not weak else 1,
        0,
        1 if name.startswith(".") else 0,
        name,
        index,
    )


@dataclass(frozen=True)
class NamedAddress:
    """A symbol as a disassembly names addresses after it."""

    value: int
    name: str
    section: str | None
    synthetic: bool  # a name@plt entry
    undefined: bool


NAMER_UNDEFINED = 1  # named without an offset
NAMER_MAY_RELOCATE = 2  # a dynamic relocation at the address may name it instead
NAMER_RELATIVE_NEGATIVE = 4  # below its section's start: never at the address it names


class NamerTables(NamedTuple):
    """One section's :meth:`Symbolizer.namer` as tables: per distinct symbol address (sorted)
    the address, the chosen symbol's value and section-relative value (each 8 bytes), its
    NAMER_* flags and name, and the dynamic relocations naming GOT slots."""

    starts: bytes
    values: bytes
    relative: bytes
    flags: bytes
    names: list[str]
    relocated: dict[int, NamedAddress]


class Symbolizer:
    """Address -> ``name``, ``name+0x10`` or ``name-0x10``, as objdump's find_symbol_for_address
    and objdump_print_addr_with_sym choose them (binutils/objdump.c):

    1. the symbols are sorted by address, and at one address by :func:`objdump_rank`;
    2. the nearest symbol at or below the address wins (the first of its address, preferring
       one in the section being disassembled); below every symbol, the first symbol is used;
    3. unless that symbol is a synthetic ``@plt`` one or lies in the section being
       disassembled (objdump returns such a symbol before it looks at relocations), a dynamic
       relocation patching exactly that address names it instead (a GOT slot);
    4. an undefined symbol is printed without offset.

    In a relocatable object (``HAS_RELOC``: every section starts at 0) an address inside the
    section being disassembled is named after a symbol of that section only — the nearest
    below, else the first above, else the section itself (``<.text.foo+0x10>``).
    """

    def __init__(self, image: ElfImage, external: ExternalSymbols | None = None) -> None:
        from kernlab.elf.plt import plt_entries

        self.image = image
        self.external = external
        present = {s.name for s in image.sections}
        self.versioned = ".gnu.version" in present
        self.base_versions = _base_versions(image) if self.versioned else {}
        self.section_base = {s.name: s.address for s in image.sections}
        self.section_span = {s.name: (s.address, s.address + s.size) for s in image.sections}
        # BFD's HAS_RELOC: an ET_REL file with relocation sections against its symbol table.
        self.relocatable = image.header.type == "REL" and any(
            s.type in ("REL", "RELA") for s in image.sections
        )
        self.relocated: dict[int, NamedAddress] = {}
        self.plt: list[Any] = []
        self.symbols: list[NamedAddress] = []
        self.addresses: list[int] = []
        if external is not None:
            self._from_external(image, external)
            return
        # objdump uses the static table when there is one, else the dynamic one.
        tables = {s.table for s in image.symbols()}
        table = ".symtab" if ".symtab" in tables else ".dynsym"
        ranked: list[tuple[int, tuple[Any, ...], NamedAddress]] = []
        # In a relocatable object a symbol's address is its section's (usually 0, not always:
        # a kernel module's .data may sit at 0x40) plus its value.
        in_object = image.header.type == "REL"
        for sym in image.symbols(table):
            if not sym.name or sym.shndx in ("UND", "COM") or sym.type in ("SECTION", "FILE"):
                continue
            if sym.type == "NOTYPE" and sym.name.startswith("$") and image.arch in MAPPING_SYMBOL_ARCHES:
                continue  # $x/$d mapping symbols mark code and data, objdump never names targets after them
            value = sym.value & ~1 if image.arch == "arm" and sym.type == "FUNC" else sym.value
            if in_object and sym.section is not None:
                value += self.section_base.get(sym.section, 0)  # st_value is section-relative there
            name = display_name(sym, self.versioned, self.base_versions)
            ranked.append((value, objdump_rank(sym), NamedAddress(value, name, sym.section, False, False)))
        # BFD makes the synthetic name@plt symbols from dynamic symbols: a static executable
        # (IRELATIVE slots but no .dynsym) has none.
        self.plt = plt_entries(image) if _has_dynamic_symbols(image) else []
        for entry in self.plt:
            # A synthetic @plt symbol sorts like a global function.
            ranked.append(
                (
                    entry.address,
                    (0, 0, 0, 1, 0, 0, 0, 0, entry.name, -1),
                    NamedAddress(entry.address, entry.name, entry.section, True, False),
                )
            )
        ranked.sort(key=lambda r: (r[0], r[1]))
        self.symbols = [r[2] for r in ranked]
        self.addresses = [r[0] for r in ranked]
        self.relocated = _dynamic_relocation_names(image, self.versioned, self.base_versions)

    def _from_external(self, image: ElfImage, external: ExternalSymbols) -> None:
        """Symbols of a System.map or kallsyms table, each placed in the section holding its
        address (they carry no section), ranked as objdump ranks a symbol table."""
        spans = sorted(
            (s.address, s.address + s.size, s.name) for s in image.sections if "A" in s.flags and s.size > 0
        )
        starts = [span[0] for span in spans]
        ranked: list[tuple[int, tuple[Any, ...], NamedAddress]] = []
        for index, (value, kind, name) in enumerate(external.entries):
            i = bisect.bisect_right(starts, value) - 1
            section = spans[i][2] if i >= 0 and value < spans[i][1] else None
            ranked.append(
                (value, external_rank(kind, name, index), NamedAddress(value, name, section, False, False))
            )
        ranked.sort(key=lambda r: (r[0], r[1]))
        self.symbols = [r[2] for r in ranked]
        self.addresses = [r[0] for r in ranked]

    def lookup(self, address: int, section: str | None = None) -> NamedAddress | None:
        """The symbol objdump would print for ``address`` while disassembling ``section``."""
        if not self.symbols:
            return None
        if self._wants_section(address, section):
            assert section is not None
            return self._in_section(section)(address)
        i = max(bisect.bisect_right(self.addresses, address) - 1, 0)
        first = bisect.bisect_left(self.addresses, self.addresses[i])
        place = first
        for j in range(first, bisect.bisect_right(self.addresses, self.addresses[i])):
            if self.symbols[j].section == section:
                place = j
                break
        found = self.symbols[place]
        # objdump compares the symbol's section-relative value with the address here, so in a
        # linked file a relocation at the address wins even over a symbol that starts there.
        relative = found.value - self.section_base.get(found.section or "", 0)
        if (
            relative != address
            and not found.synthetic
            and (section is None or found.section != section)
            and address in self.relocated
        ):
            return self.relocated[address]
        return found

    def _wants_section(self, address: int, section: str | None) -> bool:
        """objdump's want_section: a relocatable file, an address inside the section."""
        if not self.relocatable or section not in self.section_span:
            return False
        start, end = self.section_span[section]
        return start <= address < end

    def _in_section(self, section: str) -> Callable[[int], NamedAddress]:
        """The symbol naming an address of ``section`` in a relocatable file: the first symbol of
        the section at the highest address at or below it, else the section's first symbol,
        else the section itself."""
        starts: list[int] = []
        chosen: list[NamedAddress] = []
        for value, sym in zip(self.addresses, self.symbols, strict=True):
            if sym.section == section and (not starts or starts[-1] != value):
                starts.append(value)
                chosen.append(sym)
        base = self.section_span[section][0]
        itself = NamedAddress(base, section, section, False, False)
        where = bisect.bisect_right

        def find(address: int) -> NamedAddress:
            if not chosen:
                return itself
            k = where(starts, address) - 1
            return chosen[k if k > 0 else 0]

        return find

    def namer(self, section: str | None) -> Callable[[int], str | None]:
        """:meth:`name` for many addresses of one section: the symbol chosen at each distinct
        address is worked out once, so each name costs one bisection."""
        if not self.symbols:
            return lambda address: None
        if self.relocatable and section in self.section_span:
            return self._relocatable_namer(section)
        return self._linked_namer(section)

    def _linked_choice(self, section: str | None) -> tuple[list[int], list[NamedAddress]]:
        """Each distinct symbol address, and the symbol naming it while ``section`` is listed."""
        starts: list[int] = []
        chosen: list[NamedAddress] = []
        for value, sym in zip(self.addresses, self.symbols, strict=True):
            if not starts or starts[-1] != value:
                starts.append(value)
                chosen.append(sym)  # the first of its address, unless one there is in the section
            elif chosen[-1].section != section and sym.section == section:
                chosen[-1] = sym
        return starts, chosen

    def namer_tables(self, section: str | None) -> NamerTables | None:
        """:meth:`namer`'s choices for ``section`` as flat tables, for a namer written in C
        (elf/disasm/_hits.c); None where that namer does not apply (no symbols, or a
        relocatable file's own sections)."""
        if not self.symbols or (self.relocatable and section in self.section_span):
            return None
        starts, chosen = self._linked_choice(section)
        if any(v >= 1 << 64 for v in starts):
            return None
        base = self.section_base
        flags = bytearray()
        relative = []
        for sym in chosen:
            rel = sym.value - base.get(sym.section or "", 0)
            relative.append(rel & ((1 << 64) - 1))
            flags.append(
                (NAMER_UNDEFINED if sym.undefined else 0)
                | (NAMER_MAY_RELOCATE if not sym.synthetic and sym.section != section else 0)
                | (NAMER_RELATIVE_NEGATIVE if rel < 0 else 0)
            )
        return NamerTables(
            array("Q", starts).tobytes(),
            array("Q", [sym.value for sym in chosen]).tobytes(),
            array("Q", relative).tobytes(),
            bytes(flags),
            [sym.name for sym in chosen],
            self.relocated,
        )

    def _linked_namer(self, section: str | None) -> Callable[[int], str | None]:
        starts, chosen = self._linked_choice(section)
        base = self.section_base
        relocated = self.relocated
        where = bisect.bisect_right

        def name(address: int) -> str | None:
            k = where(starts, address) - 1
            found = chosen[k if k > 0 else 0]
            value = found.value
            if (
                value - base.get(found.section or "", 0) != address
                and address in relocated
                and not found.synthetic
                and found.section != section
            ):
                found = relocated[address]
                value = found.value
            if value == address or found.undefined:
                return found.name
            if value > address:
                return f"{found.name}-{value - address:#x}"
            return f"{found.name}+{address - value:#x}"

        return name

    def _relocatable_namer(self, section: str) -> Callable[[int], str | None]:
        in_section = self._in_section(section)
        anywhere = self._linked_namer(section)
        wants = self._wants_section

        def name(address: int) -> str | None:
            if not wants(address, section):
                return anywhere(address)
            return _spelled(in_section(address), address)

        return name

    def name(self, address: int, section: str | None = None) -> str | None:
        """``sym``, ``sym+0x10`` or ``sym-0x10`` for ``address`` (None when there are no symbols)."""
        found = self.lookup(address, section)
        return None if found is None else _spelled(found, address)

    @property
    def bare_prefix(self) -> str:
        """What objdump writes before an address it cannot name: "0x" when the file has no
        symbol at all (objdump_print_addr's ``sorted_symcount < 1``), else nothing."""
        return "" if self.symbols else "0x"


def _spelled(found: NamedAddress, address: int) -> str:
    """``sym``, ``sym+0x10`` or ``sym-0x10``: an address after the symbol naming it."""
    if found.value == address or found.undefined:
        return found.name
    if found.value > address:
        return f"{found.name}-{found.value - address:#x}"
    return f"{found.name}+{address - found.value:#x}"


def _has_dynamic_symbols(image: ElfImage) -> bool:
    table = image.section_by_name(".dynsym")
    return table is not None and table.size > (table.entsize or 1)  # more than the null symbol


def _base_versions(image: ElfImage) -> dict[int, int]:
    """Dynamic symbol index -> its raw .gnu.version entry, for the entries 0 (local) and 1
    (global, no named version), which readelf and kernlab's Symbol leave unversioned alike."""
    section = image.section_by_name(".gnu.version")
    if section is None or section.is_nobits or not section.size:
        return {}
    data = bytes(image.section_data(section))
    entries = memoryview(data[: len(data) // 2 * 2]).cast("H").tolist()
    if not image.is_little_endian:
        entries = [int.from_bytes(data[2 * i : 2 * i + 2], "big") for i in range(len(entries))]
    return {i: entry for i, entry in enumerate(entries) if entry & VERSION_INDEX <= 1}


def _dynamic_relocation_names(
    image: ElfImage, versioned: bool, base: Mapping[int, int] | None = None
) -> dict[int, NamedAddress]:
    """Patched address -> the symbol of a dynamic relocation there (one with a real symbol)."""
    from kernlab.elf.plt import GOT_RELOCATION_SECTIONS

    present = {s.name for s in image.sections}
    dynsym = {sym.index: sym for sym in image.symbols(".dynsym")} if ".dynsym" in present else {}
    out: dict[int, NamedAddress] = {}
    for section in GOT_RELOCATION_SECTIONS:
        if section not in present:
            continue
        for rel in image.relocations(section):
            sym = dynsym.get(rel.symbol_index)
            if sym is None or not sym.name or sym.shndx == "ABS":
                continue
            undefined = sym.shndx == "UND"
            named = NamedAddress(sym.value, display_name(sym, versioned, base), sym.section, False, undefined)
            out.setdefault(rel.offset, named)
    return out
