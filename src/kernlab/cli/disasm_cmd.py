"""`kernlab disasm FILE SYMBOL`: a function's machine code, objdump -d style."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kernlab.cli.common import ADDRESS, Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.elf.disasm import Disassembly, Instruction


@click.command(
    "disasm",
    epilog=examples(
        "kernlab disasm /lib/x86_64-linux-gnu/libc.so.6 rename    mov $0x52,%eax; syscall",
        "kernlab disasm ./a.out main                             call 1030 <puts@plt>",
        "kernlab disasm ./a.out puts@plt                         the PLT entry itself",
        "kernlab disasm ./a.out --address 0x1139 --length 16     raw bytes at an address",
        "kernlab disasm ./a.out main --intel                     Intel syntax",
    ),
)
@click.argument("file", type=click.Path(dir_okay=True))
@click.argument("symbol", required=False)
@click.option("--address", "-a", type=ADDRESS, default=None, help="Start here instead of at a symbol.")
@click.option(
    "--length",
    "-n",
    type=click.IntRange(min=1),
    default=None,
    help="Bytes to disassemble from --address (default: to the next symbol).",
)
@click.option("--intel", is_flag=True, help="Intel syntax instead of AT&T (x86 only).")
@output_options
def disasm(
    file: str, symbol: str | None, address: int | None, length: int | None, intel: bool, out: Output
) -> None:
    """Disassemble SYMBOL of the ELF FILE (or --address ADDR [--length N]) like objdump -d:
    address, raw bytes, instruction, call/jump targets named (<puts@plt>), RIP-relative
    references resolved, and system calls named where the number is loaded before the trap."""
    from kernlab.elf.disasm import disassemble_function, disassemble_range
    from kernlab.errors import BadInput

    if symbol is None and address is None:
        raise BadInput("give a SYMBOL or --address ADDR")
    if symbol is not None and address is not None:
        raise BadInput("give either a SYMBOL or --address, not both")
    if length is not None and address is None:
        raise BadInput("--length goes with --address")
    from kernlab.render.progress import progress

    syntax = "intel" if intel else "att"
    with progress(f"Disassembling {symbol or hex(address or 0)}"):
        if symbol is not None:
            result = disassemble_function(file, symbol, syntax)
        else:
            assert address is not None
            result = disassemble_range(file, address, length, syntax)
    out.emit(result, render_disassembly)


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


def _print(text: str) -> None:
    from kernlab.render.terminal import console

    # Long lines (a comment naming a symbol) stay whole, as objdump prints them.
    console().print(text, soft_wrap=True)


def render_listing(dis: Disassembly, highlight: set[int] | None = None) -> None:
    from rich.markup import escape

    name = f" <{escape(dis.function)}>" if dis.function else ""
    width = dis.address_bits // 4
    _print(f"[bold]{dis.start:0{width}x}{name}:[/bold]")
    marked = set(highlight or ())
    for ins in dis.instructions:
        if ins.syscall is not None:
            marked |= {ins.address, ins.syscall.loaded_at}
    for ins in dis.instructions:
        _print(instruction_line(ins, ins.address in marked))


def render_disassembly(dis: Disassembly, out: Output) -> None:
    from rich.markup import escape

    from kernlab.catalog import say

    syntax = {"att": "AT&T syntax", "intel": "Intel syntax"}.get(dis.syntax, "")
    _print(
        escape(f"{dis.path}: {dis.arch}, section {dis.section}, {dis.size} bytes")
        + (f", {syntax}" if syntax else "")
    )
    render_listing(dis)
    what = dis.function or f"{dis.start:#x}"
    calls = sorted({i.target_name for i in dis.instructions if i.target_name and _is_call(i)})
    out.sentence(
        say("disasm.summary", count=len(dis.instructions), size=dis.size, what=what, calls=len(calls))
    )
    if calls:
        shown = ", ".join(calls[:6]) + (" …" if len(calls) > 6 else "")
        out.sentence(say("disasm.calls", names=shown))
    seen: dict[int, int] = {}
    for note in dis.syscalls:
        seen[note.number] = seen.get(note.number, 0) + 1
    for note in {n.number: n for n in dis.syscalls}.values():
        count = seen[note.number]
        out.sentence(
            say(
                "disasm.syscall",
                name=note.name or "an unknown call",
                number=note.number,
                hex=f"{note.number:#x}",
                arch=note.arch,
                times=say("disasm.once") if count == 1 else say("disasm.places", count=count),
            )
        )
    if not dis.syscalls:
        out.sentence(say("disasm.no_syscall"))


def _is_call(ins: Instruction) -> bool:
    return ins.mnemonic.split()[-1] in ("call", "bl", "blr", "jal")
