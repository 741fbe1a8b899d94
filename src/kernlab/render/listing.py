"""objdump -d's listing: ``address:  raw bytes  instruction``, a function's name above it.

Shared by `kernlab disasm` and `kernlab syscall --libc` (a whole file's listing is written by
render/views/disasm.py's FileWriter with these pieces). A trap whose system-call number is known
is followed by ``→ name(2), nr N = 0xN``, and it and the instruction loading the number are
highlighted.
"""

from __future__ import annotations

from collections.abc import Collection

from kernlab.elf.disasm import Disassembly, Instruction, SyscallNote

__all__ = [
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
