"""objdump -d's listing: ``address:  raw bytes  instruction``, a function's name above it.

Shared by `kernlab disasm` and `kernlab syscall --libc`; :class:`FileLines` writes a whole
file's listing as plain text in objdump's exact layout, fast enough for all of libc. A trap
whose system-call number is known is followed by ``→ name(2), nr N = 0xN``, and it and the
instruction loading the number are highlighted.
"""

from __future__ import annotations

from collections.abc import Collection

from kernlab.elf.disasm import Disassembly, Instruction, SyscallNote
from kernlab.elf.disasm.whole import Block

__all__ = [
    "FileLines",
    "file_header",
    "instruction_line",
    "print_listing",
    "print_listing_line",
    "section_header",
    "syscall_annotation",
]


def instruction_line(ins: Instruction, highlight: bool = False) -> str:
    """One objdump-style line (rich markup), with the system call named after a trap."""
    from rich.markup import escape

    raw = " ".join(f"{b:02x}" for b in ins.raw)
    text = escape(ins.text)
    if ins.syscall is not None:
        name = ins.syscall.name or "?"
        text += f"   [bold magenta]→ {escape(name)}(2), nr {ins.syscall.number} = {ins.syscall.number:#x}[/]"
    if highlight:
        text = f"[bold yellow]{text}[/]"
    return f"  {ins.address:8x}:\t{raw:<21}\t{text}"


def print_listing_line(markup: str) -> None:
    """One line of rich markup; long lines (a comment naming a symbol) stay whole, as objdump
    prints them."""
    from kernlab.render.terminal import console

    console().print(markup, soft_wrap=True)


def print_listing(dis: Disassembly, highlight: Collection[int] = ()) -> None:
    """The function's heading and every instruction; ``highlight`` holds addresses to mark
    besides each known trap and the instruction that loads its number."""
    from rich.markup import escape

    name = f" <{escape(dis.function)}>" if dis.function else ""
    width = dis.address_bits // 4
    print_listing_line(f"[bold]{dis.start:0{width}x}{name}:[/bold]")
    marked = set(highlight)
    for ins in dis.instructions:
        if ins.syscall is not None:
            marked |= {ins.address, ins.syscall.loaded_at}
    for ins in dis.instructions:
        print_listing_line(instruction_line(ins, ins.address in marked))


# --------------------------------------------------------------------------- a whole file

BYTES_PER_LINE = 7  # objdump -d's raw bytes per line on x86 (the rest on continuation lines)
RAW_COLUMN = 3 * BYTES_PER_LINE
HIGHLIGHT = "\x1b[1;33m"  # bold yellow, as print_listing marks a trap and its number's load
NOTE = "\x1b[1;35m"  # bold magenta, as print_listing writes the system call's name
RESET = "\x1b[0m"


def file_header(path: str, file_format: str) -> str:
    """objdump's first lines: ``\\nPATH:     file format elf64-x86-64\\n\\n``."""
    return f"\n{path}:     file format {file_format}\n\n"


def section_header(name: str) -> str:
    return f"\nDisassembly of section {name}:\n"


def syscall_annotation(note: SyscallNote) -> str:
    """kernlab's words after a trap: ``   → write(2), nr 1 = 0x1``."""
    return f"   → {note.name or '?'}(2), nr {note.number} = {note.number:#x}"


class FileLines:
    """objdump -d's lines for blocks of instructions: ``   1139:\\t55  ...\\tpush   %rbp``.

    Addresses are right-aligned to the section's width, raw bytes take 7 per line (longer
    instructions continue on lines of their own), and a run of zeros is ``\\t...``. The raw
    column of a byte string is kept, since most instructions repeat.
    """

    def __init__(self, address_digits: int, colour: bool = False) -> None:
        self.label_digits = address_digits
        self.colour = colour
        self.columns = _Columns()

    def block(self, block: Block, width: int) -> str:
        """The block's label line and its instruction lines, as one string."""
        label = f" <{block.label}>" if block.label is not None else ""
        columns = self.columns
        # One f-string per row in a comprehension; the rare rows (a run of zeros, a trap, more
        # than 7 bytes, a highlighted load) are fixed afterwards.
        lines = [f"{address:{width}x}:\t{columns[raw]}\t{text}\n" for address, raw, text, _n in block.rows]
        for i, (address, raw, text, note) in enumerate(block.rows):
            if len(raw) > BYTES_PER_LINE or not raw or note is not None:
                lines[i] = self._rare(address, raw, text, note, width, address in block.marked)
        if self.colour and block.marked:
            for i, (address, _raw, text, note) in enumerate(block.rows):
                if address in block.marked and note is None:
                    lines[i] = lines[i].replace(text, f"{HIGHLIGHT}{text}{RESET}", 1)
        return f"\n{block.address:0{self.label_digits}x}{label}:\n" + "".join(lines)

    def _rare(
        self, address: int, raw: bytes, text: str, note: SyscallNote | None, width: int, marked: bool
    ) -> str:
        if not raw:
            return "\t...\n"
        if note is not None:
            if self.colour:
                text = f"{HIGHLIGHT}{text}{RESET}{NOTE}{syscall_annotation(note)}{RESET}"
            else:
                text += syscall_annotation(note)
        elif self.colour and marked:
            text = f"{HIGHLIGHT}{text}{RESET}"
        out = f"{address:{width}x}:\t{self.columns[raw]}\t{text}\n"
        for at in range(BYTES_PER_LINE, len(raw), BYTES_PER_LINE):
            out += f"{address + at:{width}x}:\t{raw[at : at + BYTES_PER_LINE].hex(' ')} \n"
        return out


class _Columns(dict[bytes, str]):
    """Raw bytes -> objdump's raw column (the first 7 bytes, padded to 21 characters)."""

    def __missing__(self, raw: bytes) -> str:
        column = self[raw] = (raw[:BYTES_PER_LINE].hex(" ") + " ").ljust(RAW_COLUMN) if raw else ""
        return column
