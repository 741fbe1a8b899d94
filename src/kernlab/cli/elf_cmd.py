"""`kernlab elf FILE`: what an ELF file is, readelf-style, with what each part means."""

from __future__ import annotations

import click

from kernlab.cli.common import Output, examples, output_options

PART_FLAGS = (
    ("file_header", "header"),
    ("program_headers", "segments"),
    ("section_headers", "sections"),
    ("symbols", "symbols"),
    ("dynamic", "dynamic"),
    ("notes", "notes"),
)
# Above this many symbols --json is written compactly (see views.elf.print_compact_json).
COMPACT_JSON_SYMBOLS = 1000


@click.command(
    "elf",
    epilog=examples(
        "kernlab elf /bin/ls                  summary, then every part, with meanings",
        "kernlab elf -l /bin/ls               program headers and the section-to-segment mapping",
        "kernlab elf -S -s prog.o             sections and symbols of an object file",
        "kernlab elf -d -n /lib/x86_64-linux-gnu/libc.so.6   dynamic section and notes",
        "kernlab elf /boot/vmlinuz-$(uname -r)   the vmlinux inside a compressed kernel image",
        "kernlab elf --json /bin/true         everything as one JSON document",
    ),
    # -h means --file-header here, as it does for readelf.
    context_settings={"help_option_names": ["--help"]},
)
# A plain string: open_elf checks the file itself and says exactly what is wrong.
@click.argument("file", metavar="FILE")
@click.option("-h", "--file-header", is_flag=True, help="The ELF header (readelf -h).")
@click.option("-l", "--program-headers", "--segments", is_flag=True, help="Program headers (readelf -l).")
@click.option("-S", "--section-headers", "--sections", is_flag=True, help="Section headers (readelf -S).")
@click.option(
    "-s", "--symbols", "--syms", is_flag=True, help="Every symbol of .symtab and .dynsym (readelf -s)."
)
@click.option("-d", "--dynamic", is_flag=True, help="The dynamic section (readelf -d).")
@click.option("-n", "--notes", is_flag=True, help="Notes: build-id, ABI tag, properties (readelf -n).")
@output_options
def elf(file: str, out: Output, **flags: bool) -> None:
    """What an executable is: headers, segments, sections, symbols, dynamic section, notes.

    A one-line summary first, then every part (or only those asked for with readelf's
    flags). Compressed kernel images (bzImage, vmlinuz) are opened by finding and
    decompressing the vmlinux inside.
    """
    from kernlab.render.progress import progress
    from kernlab.render.views import elf as view
    from kernlab.reports import elf as reports

    parts = frozenset(part for flag, part in PART_FLAGS if flags.get(flag)) or frozenset(reports.REPORT_PARTS)
    # Decompressing a kernel image or decoding 100k symbols takes seconds: show that work goes on.
    with progress(f"reading {file}"):
        # A large symbol table goes to JSON straight from its rows, without Symbol objects.
        report = reports.build(file, parts, columns_above=COMPACT_JSON_SYMBOLS if out.json else None)
    if report.symbol_tables:
        view.print_compact_json(report)
        return
    symbol_limit = None if flags.get("symbols") else view.DEFAULT_SYMBOL_LIMIT
    out.emit(report, lambda r, o: view.show(r, o, symbol_limit=symbol_limit))
