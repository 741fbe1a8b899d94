"""Every executable section of a file, as ``objdump -d`` lists it, produced block by block.

objdump's layout (binutils/objdump.c, ``disassemble_section`` and ``disassemble_bytes``):

* each section with code and contents, in section-header order, under
  ``Disassembly of section NAME:``;
* a block per symbol address of that section, headed ``<name>:``; the first block starts at the
  section's start even without a symbol there (``<name-0x10>`` then names the first symbol
  after it); each block is decoded from its own start and never past its end (objdump's
  stop_vma): an instruction that would run past the next symbol is written as its first byte
  alone (``.byte 0x8b``, or a prefix's word such as ``rex.W``), then the next byte is decoded;
* a run of zero bytes is written as ``...``: 8 or more bytes (up to a multiple of 4 unless the
  run reaches the block's end), or 1 or 2 bytes at the block's end.

The blocks are generated lazily so a listing of a whole libc starts printing at once.
"""

from __future__ import annotations

import bisect
import ctypes
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, compress, count, repeat
from operator import not_
from typing import TYPE_CHECKING, Any

from kernlab.elf.disasm.decode import _capstone, _disassemble, _opened, _syntax
from kernlab.elf.disasm.fast import PREFIX_BYTE_WORDS, X86_TRAPS, cut_byte_text, rex_name
from kernlab.elf.disasm.model import SyscallNote
from kernlab.elf.disasm.symbols import ExternalSymbols, Symbolizer
from kernlab.elf.disasm.traps import SyscallTracker, syscall_name
from kernlab.elf.disasm.x86shape import c_tables
from kernlab.errors import BadInput

try:  # the loop over known instructions in C; without a C compiler at install, in Python
    from kernlab.elf.disasm import _hits
except ImportError:  # pragma: no cover - depends on the build
    _hits = None  # type: ignore[assignment]
else:
    _hits.set_tables(*c_tables())

if TYPE_CHECKING:
    from kernlab.elf.disasm.fast import FastX86
    from kernlab.elf.model import Section
    from kernlab.elf.reader import ElfImage

__all__ = ["Block", "CodeSection", "FileListing", "Row", "code_sections", "file_format", "list_file"]

Row = tuple[int, bytes, str, SyscallNote | None]
"""(address, raw bytes, objdump's text, the system call of a trap). Raw bytes are empty for a
run of zeros objdump writes as ``...``."""

SKIP_ZEROES = 8  # objdump's skip_zeroes
SKIP_ZEROES_AT_END = 3  # objdump's skip_zeroes_at_end
TRACK_BACK = 16  # instructions looked at before a trap for the number it uses
_NONZERO = re.compile(rb"[^\x00]")


@dataclass(frozen=True)
class CodeSection:
    """A section objdump -d disassembles."""

    name: str
    address: int
    size: int
    address_width: int  # hex digits of the addresses in its lines, as objdump pads them
    index: int = -1  # in the section header table: its bytes are read by it, not by address


@dataclass(frozen=True)
class Block:
    """The instructions from one symbol's address to the next symbol of the section."""

    section: str
    address: int  # where the block starts
    label: str | None  # the symbol (``main``, ``puts@plt``, ``_init+0x10``) or None
    rows: list[Row]
    marked: frozenset[int]  # addresses of the instructions loading a known system-call number
    section_index: int = -1  # tells apart two sections of one name (COMDAT groups in a .o)


@dataclass(frozen=True)
class FileListing:
    """A whole file's code, ready to be listed block by block."""

    path: str
    arch: str
    syntax: str
    file_format: str  # objdump's name of the format: elf64-x86-64
    address_bits: int
    sections: tuple[CodeSection, ...]
    symbols: ExternalSymbols | None = None  # a stripped vmlinux's System.map, naming its blocks

    def job_count(self) -> int:
        """How many blocks the listing has (one per symbol address and section start)."""
        _image, symbolizer = _opened(self.path, self.symbols)
        return len(_jobs(symbolizer, self.sections))

    def blocks(self, part: int = 0, parts: int = 1, indexes: Iterable[int] | None = None) -> Iterator[Block]:
        """Every block of every section, decoded as it is asked for; with ``parts`` > 1 only
        those of ``part`` (of ``parts`` runs of consecutive blocks holding about as many bytes
        each), so that processes can list a file's parts side by side; with ``indexes`` the
        blocks of those numbers (0 to :meth:`job_count` - 1), in that order, each number taken
        only when its block is asked for."""
        image, symbolizer = _opened(self.path, self.symbols)
        every = _jobs(symbolizer, self.sections)
        jobs: Iterable[_Job] = (
            _part(every, part, parts) if indexes is None else map(every.__getitem__, indexes)
        )
        if image.arch not in ("x86_64", "i386") or self.syntax != "att":
            yield from _generic_blocks(image, symbolizer, jobs, self.syntax)
            return
        from kernlab.elf.disasm.fast import FastX86

        fast = FastX86(image.arch == "x86_64", symbolizer)  # its texts serve every section
        yield from _x86_blocks(image, fast, jobs)


def _jobs(symbolizer: Symbolizer, sections: tuple[CodeSection, ...]) -> list[_Job]:
    jobs: list[_Job] = []
    for section in sections:
        marks = labels(symbolizer, section)
        ends = [a for a, _ in marks[1:]] + [section.address + section.size]
        jobs += [(section, start, label, end) for (start, label), end in zip(marks, ends, strict=True)]
    return jobs


def _part(jobs: list[_Job], part: int, parts: int) -> list[_Job]:
    """The jobs of ``part``: a job belongs to the part its first byte falls in, counting the
    bytes of all jobs in order."""
    if parts == 1:
        return jobs
    total = sum(end - start for _s, start, _l, end in jobs)
    out = []
    done = 0
    for job in jobs:
        if done * parts // max(total, 1) == part:
            out.append(job)
        done += job[3] - job[1]
    return out


_Job = tuple[CodeSection, int, str | None, int]  # section, block start, label, block end


def file_format(image: ElfImage) -> str:
    """The BFD target name objdump prints after ``file format``."""
    bits = 64 if image.is_64bit else 32
    if image.arch == "x86_64":
        return f"elf{bits}-x86-64"
    if image.arch == "i386":
        return "elf32-i386"
    endian = "little" if image.is_little_endian else "big"
    return f"elf{bits}-{endian}{image.arch}"


def code_sections(image: ElfImage, name: str | None = None) -> list[Section]:
    """The sections objdump -d disassembles (executable, with contents), or the one named."""
    found = [s for s in image.sections if "X" in s.flags and not s.is_nobits and s.size > 0]
    if name is None:
        return found
    chosen = [s for s in found if s.name == name]
    if chosen:
        return chosen
    other = image.section_by_name(name)
    if other is None:
        names = ", ".join(s.name for s in found) or "none"
        raise BadInput(
            f"{image.source}: no section named {name} (sections with code: {names})",
            key="disasm.errors.no_section",
            fields={"path": image.source, "name": name, "names": names},
        )
    names = ", ".join(s.name for s in found) or "none"
    flags = other.flags or "none"
    raise BadInput(
        f"{image.source}: {name} is not code (section flags {flags}, no X); sections with code: {names}",
        key="disasm.errors.not_code",
        fields={"path": image.source, "name": name, "flags": flags, "names": names},
    )


def list_file(
    path: str, section: str | None = None, syntax: str = "att", symbols: ExternalSymbols | None = None
) -> FileListing:
    """The listing of every executable section of ``path`` (or of ``section``)."""
    image, _symbolizer = _opened(path, symbols)
    _capstone(image.arch, syntax)  # NotSupported now, not after the header is printed
    chosen = code_sections(image, section)
    if not chosen:
        raise BadInput(
            f"{path}: no section holds code (none has the X flag and contents)",
            key="disasm.errors.no_code",
            fields={"path": path},
        )
    digits = 16 if image.is_64bit else 8
    return FileListing(
        path,
        image.arch,
        _syntax(image, syntax),
        file_format(image),
        64 if image.is_64bit else 32,
        tuple(CodeSection(s.name, s.address, s.size, _address_width(s, digits), s.index) for s in chosen),
        symbols,
    )


def _address_width(section: Section, digits: int) -> int:
    """objdump's width for a section's addresses: leading zeros of its end address dropped in
    groups of four, keeping at least one (skip_addr_chars in disassemble_section)."""
    text = f"{section.address + section.size:0{digits}x}"
    zeros = len(text) - len(text.lstrip("0"))
    if zeros == len(text) and section.address != 0:
        zeros = 0
    if zeros:
        zeros = (zeros - 1) & -4
    return digits - zeros


def labels(symbolizer: Symbolizer, section: CodeSection) -> list[tuple[int, str | None]]:
    """(address, label) of each block of ``section``: one per symbol address in it, and one at
    its start."""
    end = section.address + section.size
    lo = bisect.bisect_left(symbolizer.addresses, section.address)
    hi = bisect.bisect_left(symbolizer.addresses, end)
    out: list[tuple[int, str | None]] = []
    for i in range(lo, hi):
        sym = symbolizer.symbols[i]
        if sym.section != section.name or (out and out[-1][0] == sym.value):
            continue
        out.append((sym.value, sym.name))
    if not out or out[0][0] != section.address:
        out.insert(0, (section.address, _first_label(symbolizer, section, out)))
    return out


def _first_label(
    symbolizer: Symbolizer, section: CodeSection, inside: list[tuple[int, str | None]]
) -> str | None:
    """The label objdump gives a section start without a symbol: the nearest symbol of the
    section below it, else the first one after it (``name-0x10``), else the section's name."""
    start = section.address
    i = bisect.bisect_right(symbolizer.addresses, start)
    for j in range(i - 1, -1, -1):
        sym = symbolizer.symbols[j]
        if sym.section == section.name:
            return f"{sym.name}+{start - sym.value:#x}" if sym.value != start else sym.name
    if inside:
        value, name = inside[0]
        return f"{name}-{value - start:#x}"
    return section.name


def _generic_blocks(
    image: ElfImage, symbolizer: Symbolizer, jobs: Iterable[_Job], syntax: str
) -> Iterator[Block]:
    for section, start, label, end in jobs:
        instructions, _notes = _disassemble(image, start, end - start, syntax, symbolizer)
        rows: list[Row] = [(i.address, i.raw, i.text, i.syscall) for i in instructions]
        marked = frozenset(i.syscall.loaded_at for i in instructions if i.syscall is not None)
        yield Block(section.name, start, label, rows, marked, section.index)


def _x86_blocks(image: ElfImage, fast: FastX86, jobs: Iterable[_Job]) -> Iterator[Block]:
    section: CodeSection | None = None
    base = 0
    code = b""
    buffer: Any = None
    for job_section, start, label, end in jobs:
        if job_section is not section:
            section = job_section
            fast.start_section(section.name)
            base = section.address
            code = _section_bytes(image, section)
            buffer = (ctypes.c_char * len(code)).from_buffer_copy(code)
        rows: list[Row] = []
        marked: set[int] = set()
        pos = start
        waits = False
        while pos < end:
            data = fast.chunk(buffer, base, pos - base, end - base)
            if not data:
                row, skip = _cut_short(fast, code, base, pos, end)
                rows.append(row)
                pos += skip
                continue
            chunk = _Chunk(fast, code, base, end, data)
            at = len(rows)
            rows += chunk.rows()
            if chunk.stop is not None:
                address, skip = chunk.stop
                del rows[at + chunk.kept :]
                rows.append(chunk.stop_row or (address, b"", "...", None))
                pos = address + skip
            else:
                last = rows[-1]
                pos = last[0] + len(last[1])
            waits = waits or chunk.waits
            for address in chunk.traps:
                k = bisect.bisect_left(rows, address, at, key=_address)
                if k < len(rows) and rows[k][0] == address and rows[k][1]:
                    trap_address, raw, text, _none = rows[k]
                    note = _trap_note(
                        fast, image.arch, code, base, rows[max(0, k - TRACK_BACK) : k], address, raw
                    )
                    if note is not None:
                        marked.add(note.loaded_at)
                        rows[k] = (trap_address, raw, text, note)
        if waits:
            rows = _merge_waits(rows)
        yield Block(section.name, start, label, rows, frozenset(marked), section.index)


def _cut_short(fast: FastX86, code: bytes, base: int, pos: int, end: int) -> tuple[Row, int]:
    """The row at ``pos`` when capstone decodes nothing before the block's ``end``, and the bytes
    it covers. objdump never reads past the next symbol (its stop_vma): an instruction that
    would is written as its first byte alone — a prefix's word (``data16``, ``rex.W``) or
    ``.byte 0x8b`` — and decoding goes on at the next byte; bytes that decode as nothing
    even with more of them are ``(bad)``; one or two zero bytes at the end are ``...``."""
    skip = _zero_run(code, pos - base, end - base)
    if skip:
        return (pos, b"", "...", None), skip
    byte = code[pos - base]
    if fast.mode64 and 0x40 <= byte <= 0x4F and pos + 1 < end and code[pos - base + 1] in _PREFIX_OR_REX:
        return (pos, code[pos - base : pos - base + 1], rex_name(byte), None), 1  # see _Chunk.miss
    locked = _locked(fast, code[pos - base : end - base], pos)
    if locked is not None:
        return locked, len(locked[1])
    window = code[pos - base : pos - base + 15].ljust(15, b"\0")  # the section may end first
    if any(True for _ in fast.lite.disasm(window, pos, 1)):
        text = cut_byte_text(code[pos - base], fast.mode64)
        return (pos, code[pos - base : pos - base + 1], text, None), 1
    row = _undecodable(code[: end - base], pos - base, pos, fast.mode64)
    return row, len(row[1])


def _locked(fast: FastX86, code: bytes, address: int) -> Row | None:
    """``lock lock or %ebx,%edi``: capstone refuses a lock prefix on an instruction that cannot
    take one, objdump writes it as a word before the instruction it decodes without it."""
    count = len(code) - len(code.lstrip(b"\xf0"))
    if not count or count == len(code):
        return None
    for insn in fast.detail.disasm(code[count:], address + count, 1):
        mnemonic, operands, *_ = fast.formatter.format(insn)
        full = " ".join(["lock"] * count + [mnemonic])
        return (address, code[: count + insn.size], f"{full:<6} {operands}" if operands else full, None)
    return None


def _undecodable(code: bytes, offset: int, address: int, mode64: bool) -> Row:
    """The row objdump writes for bytes capstone cannot decode: its prefixes as words, then
    ``(bad)`` over the opcode bytes read so far — one, two for an 0F opcode, three for 0F 38
    and 0F 3A, and for an x87 escape (D8-DF) the ModRM byte of its register form too."""
    words = []
    at = offset
    while at < len(code) - 1 and (code[at] in _PREFIX_WORDS or (mode64 and 0x40 <= code[at] <= 0x4F)):
        byte = code[at]
        words.append(_PREFIX_WORDS.get(byte) or rex_name(byte))
        if byte == 0x67 and not mode64:
            words[-1] = "addr16"
        at += 1
    opcode = code[at]
    if opcode in _VEX_SIZES and mode64 and at + _VEX_SIZES[opcode] > len(code) and not words:
        # objdump fetches a VEX escape's bytes and the opcode at once: past the block's end
        # that fails, and the escape is written as a byte of data
        return (address, code[offset : offset + 1], f".byte {opcode:#x}", None)
    size = 1
    if opcode == 0x0F and at + 1 < len(code) and code[at + 1] != 0x0F:  # 0F 0F (3DNow!): one
        size = 3 if code[at + 1] in (0x38, 0x3A) and at + 2 < len(code) else 2
    elif 0xD8 <= opcode <= 0xDF and at + 1 < len(code):
        size = 2
    elif opcode in _VEX_SIZES and at + 1 < len(code) and _is_vex(code[at + 1], opcode, mode64):
        size = min(_VEX_SIZES[opcode], len(code) - at)  # the VEX/XOP bytes and the opcode
    if opcode in (0xC4, 0xC5) and mode64 and words and words[-1].startswith("rex"):
        words.pop()  # a REX before a VEX escape is part of the invalid bytes, not a word
    raw = code[offset : at + size]
    text = "frstpm(287 only)" if raw == b"\xdb\xe5" else "(bad)"
    return (address, raw, " ".join([*words, text]), None)


_PREFIX_WORDS = PREFIX_BYTE_WORDS


# A VEX (C4, C5) or XOP (8F) escape and the bytes objdump reads before finding it invalid.
_VEX_SIZES = {0xC4: 4, 0xC5: 3, 0x8F: 4}


def _is_vex(following: int, escape: int, mode64: bool) -> bool:
    """Whether C4/C5/8F start a VEX or XOP prefix objdump reads whole before finding it invalid:
    XOP with a known map select; VEX in 64-bit mode only, with a known map (elsewhere objdump
    stops at its first byte)."""
    if escape == 0x8F:
        return 8 <= following & 0x1F <= 10  # XOP maps 8-10; else objdump stops at 8F
    # C4's map select must be 1-3 (0F, 0F 38, 0F 3A), else objdump stops at C4 itself
    return mode64 and (escape == 0xC5 or 1 <= following & 0x1F <= 3)


def _section_bytes(image: ElfImage, section: CodeSection) -> bytes:
    """The section's own bytes, as objdump reads them: in a relocatable object every section
    starts at address 0, so reading by address would give the first one's bytes for all."""
    if section.index >= 0:
        return bytes(image.section_data(section.index))
    return image.read(section.address, section.size)


def _address(row: Row) -> int:
    return row[0]


class _Chunk:
    """The rows of one ``cs_insn`` array. A libc is 336,000 instructions, two thirds of them
    seen before byte for byte: their addresses, sizes, bytes and known texts are read with C
    loops (a strided memoryview, ``map``, ``list.index``), and only the others — branches,
    RIP-relative operands, bytes not seen before — are written in Python (:meth:`miss`)."""

    def __init__(self, fast: FastX86, code: bytes, base: int, end: int, data: bytes) -> None:
        self.fast = fast
        self.code = code
        self.base = base
        self.end = end
        self.data = data
        self.stop: tuple[int, int] | None = None  # (address, bytes) of a run of zeros written "..."
        self.stop_row: Row | None = None  # the row ending the chunk early instead of "..."
        self.kept = 0  # rows before the run of zeros
        self.traps: list[int] = []
        self.waits = False

    def rows(self) -> list[Row]:
        fast = self.fast
        if _hits is not None:
            rows, misses = _hits.known_texts(
                self.data,
                self.code,
                self.base,
                fast.plain,
                fast.branch_heads,
                fast.target_texts,
                fast._target,
                fast.address_mask,
                (
                    fast.mode64,
                    fast.templates,
                    fast.special,
                    fast.target_names,
                    fast._name,
                    fast.sym.bare_prefix,
                    fast.name_tables,
                ),
            )
        else:
            rows, misses = self._known_texts()
        return self._with_misses(rows, misses)

    def _known_texts(self) -> tuple[list[Row], list[int]]:
        """What ``_hits.known_texts`` does, in Python: the rows, with the texts of instructions
        seen before byte for byte, and the indexes of the others (their text None; branches
        and templates are left to :meth:`_with_misses` here)."""
        words = memoryview(self.data)
        # cs_insn: id u32, pad, address u64 at byte 8, size u16 at byte 16; 248 bytes each.
        addresses = words.cast("Q")[1::_INSN_WORDS].tolist()
        sizes = words.cast("H")[8 :: _INSN_WORDS * 4].tolist()
        words.release()
        # capstone decodes one instruction after the other: the bytes are consecutive.
        offsets = list(accumulate(sizes, initial=addresses[0] - self.base))
        raws = list(map(self.code.__getitem__, map(slice, offsets, offsets[1:])))
        texts: list[str | None] = list(map(self.fast.plain.get, raws))
        misses = list(compress(count(), map(not_, texts)))
        return list(zip(addresses, raws, texts, repeat(None))), misses  # type: ignore[arg-type]

    def _with_misses(self, rows: list[Row], misses: list[int]) -> list[Row]:
        """The rows, with the texts of ``misses`` written in order: a plain relative branch (a
        third of libc's instructions differ from all others only by their target) here,
        anything else by miss()."""
        fast = self.fast
        plain = fast.plain.get
        heads = fast.branch_heads.get
        known_targets = fast.target_texts.get
        name_target = fast._target
        mask = fast.address_mask
        from_bytes = int.from_bytes
        for i in misses:
            address, raw, _none, _note = rows[i]
            text = plain(raw)  # first seen earlier in this chunk
            if text is None:
                n = len(raw)
                head = heads(raw[0] | n << 8) if n != 6 else heads(raw[1] | n << 8 if raw[0] == 0x0F else -1)
                if head is not None:
                    disp = from_bytes(raw[n - 4 if n > 2 else 1 :], "little", signed=True)
                    target = (address + n + disp) & mask
                    text = head + (known_targets(target) or name_target(target))
                else:
                    text = self.miss(i, address, raw)
                    if self.stop is not None:
                        del rows[i:]
                        break
            rows[i] = (address, raw, text, None)
        return rows

    def miss(self, index: int, address: int, raw: bytes) -> str:
        if raw[0] == 0:
            skip = _zero_run(self.code, address - self.base, self.end - self.base)
            if skip:
                self.stop = (address, skip)
                self.kept = index
                return ""
        elif raw == b"\x9b":
            self.waits = True
        elif self.fast.mode64 and 0x40 <= raw[0] <= 0x4F and len(raw) > 1 and raw[1] in _PREFIX_OR_REX:
            # A REX prefix counts only right before the opcode: objdump writes one followed by
            # another prefix as an instruction of its own (rex.RXB), capstone folds it in.
            self.stop = (address, 1)
            self.stop_row = (address, raw[:1], rex_name(raw[0]), None)
            self.kept = index
            return ""
        elif raw[-2:] in _SHORT_UNDEFINED and all(b in _PREFIX_OR_REX for b in raw[:-2]):
            # capstone decodes ud0/ud1 without the ModRM byte objdump reads: the instructions
            # after it would start one byte early, so the chunk ends at it.
            offset = address - self.base
            form = self.fast.undefined_form(self.code[offset : offset + 15], address, len(raw) - 2)
            if form is not None:
                self.stop = (address, len(form[0]))
                self.stop_row = (address, form[0], form[1], None)
                self.kept = index
                return ""
        elif raw in X86_TRAPS:
            self.traps.append(address)
        return self.fast.describe(address, raw, self.data, index)


_INSN_WORDS = 31  # a cs_insn record is 248 bytes: 31 words of 8
_SHORT_UNDEFINED = (b"\x0f\xb9", b"\x0f\xff")  # ud1, ud0 as capstone decodes them
_PREFIX_OR_REX = frozenset(
    [0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67, *range(0x40, 0x50)]
)


# objdump reads an fwait (9b) right before an x87 instruction (escape opcodes d8-df) as part of
# it (i386-dis.c keeps fwait as a prefix): 9b dd d8 is one line "fstp %st(0)", and the control
# instructions become the assembler's waiting form, 9b db e3 "finit" rather than "fninit".
_NO_WAIT_FORMS = ("fnstsw", "fnstcw", "fnstenv", "fnsave", "fnclex", "fninit")
_X87_ESCAPES = range(0xD8, 0xE0)


def _merge_waits(rows: list[Row]) -> list[Row]:
    out: list[Row] = []
    for row in rows:
        raw = row[1]
        if out and out[-1][1] == b"\x9b" and out[-1][0] + 1 == row[0] and raw and raw[0] in _X87_ESCAPES:
            text = row[2]
            if text.startswith(_NO_WAIT_FORMS):
                words = text.split(None, 1)
                mnemonic = "f" + words[0][2:]
                text = mnemonic if len(words) == 1 else f"{mnemonic:<6} {words[1]}"
            out[-1] = (out[-1][0], b"\x9b" + raw, text, None)
            continue
        out.append(row)
    return out


def _zero_run(code: bytes, offset: int, stop: int) -> int:
    """How many zero bytes from ``offset`` objdump writes as ``...`` (0: none)."""
    match = _NONZERO.search(code, offset, stop)
    z = match.start() if match else stop
    run = z - offset
    if run >= SKIP_ZEROES or (z == stop and run < SKIP_ZEROES_AT_END):
        return run if z == stop else run & ~3
    return 0


def _trap_note(
    fast: FastX86, arch: str, code: bytes, base: int, rows: list[Row], address: int, raw: bytes
) -> SyscallNote | None:
    """The system call a trap makes, from the instructions since the last call or return
    before it (at most TRACK_BACK of them, decoded again with details). The answer depends on
    those bytes only, so it is kept by them (libc's wrappers repeat ``mov $N,%eax; syscall``)."""
    quick = _loaded_just_before(arch, rows, address, raw)
    if quick is not None:
        return quick
    first = address
    for row in reversed(rows[-TRACK_BACK:]):
        word = row[2].split(" ", 1)[0]
        if word in ("call", "ret", "...", "(bad)") or not row[1]:
            break
        first = row[0]
    window = code[first - base : address - base + len(raw)]
    key = (arch, window)  # no call or return inside: the same bytes load the same number
    known = _TRAP_NOTES.get(key)
    if known is None:
        tracker = SyscallTracker(arch)
        note = None
        for insn in fast.detail.disasm(window, first):
            note, _loads = tracker.step(insn)
        known = _TRAP_NOTES[key] = (note, first)
    note, at = known
    if note is None or at == first:
        return note
    return SyscallNote(note.number, note.name, note.arch, note.loaded_at - at + first)


# The trap instructions SyscallTracker takes for each x86 architecture's system call: the
# other forms (int $0x80 in 64-bit code, syscall in 32-bit code) are left to it.
_ARCH_TRAPS = {"x86_64": (b"\x0f\x05",), "i386": (b"\xcd\x80", b"\x0f\x34")}


def _loaded_just_before(arch: str, rows: list[Row], address: int, trap: bytes) -> SyscallNote | None:
    """The note of an x86 trap right after ``mov $N,%eax`` (b8 imm32: four traps in five of
    libc's): the tracker would find that constant last, so it is read off the bytes without
    decoding the instructions before it again. None for any other case."""
    if trap not in _ARCH_TRAPS.get(arch, ()) or not rows:
        return None
    at, raw, _text, _note = rows[-1]
    if len(raw) != 5 or raw[0] != 0xB8 or at + 5 != address:
        return None
    number = int.from_bytes(raw[1:], "little")
    return SyscallNote(number, syscall_name(arch, number), arch, at)


_TRAP_NOTES: dict[tuple[str, bytes], tuple[SyscallNote | None, int]] = {}
