# ruff: noqa: E501  (golden output: lines as long as the data, as the view prints them)
"""views.elf: a report made of fixed figures, printed in-process and compared with golden text.

The view reads nothing: every figure is in the report and every sentence comes from
explain.elf, in the language in force when it prints.
"""

from __future__ import annotations

import re

from kernlab import explain
from kernlab.elf.model import DynamicEntry, ElfSummary, LoadSegment, Note, Section, Segment, Symbol
from kernlab.render.output import Output
from kernlab.render.views import elf as view
from kernlab.reports.elf import ElfReport

SUMMARY = ElfSummary(
    path="/opt/demo/prog", inner=None, elf_class="ELF64", endianness="little endian", type="DYN",
    kind="pie", machine="Advanced Micro Devices X86-64", arch="x86_64", entry=0x1040,
    interpreter="/lib64/ld-linux-x86-64.so.2", build_id="0123abcd", stripped=False, is_kernel=False,
    start_kernel=None, start_kernel_section=None, meaning="summary.with_interp", dynamically_linked=True,
    soname=None,
    loads=(LoadSegment("readonly", "R  ", 0x628, 0x628), LoadSegment("code", "R E", 0x1B5, 0x1B5),
           LoadSegment("data_bss", "RW ", 0x248, 0x2250)),
    exported_symbols=0, section_count=4, segment_count=4, symbol_count=3, note_count=0, process=None,
)  # fmt: skip


def segment(
    index,
    type_,
    offset,
    vaddr,
    filesz,
    memsz,
    flags,
    flags_value,
    align,
    sections,
    meaning,
    interp=None,
    contents=(),
    access="",
):
    return Segment(index, type_, offset, vaddr, vaddr, filesz, memsz, flags, align, sections, contents,
                   meaning, interpreter=interp, flags_value=flags_value, access=access)  # fmt: skip


SEGMENTS = (
    segment(0, "INTERP", 0x318, 0x318, 0x1C, 0x1C, "R  ", 4, 0x1, (".interp",), "segment.interp",
            "/lib64/ld-linux-x86-64.so.2"),
    segment(1, "LOAD", 0x0, 0x0, 0x628, 0x628, "R  ", 4, 0x1000, (".interp", ".dynsym"), "segment.load",
            contents=("headers", "interp", "dynsym"), access="r"),
    segment(2, "LOAD", 0x1000, 0x1000, 0x1B5, 0x1B5, "R E", 5, 0x1000, (".text",), "segment.load",
            contents=("code",), access="rx"),
    segment(3, "GNU_STACK", 0x0, 0x0, 0x0, 0x0, "RW ", 6, 0x10, (), "segment.gnu_stack", access="rw"),
)  # fmt: skip
SECTIONS = (
    Section(0, "", "NULL", 0, 0, 0, 0, "", 0, 0, 0),
    Section(1, ".interp", "PROGBITS", 0x318, 0x318, 0x1C, 0, "A", 0, 0, 1),
    Section(2, ".text", "PROGBITS", 0x1040, 0x1040, 0x175, 0, "AX", 0, 0, 16),
    Section(3, ".bss", "NOBITS", 0x4010, 0x3010, 0x2008, 0, "WA", 0, 0, 32),
)
SYMBOLS = (
    Symbol(".symtab", 1, "counter", None, False, 0x4020, 4, "OBJECT", "GLOBAL", "DEFAULT", "3", ".bss"),
    Symbol(".symtab", 2, "main", None, False, 0x1139, 42, "FUNC", "GLOBAL", "DEFAULT", "2", ".text"),
    Symbol(".dynsym", 1, "puts", "GLIBC_2.2.5", False, 0, 0, "FUNC", "GLOBAL", "DEFAULT", "UND", None, 2),
)
DYNAMIC = (
    DynamicEntry("NEEDED", 1, "Shared library: [libc.so.6]", 1),
    DynamicEntry("STRSZ", 0x8D, None, 10),
    DynamicEntry("FLAGS_1", 0x8000001, "Flags: NOW PIE", 0x6FFFFFFB),
    DynamicEntry("INIT", 0x1000, None, 12),
)
NOTES = (Note(".note.gnu.build-id", "GNU", "NT_GNU_BUILD_ID", "0123abcd", 3, 4),)

REPORT = ElfReport(SUMMARY, None, SEGMENTS, SECTIONS, SYMBOLS, DYNAMIC, NOTES)


GOLDEN = """\
/opt/demo/prog: ELF 64-bit LSB position-independent executable, Advanced Micro Devices X86-64, dynamically linked, interpreter /lib64/ld-linux-x86-64.so.2, BuildID=0123abcd, not stripped

Program headers

 Nr   Type        Offset   VirtAddr   PhysAddr   FileSiz   MemSiz   Flg    Align
 ───────────────────────────────────────────────────────────────────────────────
 00   INTERP       0x318      0x318      0x318      0x1c     0x1c   R        0x1
 01   LOAD           0x0        0x0        0x0     0x628    0x628   R     0x1000
 02   LOAD        0x1000     0x1000     0x1000     0x1b5    0x1b5   R E   0x1000
 03   GNU_STACK      0x0        0x0        0x0       0x0      0x0   RW      0x10

  [Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]
Section to segment mapping

 Nr   Type        Sections
 ────────────────────────────────
 00   INTERP      .interp
 01   LOAD        .interp .dynsym
 02   LOAD        .text
 03   GNU_STACK

What each segment is for

 Nr   Type        Meaning
 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 00   INTERP      the program interpreter: the kernel maps /lib64/ld-linux-x86-64.so.2 too and starts the program there, so it can load the shared libraries.
 01   LOAD        loaded read-only at 0x0: the ELF and program headers, the interpreter's path and dynamic symbol tables, 1.5 KiB from the file (.interp, .dynsym).
 02   LOAD        loaded readable and executable at 0x1000: code, 437 B from the file (.text).
 03   GNU_STACK   the stack is readable and writable (RW), not executable: the kernel maps the stack without PROT_EXEC.


Section headers

 Nr   Name      Type       Address    Off   Size   ES   Flg   Lk   Inf   Al
 ──────────────────────────────────────────────────────────────────────────
  0             NULL             0      0      0    0          0     0    0
  1   .interp   PROGBITS       318    318     1c    0   A      0     0    1
  2   .text     PROGBITS      1040   1040    175    0   AX     0     0   16
  3   .bss      NOBITS        4010   3010   2008    0   WA     0     0   32

Flags: W write, A alloc, X execute, M merge, S strings, I info, L link order, G group, T TLS, C compressed, E exclude, o OS, p processor specific

Symbol table .symtab (2 entries)

 Num   Value   Size   Type     Bind     Vis       Ndx   Name
 ──────────────────────────────────────────────────────────────
   1    4020      4   OBJECT   GLOBAL   DEFAULT     3   counter
   2    1139     42   FUNC     GLOBAL   DEFAULT     2   main


Symbol table .dynsym (1 entry)

 Num   Value   Size   Type   Bind     Vis       Ndx   Name
 ─────────────────────────────────────────────────────────────────────────
   1       0      0   FUNC   GLOBAL   DEFAULT   UND   puts@GLIBC_2.2.5 (2)


Dynamic section

 Tag       Value
 ─────────────────────────────────────
 NEEDED    Shared library: [libc.so.6]
 STRSZ     141 (bytes)
 FLAGS_1   Flags: NOW PIE
 INIT      0x1000


Notes

 Section              Owner   Size   Type              Description
 ─────────────────────────────────────────────────────────────────
 .note.gnu.build-id   GNU     0x4    NT_GNU_BUILD_ID   0123abcd


→ This is a position-independent executable for x86_64, loaded as 3 LOAD segments: read-only data (R, 1.5 KiB), code (R E, 437 B) and data (RW, 8.6 KiB, of which 8.0 KiB are .bss); the kernel starts it through /lib64/ld-linux-x86-64.so.2 at entry 0x1040.
"""


def test_view_prints_every_part_and_the_sentence(capsys):
    view.show(REPORT, Output())
    assert capsys.readouterr().out == GOLDEN


def test_view_quiet_leaves_out_meanings_and_sentence(capsys):
    view.show(REPORT, Output(quiet=True))
    out = capsys.readouterr().out
    assert "→" not in out and "What each segment is for" not in out
    assert "Program headers" in out and "Section headers" in out


def test_view_limits_symbols_per_table(capsys):
    view.show(REPORT, Output(), symbol_limit=1)
    out = capsys.readouterr().out
    assert "counter" in out and " main" not in out
    assert "… 1 more (kernlab elf -s lists them all)" in out


def test_view_speaks_korean_at_render_time(capsys):
    explain.set_language("ko")
    try:
        view.show(REPORT, Output())
    finally:
        explain.set_language("en")
    out = capsys.readouterr().out
    # The titles are Korean too: the table between them is the one of meanings.
    assert "What each segment is for" not in out and "Section headers" not in out
    meanings = out[out.index("세그먼트마다 하는 일") : out.index("섹션 헤더")]
    rows = [line for line in meanings.splitlines() if re.match(r" 0\d ", line)]
    assert len(rows) == len(SEGMENTS)
    assert all(re.search("[\uac00-\ud7a3]", row) for row in rows), rows
    assert re.search("[\uac00-\ud7a3]", out.splitlines()[0])  # the kind in file(1)'s line
    assert re.search("[\uac00-\ud7a3]", out[out.rindex("→") :])
