"""The symbol table a kernel image carries for /proc/kallsyms, decoded from the image itself.

A stripped vmlinux (what a distribution's vmlinuz decompresses to) has no .symtab, and Debian's
/boot/System.map-<release> is a one-line placeholder; yet with CONFIG_KALLSYMS the image holds
every symbol /proc/kallsyms will list, in the compressed tables scripts/kallsyms.c writes into
.rodata (each label aligned to 8 bytes):

* ``kallsyms_num_syms`` (u32) right before ``kallsyms_names``: per symbol a length (one byte, or
  two as ULEB128 since 6.1) and that many token bytes; the first expanded character is nm's type
  letter;
* ``kallsyms_markers`` (u32 since 6.1, unsigned long before): the offset in the names of every
  256th symbol;
* ``kallsyms_token_table`` (256 NUL-terminated strings, one per byte value; a byte that occurs
  in symbol names stands for itself, so "0".."9" sit at 0x30..0x39) and ``kallsyms_token_index``
  (256 u16 offsets into it);
* ``kallsyms_offsets`` (s32 per symbol) and ``kallsyms_relative_base`` (a pointer): with
  CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86_64 SMP) a non-negative offset is an absolute address
  (per-CPU symbols, linked at 0) and a negative one is ``relative_base - 1 - offset``; otherwise
  every symbol is ``relative_base + (u32)offset``.

Their order changed (6.1: offsets, relative_base, num_syms, names, markers, seqs_of_names,
token_table, token_index; 6.12: num_syms, names, markers, token_table, token_index, offsets,
relative_base, seqs_of_names), so each table is found by what it holds and checked against the
others (token_index against the token table, markers against the parsed names), never by a
fixed position. Addresses are link-time ones: the running kernel adds its KASLR offset.
"""

from __future__ import annotations

import itertools
import re
import struct
from dataclasses import dataclass

from kernlab.kernel.kallsyms import KallsymsEntry

__all__ = ["KallsymsTable", "decode_kallsyms_table"]

# The token-table entries of the digits, which always stand for themselves.
_DIGITS = b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00"
# Plausible symbol counts: a tiny kernel has a few thousand, a large one a few hundred thousand.
MIN_SYMBOLS = 256
MAX_SYMBOLS = 1 << 22
# nm's type letters scripts/kallsyms.c keeps (upper case global, lower case local).
_TYPE_LETTERS = frozenset("AaBbDdGgRrSsTtVvWwUuNn?")


@dataclass(frozen=True)
class KallsymsTable:
    """Every symbol of a kernel image's kallsyms tables, in table (address) order."""

    entries: tuple[KallsymsEntry, ...]
    relative_base: int  # kallsyms_relative_base: the link address of _text (or of the lowest symbol)
    absolute_percpu: bool  # per-CPU symbols stored as absolute addresses (CONFIG_KALLSYMS_ABSOLUTE_PERCPU)
    names_address: int  # where kallsyms_names starts (a link-time address)
    token_table_address: int


def _align8(value: int) -> int:
    return (value + 7) & ~7


def decode_kallsyms_table(
    data: bytes | memoryview, base: int, little_endian: bool = True
) -> KallsymsTable | None:
    """The kallsyms tables inside ``data`` (a section's bytes, at link address ``base``), or None
    when no consistent set of tables is there (a kernel built without CONFIG_KALLSYMS)."""
    raw = bytes(data)
    end = "<" if little_endian else ">"
    for digits in re.finditer(re.escape(_DIGITS), raw):
        tokens = _token_table(raw, digits.start(), end)
        if tokens is None:
            continue
        table_at, token_end, strings = tokens
        found = _names(raw, table_at, strings, end)
        if found is None:
            continue
        names_at, count, types_names = found
        offsets = _offsets(raw, names_at, token_end, count, end, base)
        if offsets is None:
            continue
        values, relative_base, absolute = offsets
        entries = tuple(
            KallsymsEntry(address, kind, name, None)
            for address, (kind, name) in zip(values, types_names, strict=True)
        )
        return KallsymsTable(entries, relative_base, absolute, base + names_at, base + table_at)
    return None


def _token_table(raw: bytes, digits_at: int, end: str) -> tuple[int, int, list[bytes]] | None:
    """(start, end of token_index, the 256 tokens) when the digits at ``digits_at`` are entries
    0x30..0x39 of a token table whose token_index follows it."""
    # Walk back 0x30 strings: each ends with the NUL before the next one starts.
    start = digits_at
    for _ in range(0x30):
        if start == 0:
            return None
        start = raw.rfind(b"\x00", 0, start - 1) + 1
    if start % 8:
        return None  # the table's label is aligned to 8
    strings: list[bytes] = []
    offsets: list[int] = []
    pos = start
    for _ in range(256):
        stop = raw.find(b"\x00", pos)
        if stop < 0:
            return None
        offsets.append(pos - start)
        strings.append(raw[pos:stop])
        pos = stop + 1
    index_at = _align8(pos)
    if index_at + 512 > len(raw):
        return None
    if list(struct.unpack_from(f"{end}256H", raw, index_at)) != offsets:
        return None
    return start, index_at + 512, strings


def _names(
    raw: bytes, table_at: int, tokens: list[bytes], end: str
) -> tuple[int, int, list[tuple[str, str]]] | None:
    """(offset of kallsyms_names, symbol count, (type, name) per symbol): found as an 8-aligned
    place below the token table where the u32 8 bytes earlier counts the names that follow, and
    the markers after them point at every 256th name."""
    words = struct.unpack_from(f"{end}{table_at // 4}I", raw, 0)
    # Candidates nearest the token table first: the names sit just below it (6.12) or below the
    # markers and seqs_of_names (6.1).
    for i in range(len(words) - 2, 0, -2):
        count = words[i]
        if not MIN_SYMBOLS <= count <= MAX_SYMBOLS or words[i + 1] != 0:
            continue
        names_at = (i + 2) * 4
        first = raw[names_at]
        if not 0 < first < 0x80 or raw[names_at + 1] == 0:
            continue
        parsed = _parse_names(raw, names_at, count, tokens, table_at)
        if parsed is not None:
            return names_at, count, parsed
    return None


def _parse_names(
    raw: bytes, names_at: int, count: int, tokens: list[bytes], limit: int
) -> list[tuple[str, str]] | None:
    out: list[tuple[str, str]] = []
    starts: list[int] = []
    pos = names_at
    expand = [t.decode("latin-1") for t in tokens]
    for i in range(count):
        if pos >= limit:
            return None
        if i % 256 == 0:
            starts.append(pos - names_at)
        length = raw[pos]
        pos += 1
        if length & 0x80:  # a two-byte ULEB128 length (6.1 and later)
            length = (length & 0x7F) | (raw[pos] << 7)
            pos += 1
        if length == 0:
            return None
        text = "".join([expand[b] for b in raw[pos : pos + length]])
        pos += length
        if not text or text[0] not in _TYPE_LETTERS:
            return None
        out.append((text[0], text[1:]))
    # kallsyms_markers follows the names: u32 (6.1 and later) or unsigned long (before).
    markers_at = _align8(pos)
    for size, letter in ((4, "I"), (8, "Q")):
        need = len(starts)
        if markers_at + need * size <= len(raw):
            markers = list(struct.unpack_from(f"<{need}{letter}", raw, markers_at))
            if markers == starts:
                return out
    return None


def _offsets(
    raw: bytes, names_at: int, token_end: int, count: int, end: str, base: int
) -> tuple[list[int], int, bool] | None:
    """The addresses, kallsyms_relative_base and whether per-CPU symbols are absolute, from
    kallsyms_offsets + kallsyms_relative_base placed either before kallsyms_num_syms (6.1) or
    after kallsyms_token_index (6.12)."""
    span = _align8(count * 4)
    places = []
    base_before = names_at - 16  # relative_base (8 bytes) right before num_syms (8 with padding)
    places.append((base_before - span, base_before))
    after = _align8(token_end)
    places.append((after, after + span))
    for offsets_at, base_at in places:
        if offsets_at < 0 or base_at + 8 > len(raw):
            continue
        (relative_base,) = struct.unpack_from(f"{end}Q", raw, base_at)
        values = struct.unpack_from(f"{end}{count}i", raw, offsets_at)
        negative = sum(1 for v in values if v < 0)
        absolute = negative > count // 2
        if absolute:
            addresses = [v if v >= 0 else relative_base - 1 - v for v in values]
        else:
            addresses = [relative_base + (v & 0xFFFFFFFF) for v in values]
        # The table is sorted by address, and its text lies above the relative base.
        if any(b < a for a, b in itertools.pairwise(addresses)):
            continue
        if relative_base >> 63 != base >> 63:
            continue  # a kernel address of the same half as the section holding the tables
        return addresses, relative_base, absolute
    return None
