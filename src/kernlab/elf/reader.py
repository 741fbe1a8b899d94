"""Open an ELF file and read what it holds: header, segments, sections, symbols, dynamic, notes.

The ELF header and the section and program header tables are decoded here with ``struct``,
checked against the file size *before* anything trusts them, and turned into the records of
:mod:`kernlab.elf.model`. The bulk tables (symbols, symbol versions, dynamic entries,
relocations) are read the same way, with ``struct.iter_unpack`` over a memoryview of an mmap of
the file: pyelftools builds one Container object per entry through its construct-like parser,
which is ~50× slower than readelf on a library with 60k symbols, while one ``iter_unpack`` pass
plus name lookups in the string table is close to C speed. pyelftools stays available as
:attr:`ElfImage.elffile` for anything this module does not decode (DWARF, hash tables, ...).

Every problem with the file itself becomes :class:`kernlab.errors.BadInput` (or
:class:`~kernlab.errors.PermissionNeeded`) with a message naming the file and what is wrong.
"""

from __future__ import annotations

import bisect
import gc
import mmap
import os
import stat
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from kernlab.elf import descriptions as d
from kernlab.elf.model import (
    DynamicEntry,
    ElfHeader,
    ElfReport,
    ElfSummary,
    Note,
    Relocation,
    Section,
    Segment,
    Symbol,
)
from kernlab.errors import BadInput, KernlabError, PermissionNeeded

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

ELF_MAGIC = b"\x7fELF"
REPORT_PARTS = ("header", "segments", "sections", "symbols", "dynamic", "notes")
_MASK64 = (1 << 64) - 1


class _Shdr(NamedTuple):
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


class _Phdr(NamedTuple):
    type: int
    flags: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    align: int


class _Layout(NamedTuple):
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


def _layout(wide: bool, endian: str) -> _Layout:
    if wide:
        return _Layout(
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
    return _Layout(
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


# --- opening --------------------------------------------------------------------------------


def _map_file(path: str) -> tuple[mmap.mmap | bytes, int]:
    """The bytes of a regular file (an mmap), refusing anything that could block or is empty."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except PermissionError:
        raise PermissionNeeded(f"{path}: permission denied (cannot open it for reading)") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not an ELF file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise BadInput(f"{path}: is a directory, not an ELF file")
        if not stat.S_ISREG(st.st_mode):
            kind = _file_kind(st.st_mode)
            raise BadInput(f"{path}: is a {kind}, not a regular file; kernlab reads only regular files")
        if st.st_size == 0:
            raise BadInput(f"{path}: is empty (0 bytes), not an ELF file")
        try:
            return mmap.mmap(fd, 0, access=mmap.ACCESS_READ), st.st_size
        except (OSError, ValueError):
            # Some filesystems cannot be mapped; read the file instead.
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
            if not data:
                raise BadInput(f"{path}: is empty (0 bytes), not an ELF file") from None
            return data, len(data)
    except PermissionError:
        raise PermissionNeeded(f"{path}: permission denied (cannot read it)") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not an ELF file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    )
    for test, name in kinds:
        if test(mode):
            return name
    return "special file"


def open_elf(path: str | os.PathLike[str]) -> ElfImage:
    """Open ``path`` as an ELF file, or find the ELF inside a compressed kernel image.

    Raises :class:`BadInput` for anything that is not a usable ELF file (missing, directory,
    FIFO or device, empty, not ELF, truncated, header tables pointing past the end) and
    :class:`PermissionNeeded` when the file cannot be read.
    """
    name = os.fspath(path)
    data, _size = _map_file(name)
    if bytes(data[:4]) == ELF_MAGIC:
        return ElfImage(name, data)
    from kernlab.elf import kimage

    found = kimage.find_elf(data, name)
    if found is None:
        raise BadInput(f"{name}: not an ELF file (no \\x7fELF magic, and no compressed ELF inside)")
    inner_bytes, how = found
    return ElfImage(name, inner_bytes, inner=how)


def open_elf_bytes(data: bytes, source: str = "<bytes>") -> ElfImage:
    """An :class:`ElfImage` over bytes already in memory (as decompressed from a kernel image)."""
    if bytes(data[:4]) != ELF_MAGIC:
        raise BadInput(f"{source}: not an ELF file (no \\x7fELF magic)")
    return ElfImage(source, data)


@contextmanager
def _corrupt(source: str, what: str) -> Iterator[None]:
    """Turn a decoding failure on a malformed table into one BadInput naming it."""
    try:
        yield
    except KernlabError:
        raise
    except (struct.error, ValueError, IndexError, KeyError, OverflowError, UnicodeError) as exc:
        raise BadInput(f"{source}: malformed {what}: {exc}") from None


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles.

    Each 700 new objects trigger a collection that walks all young objects, and the full
    collections walk everything: for 100k symbols that is a third of the time spent.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- the image ------------------------------------------------------------------------------


class ElfImage:
    """An opened ELF file. Header and tables are decoded at open; large tables on first use.

    ``source`` is the path given; ``inner`` says where the ELF came from when it was found
    inside another file (a compressed kernel image: ``"gzip at offset 0x4a0c"``), else None.
    """

    def __init__(self, source: str, data: mmap.mmap | bytes, inner: str | None = None) -> None:
        self.source = source
        self.inner = inner
        self._data = data
        self._view = memoryview(data)
        self._size = len(data)
        self._cache: dict[str, Any] = {}
        self._parse_header()
        self._parse_sections()
        self._parse_segments()
        self.header = self._build_header()
        with _no_gc():  # files with 60k+ sections exist (kernel modules, -ffunction-sections)
            self.sections: list[Section] = self._build_sections()
            self.segments: list[Segment] = self._build_segments()

    def __repr__(self) -> str:
        return f"<ElfImage {self.source!r} {self.header.elf_class} {self.header.type} {self.arch}>"

    # --- header and tables ----------------------------------------------------------------

    def _fail(self, what: str) -> BadInput:
        return BadInput(f"{self.source}: {what}")

    def _parse_header(self) -> None:
        ident = bytes(self._view[:16])
        if len(ident) < 16:
            raise self._fail(f"truncated ELF identification ({len(ident)} of 16 bytes)")
        ei_class, ei_data = ident[4], ident[5]
        if ei_class not in (1, 2):
            raise self._fail(f"unknown ELF class {ei_class} in e_ident (expected 1 for 32-bit, 2 for 64-bit)")
        if ei_data not in (1, 2):
            raise self._fail(f"unknown byte order {ei_data} in e_ident (expected 1 little, 2 big endian)")
        self._wide = ei_class == 2
        self._endian = "<" if ei_data == 1 else ">"
        self._lay = _layout(self._wide, self._endian)
        self._ident = ident
        need = 16 + self._lay.ehdr.size
        if self._size < need:
            raise self._fail(f"truncated ELF header ({self._size} of {need} bytes)")
        (
            self._e_type,
            self._e_machine,
            self._e_version,
            self._e_entry,
            self._e_phoff,
            self._e_shoff,
            self._e_flags,
            self._e_ehsize,
            self._e_phentsize,
            self._e_phnum,
            self._e_shentsize,
            self._e_shnum,
            self._e_shstrndx,
        ) = self._lay.ehdr.unpack_from(self._view, 16)

    def _table_bounds(self, what: str, offset: int, count: int, entsize: int, expect: int) -> None:
        if count == 0:
            return
        if entsize != expect:
            raise self._fail(
                f"{what} entry size is {entsize} bytes; an ELF{32 * (1 + self._wide)} needs {expect}"
            )
        end = offset + count * entsize
        if end > self._size:
            raise self._fail(
                f"{what} ({count} × {entsize} bytes at offset {offset:#x}) run past the end of the file "
                f"({self._size} bytes): the file is truncated or corrupt"
            )

    def _parse_sections(self) -> None:
        shdr = self._lay.shdr
        shoff, shnum = self._e_shoff, self._e_shnum
        self._shstrndx = self._e_shstrndx
        self._shdrs: list[_Shdr] = []
        if shoff == 0:
            return
        if shnum == 0 or self._e_shstrndx == d.SHN_XINDEX or self._e_phnum == 0xFFFF:
            # Extended numbering: the real counts live in section header 0 (gABI).
            self._table_bounds("section header 0", shoff, 1, self._e_shentsize, shdr.size)
            first = _Shdr(*shdr.unpack_from(self._view, shoff))
            if shnum == 0:
                shnum = first.size
            if self._e_shstrndx == d.SHN_XINDEX:
                self._shstrndx = first.link
            if self._e_phnum == 0xFFFF and first.info:
                self._e_phnum = first.info
        if shnum > self._size // max(shdr.size, 1):
            raise self._fail(
                f"truncated or corrupt: it claims {shnum} section headers at offset {shoff:#x}, "
                f"more than a file of {self._size} bytes can hold"
            )
        self._table_bounds("section headers", shoff, shnum, self._e_shentsize, shdr.size)
        self._shdrs = [_Shdr(*t) for t in shdr.iter_unpack(self._view[shoff : shoff + shnum * shdr.size])]

    def _parse_segments(self) -> None:
        phdr = self._lay.phdr
        self._phdrs: list[_Phdr] = []
        if self._e_phoff == 0 or self._e_phnum == 0:
            return
        self._table_bounds("program headers", self._e_phoff, self._e_phnum, self._e_phentsize, phdr.size)
        raw = phdr.iter_unpack(self._view[self._e_phoff : self._e_phoff + self._e_phnum * phdr.size])
        if self._wide:
            self._phdrs = [_Phdr(*t) for t in raw]
        else:
            # Elf32_Phdr puts p_flags second to last; Elf64_Phdr puts it second.
            self._phdrs = [_Phdr(t[0], t[6], t[1], t[2], t[3], t[4], t[5], t[7]) for t in raw]

    def _build_header(self) -> ElfHeader:
        ident = self._ident
        osabi = ident[7]
        type_word, type_text = d.FILE_TYPES.get(self._e_type, ("", ""))
        if not type_word:
            if 0xFE00 <= self._e_type <= 0xFEFF:
                type_word, type_text = f"OS Specific: ({self._e_type:x})", ""
            elif self._e_type >= 0xFF00:
                type_word, type_text = f"Processor Specific: ({self._e_type:x})", ""
            else:
                type_word, type_text = f"<unknown>: {self._e_type:x}", ""
        elif self._e_type == 3 and self._is_pie():
            type_text = d.PIE_DESCRIPTION
        machine_text = d.MACHINES.get(self._e_machine, (f"<unknown>: 0x{self._e_machine:x}", ""))[0]
        if osabi in d.OSABI_NAMES:
            osabi_text = d.OSABI_NAMES[osabi]
        elif osabi == 97 and self._e_machine == d.EM_ARM:
            osabi_text = "ARM"
        else:
            osabi_text = f"<unknown: {osabi:x}>"
        return ElfHeader(
            magic=ident,
            elf_class=d.CLASS_NAMES[ident[4]],
            data=d.DATA_NAMES[ident[5]],
            ident_version=ident[6],
            os_abi=osabi_text,
            abi_version=ident[8],
            type=type_word,
            type_description=type_text,
            machine=machine_text,
            arch=d.short_arch(self._e_machine, ident[4]),
            version=self._e_version,
            entry=self._e_entry,
            phoff=self._e_phoff,
            shoff=self._e_shoff,
            flags=self._e_flags,
            ehsize=self._e_ehsize,
            phentsize=self._e_phentsize,
            phnum=len(self._phdrs) if self._phdrs else self._e_phnum,
            shentsize=self._e_shentsize,
            shnum=len(self._shdrs),
            shstrndx=self._shstrndx,
            type_value=self._e_type,
            machine_value=self._e_machine,
            osabi_value=osabi,
            flags_text=self._flags_text(),
            data_readelf=f"2's complement, {d.DATA_NAMES[ident[5]]}",
        )

    def _flags_text(self) -> str:
        flags = self._e_flags
        if self._e_machine == d.EM_RISCV:
            words = [w for bit, w in d.RISCV_FLAG_WORDS if flags & bit]
            words.append(d.RISCV_FLOAT_ABI[flags & 0x6])
            return ", ".join(words)
        if self._e_machine == d.EM_ARM and flags >> 24 in (4, 5):
            # As readelf's decode_ARM_machine_flags: the EABI version, then each known bit.
            words = [f"Version{flags >> 24} EABI"]
            known = d.ARM_EABI5_FLAG_WORDS if flags >> 24 == 5 else d.ARM_EABI4_FLAG_WORDS
            rest = flags & 0x00FFFFFF
            while rest:
                bit = rest & -rest
                rest &= ~bit
                if bit not in known:
                    words.append("<unknown>")
                    break
                words.append(known[bit])
            return ", ".join(words)
        return ""

    def _is_pie(self) -> bool:
        # readelf calls a DYN file a PIE when its dynamic section has DF_1_PIE in DT_FLAGS_1.
        try:
            return any(e.tag_value == d.DT_FLAGS_1 and e.value & d.DF_1_PIE for e in self._dynamic_raw())
        except KernlabError:
            return False

    def _section_name(self, offset: int) -> str:
        if not (0 < self._shstrndx < len(self._shdrs)):
            return "<no-strings>"
        strtab = self._shdrs[self._shstrndx]
        if offset >= strtab.size:
            return "<corrupt>"
        return self._cstring(strtab.offset + offset, strtab.offset + strtab.size)

    def _cstring(self, start: int, limit: int) -> str:
        limit = min(limit, self._size)
        if start >= limit:
            return "<corrupt>"
        end = self._data.find(b"\0", start, limit)
        if end < 0:
            end = limit
        return bytes(self._data[start:end]).decode("utf-8", "backslashreplace")

    def _build_sections(self) -> list[Section]:
        machine, osabi = self._e_machine, self._ident[7]
        out = []
        for i, s in enumerate(self._shdrs):
            out.append(
                Section(
                    index=i,
                    name=self._section_name(s.name) if i else "",
                    type=d.section_type_name(s.type, machine),
                    address=s.addr,
                    offset=s.offset,
                    size=s.size,
                    entsize=s.entsize,
                    flags=d.section_flag_letters(s.flags, machine, osabi),
                    link=s.link,
                    info=s.info,
                    align=s.addralign,
                    type_value=s.type,
                    flags_value=s.flags,
                )
            )
        return out

    def _build_segments(self) -> list[Segment]:
        from kernlab.catalog import say

        out = []
        candidates = _MappingCandidates(self._shdrs)
        for i, p in enumerate(self._phdrs):
            type_word = d.segment_type_name(p.type, self._e_machine)
            indexes = candidates.near(p)
            mapped = tuple(
                self.sections[j].name
                for j in indexes
                if not _tbss_special(self._shdrs[j], p) and section_in_segment(self._shdrs[j], p, strict=True)
            )
            interp = self._interp_from_segment(p) if p.type == d.PT_INTERP else None
            flags = d.segment_flags(p.flags)
            key, fields = _segment_meaning(type_word, p, flags, mapped, interp)
            out.append(
                Segment(
                    index=i,
                    type=type_word,
                    offset=p.offset,
                    vaddr=p.vaddr,
                    paddr=p.paddr,
                    filesz=p.filesz,
                    memsz=p.memsz,
                    flags=flags,
                    align=p.align,
                    sections=mapped,
                    meaning=say(key, **fields),
                    interpreter=interp,
                    type_value=p.type,
                    flags_value=p.flags,
                )
            )
        return out

    def _interp_from_segment(self, p: _Phdr) -> str | None:
        if p.offset >= self._size or p.filesz == 0:
            return None
        return self._cstring(p.offset, p.offset + p.filesz)

    # --- simple properties --------------------------------------------------------------------

    @property
    def arch(self) -> str:
        """Short architecture name: x86_64, i386, aarch64, arm, riscv64, mips, ppc64, s390x, ..."""
        return self.header.arch

    @property
    def is_64bit(self) -> bool:
        """ELFCLASS64."""
        return self._wide

    @property
    def is_little_endian(self) -> bool:
        """ELFDATA2LSB."""
        return self._endian == "<"

    @property
    def size(self) -> int:
        """Size in bytes of the ELF image (the decompressed one for a kernel image)."""
        return self._size

    @cached_property
    def elffile(self) -> ELFFile:
        """The same bytes as a pyelftools ``ELFFile``: an escape hatch for DWARF and the like."""
        import io

        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile

        # An mmap is a file-like object (read/seek/tell) of its own: no copy of a large file.
        stream = self._data if isinstance(self._data, mmap.mmap) else io.BytesIO(self._data)
        try:
            return ELFFile(stream)
        except (ELFError, struct.error, ValueError, IndexError, KeyError, AssertionError) as exc:
            raise self._fail(f"pyelftools cannot parse it: {exc}") from None

    def section_by_name(self, name: str) -> Section | None:
        """The first section called ``name``, or None."""
        for s in self.sections:
            if s.name == name:
                return s
        return None

    @cached_property
    def interpreter(self) -> str | None:
        """The program interpreter (PT_INTERP, else the .interp section): the dynamic loader."""
        for seg in self.segments:
            if seg.interpreter:
                return seg.interpreter
        sec = self.section_by_name(".interp")
        if sec is not None and not sec.is_nobits and sec.size:
            return self._cstring(sec.offset, sec.offset + sec.size)
        return None

    @property
    def is_stripped(self) -> bool:
        """True when there is no .symtab (as file(1) says "stripped")."""
        return not any(s.type_value == d.SHT_SYMTAB for s in self.sections)

    # --- raw bytes ----------------------------------------------------------------------------

    def section_data(self, section: Section | int) -> memoryview:
        """The file bytes of a section (empty for NOBITS); BadInput when they run past the end."""
        s = self._shdrs[section if isinstance(section, int) else section.index]
        if s.type == d.SHT_NOBITS or s.size == 0:
            return self._view[0:0]
        if s.offset + s.size > self._size:
            name = self.sections[section if isinstance(section, int) else section.index].name
            raise self._fail(
                f"section {name} ({s.size} bytes at offset {s.offset:#x}) runs past the end of the file"
            )
        return self._view[s.offset : s.offset + s.size]

    def _file_bytes(self, offset: int, size: int, what: str) -> memoryview:
        if offset + size > self._size:
            raise self._fail(f"{what} ({size} bytes at offset {offset:#x}) runs past the end of the file")
        return self._view[offset : offset + size]

    def vaddr_for_offset(self, file_offset: int) -> int | None:
        """The virtual address where a file offset is mapped (via PT_LOAD), or None."""
        for p in self._phdrs:
            if p.type == d.PT_LOAD and p.offset <= file_offset < p.offset + p.filesz:
                return p.vaddr + file_offset - p.offset
        return None

    def offset_for_vaddr(self, vaddr: int) -> int | None:
        """The file offset holding the byte at ``vaddr`` (via PT_LOAD); None if unmapped or .bss."""
        for p in self._phdrs:
            if p.type == d.PT_LOAD and p.vaddr <= vaddr < p.vaddr + p.filesz:
                return p.offset + vaddr - p.vaddr
        return None

    def section_for_address(self, vaddr: int) -> Section | None:
        """The SHF_ALLOC section whose addresses contain ``vaddr`` (TLS templates excluded)."""
        best = None
        for s in self.sections:
            if not s.is_alloc or s.size == 0 or (s.flags_value & d.SHF_TLS and s.is_nobits):
                continue
            if s.address <= vaddr < s.address + s.size:
                best = s
                if not s.is_nobits:
                    return s
        return best

    def read(self, vaddr: int, size: int) -> bytes:
        """``size`` bytes at virtual address ``vaddr`` as the program sees them after loading.

        Bytes come from the PT_LOAD segment (or, in a file without segments, the section)
        covering each address; the part of a segment past its file size (.bss) reads as zeros.
        Raises BadInput when some address is not in the file's image.
        """
        if size < 0:
            raise BadInput(f"cannot read a negative size ({size}) at {vaddr:#x}")
        out = bytearray()
        addr, left = vaddr, size
        while left > 0:
            chunk = self._read_chunk(addr, left)
            if chunk is None:
                raise BadInput(f"{self.source}: address {addr:#x} is not in any loaded segment or section")
            out += chunk
            addr += len(chunk)
            left -= len(chunk)
        return bytes(out)

    def _read_chunk(self, addr: int, left: int) -> bytes | None:
        for p in self._phdrs:
            if p.type == d.PT_LOAD and p.vaddr <= addr < p.vaddr + p.memsz:
                return self._chunk(addr - p.vaddr, left, p.offset, p.filesz, p.memsz)
        for s in self._shdrs:
            if s.flags & d.SHF_ALLOC and s.size and s.addr <= addr < s.addr + s.size:
                filesz = 0 if s.type == d.SHT_NOBITS else s.size
                return self._chunk(addr - s.addr, left, s.offset, filesz, s.size)
        return None

    def _chunk(self, delta: int, left: int, offset: int, filesz: int, memsz: int) -> bytes:
        n = min(left, memsz - delta)
        if delta >= filesz:
            return bytes(n)
        from_file = min(n, filesz - delta)
        data = bytes(self._file_bytes(offset + delta, from_file, "segment data"))
        return data + bytes(n - from_file)

    # --- string tables ------------------------------------------------------------------------

    def _strtab(self, index: int) -> bytes:
        """A string table section's bytes (cached): names are looked up by offset into it."""
        key = f"strtab{index}"
        if key not in self._cache:
            if not (0 < index < len(self._shdrs)):
                self._cache[key] = b""
            else:
                self._cache[key] = bytes(self.section_data(index))
        return self._cache[key]

    # --- symbols ------------------------------------------------------------------------------

    def symbol_tables(self) -> list[Section]:
        """The symbol table sections (SHT_SYMTAB and SHT_DYNSYM), in file order."""
        return [s for s in self.sections if s.type_value in (d.SHT_SYMTAB, d.SHT_DYNSYM)]

    def symbols(self, table: str | None = None) -> list[Symbol]:
        """Symbols of ``table`` (".symtab" or ".dynsym", or any symbol-table section name);
        of every symbol table when None. Dynamic symbols carry their GNU version."""
        out: list[Symbol] = []
        for sec in self.symbol_tables():
            if table is None or sec.name == table:
                out.extend(self._symbols_of(sec.index))
        return out

    def _symbols_of(self, index: int) -> list[Symbol]:
        key = f"symbols{index}"
        if key not in self._cache:
            with _corrupt(self.source, f"symbol table {self.sections[index].name}"), _no_gc():
                self._cache[key] = self._read_symbols(index)
        return self._cache[key]

    def _read_symbols(self, index: int) -> list[Symbol]:
        sec = self.sections[index]
        lay = self._lay
        data = self.section_data(index)
        count = len(data) // lay.sym.size
        data = data[: count * lay.sym.size]
        strtab = self._strtab(sec.link)
        versions = self._symbol_versions(index, count) if sec.type_value == d.SHT_DYNSYM else None
        shndx_ext = self._extended_indexes(index, count)
        machine, osabi = self._e_machine, self._ident[7]
        sections = self.sections
        nsec = len(sections)
        # Per distinct value caches: names, type/bind/visibility words and section columns
        # repeat across a table, so each is decoded once.
        names: dict[int, tuple[str, str | None, bool]] = {}
        type_names: dict[tuple[int, int], tuple[str, str, str]] = {}
        ndx_cache: dict[int, tuple[str, str | None]] = {}
        find = strtab.find
        strlen = len(strtab)
        table = sec.name
        out = []
        new = Symbol.__new__
        set_dict = object.__setattr__
        rows = lay.sym.iter_unpack(data)
        if not lay.wide:
            # Elf32_Sym orders value and size before info, other, shndx.
            rows = ((n, info, other, ndx, value, size) for n, value, size, info, other, ndx in rows)
        for i, (st_name, info, other, shndx, value, size) in enumerate(rows):
            named = names.get(st_name)
            if named is None:
                if st_name >= strlen:
                    named = ("<corrupt>", None, False)
                else:
                    end = find(b"\0", st_name)
                    text = strtab[st_name : end if end >= 0 else strlen].decode("utf-8", "backslashreplace")
                    if versions is None and "@" in text and not text.startswith("@"):
                        # A static symbol table of a linked file keeps the version in the name.
                        base, _, ver = text.partition("@")
                        named = (base, ver.lstrip("@"), not ver.startswith("@"))
                    else:
                        named = (text, None, False)
                names[st_name] = named
            tb = type_names.get((info, other))
            if tb is None:
                tb = (
                    d.symbol_type_name(info & 0xF, machine, osabi),
                    d.symbol_bind_name(info >> 4, osabi),
                    d.VISIBILITIES[other & 3],
                )
                type_names[(info, other)] = tb
            if shndx == d.SHN_XINDEX and shndx_ext is not None:
                real = shndx_ext[i]
                ndx = (str(real), sections[real].name if 0 < real < nsec else None)
            else:
                ndx = ndx_cache.get(shndx)
                if ndx is None:
                    if shndx >= d.SHN_LORESERVE or shndx == 0:
                        ndx = (d.section_index_text(shndx, machine), None)
                    else:
                        ndx = (str(shndx), sections[shndx].name if shndx < nsec else None)
                    ndx_cache[shndx] = ndx
            if versions is not None:
                version, hidden, vindex = versions(i, st_name, shndx)
            else:
                version, hidden, vindex = named[1], named[2], None
            sym = new(Symbol)
            # Symbol is a frozen dataclass: setting its __dict__ at once skips the per-field
            # object.__setattr__ calls of __init__, which dominate for tables of 100k symbols.
            set_dict(
                sym,
                "__dict__",
                {
                    "table": table,
                    "index": i,
                    "name": named[0],
                    "version": version,
                    "version_hidden": hidden,
                    "value": value,
                    "size": size,
                    "type": tb[0],
                    "bind": tb[1],
                    "visibility": tb[2],
                    "shndx": ndx[0],
                    "section": ndx[1],
                    "version_index": vindex,
                },
            )
            out.append(sym)
        return out

    def _extended_indexes(self, symtab_index: int, count: int) -> tuple[int, ...] | None:
        for s in self._shdrs:
            if s.type == d.SHT_SYMTAB_SHNDX and s.link == symtab_index:
                data = self._file_bytes(s.offset, min(s.size, count * 4), "SYMTAB_SHNDX")
                n = len(data) // 4
                vals = struct.unpack(f"{self._endian}{n}I", data[: n * 4])
                return vals + (0,) * (count - n)
        return None

    def _symbol_versions(self, dynsym_index: int, count: int) -> Callable[[int, int, int], tuple] | None:
        """A lookup (symbol index, st_name, shndx) → (version, hidden, needed-index), as readelf
        resolves .gnu.version against .gnu.version_d and .gnu.version_r."""
        versym_sec = next(
            (s for s in self._shdrs if s.type == d.SHT_GNU_VERSYM and s.link == dynsym_index),
            None,
        )
        if versym_sec is None:
            return None
        vdata = self._file_bytes(versym_sec.offset, min(versym_sec.size, count * 2), ".gnu.version")
        n = len(vdata) // 2
        versym = struct.unpack(f"{self._endian}{n}H", vdata[: n * 2])
        defs = self._version_definitions()  # ndx -> (name, name offset, flags)
        needs = self._version_needs()  # other -> name
        none = (None, False, None)

        def lookup(i: int, st_name: int, shndx: int) -> tuple:
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
                name = needs.get(idx)
                if name is not None:
                    return (name, False, idx)
            return none

        return lookup

    def _version_definitions(self) -> dict[int, tuple[str, int]]:
        sec = next((s for s in self._shdrs if s.type == d.SHT_GNU_VERDEF), None)
        if sec is None:
            return {}
        data = self._file_bytes(sec.offset, sec.size, ".gnu.version_d")
        strtab = self._strtab(sec.link)
        fmt = struct.Struct(self._endian + "HHHHIII")
        aux = struct.Struct(self._endian + "II")
        out: dict[int, tuple[str, int]] = {}
        off = 0
        for _ in range(min(sec.info or 0xFFFF, 0xFFFF)):
            if off + fmt.size > len(data):
                break
            _ver, _flags, ndx, cnt, _hash, vd_aux, vd_next = fmt.unpack_from(data, off)
            if cnt and off + vd_aux + aux.size <= len(data):
                name_off, _ = aux.unpack_from(data, off + vd_aux)
                out[ndx] = (_cstr(strtab, name_off), name_off)
            if vd_next == 0:
                break
            off += vd_next
        return out

    def _version_needs(self) -> dict[int, str]:
        sec = next((s for s in self._shdrs if s.type == d.SHT_GNU_VERNEED), None)
        if sec is None:
            return {}
        data = self._file_bytes(sec.offset, sec.size, ".gnu.version_r")
        strtab = self._strtab(sec.link)
        fmt = struct.Struct(self._endian + "HHIII")
        aux = struct.Struct(self._endian + "IHHII")
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
                out[other] = _cstr(strtab, name_off)
                if vna_next == 0:
                    break
                a += vna_next
            if vn_next == 0:
                break
            off += vn_next
        return out

    def find_symbols(self, name: str) -> list[Symbol]:
        """Every symbol (both tables) called ``name``, whatever its version (``name@VER`` works too)."""
        base = name.split("@", 1)[0]
        return [s for s in self.symbols() if s.name == base]

    @cached_property
    def _address_index(self) -> tuple[list[int], list[Symbol]]:
        # TLS symbols are excluded: their values are offsets into the TLS block, not addresses.
        kinds = {"FUNC", "OBJECT", "IFUNC", "NOTYPE"}
        best: dict[int, Symbol] = {}
        # .dynsym first so that .symtab (richer: local functions) wins at equal addresses.
        tables = sorted(self.symbol_tables(), key=lambda s: s.type_value == d.SHT_SYMTAB)
        for sec in tables:
            for sym in self._symbols_of(sec.index):
                if sym.type not in kinds or sym.shndx in ("UND", "ABS", "COM") or not sym.name:
                    continue
                if sym.type == "NOTYPE" and (sym.name.startswith("$") or sym.name.startswith(".L")):
                    continue  # ARM/AArch64 mapping symbols and local labels mark code, not functions
                value = sym.value & ~1 if self._e_machine == d.EM_ARM and sym.type == "FUNC" else sym.value
                old = best.get(value)
                if old is None or _symbol_rank(sym) >= _symbol_rank(old):
                    best[value] = sym
        addrs = sorted(best)
        return addrs, [best[a] for a in addrs]

    def symbolize(self, vaddr: int) -> tuple[Symbol, int] | None:
        """The symbol containing ``vaddr`` and the offset into it, as objdump's ``<sym+0x..>``.

        Prefers a sized FUNC/OBJECT/IFUNC/NOTYPE symbol whose range contains the address, from
        .symtab before .dynsym; otherwise the nearest preceding symbol in the same section.
        """
        addrs, syms = self._address_index
        i = bisect.bisect_right(addrs, vaddr) - 1
        if i < 0:
            return None
        # A containing symbol may start before a nearer, unsized one (labels inside functions).
        for j in range(i, max(i - 64, -1), -1):
            sym = syms[j]
            if sym.size and addrs[j] <= vaddr < addrs[j] + sym.size:
                return sym, vaddr - addrs[j]
        sym = syms[i]
        here = self.section_for_address(vaddr)
        if here is not None and sym.section not in (None, here.name):
            return None
        return sym, vaddr - addrs[i]

    # --- dynamic section ----------------------------------------------------------------------

    def _dynamic_location(self) -> tuple[int, int, int] | None:
        """(offset, size, string table section index or -1) of the dynamic table."""
        for _i, s in enumerate(self._shdrs):
            if s.type == d.SHT_DYNAMIC:
                if s.offset >= self._size:
                    return None
                return s.offset, min(s.size, self._size - s.offset), s.link
        for p in self._phdrs:
            if p.type == d.PT_DYNAMIC and p.offset < self._size:
                return p.offset, min(p.filesz, self._size - p.offset), -1
        return None

    def _dynamic_raw(self) -> list[DynamicEntry]:
        key = "dynamic_raw"
        if key in self._cache:
            return self._cache[key]
        loc = self._dynamic_location()
        out: list[DynamicEntry] = []
        if loc is not None:
            offset, size, _link = loc
            entry = self._lay.dyn
            n = size // entry.size
            for tag, value in entry.iter_unpack(self._view[offset : offset + n * entry.size]):
                out.append(DynamicEntry(tag="", value=value, tag_value=tag))
                if tag == 0:
                    break
        self._cache[key] = out
        return out

    def _dynamic_strings(self) -> bytes:
        loc = self._dynamic_location()
        if loc is not None and loc[2] > 0:
            return self._strtab(loc[2])
        # No section headers: follow DT_STRTAB (an address) through the PT_LOAD segments.
        raw = self._dynamic_raw()
        addr = next((e.value for e in raw if e.tag_value == d.DT_STRTAB), None)
        size = next((e.value for e in raw if e.tag_value == 10), 0)
        off = self.offset_for_vaddr(addr) if addr is not None else None
        if off is None:
            return b""
        return bytes(self._view[off : min(off + size, self._size)])

    def dynamic(self) -> list[DynamicEntry]:
        """The dynamic section's entries up to DT_NULL, names and texts as readelf -d gives them."""
        if "dynamic" in self._cache:
            return self._cache["dynamic"]
        with _corrupt(self.source, "dynamic section"):
            raw = self._dynamic_raw()
            strings = self._dynamic_strings() if raw else b""
            out = []
            for e in raw:
                tag = e.tag_value
                text = None
                if tag in d.STRING_TAGS:
                    text = _cstr(strings, e.value)
                elif tag == d.DT_FLAGS:
                    text = d.flag_words(e.value, d.DT_FLAGS_WORDS)
                elif tag == d.DT_FLAGS_1:
                    text = d.flag_words(e.value, d.DT_FLAGS_1_WORDS)
                elif tag == d.DT_PLTREL:
                    text = {7: "RELA", 17: "REL"}.get(e.value)
                out.append(
                    DynamicEntry(
                        tag=d.dynamic_tag_name(tag, self._e_machine), value=e.value, text=text, tag_value=tag
                    )
                )
        self._cache["dynamic"] = out
        return out

    def _dynamic_texts(self, tag: int) -> list[str]:
        return [e.text for e in self.dynamic() if e.tag_value == tag and e.text is not None]

    @property
    def needed(self) -> list[str]:
        """DT_NEEDED: the libraries ld.so must load first, in order."""
        return self._dynamic_texts(d.DT_NEEDED)

    @property
    def soname(self) -> str | None:
        """DT_SONAME: the name other files record to need this library."""
        found = self._dynamic_texts(d.DT_SONAME)
        return found[0] if found else None

    @property
    def rpath(self) -> str | None:
        """DT_RPATH (searched before LD_LIBRARY_PATH; obsolete but still honoured)."""
        found = self._dynamic_texts(d.DT_RPATH)
        return found[0] if found else None

    @property
    def runpath(self) -> str | None:
        """DT_RUNPATH (searched after LD_LIBRARY_PATH)."""
        found = self._dynamic_texts(d.DT_RUNPATH)
        return found[0] if found else None

    # --- notes --------------------------------------------------------------------------------

    def notes(self) -> list[Note]:
        """Every note, from SHT_NOTE sections (or PT_NOTE segments when there are no sections),
        each decoded as readelf -n does: build-id, ABI tag, GNU properties, core file notes."""
        if "notes" in self._cache:
            return self._cache["notes"]
        with _corrupt(self.source, "notes"):
            out: list[Note] = []
            note_sections = [s for s in self.sections if s.type_value == d.SHT_NOTE]
            if note_sections:
                for s in note_sections:
                    data = self.section_data(s)
                    out.extend(self._parse_notes(data, s.name, s.align))
            else:
                for p in self._phdrs:
                    if p.type == d.PT_NOTE and p.filesz:
                        data = self._file_bytes(p.offset, p.filesz, "PT_NOTE segment")
                        out.extend(self._parse_notes(data, None, p.align))
        self._cache["notes"] = out
        return out

    def _parse_notes(self, data: memoryview, section: str | None, align: int) -> Iterator[Note]:
        align = 8 if align == 8 else 4
        hdr = struct.Struct(self._endian + "III")
        off = 0
        while off + hdr.size <= len(data):
            namesz, descsz, ntype = hdr.unpack_from(data, off)
            name_start = off + hdr.size
            desc_start = _align_up(name_start + namesz, align if align == 8 else 4)
            end = desc_start + descsz
            if end > len(data):
                raise BadInput(f"{self.source}: a note in {section or 'a PT_NOTE segment'} runs past its end")
            owner = (
                bytes(data[name_start : name_start + namesz]).split(b"\0", 1)[0].decode("utf-8", "replace")
            )
            desc = bytes(data[desc_start:end])
            type_name = self._note_type_name(owner, ntype)
            yield Note(
                section=section,
                owner=owner,
                type=type_name,
                description=self._note_description(owner, ntype, desc),
                type_value=ntype,
                data_size=descsz,
            )
            off = _align_up(end, align)

    def _note_type_name(self, owner: str, ntype: int) -> str:
        # readelf chooses the table by owner first, then by whether this is a core file.
        name = d.NOTE_TYPES.get((owner, ntype))
        if name is None and owner not in d.NOTE_OWNERS:
            table = d.CORE_NOTE_TYPES if self._e_type == 4 else d.GENERIC_NOTE_TYPES
            name = table.get(ntype)
        return name if name is not None else f"Unknown note type: (0x{ntype:08x})"

    def _note_description(self, owner: str, ntype: int, desc: bytes) -> str:
        if self._e_type == 4 and owner == "CORE":
            return self._core_note_description(ntype, desc)
        if owner != "GNU":
            return ""
        if ntype == 3:
            return desc.hex()
        if ntype == 1 and len(desc) >= 16:
            os_, major, minor, sub = struct.unpack(self._endian + "4I", desc[:16])
            return f"OS: {d.NOTE_GNU_ABI_OS.get(os_, f'Unknown {os_}')}, ABI: {major}.{minor}.{sub}"
        if ntype == 5:
            return self._gnu_properties(desc)
        if ntype == 4:
            return desc.split(b"\0", 1)[0].decode("utf-8", "replace")
        return ""

    def _core_note_description(self, ntype: int, desc: bytes) -> str:
        """What the kernel's core dumper (fs/binfmt_elf.c fill_psinfo, fill_siginfo_note,
        fill_files_note) recorded: the command, the signal, the mapped files."""
        if ntype == 3:
            info = self.process_info_from(desc)
            if info is not None:
                return f"{info[0]} (PID {info[1]}): {info[2]}"
        elif ntype == 0x53494749 and len(desc) >= 4:  # NT_SIGINFO: siginfo_t, si_signo first
            signo = struct.unpack_from(self._endian + "i", desc)[0]
            return f"signal {signo} ({_signal_name(signo)})"
        elif ntype == 0x46494C45:  # NT_FILE: count, page size, then (start, end, offset) each
            word = self._lay.addr
            if len(desc) >= 2 * word.size:
                count = word.unpack_from(desc)[0]
                return f"{count} mapped files"
        return ""

    def process_info_from(self, desc: bytes) -> tuple[str, int, str] | None:
        """(command, PID, arguments) from an NT_PRPSINFO descriptor (struct elf_prpsinfo).

        The layout depends on the word size: 136 bytes on 64-bit machines (pr_flag a long,
        32-bit uid and gid), 124 on i386 (16-bit uid and gid).
        """
        layouts = {136: (24, 40), 124: (16, 28)}  # size -> (pr_pid offset, pr_fname offset)
        if len(desc) not in layouts:
            return None
        pid_at, fname_at = layouts[len(desc)]
        pid = struct.unpack_from(self._endian + "i", desc, pid_at)[0]
        fname = desc[fname_at : fname_at + 16].split(b"\0", 1)[0].decode("utf-8", "replace")
        args = desc[fname_at + 16 : fname_at + 96].split(b"\0", 1)[0].decode("utf-8", "replace")
        return fname, pid, args.strip()

    @property
    def core_process(self) -> tuple[str, int, str] | None:
        """For a core file: (command, PID, arguments) of the process it is the memory of."""
        if self._e_type != 4:
            return None
        for p in self._phdrs:
            if p.type == d.PT_NOTE and p.offset + p.filesz <= self._size:
                found = self._prpsinfo_in(p.offset, p.filesz)
                if found is not None:
                    return found
        return None

    def _prpsinfo_in(self, offset: int, size: int) -> tuple[str, int, str] | None:
        data = bytes(self._view[offset : offset + size])
        hdr = struct.Struct(self._endian + "III")
        off = 0
        while off + hdr.size <= len(data):
            namesz, descsz, ntype = hdr.unpack_from(data, off)
            desc_start = _align_up(off + hdr.size + namesz, 4)
            if ntype == 3 and data[off + hdr.size : off + hdr.size + 4] == b"CORE":
                return self.process_info_from(data[desc_start : desc_start + descsz])
            off = _align_up(desc_start + descsz, 4)
        return None

    def _gnu_properties(self, desc: bytes) -> str:
        step = 8 if self._wide else 4
        parts = []
        off = 0
        while off + 8 <= len(desc):
            ptype, size = struct.unpack_from(self._endian + "II", desc, off)
            body = desc[off + 8 : off + 8 + size]
            value = (
                int.from_bytes(body[:4], "little" if self._endian == "<" else "big") if len(body) >= 4 else 0
            )
            parts.append(self._gnu_property(ptype, value))
            off = _align_up(off + 8 + size, step)
        return "; ".join(parts)

    def _gnu_property(self, ptype: int, value: int) -> str:
        m = self._e_machine
        if m in (d.EM_X86_64, d.EM_386):
            if ptype == d.GNU_PROPERTY_X86_FEATURE_1_AND:
                return "x86 feature: " + (d.flag_words(value, d.X86_FEATURE_1_WORDS) or "<None>")
            if ptype == d.GNU_PROPERTY_X86_ISA_1_NEEDED:
                return "x86 ISA needed: " + (d.flag_words(value, d.X86_ISA_1_WORDS) or "<None>")
            if ptype == d.GNU_PROPERTY_X86_ISA_1_USED:
                return "x86 ISA used: " + (d.flag_words(value, d.X86_ISA_1_WORDS) or "<None>")
            if ptype == d.GNU_PROPERTY_X86_FEATURE_2_USED:
                return "x86 feature used: " + (d.flag_words(value, d.X86_FEATURE_2_WORDS) or "<None>")
        if m == d.EM_AARCH64 and ptype == d.GNU_PROPERTY_AARCH64_FEATURE_1_AND:
            return "AArch64 feature: " + (d.flag_words(value, d.AARCH64_FEATURE_1_WORDS) or "<None>")
        if ptype == 2:
            return "stack size: " + hex(value)
        if ptype == 3:
            return "no copy on protected"
        return f"<unknown property 0x{ptype:x}>"

    @property
    def build_id(self) -> str | None:
        """The GNU build-id (NT_GNU_BUILD_ID) in hex: what debuginfod and perf key files by."""
        for n in self.notes():
            if n.owner == "GNU" and n.type_value == 3:
                return n.description
        return None

    # --- relocations --------------------------------------------------------------------------

    def relocation_sections(self) -> list[Section]:
        """Sections of type REL or RELA."""
        return [s for s in self.sections if s.type_value in (d.SHT_REL, d.SHT_RELA)]

    def relocations(self, section_name: str) -> list[Relocation]:
        """The entries of the REL/RELA section ``section_name`` (``.rela.dyn``, ``.rela.plt``, ...)."""
        sec = next((s for s in self.relocation_sections() if s.name == section_name), None)
        if sec is None:
            raise BadInput(f"{self.source}: no relocation section named {section_name}")
        with _corrupt(self.source, f"relocation section {section_name}"):
            return self._read_relocations(sec)

    def _read_relocations(self, sec: Section) -> list[Relocation]:
        rela = sec.type_value == d.SHT_RELA
        entry = self._lay.rela if rela else self._lay.rel
        data = self.section_data(sec)
        n = len(data) // entry.size
        symbols: list[Symbol] = []
        if 0 < sec.link < len(self.sections) and self.sections[sec.link].type_value in (
            d.SHT_SYMTAB,
            d.SHT_DYNSYM,
        ):
            symbols = self._symbols_of(sec.link)
        names = _reloc_type_names(self._e_machine)
        mips64_le = self._wide and self._e_machine == d.EM_MIPS and self._endian == "<"
        out = []
        for rec in entry.iter_unpack(data[: n * entry.size]):
            offset, info = rec[0], rec[1]
            addend = rec[2] if rela else None
            if mips64_le:
                # MIPS64 little-endian stores r_sym as a 32-bit word followed by four type bytes.
                sym_index, rtype = info & 0xFFFFFFFF, (info >> 56) & 0xFF
            elif self._wide:
                sym_index, rtype = info >> 32, info & 0xFFFFFFFF
            else:
                sym_index, rtype = info >> 8, info & 0xFF
            sym = symbols[sym_index] if 0 < sym_index < len(symbols) else None
            sym_name = _relocation_symbol_name(sym) if sym is not None else ""
            out.append(
                Relocation(
                    offset=offset,
                    info=info,
                    type=rtype,
                    type_name=names.get(rtype, f"unrecognized: {rtype:x}"),
                    symbol_index=sym_index,
                    symbol_name=sym_name,
                    symbol_value=sym.value if sym is not None else 0,
                    addend=addend,
                )
            )
        return out

    # --- kernels ------------------------------------------------------------------------------

    @cached_property
    def start_kernel(self) -> Symbol | None:
        """The defined start_kernel symbol of .symtab (a vmlinux), or None."""
        return next((s for s in self._symtab_only() if s.name == "start_kernel" and s.shndx != "UND"), None)

    @property
    def is_kernel(self) -> bool:
        """A Linux kernel image (vmlinux): it defines start_kernel, or, stripped, it is an
        executable with the kernel's own sections (__ksymtab, .init.text)."""
        if self.start_kernel is not None:
            return True
        names = {s.name for s in self.sections}
        return self._e_type == 2 and "__ksymtab" in names and ".init.text" in names

    def _symtab_only(self) -> list[Symbol]:
        return [
            sym
            for sec in self.symbol_tables()
            if sec.type_value == d.SHT_SYMTAB
            for sym in self._symbols_of(sec.index)
        ]


def _reloc_type_names(machine: int) -> dict[int, str]:
    """Relocation type numbers → names, from pyelftools' tables for the machine."""
    from elftools.elf import enums

    table_name = {
        d.EM_X86_64: "ENUM_RELOC_TYPE_x64",
        d.EM_386: "ENUM_RELOC_TYPE_i386",
        d.EM_AARCH64: "ENUM_RELOC_TYPE_AARCH64",
        d.EM_ARM: "ENUM_RELOC_TYPE_ARM",
        d.EM_MIPS: "ENUM_RELOC_TYPE_MIPS",
        d.EM_PPC: "ENUM_RELOC_TYPE_PPC",
        d.EM_PPC64: "ENUM_RELOC_TYPE_PPC64",
        d.EM_S390: "ENUM_RELOC_TYPE_S390X",
        d.EM_LOONGARCH: "ENUM_RELOC_TYPE_LOONGARCH",
        247: "ENUM_RELOC_TYPE_BPF",
    }.get(machine)
    table = getattr(enums, table_name, {}) if table_name else {}
    names = {v: k for k, v in table.items() if k != "_default_" and isinstance(v, int)}
    names.update(d.EXTRA_RELOC_NAMES.get(machine, {}))
    return names


def _signal_name(signo: int) -> str:
    import signal

    try:
        return signal.Signals(signo).name
    except ValueError:
        return "unknown signal"


def _relocation_symbol_name(sym: Symbol) -> str:
    """The symbol as readelf -r names it: name@VER for needed or hidden versions, name@@VER."""
    if not sym.name and sym.type == "SECTION":
        return sym.section or ""
    if sym.version is None:
        return sym.name
    public = not sym.version_hidden and sym.version_index is None
    return f"{sym.name}{'@@' if public else '@'}{sym.version}"


def _symbol_rank(sym: Symbol) -> tuple[int, int, int]:
    # At one address prefer a sized symbol, then a global one, then a function.
    return (sym.size > 0, sym.bind in ("GLOBAL", "WEAK"), sym.type in ("FUNC", "IFUNC"))


def _cstr(table: bytes, offset: int) -> str:
    if offset >= len(table):
        return "<corrupt>"
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "backslashreplace")


def _align_up(value: int, align: int) -> int:
    return (value + align - 1) & ~(align - 1)


# --- the section-to-segment mapping, exactly as binutils computes it -------------------------


class _MappingCandidates:
    """Sections that can possibly lie in a segment, found by file offset.

    Testing every section against every segment is quadratic: a core file written by gcore
    has one section per segment, thousands of each. A section with file bytes can only be in
    a segment if its offset lies within the segment's file range, so a bisect over sections
    sorted by offset finds those; NOBITS sections and sections whose end overflows 64 bits
    (possible only in corrupt files, where binutils' unsigned arithmetic wraps) are always
    tested. The result is the same as testing all of them.
    """

    def __init__(self, shdrs: list[_Shdr]) -> None:
        ordered = sorted((s.offset, j) for j, s in enumerate(shdrs) if j and s.type != d.SHT_NOBITS)
        self._offsets = [o for o, _ in ordered]
        self._indexes = [j for _, j in ordered]
        self._always = [
            j for j, s in enumerate(shdrs) if j and (s.type == d.SHT_NOBITS or s.offset + s.size > _MASK64)
        ]

    def near(self, p: _Phdr) -> list[int]:
        lo = bisect.bisect_left(self._offsets, p.offset)
        hi = bisect.bisect_right(self._offsets, p.offset + p.filesz)
        return sorted({*self._indexes[lo:hi], *self._always})


def _tbss_special(s: _Shdr, p: _Phdr) -> bool:
    """ELF_TBSS_SPECIAL: .tbss takes neither file nor memory space outside PT_TLS."""
    return bool(s.flags & d.SHF_TLS) and s.type == d.SHT_NOBITS and p.type != d.PT_TLS


def section_in_segment(s: _Shdr, p: _Phdr, *, strict: bool, check_vma: bool = True) -> bool:
    """binutils' ELF_SECTION_IN_SEGMENT_1 (include/elf/internal.h), in 64-bit unsigned arithmetic.

    readelf -l lists a section under a segment when this holds with strict=True and the
    section is not ``_tbss_special``.
    """
    size = 0 if _tbss_special(s, p) else s.size
    tls = bool(s.flags & d.SHF_TLS)
    alloc = bool(s.flags & d.SHF_ALLOC)
    # Only PT_LOAD, PT_GNU_RELRO and PT_TLS hold TLS sections; PT_TLS holds only those; PT_PHDR none.
    if tls:
        if p.type not in (d.PT_TLS, d.PT_GNU_RELRO, d.PT_LOAD):
            return False
    elif p.type in (d.PT_TLS, d.PT_PHDR):
        return False
    # PT_LOAD and similar segments hold only SHF_ALLOC sections.
    if not alloc and (
        p.type
        in (d.PT_LOAD, d.PT_DYNAMIC, d.PT_GNU_EH_FRAME, d.PT_GNU_STACK, d.PT_GNU_RELRO, d.PT_GNU_SFRAME)
        or d.PT_GNU_MBIND_LO <= p.type <= d.PT_GNU_MBIND_HI
    ):
        return False
    # Sections with file bytes must lie within the segment's file image.
    if s.type != d.SHT_NOBITS:
        if s.offset < p.offset:
            return False
        rel = (s.offset - p.offset) & _MASK64
        if strict and rel > ((p.filesz - 1) & _MASK64):
            return False
        if ((rel + size) & _MASK64) > p.filesz:
            return False
    # Alloc sections must lie within the segment's memory image.
    if check_vma and alloc:
        if s.addr < p.vaddr:
            return False
        rel = (s.addr - p.vaddr) & _MASK64
        if strict and rel > ((p.memsz - 1) & _MASK64):
            return False
        if ((rel + size) & _MASK64) > p.memsz:
            return False
    # No zero-size sections at the start or end of PT_DYNAMIC or PT_NOTE.
    if p.type in (d.PT_DYNAMIC, d.PT_NOTE) and s.size == 0 and p.memsz != 0:
        in_file = s.type == d.SHT_NOBITS or (s.offset > p.offset and (s.offset - p.offset) < p.filesz)
        in_mem = not alloc or (s.addr > p.vaddr and (s.addr - p.vaddr) < p.memsz)
        if not (in_file and in_mem):
            return False
    return True


# --- meaning of a segment ------------------------------------------------------------------


def _segment_meaning(
    type_word: str, p: _Phdr, flags: str, sections: tuple[str, ...], interp: str | None
) -> tuple[str, dict[str, Any]]:
    """(catalog key, fields) of the sentence explaining one segment."""
    fields: dict[str, Any] = {
        "filesz": human_size(p.filesz),
        "memsz": human_size(p.memsz),
        "bss": human_size(max(p.memsz - p.filesz, 0)),
        "vaddr": f"{p.vaddr:#x}",
        "flags": flags.strip() or "no access",
        "interp": interp or "?",
        "align": human_size(p.align),
        "sections": ", ".join(sections) if sections else "no sections",
    }
    if type_word == "LOAD":
        if p.flags & 1:
            key = "elf.segment.load_code"
        elif p.flags & 2:
            key = "elf.segment.load_data_bss" if p.memsz > p.filesz else "elf.segment.load_data"
        else:
            key = "elf.segment.load_readonly"
    elif type_word in d.SEGMENT_MEANING_KEYS:
        key = f"elf.segment.{d.SEGMENT_MEANING_KEYS[type_word]}"
        if type_word == "GNU_STACK" and p.flags & 1:
            key = "elf.segment.gnu_stack_exec"
    else:
        key = "elf.segment.other"
    return key, fields


def human_size(n: int) -> str:
    """A size for people: 600 B, 4.2 KiB, 7.0 MiB."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


# --- the whole-file summary ---------------------------------------------------------------


def _kind_key(image: ElfImage, kernel: bool) -> str:
    h = image.header
    if kernel:
        return "kernel"
    if h.type == "EXEC":
        return "exec"
    if h.type == "DYN":
        if h.type_description == d.PIE_DESCRIPTION:
            return "pie" if image.interpreter else "static_pie"
        return "pie" if image.interpreter else "shared"
    return {"REL": "rel", "CORE": "core"}.get(h.type, "other")


def _load_phrase(seg: Segment) -> str:
    from kernlab.catalog import say

    fields = {
        "flags": seg.flags.strip() or "no access",
        "size": human_size(seg.memsz),
        "bss": human_size(max(seg.memsz - seg.filesz, 0)),
    }
    if seg.flags_value & 1:
        return say("elf.load.code", **fields)
    if seg.flags_value & 2:
        return say("elf.load.data_bss" if seg.memsz > seg.filesz else "elf.load.data", **fields)
    return say("elf.load.readonly", **fields)


def _join(parts: list[str]) -> str:
    from kernlab.catalog import say

    if not parts:
        return say("elf.load.none")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + say("elf.load.join_last") + parts[-1]


def summarize(image: ElfImage) -> ElfSummary:
    """The one-line description and the sentence of meaning of the whole file, from its data."""
    from kernlab.catalog import say

    h = image.header
    sk = image.start_kernel
    kernel = image.is_kernel
    kind_key = _kind_key(image, kernel)
    kind = say(f"elf.kind.{kind_key}", type=h.type)
    loads = [s for s in image.segments if s.type == "LOAD"]
    dynamic_syms = [s for s in image.symbols(".dynsym") if s.shndx != "UND" and s.bind != "LOCAL"]
    fields = {
        "kind": kind,
        "kind_a": say(f"elf.kind_a.{kind_key}", type=h.type),
        "arch": h.arch,
        "nload": len(loads),
        "loads": _join([_load_phrase(s) for s in loads]),
        "interp": image.interpreter,
        "entry": f"{h.entry:#x}",
        "soname": image.soname or "no soname",
        "nexport": len(dynamic_syms),
        "nsec": len(image.sections),
        "nseg": len(image.segments),
        "nsym": len(image.symbols()),
        "memory": human_size(sum(s.memsz for s in loads)),
        "nnote": len(image.notes()) if h.type == "CORE" else 0,
        "start_kernel": f"{sk.value:#x}" if sk else "",
        "section": (sk.section or sk.shndx) if sk else "",
        "type": h.type,
    }
    if kernel:
        key = "elf.summary.kernel" if sk else "elf.summary.kernel_no_start"
    elif h.type == "REL":
        key = "elf.summary.rel"
    elif h.type == "CORE":
        process = image.core_process
        key = "elf.summary.core_named" if process else "elf.summary.core"
        if process:
            fields.update(command=process[0], pid=process[1], args=process[2] or process[0])
    elif h.type in ("EXEC", "DYN") and image.interpreter:
        key = "elf.summary.with_interp"
    elif h.type == "DYN" and h.type_description != d.PIE_DESCRIPTION:
        key = "elf.summary.shared"
    elif h.type in ("EXEC", "DYN"):
        key = "elf.summary.static"
    else:
        key = "elf.summary.other"
    sentence = say(key, **fields)
    if image.inner:
        how, _, where = image.inner.partition(" at offset ")
        sentence = say("elf.summary.inner", sentence=sentence, how=how, offset=where, path=image.source)
    return ElfSummary(
        path=image.source,
        inner=image.inner,
        elf_class=h.elf_class,
        endianness=h.data,
        type=h.type,
        kind=kind,
        machine=h.machine,
        arch=h.arch,
        entry=h.entry,
        interpreter=image.interpreter,
        build_id=image.build_id,
        stripped=image.is_stripped,
        is_kernel=kernel,
        start_kernel=sk.value if sk else None,
        start_kernel_section=(sk.section or sk.shndx) if sk else None,
        line=_one_line(image, kind),
        sentence=sentence,
    )


def _one_line(image: ElfImage, kind: str) -> str:
    h = image.header
    bits = "64-bit" if image.is_64bit else "32-bit"
    order = "LSB" if image.is_little_endian else "MSB"
    parts = [f"ELF {bits} {order} {kind}", h.machine]
    if h.type in ("EXEC", "DYN"):
        has_dynamic = any(s.type == "DYNAMIC" for s in image.segments)
        parts.append("dynamically linked" if has_dynamic else "statically linked")
    if image.interpreter:
        parts.append(f"interpreter {image.interpreter}")
    if image.build_id:
        parts.append(f"BuildID={image.build_id}")
    if h.type != "CORE":
        parts.append("stripped" if image.is_stripped else "not stripped")
    if image.inner:
        parts.append(f"inside a compressed image ({image.inner})")
    return ", ".join(parts)


def report(image: ElfImage, parts: frozenset[str] = frozenset(REPORT_PARTS)) -> ElfReport:
    """What `kernlab elf` shows: the summary, and each of ``parts`` (header, segments, sections,
    symbols, dynamic, notes) read from the file."""
    return ElfReport(
        summary=summarize(image),
        header=image.header if "header" in parts else None,
        segments=image.segments if "segments" in parts else None,
        sections=image.sections if "sections" in parts else None,
        symbols=image.symbols() if "symbols" in parts else None,
        dynamic=image.dynamic() if "dynamic" in parts else None,
        notes=image.notes() if "notes" in parts else None,
    )
