"""`kernlab disasm FILE SYMBOL`: a function's machine code, objdump -d style."""

from __future__ import annotations

import click

from kernlab.cli.common import ADDRESS, Output, examples, output_options


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
    from kernlab.render.progress import progress
    from kernlab.render.views import disasm as view
    from kernlab.reports import disasm as reports

    with progress(f"Disassembling {symbol or hex(address or 0)}"):
        report = reports.build(
            file, symbol, address=address, length=length, syntax="intel" if intel else "att"
        )
    out.emit(report, view.show)
