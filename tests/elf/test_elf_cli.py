"""`kernlab elf` as a user runs it: parts chosen with readelf's flags, one JSON document,
and a closing sentence computed from the file (checked against readelf's figures)."""

from __future__ import annotations

import re
import subprocess

import pytest

from kernlab.explain import elf as explain
from kernlab.reports import elf as reports
from tests.conftest import need_tool, run_kernlab

PARTS = ("header", "segments", "sections", "symbols", "dynamic", "notes")


@pytest.fixture(scope="module")
def pie(tmp_path_factory):
    need_tool("gcc")
    from tests.conftest import PROGRAMS, compile_c

    return compile_c(
        PROGRAMS / "elf_tls.c", tmp_path_factory.mktemp("elf_cli") / "elf_tls_pie", ["-O1", "-pie"]
    )


def readelf_text(*args: str) -> str:
    need_tool("readelf")
    return subprocess.run(["readelf", *args], capture_output=True, text=True, check=True).stdout


def test_json_is_one_document_with_every_part(pie):
    result = run_kernlab("elf", "--json", str(pie))
    assert result.code == 0, result.stderr
    doc = result.json()
    assert set(doc) == {"summary", *PARTS}
    assert all(doc[p] is not None for p in PARTS)
    for seg in doc["segments"]:
        for key in ("offset", "vaddr", "paddr", "filesz", "memsz", "align"):
            assert isinstance(seg[key], int)
        assert isinstance(seg["sections"], list) and seg["meaning"]
    assert isinstance(doc["header"]["entry"], int)
    assert all(isinstance(s["value"], int) for s in doc["symbols"])


@pytest.mark.parametrize(
    "flag, part",
    [("-h", "header"), ("-l", "segments"), ("-S", "sections"), ("-s", "symbols"), ("-d", "dynamic")],
)
def test_each_flag_alone(pie, flag, part):
    result = run_kernlab("elf", flag, "--json", str(pie))
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc[part] is not None
    assert all(doc[p] is None for p in PARTS if p != part)


def test_notes_flag_matches_readelf(pie):
    doc = run_kernlab("elf", "-n", "--json", str(pie)).json()
    text = readelf_text("-nW", str(pie))
    build_ids = re.findall(r"Build ID: ([0-9a-f]+)", text)
    ours = [n["description"] for n in doc["notes"] if n["type"] == "NT_GNU_BUILD_ID"]
    assert ours == build_ids
    assert doc["summary"]["build_id"] == (build_ids[0] if build_ids else None)


def test_summary_sentence_is_computed_from_the_file(pie):
    doc = run_kernlab("elf", "--json", str(pie)).json()
    text = readelf_text("-hlW", str(pie))
    entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)", text)[1], 16)
    interp = re.search(r"Requesting program interpreter: ([^\]]+)\]", text)[1]
    loads = re.findall(r"^\s+LOAD\s", text, re.M)
    summary = doc["summary"]
    assert summary["entry"] == entry
    assert summary["interpreter"] == interp
    assert len(summary["loads"]) == len(loads)
    # JSON carries the keys; the sentence is made from the same report by explain.elf.
    sentence = explain.summary_sentence(reports.build(pie).summary)
    assert f"{entry:#x}" in sentence
    assert interp in sentence
    assert f"{len(loads)} LOAD segments" in sentence
    assert summary["kind"] == "pie" and summary["meaning"] == "summary.with_interp"
    assert explain.kind_words(reports.build(pie).summary) == "position-independent executable"
    assert summary["stripped"] is False
    # .bss is the part of the RW LOAD beyond its file size: the sentence gives it.
    rw = [s for s in doc["segments"] if s["type"] == "LOAD" and "W" in s["flags"]]
    assert any(s["memsz"] > s["filesz"] for s in rw)
    assert "are .bss" in sentence


def test_static_and_object_sentences(tmp_path):
    need_tool("gcc")
    from tests.conftest import PROGRAMS, compile_c

    static = compile_c(PROGRAMS / "elf_tls.c", tmp_path / "static", ["-O1", "-static"])
    doc = run_kernlab("elf", "--json", str(static)).json()
    assert doc["summary"]["interpreter"] is None
    assert "no interpreter" in explain.summary_sentence(reports.build(static).summary)
    obj = compile_c(PROGRAMS / "elf_tls.c", tmp_path / "obj.o", ["-O1", "-c"])
    doc = run_kernlab("elf", "--json", str(obj)).json()
    nsec = int(re.search(r"Number of section headers:\s+(\d+)", readelf_text("-h", str(obj)))[1])
    assert doc["summary"]["kind"] == "rel"
    assert doc["summary"]["section_count"] == nsec
    assert f"{nsec} sections" in explain.summary_sentence(reports.build(obj).summary)
    assert doc["segments"] == []


def test_human_output_has_every_part_and_ends_with_the_sentence(pie):
    result = run_kernlab("elf", str(pie), env={"COLUMNS": "200"})
    assert result.code == 0, result.stderr
    out = result.stdout
    for heading in (
        "ELF header",
        "Program headers",
        "Section headers",
        "Symbol table",
        "Dynamic section",
        "Notes",
    ):
        assert heading in out
    assert out.splitlines()[0].startswith(f"{pie}: ELF 64-bit LSB position-independent executable")
    # The sentence (possibly wrapped over several lines) is the last thing printed.
    tail = out[out.rfind("→") :]
    assert tail.startswith("→ This is a position-independent executable")
    assert tail.rstrip().endswith(".")
    quiet = run_kernlab("elf", "-q", str(pie), env={"COLUMNS": "200"})
    assert "→" not in quiet.stdout


def test_help_ends_with_examples():
    result = run_kernlab("elf", "--help")
    assert result.code == 0
    assert "kernlab elf" in result.stdout[result.stdout.rfind("Examples:") :]
