"""Open an ELF file: :func:`open_elf` and :class:`ElfImage`, the facade over the decoders.

Each part of the file has its module, one job each:

* :mod:`~kernlab.elf.filemap` maps the file (refusing FIFOs, devices, empty files);
* :mod:`~kernlab.elf.headers` decodes the ELF header and the section and program header
  tables with ``struct``, checked against the file size before anything trusts them;
* :mod:`~kernlab.elf.records` and :mod:`~kernlab.elf.segments` turn them into readelf's words,
  :mod:`~kernlab.elf.segmap` holds binutils' section-to-segment rule (computed on first use);
* :mod:`~kernlab.elf.symtab` + :mod:`~kernlab.elf.versions` read symbol tables in bulk,
  :mod:`~kernlab.elf.dynamic`, :mod:`~kernlab.elf.notes`, :mod:`~kernlab.elf.relocs` the rest;
* :mod:`~kernlab.elf.summary` gathers what the whole file is (keys and numbers; the words are
  :mod:`kernlab.explain.elf`'s).

The bulk tables are read with ``struct.iter_unpack`` over a memoryview of an mmap of the
file: pyelftools builds one Container object per entry, ~50× slower than readelf on a library
with 60k symbols. pyelftools stays available as :attr:`ElfImage.elffile` for anything not
decoded here (DWARF, hash tables, ...), and is imported only then (and for relocation names).

Every problem with the file itself becomes :class:`kernlab.errors.BadInput` (or
:class:`~kernlab.errors.PermissionNeeded`) with a message naming the file and what is wrong.
"""

from __future__ import annotations

import mmap
import os
import struct
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, cast

from kernlab.elf import descriptions as d
from kernlab.elf.dynamic import RawDynamic, decode_dynamic, is_pie, read_dynamic_raw
from kernlab.elf.filemap import map_file
from kernlab.elf.guards import corrupt, no_gc
from kernlab.elf.headers import RawElf
from kernlab.elf.layout import Phdr as _Phdr  # noqa: F401  (kept importable from here)
from kernlab.elf.layout import Shdr as _Shdr  # noqa: F401
from kernlab.elf.model import DynamicEntry, Note, Relocation, Section, Segment, Symbol
from kernlab.elf.notes import core_process, process_info_from, read_notes
from kernlab.elf.records import build_header, build_sections
from kernlab.elf.relocs import SHT_RELR, read_relocations, read_relr
from kernlab.elf.segmap import section_in_segment
from kernlab.elf.segmap import tbss_special as _tbss_special  # noqa: F401  (tests import it from here)
from kernlab.elf.segments import build_segments
from kernlab.elf.summary import summarize
from kernlab.elf.symindex import AddressIndex
from kernlab.elf.symtab import (
    SymbolColumns,
    SymbolRow,
    read_symbol_columns,
    symbols_from_columns,
    symbols_from_rows,
)
from kernlab.errors import BadInput, KernlabError

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

__all__ = [
    "ELF_MAGIC",
    "ElfImage",
    "open_elf",
    "open_elf_bytes",
    "section_in_segment",
    "summarize",
]

ELF_MAGIC = b"\x7fELF"
AR_MAGICS = (b"!<arch>\n", b"!<thin>\n")  # ar(1) archives, regular and thin


def open_elf(path: str | os.PathLike[str], *, sections: bool = True) -> ElfImage:
    """Open ``path`` as an ELF file, or find the ELF inside a compressed kernel image.

    Raises :class:`BadInput` for anything that is not a usable ELF file (missing, directory,
    FIFO or device, empty, not ELF, truncated, header tables pointing past the end) and
    :class:`PermissionNeeded` when the file cannot be read. With ``sections=False`` the
    section header table is not read at all (the image has no sections), as ld.so reads a
    file: dynamic entries, interpreter and notes then come from the program headers.
    """
    name = os.fspath(path)
    data, _size = map_file(name)
    if bytes(data[:4]) == ELF_MAGIC:
        return ElfImage(name, data, sections=sections)
    if bytes(data[:8]) in AR_MAGICS:
        # A static library holds ELF objects but is not one; say so rather than "not ELF".
        raise BadInput(
            f"{name}: is an ar archive (a static library) of object files, not an ELF file; "
            "extract its members with `ar x` and read each one",
            path=name,
            key="elf.error.archive",
            fields={"path": name},
        )
    from kernlab.elf import kimage

    found = kimage.find_elf(data, name)
    if found is None:
        raise BadInput(
            f"{name}: not an ELF file (no \\x7fELF magic, and no compressed ELF inside)",
            path=name,
            key="errors.not_elf",
            fields={"path": name},
        )
    inner_bytes, how = found
    return ElfImage(name, inner_bytes, inner=how)


def open_elf_bytes(data: bytes, source: str = "<bytes>") -> ElfImage:
    """An :class:`ElfImage` over bytes already in memory (as decompressed from a kernel image)."""
    if bytes(data[:4]) != ELF_MAGIC:
        raise BadInput(
            f"{source}: not an ELF file (no \\x7fELF magic)",
            key="errors.elf.no_magic",
            fields={"path": source},
        )
    return ElfImage(source, data)


class ElfImage:
    """An opened ELF file. Header, sections and segments are decoded at open (a segment's
    section mapping on first use); symbol tables and the rest on first use.

    ``source`` is the path given; ``inner`` says where the ELF came from when it was found
    inside another file (a compressed kernel image: ``"gzip at offset 0x4a0c"``), else None.
    """

    def __init__(
        self, source: str, data: mmap.mmap | bytes, inner: str | None = None, *, sections: bool = True
    ) -> None:
        self.source = source
        self.inner = inner
        self._raw = raw = RawElf(source, data, sections=sections)
        self._data = data
        self._cache: dict[str, Any] = {}
        self._shdrs = raw.shdrs
        self._phdrs = raw.phdrs
        self.header = build_header(raw, self._is_pie())
        self.sections: list[Section] = build_sections(raw)
        self.segments: list[Segment] = build_segments(raw, self.sections)

    def __repr__(self) -> str:
        return f"<ElfImage {self.source!r} {self.header.elf_class} {self.header.type} {self.arch}>"

    def _is_pie(self) -> bool:
        try:
            return is_pie(self._dynamic_raw())
        except KernlabError:
            return False

    # --- simple properties --------------------------------------------------------------------

    @property
    def arch(self) -> str:
        """Short architecture name: x86_64, i386, aarch64, arm, riscv64, mips, ppc64, s390x, ..."""
        return self.header.arch

    @property
    def is_64bit(self) -> bool:
        """ELFCLASS64."""
        return self._raw.wide

    @property
    def is_little_endian(self) -> bool:
        """ELFDATA2LSB."""
        return self._raw.endian == "<"

    @property
    def size(self) -> int:
        """Size in bytes of the ELF image (the decompressed one for a kernel image)."""
        return self._raw.size

    @cached_property
    def elffile(self) -> ELFFile:
        """The same bytes as a pyelftools ``ELFFile``: an escape hatch for DWARF and the like."""
        import io

        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile

        # An mmap is a file-like object (read/seek/tell) of its own: no copy of a large file.
        # typeshed does not count mmap as IO[bytes], though it has every method ELFFile uses.
        stream: IO[bytes] = (
            cast("IO[bytes]", self._data) if isinstance(self._data, mmap.mmap) else io.BytesIO(self._data)
        )
        try:
            return ELFFile(stream)
        except (ELFError, struct.error, ValueError, IndexError, KeyError, AssertionError) as exc:
            raise self._raw.fail(
                f"pyelftools cannot parse it: {exc}", key="errors.elf.pyelftools", reason=str(exc)
            ) from None

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
            return self._raw.cstring(sec.offset, sec.offset + sec.size)
        return None

    @property
    def is_stripped(self) -> bool:
        """True when there is no .symtab (as file(1) says "stripped")."""
        return not any(s.type_value == d.SHT_SYMTAB for s in self.sections)

    # --- raw bytes and addresses ----------------------------------------------------------------

    def section_data(self, section: Section | int) -> memoryview:
        """The file bytes of a section (empty for NOBITS); BadInput when they run past the end."""
        return self._raw.section_bytes(section if isinstance(section, int) else section.index)

    def vaddr_for_offset(self, file_offset: int) -> int | None:
        """The virtual address where a file offset is mapped (via PT_LOAD), or None."""
        for p in self._phdrs:
            if p.type == d.PT_LOAD and p.offset <= file_offset < p.offset + p.filesz:
                return p.vaddr + file_offset - p.offset
        return None

    def offset_for_vaddr(self, vaddr: int) -> int | None:
        """The file offset holding the byte at ``vaddr`` (via PT_LOAD); None if unmapped or .bss."""
        return self._raw.offset_for_vaddr(vaddr)

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
            raise BadInput(
                f"cannot read a negative size ({size}) at {vaddr:#x}",
                key="errors.elf.negative_size",
                fields={"size": size, "address": f"{vaddr:#x}"},
            )
        out = bytearray()
        addr, left = vaddr, size
        while left > 0:
            chunk = self._read_chunk(addr, left)
            if chunk is None:
                raise BadInput(
                    f"{self.source}: address {addr:#x} is not in any loaded segment or section",
                    key="errors.elf.address_outside",
                    fields={"path": self.source, "address": f"{addr:#x}"},
                )
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
        data = bytes(self._raw.file_bytes(offset + delta, from_file, "segment data"))
        return data + bytes(n - from_file)

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

    def symbol_columns(self, table: str | None = None) -> list[SymbolColumns]:
        """The same symbols as :meth:`symbols`, one :class:`SymbolColumns` per table (no objects)."""
        return [
            self._symbol_columns(sec.index)
            for sec in self.symbol_tables()
            if table is None or sec.name == table
        ]

    def symbol_rows(self, table: str | None = None) -> list[SymbolRow]:
        """The same symbols as :meth:`symbols`, as tuples in Symbol field order."""
        return [row for columns in self.symbol_columns(table) for row in columns.rows()]

    def _symbol_columns(self, index: int) -> SymbolColumns:
        key = f"columns{index}"
        if key not in self._cache:
            with corrupt(self.source, f"symbol table {self.sections[index].name}"), no_gc():
                self._cache[key] = read_symbol_columns(self._raw, self.sections, index)
        return self._cache[key]

    def _symbols_of(self, index: int) -> list[Symbol]:
        key = f"symbols{index}"
        if key not in self._cache:
            columns = self._symbol_columns(index)
            with no_gc():
                self._cache[key] = symbols_from_columns(columns)
        return self._cache[key]

    def find_symbols(self, name: str) -> list[Symbol]:
        """Every symbol (both tables) called ``name``, whatever its version (``name@VER`` works too)."""
        base = name.split("@", 1)[0]
        return [s for s in self.symbols() if s.name == base]

    @cached_property
    def _address_index(self) -> AddressIndex:
        # .dynsym first so that .symtab (richer: local functions) wins at equal addresses.
        tables = sorted(self.symbol_tables(), key=lambda s: s.type_value == d.SHT_SYMTAB)
        return AddressIndex(
            (self._symbols_of(s.index) for s in tables), thumb=self._raw.e_machine == d.EM_ARM
        )

    def symbolize(self, vaddr: int) -> tuple[Symbol, int] | None:
        """The symbol containing ``vaddr`` and the offset into it, as objdump's ``<sym+0x..>``.

        Prefers a sized FUNC/OBJECT/IFUNC/NOTYPE symbol whose range contains the address, from
        .symtab before .dynsym; otherwise the nearest preceding symbol in the same section.
        """
        return self._address_index.lookup(vaddr, self.section_for_address)

    # --- dynamic section ----------------------------------------------------------------------

    def _dynamic_raw(self) -> list[RawDynamic]:
        if "dynamic_raw" not in self._cache:
            self._cache["dynamic_raw"] = read_dynamic_raw(self._raw)
        return self._cache["dynamic_raw"]

    def dynamic(self) -> list[DynamicEntry]:
        """The dynamic section's entries up to DT_NULL, names and texts as readelf -d gives them."""
        if "dynamic" not in self._cache:
            with corrupt(self.source, "dynamic section"):
                self._cache["dynamic"] = decode_dynamic(self._raw, self._dynamic_raw())
        return self._cache["dynamic"]

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
        if "notes" not in self._cache:
            with corrupt(self.source, "notes"):
                self._cache["notes"] = read_notes(self._raw, self.sections)
        return self._cache["notes"]

    def process_info_from(self, desc: bytes) -> tuple[str, int, str] | None:
        """(command, PID, arguments) from an NT_PRPSINFO descriptor (struct elf_prpsinfo)."""
        return process_info_from(self._raw.endian, desc)

    @property
    def core_process(self) -> tuple[str, int, str] | None:
        """For a core file: (command, PID, arguments) of the process it is the memory of."""
        return core_process(self._raw)

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
        """The entries of the REL/RELA section ``section_name`` (``.rela.dyn``, ``.rela.plt``, ...);
        for a SHT_RELR section (``.relr.dyn``), one RELATIVE relocation per packed address."""
        sec = next((s for s in self.relocation_sections() if s.name == section_name), None)
        if sec is None:
            # SHT_RELR (.relr.dyn) is not in relocation_sections(): it packs addresses, not entries.
            relr = next(
                (s for s in self.sections if s.type_value == SHT_RELR and s.name == section_name), None
            )
            if relr is None:
                raise BadInput(
                    f"{self.source}: no relocation section named {section_name}",
                    key="errors.elf.no_relocation_section",
                    fields={"path": self.source, "section": section_name},
                )
            with corrupt(self.source, f"relocation section {section_name}"):
                return read_relr(self._raw, relr)
        with corrupt(self.source, f"relocation section {section_name}"):
            symbols: list[Symbol] = []
            if 0 < sec.link < len(self.sections) and self.sections[sec.link].type_value in (
                d.SHT_SYMTAB,
                d.SHT_DYNSYM,
            ):
                symbols = self._symbols_of(sec.link)
            return read_relocations(self._raw, sec, symbols)

    # --- kernels ------------------------------------------------------------------------------

    @cached_property
    def start_kernel(self) -> Symbol | None:
        """The defined start_kernel symbol of .symtab (a vmlinux), or None."""
        for sec in self.symbol_tables():
            if sec.type_value == d.SHT_SYMTAB:
                columns = self._symbol_columns(sec.index)
                for i, name in enumerate(columns.names):
                    if name == "start_kernel" and columns.words[i][3] != "UND":
                        return symbols_from_rows([columns.rows()[i]])[0]
        return None

    @property
    def is_kernel(self) -> bool:
        """A Linux kernel image (vmlinux): it defines start_kernel, or, stripped, it is an
        executable with the kernel's own sections (__ksymtab, .init.text)."""
        if self.start_kernel is not None:
            return True
        names = {s.name for s in self.sections}
        return self._raw.e_type == 2 and "__ksymtab" in names and ".init.text" in names
