"""`kernlab disasm`: a function's (or an address range's, or a whole file's) instructions,
objdump -d style."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kernlab.elf.disasm import (
    Disassembly,
    ExternalSymbols,
    Instruction,
    disassemble_function,
    disassemble_range,
    open_code,
)
from kernlab.elf.disasm.decode import relocated_slot
from kernlab.elf.disasm.whole import Block, CodeSection, FileListing, list_file
from kernlab.errors import BadInput

if TYPE_CHECKING:
    from kernlab.reports.kernel import ImageSymbolSource

_RAW = operator.itemgetter(1)
_NOTE = operator.itemgetter(3)

__all__ = [
    "CALL_MNEMONICS",
    "DisasmReport",
    "FileDisasmReport",
    "FileTally",
    "GotCall",
    "SyscallSite",
    "build",
    "build_file",
]

# The last word of a call instruction on each architecture (x86, AArch64/ARM, RISC-V).
CALL_MNEMONICS = frozenset({"call", "bl", "blr", "jal"})


@dataclass(frozen=True)
class SyscallSite:
    """One system call the code makes, and at how many trap instructions."""

    number: int
    name: str | None  # None when kernlab's table for the arch lacks the number
    arch: str
    places: int


@dataclass(frozen=True)
class GotCall:
    """An indirect call through a GOT slot (``call *0x2fd3(%rip)``): the slot holds the
    function's address, written by ld.so when the program is loaded; no PLT stub is involved."""

    slot: int  # address of the GOT slot read
    name: str  # the function the slot's dynamic relocation names (__libc_start_main@GLIBC_2.34)


@dataclass(frozen=True)
class DisasmReport(Disassembly):
    """The disassembly, and what the listing says at a glance: whom it calls, which calls it makes."""

    calls: tuple[str, ...] = ()  # named direct call targets, sorted, each once
    syscall_sites: tuple[SyscallSite, ...] = ()  # in order of the first trap of each number
    plt_calls: tuple[str, ...] = ()  # the direct calls that go to a name@plt stub
    got_calls: tuple[GotCall, ...] = ()  # indirect calls through a GOT slot ld.so fills
    # A stripped kernel image's names come from a System.map or its own kallsyms tables.
    kernel_symbols: ImageSymbolSource | None = None


@dataclass
class FileTally:
    """What a whole-file listing held, counted while it is printed."""

    instructions: int = 0
    blocks: int = 0
    syscalls: dict[str, int] = field(default_factory=dict)  # call name (or number) -> traps

    def count(self, block: Block) -> None:
        """Count in one block."""
        self.blocks += 1
        rows = block.rows
        # C loops: a whole libc is 336,000 rows. A row without bytes is a run of zeros.
        self.instructions += len(rows) - list(map(_RAW, rows)).count(b"")
        if any(map(_NOTE, rows)):
            for row in rows:
                note = row[3]
                if note is not None:
                    key = note.name or str(note.number)
                    self.syscalls[key] = self.syscalls.get(key, 0) + 1

    def add(self, other: FileTally) -> None:
        """Count in another part's tally (a part listed by another process)."""
        self.instructions += other.instructions
        self.blocks += other.blocks
        for key, n in other.syscalls.items():
            self.syscalls[key] = self.syscalls.get(key, 0) + n


@dataclass(frozen=True)
class FileDisasmReport:
    """Every executable section of a file (or one), listed as objdump -d lists it.

    The blocks are produced while they are printed (:meth:`stream`), so the listing of a whole
    libc starts at once; ``tally`` is complete once the stream has ended.
    """

    path: str
    arch: str
    syntax: str
    file_format: str
    address_bits: int
    sections: tuple[CodeSection, ...]
    tally: FileTally
    blocks: tuple[Block, ...] | None = None  # filled for --json, else streamed
    _listing: FileListing | None = None
    kernel_symbols: ImageSymbolSource | None = None  # as in DisasmReport

    @property
    def size(self) -> int:
        return sum(s.size for s in self.sections)

    def job_count(self) -> int:
        """How many blocks the listing has (see :meth:`stream`'s ``indexes``)."""
        if self.blocks is not None:
            return len(self.blocks)
        assert self._listing is not None
        return self._listing.job_count()

    def stream(
        self, part: int = 0, parts: int = 1, indexes: Iterable[int] | None = None, *, counted: bool = True
    ) -> Iterator[Block]:
        """The blocks (of ``part`` of ``parts``, or those numbered ``indexes`` in that order: see
        :meth:`FileListing.blocks`), counted into ``tally`` as they go by unless not
        ``counted``. Blocks decoded already all belong to part 0."""
        source: Iterable[Block]
        if self.blocks is not None:
            if indexes is not None:
                source = map(self.blocks.__getitem__, indexes)
            else:
                source = self.blocks if part == 0 else ()
        else:
            assert self._listing is not None
            source = self._listing.blocks(part, parts, indexes)
        for block in source:
            if counted:
                self.tally.count(block)
            yield block


def build(
    path: str,
    symbol: str | None = None,
    *,
    address: int | None = None,
    length: int | None = None,
    syntax: str = "att",
    system_map: str | None = None,
) -> DisasmReport:
    """Disassemble ``symbol`` of the ELF file at ``path``, or ``length`` bytes from ``address``.

    A stripped kernel (a vmlinuz) is named after ``system_map``, a System.map-<release> beside
    it, or the kallsyms tables inside it."""
    if symbol is None and address is None:
        raise BadInput("give a SYMBOL or --address ADDR", key="errors.report.disasm_what")
    if symbol is not None and address is not None:
        raise BadInput("give either a SYMBOL or --address, not both", key="errors.report.disasm_both")
    if length is not None and address is None:
        raise BadInput("--length goes with --address", key="errors.cli.length_with_address")
    symbols, used = _kernel_symbols(path, system_map, needed=symbol is not None)
    if symbol is not None:
        dis = disassemble_function(path, symbol, syntax, symbols)
    else:
        assert address is not None
        dis = disassemble_range(path, address, length, syntax, symbols)
    return _report(dis, used)


def build_file(
    path: str,
    section: str | None = None,
    *,
    syntax: str = "att",
    whole: bool = False,
    system_map: str | None = None,
) -> FileDisasmReport:
    """Every executable section of ``path`` (or ``section``): streamed, or all decoded now
    when ``whole`` (for --json)."""
    symbols, used = _kernel_symbols(path, system_map, needed=False)
    listing = list_file(path, section, syntax, symbols)
    blocks = tuple(listing.blocks()) if whole else None
    report = FileDisasmReport(
        listing.path,
        listing.arch,
        listing.syntax,
        listing.file_format,
        listing.address_bits,
        listing.sections,
        FileTally(),
        blocks,
        listing,
        used,
    )
    if whole:
        for _block in report.stream():
            pass  # counts the tally
    return report


def _kernel_symbols(
    path: str, system_map: str | None, *, needed: bool
) -> tuple[ExternalSymbols | None, ImageSymbolSource | None]:
    """The names for a stripped kernel's code (None for any other file); BadInput when a
    SYMBOL is asked for and none can be found."""
    image = open_code(path)
    if system_map is None and not image.is_kernel:
        return None, None
    # Imported here: the kernel's readers (page tables, kallsyms) serve kernel images only and
    # cost a whole file's listing a tenth of its time.
    from kernlab.reports.kernel import ImageSymbolSource, image_symbols, needs_kernel_symbols

    if system_map is None and not needs_kernel_symbols(image):
        return None, None
    if not image.is_kernel:
        raise BadInput(
            f"--system-map goes with a Linux kernel image; {path} is not one",
            key="errors.report.system_map_not_kernel",
            fields={"path": str(path)},
        )
    found = image_symbols(path, image, system_map)
    used = ImageSymbolSource.of(found)
    if not found.entries:
        if needed:
            why = (
                f"{found.placeholder} holds no symbols ({found.placeholder_note}); "
                if found.placeholder
                else ""
            )
            raise BadInput(
                f"{path}: a stripped kernel without kallsyms tables; {why}"
                "give --system-map FILE to name its code",
                key="errors.report.stripped_kernel_placeholder"
                if found.placeholder
                else "errors.report.stripped_kernel",
                fields={"path": str(path), "placeholder": found.placeholder, "note": found.placeholder_note},
            )
        return None, used
    source = found.path or f"the kallsyms tables of {path}"
    entries = tuple((e.address, e.type, e.name) for e in found.entries)
    return ExternalSymbols(source, entries), used


def _report(dis: Disassembly, kernel_symbols: ImageSymbolSource | None = None) -> DisasmReport:
    direct = [i for i in dis.instructions if i.target_name and is_call(i) and not is_indirect(i)]
    calls = sorted({i.target_name for i in direct if i.target_name})
    plt = tuple(name for name in calls if name.endswith("@plt"))
    got: dict[int, GotCall] = {}
    for i in dis.instructions:
        if is_call(i) and is_indirect(i) and i.target is not None and i.target not in got:
            # call *0x2fd3(%rip): the address is read from a slot that a dynamic relocation
            # fills, i.e. ld.so writes it when the program is loaded.
            name = relocated_slot(dis.path, i.target)
            if name is not None:
                got[i.target] = GotCall(i.target, name)
    sites: dict[int, SyscallSite] = {}
    for note in dis.syscalls:
        seen = sites.get(note.number)
        sites[note.number] = SyscallSite(note.number, note.name, note.arch, seen.places + 1 if seen else 1)
    fields = {f.name: getattr(dis, f.name) for f in dataclasses.fields(Disassembly)}
    return DisasmReport(
        **fields,
        calls=tuple(calls),
        syscall_sites=tuple(sites.values()),
        plt_calls=plt,
        got_calls=tuple(got.values()),
        kernel_symbols=kernel_symbols,
    )


def is_call(ins: Instruction) -> bool:
    return ins.mnemonic.split()[-1] in CALL_MNEMONICS


def is_indirect(ins: Instruction) -> bool:
    """A call through memory or a register (``call *0x2fd3(%rip)``, ``call *%rax``,
    ``call QWORD PTR [rip+0x2fd3]``, ``blr x1``) rather than to an address in the code."""
    operands = ins.operands
    return operands.startswith("*") or "PTR" in operands or "[" in operands or ins.mnemonic in ("blr", "jalr")
