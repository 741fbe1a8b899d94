"""reports.elf: what `kernlab elf` shows, built from real files and checked against readelf.

The report carries keys and numbers only; the sentences are made from it by explain.elf in the
language in force when they are asked for, even for an image opened in another language.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kernlab import explain
from kernlab.catalog import has
from kernlab.elf.reader import open_elf
from kernlab.explain import elf as explain_elf
from kernlab.render.jsonout import to_jsonable
from kernlab.reports import elf as reports
from tests.conftest import PROGRAMS, compile_c, need_tool

HANGUL = re.compile("[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def pie(tmp_path_factory) -> Path:
    need_tool("gcc")
    return compile_c(PROGRAMS / "elf_tls.c", tmp_path_factory.mktemp("rep_elf") / "pie", ["-O1", "-pie"])


def _readelf(*args: str) -> str:
    return subprocess.run([need_tool("readelf"), *args], capture_output=True, text=True, check=True).stdout


def test_summary_figures_equal_readelf(pie):
    report = reports.build(pie)
    s = report.summary
    header = _readelf("-hlSW", str(pie))
    assert s.entry == int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)", header)[1], 16)
    assert s.interpreter == re.search(r"Requesting program interpreter: ([^\]]+)\]", header)[1]
    loads = re.findall(r"^\s+LOAD\s+\S+\s+\S+\s+\S+\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(.{3})", header, re.M)
    assert [(load.filesz, load.memsz, load.flags) for load in s.loads] == [
        (int(f, 16), int(m, 16), flags) for f, m, flags in loads
    ]
    assert s.section_count == int(re.search(r"Number of section headers:\s+(\d+)", header)[1])
    assert s.segment_count == int(re.search(r"Number of program headers:\s+(\d+)", header)[1])
    assert (s.kind, s.meaning, s.dynamically_linked) == ("pie", "summary.with_interp", True)
    # The bss of the writable LOAD is what makes it "data_bss".
    assert [load.kind for load in s.loads if "W" in load.flags] == ["data_bss"]


def test_every_key_in_the_report_is_in_the_catalog(pie):
    for path in (pie, Path("/bin/mv")):
        report = reports.build(path)
        assert has(f"elf.{report.summary.meaning}") and has(f"elf.kind.{report.summary.kind}")
        for seg in report.segments or ():
            assert has(f"elf.{seg.meaning}"), seg
        for load in report.summary.loads:
            assert has(f"elf.load.{load.kind}")


def test_parts_not_asked_for_are_none_and_big_symbol_tables_stay_columns(pie):
    only = reports.build(pie, {"segments"})
    assert only.segments is not None and only.header is only.sections is only.symbols is None
    columns = reports.build(pie, {"symbols"}, columns_above=0)
    assert columns.symbols is None and sum(t.count for t in columns.symbol_tables) > 0
    objects = reports.build(pie, {"symbols"})
    assert objects.symbols is not None and len(objects.symbols) == sum(t.count for t in columns.symbol_tables)


def test_json_of_the_report_is_the_same_in_every_language(pie):
    english = to_jsonable(reports.build(pie))
    explain.set_language("ko")
    try:
        korean = to_jsonable(reports.build(pie))
    finally:
        explain.set_language("en")
    assert english == korean
    assert not HANGUL.search(repr(korean))


def test_sentences_follow_the_language_set_after_the_file_was_opened(pie):
    image = open_elf(pie)
    report = reports.from_image(image)
    # Read everything once in English first, as a long-lived program would.
    english = [explain_elf.segment_meaning(seg) for seg in report.segments or ()]
    assert english and not any(HANGUL.search(text) for text in english)
    explain.set_language("ko")
    try:
        korean = [explain_elf.segment_meaning(seg) for seg in reports.from_image(image).segments or ()]
        sentence = explain_elf.summary_sentence(report.summary)
        line = explain_elf.file_line(report.summary)
    finally:
        explain.set_language("en")
    assert all(HANGUL.search(text) for text in korean), korean
    assert HANGUL.search(sentence) and HANGUL.search(line)
