"""Piped into a file or `| cat`, `kernlab elf -l/-S` and `kernlab ldd` never split a token.

Off a terminal every line is as long as its data (as readelf and ldd print), even with
COLUMNS=80 in the environment: each segment's row, each section's row and each library's row
stays on one line, and no word is cut at column 80.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import need_tool, run_kernlab
from tests.elf.test_ldd_resolve import real_ldd

TARGET = "/bin/mv" if os.path.exists("/bin/mv") else "/bin/ls"
NARROW = {"COLUMNS": "80", "LINES": "24"}


def _readelf(*args: str) -> str:
    return subprocess.run([need_tool("readelf"), *args], capture_output=True, text=True, check=True).stdout


def _piped(*args: str) -> list[str]:
    result = run_kernlab(*args, env=NARROW)
    assert result.code == 0, result.stderr
    return result.stdout.splitlines()


def _row_with(lines: list[str], *tokens: str) -> str | None:
    """The line holding every token as a whole word, in order."""
    pattern = r"(?<!\S)" + r"\s+".join(re.escape(t) for t in tokens) + r"(?!\S)"
    return next((line for line in lines if re.search(pattern, line)), None)


def test_segments_rows_and_meanings_stay_whole():
    from kernlab.explain.elf import segment_meaning
    from kernlab.reports.elf import build

    lines = _piped("elf", TARGET, "-l")
    header = next(line for line in lines if line.split()[:2] == ["Nr", "Type"])
    assert header.split() == [
        "Nr",
        "Type",
        "Offset",
        "VirtAddr",
        "PhysAddr",
        "FileSiz",
        "MemSiz",
        "Flg",
        "Align",
    ]
    rows = re.findall(
        r"^\s+(\S+)\s+" + " ".join(["0x([0-9a-f]+)"] * 5),
        _readelf("-lW", TARGET),
        re.M,
    )
    assert rows
    for n, (kind, offset, vaddr, paddr, filesz, memsz) in enumerate(rows):
        numbers = [f"{int(v, 16):#x}" for v in (offset, vaddr, paddr, filesz, memsz)]
        assert _row_with(lines, f"{n:02d}", kind, *numbers), (kind, numbers)
    # Each meaning is a sentence longer than 80 columns for most segments: one line each.
    report = build(TARGET, {"segments"})
    for seg in report.segments or ():
        assert _row_with(lines, f"{seg.index:02d}", seg.type) is not None
        assert any(line.endswith(segment_meaning(seg)) for line in lines), seg.type
    assert max(len(line) for line in lines) > 80


def test_section_rows_stay_whole():
    lines = _piped("elf", TARGET, "-S")
    sections = re.findall(
        r"^\s+\[\s*(\d+)\]\s+(\S+)\s+([A-Z_0-9]+)\s+([0-9a-f]+)", _readelf("-SW", TARGET), re.M
    )
    assert sections
    for index, name, kind, address in sections[1:]:  # section 0 has no name
        assert _row_with(lines, index, name, kind, f"{int(address, 16):x}"), name
    legend = next(line for line in lines if line.startswith("Flags:"))
    assert legend.endswith("p processor specific")


def test_ldd_rows_and_sentence_stay_whole():
    lines = _piped("ldd", TARGET)
    libraries = [ln.split(" => ") for ln in real_ldd(TARGET) if " => " in ln]
    assert libraries
    for name, path in libraries:
        row = _row_with(lines, name)
        assert row is not None and os.path.realpath(row.split()[1]) == path, name
    sentence = [line for line in lines if line.startswith("→")]
    assert len(sentence) == 1 and sentence[0].endswith(".")
    assert lines[-1] == sentence[0]


@pytest.mark.parametrize("flag", ["--tree", "--ldd-style"])
def test_ldd_tree_and_ldd_style_keep_paths_whole(flag):
    lines = _piped("ldd", flag, TARGET)
    for name, path in (ln.split(" => ") for ln in real_ldd(TARGET) if " => " in ln):
        row = next((line for line in lines if f"{name} => " in line), None)
        assert row is not None, name
        assert os.path.realpath(row.split(" => ")[1].split()[0]) == path
