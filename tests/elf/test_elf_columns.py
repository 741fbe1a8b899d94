"""The fast paths of the reader give the same answers as the slow ones: the lazy
section-to-segment mapping, symbol columns against Symbol objects, and the symbols' JSON text
against json.dumps — on this machine's libraries and on big-endian and 32-bit objects."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kernlab.elf.reader import open_elf
from kernlab.elf.symjson import symbols_json
from tests.conftest import need_tool

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
CROSS_C = "int counter = 7;\n__thread int per_thread;\nint get(int i) { return counter + per_thread + i; }\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[str]:
    """libc, and objects of other classes and byte orders built here with clang."""
    out = [LIBC] if Path(LIBC).exists() else []
    folder = tmp_path_factory.mktemp("columns")
    src = folder / "c.c"
    src.write_text(CROSS_C)
    for target in ("i386-linux-gnu", "powerpc64-linux-gnu", "mips-linux-gnu", "aarch64-linux-gnu"):
        obj = folder / f"{target}.o"
        built = subprocess.run(
            ["clang", f"--target={target}", "-O1", "-fPIC", "-c", str(src), "-o", str(obj)],
            capture_output=True,
        )
        if built.returncode == 0:
            out.append(str(obj))
    if not out:
        pytest.skip("no libc and clang cannot build objects here")
    return out


def test_mapping_is_computed_on_first_use_for_all_segments(files):
    for path in files:
        image = open_elf(path)
        if not image.segments:
            continue
        assert all("sections" not in seg.__dict__ for seg in image.segments), path
        first = image.segments[0].sections
        assert all("sections" in seg.__dict__ and "_fill" not in seg.__dict__ for seg in image.segments)
        assert image.segments[0].sections is first  # computed once


def test_mapping_matches_readelf_after_header_only_use():
    """Reading a segment's type and addresses first (what ldd does) leaves the mapping right."""
    need_tool("readelf")
    image = open_elf(LIBC)
    assert any(s.type == "DYNAMIC" for s in image.segments)
    text = subprocess.run(["readelf", "-lW", LIBC], capture_output=True, text=True, check=True).stdout
    mapping = text.split("Section to Segment mapping:")[1].splitlines()[2:]
    expected = [tuple(line.split()[1:]) for line in mapping[: len(image.segments)]]
    assert [seg.sections for seg in image.segments] == expected


def test_symbol_rows_match_symbol_objects(files):
    for path in files:
        image = open_elf(path)
        rows = image.symbol_rows()
        symbols = image.symbols()
        assert len(rows) == len(symbols) == sum(c.count for c in image.symbol_columns())
        assert [tuple(s.__dict__.values()) for s in symbols] == rows, path


def test_symbols_json_is_what_json_dumps_writes(files):
    for path in files:
        image = open_elf(path)
        expected = json.dumps([s.__dict__ for s in image.symbols()], ensure_ascii=False)
        assert symbols_json(image.symbol_columns()) == expected, path


def test_cli_json_is_the_same_document_above_and_below_the_compact_threshold(kernlab):
    """libc has more than 1000 symbols (compact writer); its .dynsym alone is compared to it."""
    result = kernlab("elf", "--json", LIBC)
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    image = open_elf(LIBC)
    assert doc["symbols"] == [s.__dict__ for s in image.symbols()]
    assert list(doc) == ["summary", "header", "segments", "sections", "symbols", "dynamic", "notes"]
