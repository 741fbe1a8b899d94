"""Symbol tables (.symtab, .dynsym) read in bulk, column by column.

pyelftools builds one object per symbol through its construct-like parser, ~50× slower than
readelf on a library with 60k symbols; even one Python statement per symbol costs more than
readelf's whole run. So a table is decoded with ``struct.iter_unpack`` and transposed with
``zip`` into columns, every string of the string table is decoded in one pass, and each
distinct (info, other, shndx) combination becomes words once; the per-symbol work is C-level
``map``/``zip`` over those columns. :class:`SymbolColumns` hands out rows (tuples in
:class:`~kernlab.elf.model.Symbol` field order) and ``Symbol`` objects only when asked; the
JSON writer (:mod:`kernlab.elf.symjson`) and the summary's counts use the columns.
"""

from __future__ import annotations

import dataclasses
import struct
import sys
from array import array
from itertools import repeat
from typing import Literal

from kernlab.elf import descriptions as d
from kernlab.elf.headers import RawElf
from kernlab.elf.model import Section, Symbol
from kernlab.elf.versions import symbol_versions

# (table, index, name, version, version_hidden, value, size, type, bind, visibility, shndx,
#  section, version_index): the fields of Symbol, in order.
SymbolRow = tuple
# (type, bind, visibility, shndx, section) of one symbol
SymbolWords = tuple[str, str, str, str, str | None]
SYMBOL_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Symbol))


@dataclasses.dataclass
class SymbolColumns:
    """One symbol table, as columns of equal length ``count``."""

    table: str
    count: int
    names: list[str]
    versions: list[str | None]
    hidden: list[bool]
    version_indexes: list[int | None]
    values: list[int]
    sizes: list[int]
    words: list[SymbolWords]  # shared tuples: one object per distinct combination

    def rows(self) -> list[SymbolRow]:
        """Every symbol as a tuple in Symbol field order."""
        if not self.count:
            return []
        types, binds, visibilities, shndxs, sections = zip(*self.words, strict=True)
        return list(
            zip(
                repeat(self.table, self.count),
                range(self.count),
                self.names,
                self.versions,
                self.hidden,
                self.values,
                self.sizes,
                types,
                binds,
                visibilities,
                shndxs,
                sections,
                self.version_indexes,
                strict=True,
            )
        )


def read_symbol_columns(raw: RawElf, sections: list[Section], index: int) -> SymbolColumns:
    """Every symbol of the symbol table section ``index``, versions resolved for .dynsym."""
    sec = sections[index]
    lay = raw.lay
    data = raw.section_bytes(index)
    n = len(data) // lay.sym.size
    table = sec.name
    if n == 0:
        return SymbolColumns(table, 0, [], [], [], [], [], [], [])
    data = data[: n * lay.sym.size]
    st_names, keys, values, sizes = _raw_columns(data, raw.wide, raw.endian)
    names = _names(raw.strtab(sec.link), st_names)
    words, shndx_of = _words(raw, sections, index, keys)
    versions_of = symbol_versions(raw, index, n) if sec.type_value == d.SHT_DYNSYM else None
    if versions_of is not None:
        shndxs = list(map(shndx_of.__getitem__, keys))
        found = list(map(versions_of, range(n), st_names, shndxs))
        versions, hidden, vindexes = (list(col) for col in zip(*found, strict=True))
    else:
        versions, hidden, vindexes = [None] * n, [False] * n, [None] * n
        _split_versioned_names(names, versions, hidden)
    return SymbolColumns(table, n, names, versions, hidden, vindexes, values, sizes, words)


def _raw_columns(
    data: memoryview, wide: bool, endian: str
) -> tuple[list[int], list[int], list[int], list[int]]:
    """(st_name, key, st_value, st_size) columns of a symbol table's bytes.

    Each column is a strided slice of the table viewed as 4- or 8-byte words, turned into a
    list in C. ``key`` is the 4 bytes st_info, st_other, st_shndx read as one native word:
    a single number per symbol that :func:`_words` decodes once per distinct value.
    Elf64_Sym: name@0 info@4 other@5 shndx@6 value@8 size@16 (24 bytes);
    Elf32_Sym: name@0 value@4 size@8 info@12 other@13 shndx@14 (16 bytes).
    """
    swap = (endian == "<") != (sys.byteorder == "little")

    def column(fmt: Literal["I", "Q"], start: int, step: int) -> list[int]:
        col = data.cast(fmt)[start::step]
        if not swap:
            return col.tolist()
        arr = array(fmt, col.tobytes())
        arr.byteswap()
        return arr.tolist()

    words = data.cast("I")
    keys = words[1::6].tolist() if wide else words[3::4].tolist()
    if wide:
        return column("I", 0, 6), keys, column("Q", 1, 3), column("Q", 2, 3)
    return column("I", 0, 4), keys, column("I", 1, 4), column("I", 2, 4)


def _names(strtab: bytes, st_names: list[int]) -> list[str]:
    """The name at each offset of the string table, as a C reader of the table sees it."""
    if max(st_names) >= len(strtab):
        return [_string_at(strtab, o) for o in st_names]
    if strtab.isascii():
        # One decode of the whole table; then each name is a slice up to its NUL (a final
        # NUL is added so that an unterminated last string ends at the table's end).
        text = strtab.decode("ascii") + "\0"
        find = text.find
        return [text[o : find("\0", o)] for o in st_names]
    table = strtab + b"\0"
    find_b = table.find
    return [table[o : find_b(b"\0", o)].decode("utf-8", "backslashreplace") for o in st_names]


def _string_at(strtab: bytes, offset: int) -> str:
    if offset >= len(strtab):
        return "<corrupt>"
    end = strtab.find(b"\0", offset)
    return strtab[offset : end if end >= 0 else len(strtab)].decode("utf-8", "backslashreplace")


def _split_versioned_names(names: list[str], versions: list[str | None], hidden: list[bool]) -> None:
    """A static symbol table of a linked file keeps the version in the name: name@@VER."""
    if not any("@" in name for name in set(names)):
        return
    for i, name in enumerate(names):
        if "@" in name and not name.startswith("@"):
            base, _, ver = name.partition("@")
            names[i], versions[i], hidden[i] = base, ver.lstrip("@"), not ver.startswith("@")


def _words(
    raw: RawElf, sections: list[Section], index: int, keys: list[int]
) -> tuple[list[SymbolWords], dict[int, int]]:
    """(type, bind, visibility, shndx, section) of each symbol, decoded once per distinct key;
    and key → st_shndx."""
    machine, osabi = raw.e_machine, raw.ident[7]
    nsec = len(sections)
    order: Literal["little", "big"] = "little" if raw.endian == "<" else "big"
    word_of: dict[int, SymbolWords] = {}
    shndx_of: dict[int, int] = {}
    for key in set(keys):
        stored = key.to_bytes(4, sys.byteorder)  # the file's bytes: info, other, shndx
        info, other, shndx = stored[0], stored[1], int.from_bytes(stored[2:4], order)
        ndx: tuple[str, str | None]
        if shndx >= d.SHN_LORESERVE or shndx == 0:
            ndx = (d.section_index_text(shndx, machine), None)
        else:
            ndx = (_index_text(shndx, nsec), sections[shndx].name if shndx < nsec else None)
        word_of[key] = (
            d.symbol_type_name(info & 0xF, machine, osabi),
            d.symbol_bind_name(info >> 4, osabi),
            d.VISIBILITIES[other & 3],
            *ndx,
        )
        shndx_of[key] = shndx
    words = list(map(word_of.__getitem__, keys))
    extended = _extended_indexes(raw, index, len(keys))
    xkeys = {k for k, v in shndx_of.items() if v == d.SHN_XINDEX}
    if extended is not None and xkeys:
        for i, key in enumerate(keys):
            if key in xkeys:
                real = extended[i]
                words[i] = (
                    *words[i][:3],
                    _index_text(real, nsec),
                    sections[real].name if 0 < real < nsec else None,
                )
    return words, shndx_of


def _index_text(shndx: int, nsec: int) -> str:
    # An index past the section header table names no section; readelf says so rather than
    # print a number that looks valid (BOLT-rewritten libraries keep such symbols).
    if nsec and shndx >= nsec:
        return f"bad section index[{shndx:3d}]"
    return str(shndx)


def symbols_from_rows(rows: list[SymbolRow]) -> list[Symbol]:
    """``Symbol`` records for rows."""
    new = Symbol.__new__
    set_dict = object.__setattr__
    fields = SYMBOL_FIELDS
    out = []
    for row in rows:
        sym = new(Symbol)
        set_dict(sym, "__dict__", dict(zip(fields, row, strict=True)))
        out.append(sym)
    return out


def symbols_from_columns(columns: SymbolColumns) -> list[Symbol]:
    """``Symbol`` records for every symbol of one table."""
    new = Symbol.__new__
    set_dict = object.__setattr__
    table = columns.table
    out: list[Symbol] = []
    append = out.append
    for i, name, version, hidden, value, size, (typ, bind, vis, shndx, section), vindex in zip(
        range(columns.count),
        columns.names,
        columns.versions,
        columns.hidden,
        columns.values,
        columns.sizes,
        columns.words,
        columns.version_indexes,
        strict=True,
    ):
        sym = new(Symbol)
        # Symbol is a frozen dataclass: setting its __dict__ at once skips the per-field
        # object.__setattr__ calls of __init__, which dominate for tables of 100k symbols.
        set_dict(
            sym,
            "__dict__",
            {
                "table": table,
                "index": i,
                "name": name,
                "version": version,
                "version_hidden": hidden,
                "value": value,
                "size": size,
                "type": typ,
                "bind": bind,
                "visibility": vis,
                "shndx": shndx,
                "section": section,
                "version_index": vindex,
            },
        )
        append(sym)
    return out


def _extended_indexes(raw: RawElf, symtab_index: int, count: int) -> tuple[int, ...] | None:
    """SHT_SYMTAB_SHNDX: the real section indexes of symbols whose st_shndx is SHN_XINDEX."""
    for s in raw.shdrs:
        if s.type == d.SHT_SYMTAB_SHNDX and s.link == symtab_index:
            data = raw.file_bytes(s.offset, min(s.size, count * 4), "SYMTAB_SHNDX")
            n = len(data) // 4
            vals = struct.unpack(f"{raw.endian}{n}I", data[: n * 4])
            return vals + (0,) * (count - n)
    return None
