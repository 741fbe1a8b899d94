"""/etc/ld.so.cache read directly, the way ld.so reads it (glibc elf/dl-cache.c, dl-cache.h).

ldconfig writes the cache; ld.so looks a library's name up in it before trying the default
directories. Three layouts exist: the new format alone (magic "glibc-ld.so.cache1.1"), the old
libc5-era format ("ld.so-1.7.0"), and the old format with a new one after it. Each entry has
flags saying which ABI the library is for (an i386 libc6 library is 0x0003, an x86-64 one
0x0303), so a 32-bit program never gets a 64-bit library. Entries from glibc-hwcaps
subdirectories (x86-64-v3, ...) are marked in their hwcap field and point into an extension
section naming those subdirectories.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from kernlab.errors import BadInput
from kernlab.fileio import file_error

LD_SO_CACHE = "/etc/ld.so.cache"
OLD_MAGIC = b"ld.so-1.7.0"
NEW_MAGIC = b"glibc-ld.so.cache1.1"
EXTENSION_MAGIC = 0xEAA42174
HWCAP_EXTENSION = 1 << 62  # DL_CACHE_HWCAP_EXTENSION: hwcap's low 32 bits index the subdirectories
_OLD_HEADER = 16  # char magic[11], padding, uint32 nlibs
_OLD_ENTRY = 12  # int32 flags; uint32 key, value
_NEW_HEADER = 48  # magic+version[20], nlibs, len_strings, flags, pad[3], extension_offset, unused[3]
_NEW_ENTRY = 24  # flags, key, value, osversion, uint64 hwcap
_EXT_TAG_GENERATOR = 0
_EXT_TAG_GLIBC_HWCAPS = 1

# dl-cache.h FLAG_* words as `ldconfig -p` prints them: the low byte is the library type,
# the second byte the ABI it requires.
FLAG_TYPE_WORDS: dict[int, str] = {0x00: "libc4", 0x01: "ELF", 0x02: "libc5", 0x03: "libc6"}
FLAG_ABI_WORDS: dict[int, str] = {
    0x0000: "",
    0x0100: ",64bit",  # FLAG_SPARC_LIB64
    0x0200: ",IA-64",
    0x0300: ",x86-64",
    0x0400: ",64bit",  # FLAG_S390_LIB64
    0x0500: ",64bit",  # FLAG_POWERPC_LIB64
    0x0600: ",N32",
    0x0700: ",64bit",  # FLAG_MIPS64_LIBN64
    0x0800: ",x32",
    0x0900: ",hard-float",
    0x0A00: ",AArch64",
    0x0B00: ",soft-float",
    0x0C00: ",nan2008",
    0x0D00: ",N32,nan2008",
    0x0E00: ",64bit,nan2008",
    0x0F00: ",soft-float",  # FLAG_RISCV_FLOAT_ABI_SOFT
    0x1000: ",double-float",  # FLAG_RISCV_FLOAT_ABI_DOUBLE
    0x1100: ",soft-float",  # FLAG_LARCH_FLOAT_ABI_SOFT
    0x1200: ",double-float",  # FLAG_LARCH_FLOAT_ABI_DOUBLE
}


@dataclass(frozen=True)
class CacheEntry:
    """One library in the cache (``struct file_entry`` / ``struct file_entry_new``)."""

    name: str  # the soname ld.so looks up: "libc.so.6"
    path: str  # where ldconfig found it
    flags: int  # FLAG_* bits: type in the low byte, required ABI in the next
    hwcap: int  # 0, or HWCAP_EXTENSION | index of a glibc-hwcaps subdirectory
    osversion: int
    hwcaps_subdir: str | None  # "x86-64-v3" for glibc-hwcaps entries

    @property
    def flags_text(self) -> str:
        """The words ``ldconfig -p`` shows in parentheses: "libc6,x86-64"."""
        kind = FLAG_TYPE_WORDS.get(self.flags & 0xFF, f"unknown {self.flags & 0xFF:#x}")
        return kind + FLAG_ABI_WORDS.get(self.flags & 0xFF00, f",unknown {self.flags & 0xFF00:#x}")


@dataclass
class LdCache:
    """The parsed cache: entries in file order, and the index ld.so's lookup needs."""

    path: str
    format: str  # "new", "old", "old+new"
    entries: list[CacheEntry]
    generator: str | None = None  # the ldconfig that wrote it (extension section 0)
    hwcaps_subdirs: list[str] = field(default_factory=list)
    _by_name: dict[str, list[CacheEntry]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in self.entries:
            self._by_name.setdefault(entry.name, []).append(entry)

    def entries_named(self, name: str) -> list[CacheEntry]:
        return self._by_name.get(name, [])

    def lookup(
        self, name: str, accepted_flags: frozenset[int], default_flags: int, hwcaps: list[str]
    ) -> str | None:
        """The path ld.so would take from the cache for ``name`` (dl-cache.c search_cache).

        ``accepted_flags`` are the entries this ABI may use (_dl_cache_check_flags),
        ``default_flags`` the exact match that ends the search, ``hwcaps`` the active
        glibc-hwcaps subdirectories, best first. Entries of glibc-hwcaps subdirectories come
        first in the cache; the one with the best active subdirectory wins, otherwise the
        first plain entry (a later one with exactly the default flags beats an earlier one
        that is only accepted).
        """
        best: str | None = None
        best_priority = 0
        for entry in self.entries_named(name):
            if entry.flags not in accepted_flags:
                continue
            named = entry.hwcap & HWCAP_EXTENSION != 0 and entry.hwcaps_subdir is not None
            if not named and best is not None:
                break
            if named:
                if entry.hwcaps_subdir not in hwcaps:
                    continue
                priority = hwcaps.index(entry.hwcaps_subdir) + 1
                if best is not None and priority >= best_priority:
                    continue
                best_priority = priority
            elif entry.hwcap:
                # Legacy hwcap bits (tls, platform subdirectories): not used by this loader.
                continue
            best = entry.path
            if not named and entry.flags == default_flags:
                break
        return best


def _cstr(data: bytes, offset: int) -> str:
    if not 0 <= offset < len(data):
        return ""
    end = data.find(b"\0", offset)
    return data[offset : end if end >= 0 else len(data)].decode("utf-8", "surrogateescape")


def _parse_new(data: bytes, start: int, path: str) -> tuple[list[CacheEntry], str | None, list[str]]:
    """Entries of a new-format cache whose header is at ``start`` (its offsets count from there)."""
    if len(data) < start + _NEW_HEADER:
        raise BadInput(
            f"{path}: ld.so cache header is cut short",
            key="errors.ldd.cache_header_short",
            fields={"path": path},
        )
    flags_byte = data[start + 28]
    # cache_file_new_flags_endian_*: 2 little, 3 big; 0 (older ldconfig) means this machine's order.
    order = ">" if flags_byte == 3 else "<"
    nlibs, _len_strings = struct.unpack_from(order + "II", data, start + 20)
    (ext_offset,) = struct.unpack_from(order + "I", data, start + 32)
    if (len(data) - start - _NEW_HEADER) // _NEW_ENTRY < nlibs:
        raise BadInput(
            f"{path}: ld.so cache says {nlibs} entries but the file is too short for them",
            key="errors.ldd.cache_too_short",
            fields={"path": path, "entries": nlibs},
        )
    generator, subdirs = _parse_extensions(data, ext_offset, order)
    strings = data[start:]
    entries = []
    for i in range(nlibs):
        flags, key, value, osversion, hwcap = struct.unpack_from(
            order + "iIIIQ", data, start + _NEW_HEADER + i * _NEW_ENTRY
        )
        subdir = None
        if hwcap & HWCAP_EXTENSION:
            index = hwcap & 0xFFFFFFFF
            subdir = subdirs[index] if index < len(subdirs) else None
        entries.append(
            CacheEntry(_cstr(strings, key), _cstr(strings, value), flags, hwcap, osversion, subdir)
        )
    return entries, generator, subdirs


def _parse_extensions(data: bytes, offset: int, order: str) -> tuple[str | None, list[str]]:
    """The generator string and glibc-hwcaps subdirectory names (struct cache_extension)."""
    if offset == 0 or offset + 8 > len(data):
        return None, []
    magic, count = struct.unpack_from(order + "II", data, offset)
    if magic != EXTENSION_MAGIC:
        return None, []
    generator: str | None = None
    subdirs: list[str] = []
    for i in range(count):
        at = offset + 8 + 16 * i
        if at + 16 > len(data):
            break
        tag, _flags, sec_offset, sec_size = struct.unpack_from(order + "IIII", data, at)
        if sec_offset + sec_size > len(data):
            continue
        if tag == _EXT_TAG_GENERATOR:
            generator = data[sec_offset : sec_offset + sec_size].decode("utf-8", "replace").rstrip("\0")
        elif tag == _EXT_TAG_GLIBC_HWCAPS:
            for (name_off,) in struct.iter_unpack(
                order + "I", data[sec_offset : sec_offset + sec_size - sec_size % 4]
            ):
                subdirs.append(_cstr(data, name_off))
    return generator, subdirs


def parse_ld_cache(data: bytes, path: str = LD_SO_CACHE) -> LdCache:
    """Parse the bytes of an ld.so cache in any of its three layouts."""
    if data.startswith(NEW_MAGIC):
        entries, generator, subdirs = _parse_new(data, 0, path)
        return LdCache(path, "new", entries, generator, subdirs)
    if not data.startswith(OLD_MAGIC):
        raise BadInput(
            f"{path}: not an ld.so cache (no {NEW_MAGIC.decode()} or {OLD_MAGIC.decode()} magic)",
            key="errors.ldd.not_cache",
            fields={"path": path, "new": NEW_MAGIC.decode(), "old": OLD_MAGIC.decode()},
        )
    if len(data) < _OLD_HEADER:
        raise BadInput(
            f"{path}: ld.so cache header is cut short",
            key="errors.ldd.cache_header_short",
            fields={"path": path},
        )
    (nlibs,) = struct.unpack_from("<I", data, 12)
    table_end = _OLD_HEADER + nlibs * _OLD_ENTRY
    if table_end > len(data):
        raise BadInput(
            f"{path}: ld.so cache says {nlibs} entries but the file is too short for them",
            key="errors.ldd.cache_too_short",
            fields={"path": path, "entries": nlibs},
        )
    # A new-format cache may follow the old table, aligned like struct cache_file_new (8 bytes).
    new_start = (table_end + 7) & ~7
    if data[new_start : new_start + len(NEW_MAGIC)] == NEW_MAGIC:
        entries, generator, subdirs = _parse_new(data, new_start, path)
        return LdCache(path, "old+new", entries, generator, subdirs)
    strings = data[table_end:]  # old-format offsets count from the end of the entry table
    entries = []
    for i in range(nlibs):
        flags, key, value = struct.unpack_from("<iII", data, _OLD_HEADER + i * _OLD_ENTRY)
        entries.append(CacheEntry(_cstr(strings, key), _cstr(strings, value), flags, 0, 0, None))
    return LdCache(path, "old", entries)


def read_ld_cache(path: str = LD_SO_CACHE) -> LdCache | None:
    """The ld.so cache at ``path``, or None when there is none (ld.so then skips this step)."""
    try:
        if os.path.exists(path) and not os.path.isdir(path) and not os.path.isfile(path):
            # A FIFO or device would block or never end.
            raise BadInput(
                f"{path}: not a regular file, so not an ld.so cache",
                key="errors.ldd.cache_not_regular",
                fields={"path": path},
            )
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None  # no cache: ld.so skips this step too
    except OSError as exc:
        raise file_error(exc, path, "an ld.so cache") from exc
    try:
        return parse_ld_cache(data, path)
    except struct.error as exc:
        raise BadInput(
            f"{path}: damaged ld.so cache ({exc})",
            key="errors.ldd.cache_damaged",
            fields={"path": path, "reason": str(exc)},
        ) from None
