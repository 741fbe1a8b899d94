"""`kernlab disasm` for a person: the file and section, objdump's listing, what it means."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import json
from collections.abc import Iterator

from kernlab.elf.disasm import SyscallNote
from kernlab.elf.disasm.whole import Block
from kernlab.explain import count, text
from kernlab.explain import disasm as explain
from kernlab.render import forked
from kernlab.render.listing import (
    BYTES_PER_LINE,
    HIGHLIGHT,
    NOTE,
    RAW_COLUMN,
    RESET,
    file_header,
    print_listing,
    print_listing_line,
    section_header,
    syscall_annotation,
)
from kernlab.render.output import Output
from kernlab.reports.disasm import DisasmReport, FileDisasmReport, FileTally

try:  # the lines in C; without a C compiler at install, in Python (the same bytes)
    from kernlab.render import _lines
except ImportError:  # pragma: no cover - depends on the build
    _lines = None  # type: ignore[assignment]

__all__ = ["FileWriter", "heading", "show", "show_file"]


def heading(report: DisasmReport) -> str:
    """``prog: x86_64, section .text, 19 bytes, AT&T syntax`` in the current language."""
    fields = {
        "path": report.path,
        "arch": report.arch,
        "section": report.section,
        "size": count("disasm.view.n.byte", report.size),
    }
    if report.syntax in ("att", "intel"):
        return text(
            "disasm.view.heading_syntax", syntax=text(f"disasm.view.syntax.{report.syntax}"), **fields
        )
    return text("disasm.view.heading", **fields)


def show(report: DisasmReport, out: Output) -> None:
    from rich.markup import escape

    print_listing_line(escape(heading(report)))
    print_listing(report)
    out.sentences(explain.sentences(report))


def show_file(report: FileDisasmReport, out: Output, jobs: int | None = None) -> None:
    """objdump -d's listing of the whole file, written block by block as it is decoded (so a
    pager shows the first page at once), then the sentences. A big file is listed by ``jobs``
    processes (default: one per idle CPU, see :func:`listing_parts`): forked children make
    the later blocks meanwhile (:mod:`kernlab.render.forked`) and write them after the ones
    before."""
    import sys

    from kernlab.render.terminal import console

    con = console()
    colour = con.is_terminal and not con.no_color and con.color_system is not None
    writer = _BlockText(report, FileWriter(report.address_bits // 4, colour))
    parts = jobs if jobs is not None else listing_parts(report)
    sys.stdout.write(file_header(report.path, report.file_format))
    with no_cycle_collection():
        if parts == 2:
            _write_two_ends(report, writer)
        else:
            _write_parts(report, parts, writer)
    sys.stdout.flush()
    out.sentences(explain.file_sentences(report))


class _BlockText:
    """A block's text: the section's header before its first block, then its lines."""

    def __init__(self, report: FileDisasmReport, lines: FileWriter) -> None:
        self.lines = lines
        self.widths = {s.name: s.address_width for s in report.sections}
        self.starts = {(s.name, s.index): s.address for s in report.sections}

    def __call__(self, block: Block) -> str:
        text = self.lines.block(block, self.widths[block.section])
        if block.address == self.starts[(block.section, block.section_index)]:
            return section_header(block.section) + text  # a section's first block is at its start
        return text


def _write_two_ends(report: FileDisasmReport, writer: _BlockText) -> None:
    """The parent lists blocks from the front, a child from the back, until they meet
    (:class:`forked.Meeting`); the child then writes its blocks after the parent's."""
    import sys

    meeting = forked.Meeting(report.job_count())

    def child_work() -> forked.Deliver:
        made: list[tuple[int, bytes, FileTally]] = []  # (number, text, tally) of each, last first
        numbers = meeting.back()
        taken: list[int] = []
        for block in report.stream(indexes=_noting(numbers, taken), counted=False):
            tally = FileTally()
            tally.count(block)
            made.append((taken[-1], forked.encoded(writer(block)), tally))

        def deliver(word: bytes) -> tuple[bytes, bytes]:
            reached = int(word)  # the parent's blocks are 0..reached-1
            mine = [m for m in reversed(made) if m[0] >= reached]
            total = FileTally()
            for _number, _text, tally in mine:
                total.add(tally)
            text = b"".join(text for _number, text, _tally in mine)
            return text, json.dumps(dataclasses.asdict(total)).encode()

        return deliver

    child = forked.start(child_work)
    write = sys.stdout.write
    try:
        if child is None:
            for block in report.stream():
                write(writer(block))
            return
        for block in report.stream(indexes=meeting.front()):
            write(writer(block))
        result = child.finish(str(meeting.reached).encode())
        if result is None:  # the child failed before writing: the rest is made here
            for block in report.stream(indexes=range(meeting.reached, meeting.count)):
                write(writer(block))
        else:
            report.tally.add(FileTally(**json.loads(result)))
    finally:
        if child is not None:
            child.cancel()


def _noting(numbers: Iterator[int], taken: list[int]) -> Iterator[int]:
    """``numbers``, each appended to ``taken`` as it is handed out."""
    for number in numbers:
        taken.append(number)
        yield number


def _write_parts(report: FileDisasmReport, parts: int, writer: _BlockText) -> None:
    """Part 0 written here as it is made, each later part (a fixed share of the bytes) by its
    child when the one before is out (or here, when the child failed or none could start)."""
    import sys

    write = sys.stdout.write

    def child_work(part: int) -> forked.Deliver:
        data = forked.encoded("".join(map(writer, report.stream(part, parts))))
        result = json.dumps(dataclasses.asdict(report.tally)).encode()
        return lambda _word: (data, result)

    children = [forked.start(functools.partial(child_work, part)) for part in range(1, parts)]
    try:
        for block in report.stream(0, parts):
            write(writer(block))
        for part, child in enumerate(children, 1):
            result = child.finish() if child is not None else None
            if result is None:  # no child, or it failed before writing: make the part here
                for block in report.stream(part, parts):
                    write(writer(block))
            else:
                report.tally.add(FileTally(**json.loads(result)))
    finally:
        for child in children:
            if child is not None:
                child.cancel()


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cycle collector off while a whole file is listed: a libc is a million acyclic
    objects (rows, texts, byte strings) made and dropped, and the collector's passes over them
    cost a tenth of the run and free nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# A part of less code than this costs a process more than it saves (about 0.1 s of listing).
PART_BYTES = 256 * 1024
MAX_PARTS = 8  # each part learns the file's instruction forms anew: more parts, more repeats


def listing_parts(report: FileDisasmReport) -> int:
    """How many processes list the file: one per idle CPU (this one's included), no more
    than parts of at least :data:`PART_BYTES`; one for blocks decoded already."""
    if report.blocks is not None:
        return 1
    return max(1, min(1 + forked.spare_cpus(), report.size // PART_BYTES, MAX_PARTS))


class FileWriter:
    """objdump -d's lines for blocks of instructions: ``   1139:\\t55  ...\\tpush   %rbp``.

    Addresses are right-aligned to the section's width, raw bytes take 7 per line (longer
    instructions continue on lines of their own), and a run of zeros is ``\\t...``. The raw
    column of a byte string is kept, since most instructions repeat; a whole libc is 358,000
    lines, so the common line is one ``%`` format in a comprehension.
    """

    def __init__(self, address_digits: int, colour: bool = False) -> None:
        self.label_digits = address_digits
        self.colour = colour
        self.columns = _Columns()

    def block(self, block: Block, width: int) -> str:
        """The block's label line and its instruction lines, as one string."""
        label = f" <{block.label}>" if block.label is not None else ""
        if _lines is not None:
            marked = block.marked if self.colour and block.marked else None
            text = _lines.block_lines(block.rows, width, marked, self._rare)
            return f"\n{block.address:0{self.label_digits}x}{label}:\n" + text
        columns = self.columns
        line = f"%{width}x:\t%s\t%s\n"
        rare = self._rare
        marked = block.marked
        # A column is None for the rare rows (a run of zeros, more than 7 bytes); a trap's
        # note and, in colour, a highlighted load are written by _rare too.
        if self.colour and marked:
            lines = [
                line % (a, c, t)
                if (c := columns[r]) is not None and n is None and a not in marked
                else rare(a, r, t, n, width, a in marked)
                for a, r, t, n in block.rows
            ]
        else:
            lines = [
                line % (a, c, t)
                if (c := columns[r]) is not None and n is None
                else rare(a, r, t, n, width, False)
                for a, r, t, n in block.rows
            ]
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
        out = f"{address:{width}x}:\t{_column(raw)}\t{text}\n"
        for at in range(BYTES_PER_LINE, len(raw), BYTES_PER_LINE):
            out += f"{address + at:{width}x}:\t{raw[at : at + BYTES_PER_LINE].hex(' ')} \n"
        return out


def _column(raw: bytes) -> str:
    """objdump's raw column: the first 7 bytes, padded to 21 characters."""
    return (raw[:BYTES_PER_LINE].hex(" ") + " ").ljust(RAW_COLUMN)


class _Columns(dict[bytes, str | None]):
    """Raw bytes -> objdump's raw column, or None for a row :meth:`FileWriter._rare` writes."""

    def __missing__(self, raw: bytes) -> str | None:
        column = self[raw] = _column(raw) if 0 < len(raw) <= BYTES_PER_LINE else None
        return column
