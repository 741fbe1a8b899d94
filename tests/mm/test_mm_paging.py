"""Paging mode detection and address splitting, checked against the running kernel."""

from __future__ import annotations

import gzip
import platform
import random
import subprocess

import pytest

from kernlab.mm.paging import detect_paging, split_address

x86_only = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86_64 paging checks")


def _config_levels() -> int | None:
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            for line in f:
                if line.startswith("CONFIG_PGTABLE_LEVELS="):
                    return int(line.split("=")[1])
    except OSError:
        return None
    return None


@x86_only
def test_levels_match_what_a_c_program_gets_from_a_high_mmap_hint(build_c):
    # Independent oracle: a C program asks for a page at 2^52 and we look where it landed.
    prog = build_c("mm_highmap")
    out = subprocess.run([str(prog)], capture_output=True, text=True, check=True).stdout.strip()
    five_level_in_use = int(out, 16) >= 1 << 47
    mode = detect_paging()
    assert mode.levels == (5 if five_level_in_use else 4)
    assert mode.va_bits == (57 if five_level_in_use else 48)
    assert mode.level_names[-1] == "PTE" and mode.level_names[0] == "PGD"
    assert ("P4D" in mode.level_names) == five_level_in_use
    with open("/proc/cpuinfo") as f:
        la57 = "la57" in f.read().split()
    assert mode.cpu_la57 == la57
    assert mode.configured_levels == _config_levels()
    if not la57:
        assert mode.levels == 4  # without the CPU feature 5 levels are impossible


def test_page_shift_matches_sysconf():
    import os

    assert detect_paging().page_size == os.sysconf("SC_PAGE_SIZE")


def test_split_indices_equal_the_shifts_of_each_level():
    mode = detect_paging()
    rng = random.Random(7)
    for _ in range(200):
        addr = rng.randrange(0, 1 << mode.va_bits)
        split = split_address(addr, mode)
        assert [li.level for li in split.indices] == list(mode.level_names)
        rebuilt = split.offset
        for li in split.indices:
            assert 0 <= li.index < 1 << li.bits
            rebuilt |= li.index << li.shift
        assert rebuilt == addr
        assert split.offset == addr % mode.page_size
        indices, offset = split
        assert offset == split.offset and len(indices) == mode.levels


@x86_only
def test_x86_64_split_by_hand():
    mode = detect_paging()
    addr = 0x7F3A_1234_5678
    split = split_address(addr, mode)
    expected = [(addr >> (12 + 9 * i)) & 0x1FF for i in reversed(range(mode.levels))]
    assert [li.index for li in split.indices] == expected
    assert split.offset == addr & 0xFFF
    assert mode.entry_span("PMD") == 2 << 20
