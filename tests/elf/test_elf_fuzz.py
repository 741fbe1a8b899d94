"""Mutated ELF files (bit flips, truncations, overwritten header fields) through every accessor
of the reader: the only exception allowed out is BadInput."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernlab.elf.reader import open_elf
from kernlab.errors import BadInput
from kernlab.explain import elf as explain
from kernlab.render.jsonout import to_jsonable
from kernlab.reports.elf import from_image
from tests.conftest import PROGRAMS, compile_c

# Offsets of ELF64 header fields and their sizes: (offset, size).
HEADER_FIELDS = [(4, 1), (5, 1), (7, 1), (16, 2), (18, 2), (24, 8), (32, 8), (40, 8), (52, 2)]
HEADER_FIELDS += [(54, 2), (56, 2), (58, 2), (60, 2), (62, 2)]
INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0xFFFF, 0xFFFFFFFF, 1 << 63, (1 << 64) - 1]


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> tuple[bytes, Path]:
    folder = tmp_path_factory.mktemp("elf_fuzz")
    exe = compile_c(PROGRAMS / "elf_tls.c", folder / "seed", ["-O1", "-s"])
    return exe.read_bytes(), folder


def brute_force_mapping(image) -> list[tuple[str, ...]]:
    """Every section tested against every segment, as readelf does (the reader narrows the
    candidates by offset first; both must agree, on corrupt files too)."""
    from kernlab.elf.reader import _tbss_special, section_in_segment

    return [
        tuple(
            image.sections[j].name
            for j, s in enumerate(image._shdrs)
            if j and not _tbss_special(s, p) and section_in_segment(s, p, strict=True)
        )
        for p in image._phdrs
    ]


def exercise(path: Path) -> None:
    image = open_elf(path)
    assert [seg.sections for seg in image.segments] == brute_force_mapping(image)
    image.symbols()
    image.dynamic()
    image.notes()
    for name in ("needed", "soname", "rpath", "runpath", "interpreter", "build_id", "is_stripped"):
        getattr(image, name)
    entry = image.header.entry
    image.symbolize(entry)
    image.section_for_address(entry)
    image.vaddr_for_offset(entry)
    image.offset_for_vaddr(entry)
    with contextlib.suppress(BadInput):  # the entry may lie outside the (damaged) segments
        image.read(entry, 16)
    for sec in image.relocation_sections():
        image.relocations(sec.name)
    report = from_image(image)
    to_jsonable(report)
    # Sentences are made from the report at render time: they must not fail on it either.
    explain.summary_sentence(report.summary)
    explain.file_line(report.summary)
    for seg in report.segments or ():
        explain.segment_meaning(seg)


def mutate(data: bytes, kind: str, where: int, value: int, length: int) -> bytes:
    buf = bytearray(data)
    if kind == "flip":
        for i in range(length % 8 + 1):
            pos = (where + i * 977) % len(buf)
            buf[pos] ^= 1 << ((value + i) % 8)
    elif kind == "truncate":
        del buf[where % len(buf) :]
    elif kind == "field":
        offset, size = HEADER_FIELDS[where % len(HEADER_FIELDS)]
        buf[offset : offset + size] = (
            INTERESTING[value % len(INTERESTING)] & ((1 << (8 * size)) - 1)
        ).to_bytes(size, "little")
    elif kind == "table":
        # Overwrite one word inside the section or program header tables.
        shoff = struct.unpack_from("<Q", buf, 40)[0]
        phoff = struct.unpack_from("<Q", buf, 32)[0]
        base = shoff if value % 2 else phoff
        pos = base + where % 2048
        if pos + 8 <= len(buf):
            buf[pos : pos + 8] = INTERESTING[length % len(INTERESTING)].to_bytes(8, "little")
    return bytes(buf)


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["flip", "truncate", "field", "table"]),
    where=st.integers(min_value=0, max_value=1 << 20),
    value=st.integers(min_value=0, max_value=255),
    length=st.integers(min_value=0, max_value=64),
)
def test_mutated_elf_raises_only_bad_input(seed, kind, where, value, length):
    data, folder = seed
    target = folder / "mutant"
    target.write_bytes(mutate(data, kind, where, value, length))
    try:
        exercise(target)
    except BadInput as exc:
        assert str(exc), "BadInput must say what is wrong"
