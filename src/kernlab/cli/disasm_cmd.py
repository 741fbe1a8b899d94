"""`kernlab disasm FILE [SYMBOL]`: machine code, objdump -d style."""

from __future__ import annotations

import click

from kernlab.cli.common import ADDRESS, Output, examples, output_options


@click.command(
    "disasm",
    epilog=examples(
        "kernlab disasm ./a.out | less                           every code section, like objdump -d",
        "kernlab disasm ./a.out --section .plt                   one section",
        "kernlab disasm /lib/x86_64-linux-gnu/libc.so.6 rename    mov $0x52,%eax; syscall",
        "kernlab disasm ./a.out main                             call 1030 <puts@plt>",
        "kernlab disasm ./a.out puts@plt                         the PLT entry itself",
        "kernlab disasm ./a.out --address 0x1139 --length 16     raw bytes at an address",
        "kernlab disasm ./a.out main --intel                     Intel syntax",
        "kernlab disasm /boot/vmlinuz-$(uname -r) start_kernel   a kernel image, named by its own symbols",
        "kernlab disasm /boot/vmlinuz-6.1.0-57-amd64 --section .init.text | less",
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
@click.option("--section", "-j", default=None, help="List only this section (without SYMBOL or --address).")
@click.option("--intel", is_flag=True, help="Intel syntax instead of AT&T (x86 only).")
@click.option(
    "--system-map",
    default=None,
    type=click.Path(dir_okay=False),
    help="Names for a stripped kernel image (default: System.map-RELEASE beside it if real, "
    "else the kallsyms tables inside the image).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="Processes listing a whole file side by side (default: one per idle CPU for a big file; "
    "1: this one only).",
)
@output_options
def disasm(
    file: str,
    symbol: str | None,
    address: int | None,
    length: int | None,
    section: str | None,
    intel: bool,
    system_map: str | None,
    jobs: int | None,
    out: Output,
) -> None:
    """Disassemble the ELF FILE like objdump -d: every executable section (or --section NAME),
    or one SYMBOL, or --address ADDR [--length N]. Address, raw bytes, instruction, call/jump
    targets named (<puts@plt>), RIP-relative references resolved, and system calls named where
    the number is loaded before the trap."""
    import functools

    from kernlab.errors import BadInput
    from kernlab.render.views import disasm as view
    from kernlab.reports import disasm as reports

    syntax = "intel" if intel else "att"
    if symbol is None and address is None:
        if length is not None:
            raise BadInput("--length goes with --address", key="errors.cli.length_with_address")
        report = reports.build_file(file, section, syntax=syntax, whole=out.json, system_map=system_map)
        try:
            out.emit(report, functools.partial(view.show_file, jobs=jobs))
        except BrokenPipeError:
            # The reader went away (`| head`, `q` in less): not an error. click would turn it
            # into exit status 1; point stdout at /dev/null so the final flush succeeds.
            import os
            import sys

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return
    if section is not None:
        raise BadInput(
            "--section lists a whole section: give it without SYMBOL or --address",
            key="errors.cli.section_alone",
        )
    if jobs is not None:
        raise BadInput(
            "--jobs lists a whole file in parts: give it without SYMBOL or --address",
            key="errors.cli.jobs_alone",
        )
    from kernlab.render.progress import progress

    with progress(f"Disassembling {symbol or hex(address or 0)}"):
        one = reports.build(
            file, symbol, address=address, length=length, syntax=syntax, system_map=system_map
        )
    out.emit(one, view.show)
