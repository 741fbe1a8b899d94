"""objdump -d's listing: ``address:  raw bytes  instruction``, a function's name above it.

Shared by `kernlab disasm` and `kernlab syscall --libc`. A trap whose system-call number is known
is followed by ``→ name(2), nr N = 0xN``, and it and the instruction loading the number are
highlighted.
"""

from __future__ import annotations

from collections.abc import Collection

from kernlab.elf.disasm import Disassembly, Instruction

__all__ = ["instruction_line", "print_listing", "print_listing_line"]


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
