"""`kernlab elf` for a person: file(1)'s line, every part readelf shows, what each segment is for."""

from __future__ import annotations

from collections.abc import Sequence

from kernlab.elf.model import DynamicEntry, ElfHeader, Note, Section, Segment, Symbol
from kernlab.explain import count, text
from kernlab.explain import elf as explain
from kernlab.render import terminal as t
from kernlab.render.output import Output
from kernlab.reports.elf import ElfReport

__all__ = ["DEFAULT_SYMBOL_LIMIT", "print_compact_json", "show"]

DT_BIND_NOW = 24
# Without -s, the human view lists this many symbols per table (all of them go to --json).
DEFAULT_SYMBOL_LIMIT = 40
# Above this many rows a symbol table is printed as plain fixed-width lines.
RICH_TABLE_ROWS = 400


def print_compact_json(report: ElfReport) -> None:
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

    doc = to_jsonable(report)
    write = sys.stdout.write
    # json.dumps' own layout (", " and ": "), with the symbols array streamed at its key.
    write("{")
    for n, (key, value) in enumerate(doc.items()):
        write((", " if n else "") + json.dumps(key) + ": ")
        if key == "symbols":
            for piece in iter_symbols_json(list(report.symbol_tables)):
                write(piece)
        else:
            write(json.dumps(value, ensure_ascii=False))
    write("}\n")


def show(report: ElfReport, out: Output, *, symbol_limit: int | None = DEFAULT_SYMBOL_LIMIT) -> None:
    """The summary line, each part the report holds, and the closing sentence."""
    s = report.summary
    t.print_line(f"{s.path}: {explain.file_line(s)}")
    if report.header is not None:
        _render_header(report.header)
    if report.segments is not None:
        _render_segments(report.segments, out)
    if report.sections is not None:
        _render_sections(report.sections)
    if report.symbols is not None:
        _render_symbols(report.symbols, symbol_limit)
    if report.dynamic is not None:
        _render_dynamic(report.dynamic)
    if report.notes is not None:
        _render_notes(report.notes)
    t.print_line()
    out.sentence(explain.summary_sentence(s))


def _render_header(h: ElfHeader) -> None:
    t.print_heading(text("elf.view.elf_header"))
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


def _render_segments(segments: Sequence[Segment], out: Output) -> None:
    t.print_heading(text("elf.view.program_headers"))
    if not segments:
        t.print_line(text("elf.view.no_program_headers"))
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
        title=text("elf.view.section_to_segment"),
    )
    if not out.quiet:
        t.print_table(
            ["Nr", "Type", text("elf.view.meaning")],
            ([f"{s.index:02d}", s.type, explain.segment_meaning(s)] for s in segments),
            title=text("elf.view.segment_purpose"),
        )


def _render_sections(sections: Sequence[Section]) -> None:
    t.print_heading(text("elf.view.section_headers"))
    if not sections:
        t.print_line(text("elf.view.no_sections"))
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
    )
    # A line of its own, not a caption: rich folds a caption to the table's width.
    t.print_line(text("elf.view.flags_legend"))


def _render_symbols(symbols: Sequence[Symbol], limit: int | None) -> None:
    tables: dict[str, list[Symbol]] = {}
    for sym in symbols:
        tables.setdefault(sym.table, []).append(sym)
    if not tables:
        t.print_heading(text("elf.view.symbols"))
        t.print_line(text("elf.view.no_symbol_tables"))
    for name, syms in tables.items():
        shown = syms if limit is None else syms[:limit]
        t.print_heading(
            text("elf.view.symbol_table", name=name, entries=count("elf.view.entries", len(syms)))
        )
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
            t.print_line("  " + text("elf.view.more_symbols", n=len(syms) - len(shown)))


def _render_dynamic(entries: Sequence[DynamicEntry]) -> None:
    t.print_heading(text("elf.view.dynamic_section"))
    if not entries:
        t.print_line(text("elf.view.no_dynamic"))
        return
    t.print_table(
        ["Tag", "Value"],
        ([e.tag, _dynamic_value(e)] for e in entries),
    )


def _dynamic_value(entry: DynamicEntry) -> str:
    # As readelf -d: names and flags as words, sizes in bytes, counts in decimal, else an address.
    if entry.text is not None:
        return entry.text
    if entry.tag_value == DT_BIND_NOW:
        return ""  # its value means nothing, and readelf -d leaves it out
    if entry.tag.endswith(("SZ", "ENT")):
        return f"{entry.value} (bytes)"
    if entry.tag.endswith(("NUM", "COUNT")):
        return str(entry.value)
    return f"{entry.value:#x}"


def _render_notes(notes: Sequence[Note]) -> None:
    t.print_heading(text("elf.view.notes"))
    if not notes:
        t.print_line(text("elf.view.no_notes"))
        return
    t.print_table(
        ["Section", "Owner", "Size", "Type", "Description"],
        ([n.section or "(segment)", n.owner, f"{n.data_size:#x}", n.type, n.description] for n in notes),
    )
