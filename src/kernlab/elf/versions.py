"""GNU symbol versions: .gnu.version (one half-word per dynamic symbol) resolved against
.gnu.version_d (versions this file defines) and .gnu.version_r (versions it needs), the way
readelf -s prints them."""

from __future__ import annotations

import struct
from collections.abc import Callable

from kernlab.elf import descriptions as d
from kernlab.elf.headers import RawElf
from kernlab.elf.layout import cstr

# (version, hidden, needed-version index) for one symbol
VersionInfo = tuple[str | None, bool, int | None]
NO_VERSION: VersionInfo = (None, False, None)


def symbol_versions(
    raw: RawElf, dynsym_index: int, count: int
) -> Callable[[int, int, int], VersionInfo] | None:
    """A lookup (symbol index, st_name, shndx) → (version, hidden, needed-index), as readelf
    resolves .gnu.version against .gnu.version_d and .gnu.version_r; None without versions."""
    versym_sec = next((s for s in raw.shdrs if s.type == d.SHT_GNU_VERSYM and s.link == dynsym_index), None)
    if versym_sec is None:
        return None
    vdata = raw.file_bytes(versym_sec.offset, min(versym_sec.size, count * 2), ".gnu.version")
    n = len(vdata) // 2
    versym = struct.unpack(f"{raw.endian}{n}H", vdata[: n * 2])
    defs = version_definitions(raw)  # ndx -> (name, name offset)
    needs = version_needs(raw)  # other -> name
    none = NO_VERSION

    def lookup(i: int, st_name: int, shndx: int) -> VersionInfo:
        if i >= n:
            return none
        v = versym[i]
        if v == 0:
            return none
        idx = v & 0x7FFF
        if idx == 1:
            return none  # VER_NDX_GLOBAL: the base version, which readelf does not print
        if shndx != d.SHN_UNDEF and v != 0x8001 and defs:
            found = defs.get(idx)
            if found is not None:
                name, name_off = found
                if name_off == st_name:
                    return none
                return (name, bool(v & 0x8000), None)
        if needs:
            needed = needs.get(idx)
            if needed is not None:
                return (needed, False, idx)
        return none

    return lookup


def version_definitions(raw: RawElf) -> dict[int, tuple[str, int]]:
    """.gnu.version_d: version index → (name, offset of the name in the string table)."""
    sec = next((s for s in raw.shdrs if s.type == d.SHT_GNU_VERDEF), None)
    if sec is None:
        return {}
    data = raw.file_bytes(sec.offset, sec.size, ".gnu.version_d")
    strtab = raw.strtab(sec.link)
    fmt = struct.Struct(raw.endian + "HHHHIII")
    aux = struct.Struct(raw.endian + "II")
    out: dict[int, tuple[str, int]] = {}
    off = 0
    for _ in range(min(sec.info or 0xFFFF, 0xFFFF)):
        if off + fmt.size > len(data):
            break
        _ver, _flags, ndx, cnt, _hash, vd_aux, vd_next = fmt.unpack_from(data, off)
        if cnt and off + vd_aux + aux.size <= len(data):
            name_off, _ = aux.unpack_from(data, off + vd_aux)
            out[ndx] = (cstr(strtab, name_off), name_off)
        if vd_next == 0:
            break
        off += vd_next
    return out


def version_needs(raw: RawElf) -> dict[int, str]:
    """.gnu.version_r: version index (vna_other) → version name."""
    sec = next((s for s in raw.shdrs if s.type == d.SHT_GNU_VERNEED), None)
    if sec is None:
        return {}
    data = raw.file_bytes(sec.offset, sec.size, ".gnu.version_r")
    strtab = raw.strtab(sec.link)
    fmt = struct.Struct(raw.endian + "HHIII")
    aux = struct.Struct(raw.endian + "IHHII")
    out: dict[int, str] = {}
    off = 0
    for _ in range(min(sec.info or 0xFFFF, 0xFFFF)):
        if off + fmt.size > len(data):
            break
        _ver, cnt, _file, vn_aux, vn_next = fmt.unpack_from(data, off)
        a = off + vn_aux
        for _ in range(cnt):
            if a + aux.size > len(data):
                break
            _hash, _flags, other, name_off, vna_next = aux.unpack_from(data, a)
            out[other] = cstr(strtab, name_off)
            if vna_next == 0:
                break
            a += vna_next
        if vn_next == 0:
            break
        off += vn_next
    return out
