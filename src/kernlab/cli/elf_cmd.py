"""`kernlab elf FILE`: what an ELF file is, readelf-style, with what each part means."""

from __future__ import annotations

from typing import Any

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
# Without -s, the human view lists this many symbols per table (all of them go to --json).
DEFAULT_SYMBOL_LIMIT = 40
# Above this many symbols --json is written compactly (see _print_compact_json).
COMPACT_JSON_SYMBOLS = 1000
# Above this many rows a symbol table is printed as plain fixed-width lines.
RICH_TABLE_ROWS = 400


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
    from kernlab.elf.reader import REPORT_PARTS, open_elf, report
    from kernlab.render.progress import progress

    parts = frozenset(part for flag, part in PART_FLAGS if flags.get(flag)) or frozenset(REPORT_PARTS)
    # Decompressing a kernel image or decoding 100k symbols takes seconds: show that work goes on.
    with progress(f"reading {file}"):
        image = open_elf(file)
        # A large symbol table goes to JSON straight from its rows, without Symbol objects.
        nsym = sum(table.count for table in image.symbol_columns())
        compact = out.json and "symbols" in parts and nsym > COMPACT_JSON_SYMBOLS
        result = report(image, parts - {"symbols"} if compact else parts)
    if compact:
        _print_compact_json(result, image.symbol_columns())
        return
    symbol_limit = None if flags.get("symbols") else DEFAULT_SYMBOL_LIMIT
    out.emit(result, lambda r, o: _render(r, o, symbol_limit))


def _print_compact_json(result: Any, symbol_tables: list[Any]) -> None:
    """The same document as out.emit's, without indentation, symbols written from columns.

    print_json indents on a terminal, and indenting makes json use its pure-Python encoder
    (~1 µs a value); even json's C encoder spends 0.4 s on libjvm.so's 58k symbol dicts,
    after 0.3 s of building Symbol objects. iter_symbols_json formats the symbol tables'
    columns into the text json.dumps would write for them, in pieces written as they come.
    """
    import json
    import sys

    from kernlab.elf.symjson import iter_symbols_json
    from kernlab.render.jsonout import to_jsonable

    doc = to_jsonable(result)
    write = sys.stdout.write
    # json.dumps' own layout (", " and ": "), with the symbols array streamed at its key.
    write("{")
    for n, (key, value) in enumerate(doc.items()):
        write((", " if n else "") + json.dumps(key) + ": ")
        if key == "symbols":
            for piece in iter_symbols_json(symbol_tables):
                write(piece)
        else:
            write(json.dumps(value, ensure_ascii=False))
    write("}\n")


def _render(result: Any, out: Output, symbol_limit: int | None) -> None:
    from kernlab.render import terminal as t

    s = result.summary
    t.print_line(f"{s.path}: {s.line}")
    if result.header is not None:
        _render_header(result.header)
    if result.segments is not None:
        _render_segments(result.segments, out)
    if result.sections is not None:
        _render_sections(result.sections)
    if result.symbols is not None:
        _render_symbols(result.symbols, symbol_limit)
    if result.dynamic is not None:
        _render_dynamic(result.dynamic)
    if result.notes is not None:
        _render_notes(result.notes)
    t.print_line()
    out.sentence(s.sentence)


def _render_header(h: Any) -> None:
    from kernlab.render import terminal as t

    t.print_heading("ELF header")
    type_text = f"{h.type} ({h.type_description})" if h.type_description else h.type
    flags = f"{h.flags:#x}, {h.flags_text}" if h.flags_text else f"{h.flags:#x}"
    t.print_fields(
        [
            ("Magic", " ".join(f"{b:02x}" for b in h.magic)),
            ("Class", h.elf_class),
            ("Data", h.data_readelf),
            ("Version", f"{h.ident_version}{' (current)' if h.ident_version == 1 else ''}"),
            ("OS/ABI", h.os_abi),
            ("ABI Version", h.abi_version),
            ("Type", type_text),
            ("Machine", h.machine),
            ("Version", f"{h.version:#x}"),
            ("Entry point address", f"{h.entry:#x}"),
            ("Start of program headers", f"{h.phoff} (bytes into file)"),
            ("Start of section headers", f"{h.shoff} (bytes into file)"),
            ("Flags", flags),
            ("Size of this header", f"{h.ehsize} (bytes)"),
            ("Size of program headers", f"{h.phentsize} (bytes)"),
            ("Number of program headers", h.phnum),
            ("Size of section headers", f"{h.shentsize} (bytes)"),
            ("Number of section headers", h.shnum),
            ("Section header string table index", h.shstrndx),
        ]
    )


def _render_segments(segments: list[Any], out: Output) -> None:
    from kernlab.render import terminal as t

    t.print_heading("Program headers")
    if not segments:
        t.print_line("There are no program headers in this file.")
        return
    t.print_table(
        ["Nr", "Type", "Offset", "VirtAddr", "PhysAddr", "FileSiz", "MemSiz", "Flg", "Align"],
        (
            [
                f"{s.index:02d}",
                s.type,
                f"{s.offset:#x}",
                f"{s.vaddr:#x}",
                f"{s.paddr:#x}",
                f"{s.filesz:#x}",
                f"{s.memsz:#x}",
                s.flags,
                f"{s.align:#x}",
            ]
            for s in segments
        ),
        right=("Offset", "VirtAddr", "PhysAddr", "FileSiz", "MemSiz", "Align"),
    )
    for s in segments:
        if s.interpreter:
            t.print_line(f"  [Requesting program interpreter: {s.interpreter}]")
    t.print_table(
        ["Nr", "Type", "Sections"],
        ([f"{s.index:02d}", s.type, " ".join(s.sections)] for s in segments),
        title="Section to segment mapping",
    )
    if not out.quiet:
        t.print_table(
            ["Nr", "Type", "Meaning"],
            ([f"{s.index:02d}", s.type, s.meaning] for s in segments),
            title="What each segment is for",
        )


def _render_sections(sections: list[Any]) -> None:
    from kernlab.render import terminal as t

    t.print_heading("Section headers")
    if not sections:
        t.print_line("There are no sections in this file.")
        return
    t.print_table(
        ["Nr", "Name", "Type", "Address", "Off", "Size", "ES", "Flg", "Lk", "Inf", "Al"],
        (
            [
                s.index,
                s.name,
                s.type,
                f"{s.address:x}",
                f"{s.offset:x}",
                f"{s.size:x}",
                f"{s.entsize:x}",
                s.flags,
                s.link,
                s.info,
                s.align,
            ]
            for s in sections
        ),
        right=("Nr", "Address", "Off", "Size", "ES", "Lk", "Inf", "Al"),
        caption="Flags: W write, A alloc, X execute, M merge, S strings, I info, L link order, "
        "G group, T TLS, C compressed, E exclude, o OS, p processor specific",
    )


def _render_symbols(symbols: list[Any], limit: int | None) -> None:
    from kernlab.render import terminal as t

    tables: dict[str, list[Any]] = {}
    for sym in symbols:
        tables.setdefault(sym.table, []).append(sym)
    if not tables:
        t.print_heading("Symbols")
        t.print_line("There are no symbol tables in this file.")
    for name, syms in tables.items():
        shown = syms if limit is None else syms[:limit]
        t.print_heading(f"Symbol table {name} ({len(syms)} entries)")
        if len(shown) > RICH_TABLE_ROWS:
            # A rich table measures every cell (~1 ms a row); 60k symbols would take a minute.
            # Fixed-width lines, as readelf prints them, go out in one call.
            width = max(len(f"{s.value:x}") for s in shown)
            head = f"{'Num':>7}  {'Value':>{width}} {'Size':>6} {'Type':<7} {'Bind':<6} {'Vis':<9} {'Ndx':>4}"
            head += " Name"
            rows = (
                f"{s.index:>7}: {s.value:0{width}x} {s.size:>6} {s.type:<7} {s.bind:<6} {s.visibility:<9} "
                f"{s.shndx:>4} {s.display_name}"
                for s in shown
            )
            # wrap=False: long names run on instead of being folded (folding costs 20 s here).
            t.print_line("\n".join([head, *rows]), wrap=False)
        else:
            t.print_table(
                ["Num", "Value", "Size", "Type", "Bind", "Vis", "Ndx", "Name"],
                (
                    [s.index, f"{s.value:x}", s.size, s.type, s.bind, s.visibility, s.shndx, s.display_name]
                    for s in shown
                ),
                right=("Num", "Value", "Size", "Ndx"),
            )
        if len(shown) < len(syms):
            t.print_line(f"  … {len(syms) - len(shown)} more (kernlab elf -s lists them all)")


def _render_dynamic(entries: list[Any]) -> None:
    from kernlab.render import terminal as t

    t.print_heading("Dynamic section")
    if not entries:
        t.print_line("There is no dynamic section in this file.")
        return
    t.print_table(
        ["Tag", "Value"],
        ([e.tag, _dynamic_value(e)] for e in entries),
    )


def _dynamic_value(entry: Any) -> str:
    # As readelf -d: names and flags as words, sizes in bytes, counts in decimal, else an address.
    if entry.text is not None:
        return entry.text
    if entry.tag.endswith(("SZ", "ENT")):
        return f"{entry.value} (bytes)"
    if entry.tag.endswith(("NUM", "COUNT")):
        return str(entry.value)
    return f"{entry.value:#x}"


def _render_notes(notes: list[Any]) -> None:
    from kernlab.render import terminal as t

    t.print_heading("Notes")
    if not notes:
        t.print_line("There are no notes in this file.")
        return
    t.print_table(
        ["Section", "Owner", "Size", "Type", "Description"],
        ([n.section or "(segment)", n.owner, f"{n.data_size:#x}", n.type, n.description] for n in notes),
    )
