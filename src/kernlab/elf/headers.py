"""The ELF header, section header table and program header table, decoded with ``struct``.

Every count, offset and entry size is checked against the file size *before* anything trusts
it, so a truncated or corrupt file gives one BadInput naming what is wrong. The result,
:class:`RawElf`, holds the numbers as stored (no words yet) and the byte-level accessors the
table readers share: file ranges, section bytes, string tables, address translation.
"""

from __future__ import annotations

import mmap

from kernlab.elf import descriptions as d
from kernlab.elf.layout import Layout, Phdr, Shdr, layout
from kernlab.errors import BadInput


class RawElf:
    """The file's bytes with its ELF header fields, section headers and program headers."""

    def __init__(self, source: str, data: mmap.mmap | bytes, *, sections: bool = True) -> None:
        self.source = source
        self.data = data
        self.view = memoryview(data)
        self.size = len(data)
        self._strtabs: dict[int, bytes] = {}
        self._parse_header()
        # sections=False reads the file as the kernel and ld.so do, by its program headers
        # only: a cut-off or bogus section header table does not stop them.
        self.shdrs: list[Shdr] = self._parse_sections() if sections else []
        self.phdrs: list[Phdr] = self._parse_segments()

    def fail(self, what: str, *, key: str, **fields: object) -> BadInput:
        """``SOURCE: what``; ``key`` names the same sentence in the catalog (``{path}`` is added)."""
        return BadInput(f"{self.source}: {what}", key=key, fields={"path": self.source, **fields})

    # --- the three tables -------------------------------------------------------------------

    def _parse_header(self) -> None:
        ident = bytes(self.view[:16])
        if len(ident) < 16:
            raise self.fail(
                f"truncated ELF identification ({len(ident)} of 16 bytes)",
                key="errors.elf.truncated_ident",
                have=len(ident),
            )
        ei_class, ei_data = ident[4], ident[5]
        if ei_class not in (1, 2):
            raise self.fail(
                f"unknown ELF class {ei_class} in e_ident (expected 1 for 32-bit, 2 for 64-bit)",
                key="errors.elf.bad_class",
                value=ei_class,
            )
        if ei_data not in (1, 2):
            raise self.fail(
                f"unknown byte order {ei_data} in e_ident (expected 1 little, 2 big endian)",
                key="errors.elf.bad_byte_order",
                value=ei_data,
            )
        self.wide = ei_class == 2
        self.endian = "<" if ei_data == 1 else ">"
        self.lay: Layout = layout(self.wide, self.endian)
        self.ident = ident
        need = 16 + self.lay.ehdr.size
        if self.size < need:
            raise self.fail(
                f"truncated ELF header ({self.size} of {need} bytes)",
                key="errors.elf.truncated_header",
                have=self.size,
                need=need,
            )
        (
            self.e_type,
            self.e_machine,
            self.e_version,
            self.e_entry,
            self.e_phoff,
            self.e_shoff,
            self.e_flags,
            self.e_ehsize,
            self.e_phentsize,
            self.e_phnum,
            self.e_shentsize,
            self.e_shnum,
            self.e_shstrndx,
        ) = self.lay.ehdr.unpack_from(self.view, 16)
        self.shstrndx = self.e_shstrndx

    def _table_bounds(self, what: str, offset: int, count: int, entsize: int, expect: int) -> None:
        if count == 0:
            return
        if entsize != expect:
            raise self.fail(
                f"{what} entry size is {entsize} bytes; an ELF{32 * (1 + self.wide)} needs {expect}",
                key="errors.elf.entry_size",
                table=what,
                entsize=entsize,
                bits=32 * (1 + self.wide),
                expect=expect,
            )
        end = offset + count * entsize
        if end > self.size:
            raise self.fail(
                f"{what} ({count} × {entsize} bytes at offset {offset:#x}) run past the end of the file "
                f"({self.size} bytes): the file is truncated or corrupt",
                key="errors.elf.table_past_end",
                table=what,
                entries=count,
                entsize=entsize,
                offset=f"{offset:#x}",
                file_size=self.size,
            )

    def _parse_sections(self) -> list[Shdr]:
        shdr = self.lay.shdr
        shoff, shnum = self.e_shoff, self.e_shnum
        if shoff == 0:
            return []
        if shnum == 0 or self.e_shstrndx == d.SHN_XINDEX or self.e_phnum == 0xFFFF:
            # Extended numbering: the real counts live in section header 0 (gABI).
            self._table_bounds("section header 0", shoff, 1, self.e_shentsize, shdr.size)
            first = Shdr(*shdr.unpack_from(self.view, shoff))
            if shnum == 0:
                shnum = first.size
            if self.e_shstrndx == d.SHN_XINDEX:
                self.shstrndx = first.link
            if self.e_phnum == 0xFFFF and first.info:
                self.e_phnum = first.info
        if shnum > self.size // max(shdr.size, 1):
            raise self.fail(
                f"truncated or corrupt: it claims {shnum} section headers at offset {shoff:#x}, "
                f"more than a file of {self.size} bytes can hold",
                key="errors.elf.too_many_sections",
                shnum=shnum,
                offset=f"{shoff:#x}",
                file_size=self.size,
            )
        self._table_bounds("section headers", shoff, shnum, self.e_shentsize, shdr.size)
        return [Shdr(*t) for t in shdr.iter_unpack(self.view[shoff : shoff + shnum * shdr.size])]

    def _parse_segments(self) -> list[Phdr]:
        phdr = self.lay.phdr
        if self.e_phoff == 0 or self.e_phnum == 0:
            return []
        self._table_bounds("program headers", self.e_phoff, self.e_phnum, self.e_phentsize, phdr.size)
        raw = phdr.iter_unpack(self.view[self.e_phoff : self.e_phoff + self.e_phnum * phdr.size])
        if self.wide:
            return [Phdr(*t) for t in raw]
        # Elf32_Phdr puts p_flags second to last; Elf64_Phdr puts it second.
        return [Phdr(t[0], t[6], t[1], t[2], t[3], t[4], t[5], t[7]) for t in raw]

    # --- bytes ------------------------------------------------------------------------------

    def cstring(self, start: int, limit: int) -> str:
        """The NUL-terminated string at file offset ``start``, ending at ``limit`` at the latest."""
        limit = min(limit, self.size)
        if start >= limit:
            return "<corrupt>"
        end = self.data.find(b"\0", start, limit)
        if end < 0:
            end = limit
        return bytes(self.data[start:end]).decode("utf-8", "backslashreplace")

    def section_name(self, offset: int) -> str:
        """A name from the section header string table."""
        if not (0 < self.shstrndx < len(self.shdrs)):
            return "<no-strings>"
        strtab = self.shdrs[self.shstrndx]
        if offset >= strtab.size:
            return "<corrupt>"
        return self.cstring(strtab.offset + offset, strtab.offset + strtab.size)

    def section_names(self) -> list[str]:
        """Every section's name ("" for section 0), as :meth:`section_name` reads each."""
        names = [""] * len(self.shdrs)
        if not (0 < self.shstrndx < len(self.shdrs)):
            return [""] + ["<no-strings>"] * (len(self.shdrs) - 1) if self.shdrs else []
        strtab = self.shdrs[self.shstrndx]
        # The table's bytes as far as the file holds them: a name past either end is corrupt.
        start = min(strtab.offset, self.size)
        table = bytes(self.view[start : min(strtab.offset + strtab.size, self.size)])
        limit = min(strtab.size, len(table))
        find = table.find
        for i, s in enumerate(self.shdrs):
            if i == 0:
                continue
            o = s.name
            if o >= limit:
                names[i] = "<corrupt>"
                continue
            end = find(b"\0", o)
            names[i] = table[o : end if end >= 0 else len(table)].decode("utf-8", "backslashreplace")
        return names

    def file_bytes(self, offset: int, size: int, what: str) -> memoryview:
        """``size`` bytes at ``offset``; BadInput naming ``what`` when they run past the end."""
        if offset + size > self.size:
            raise self.fail(
                f"{what} ({size} bytes at offset {offset:#x}) runs past the end of the file",
                key="errors.elf.past_end",
                part=what,
                length=size,
                offset=f"{offset:#x}",
            )
        return self.view[offset : offset + size]

    def section_bytes(self, index: int) -> memoryview:
        """The file bytes of section ``index`` (empty for NOBITS)."""
        s = self.shdrs[index]
        if s.type == d.SHT_NOBITS or s.size == 0:
            return self.view[0:0]
        if s.offset + s.size > self.size:
            name = self.section_name(s.name) if index else ""
            raise self.fail(
                f"section {name} ({s.size} bytes at offset {s.offset:#x}) runs past the end of the file",
                key="errors.elf.section_past_end",
                section=name,
                length=s.size,
                offset=f"{s.offset:#x}",
            )
        return self.view[s.offset : s.offset + s.size]

    def strtab(self, index: int) -> bytes:
        """A string table section's bytes (cached): names are looked up by offset into it."""
        found = self._strtabs.get(index)
        if found is None:
            found = bytes(self.section_bytes(index)) if 0 < index < len(self.shdrs) else b""
            self._strtabs[index] = found
        return found

    def offset_for_vaddr(self, vaddr: int) -> int | None:
        """The file offset holding the byte at ``vaddr`` (via PT_LOAD); None if unmapped or .bss."""
        for p in self.phdrs:
            if p.type == d.PT_LOAD and p.vaddr <= vaddr < p.vaddr + p.filesz:
                return p.offset + vaddr - p.vaddr
        return None
