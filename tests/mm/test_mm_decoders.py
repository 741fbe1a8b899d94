"""Decoders of pagemap words, kpageflags words and page-table geometry for other machines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kernlab.mm.kpageflags import KPF_NAMES, flag_names
from kernlab.mm.pagemap import decode_entry
from kernlab.mm.paging import LEVEL_NAMES, _levels_for

UAPI_HEADER = Path("/usr/include/linux/kernel-page-flags.h")


def test_kpageflags_names_equal_the_uapi_header():
    if not UAPI_HEADER.exists():
        pytest.skip(f"{UAPI_HEADER} is missing (package linux-libc-dev)")
    header = dict(
        (int(m[2]), m[1]) for m in re.finditer(r"#define KPF_(\w+)\s+(\d+)", UAPI_HEADER.read_text())
    )
    assert header, "no KPF_ definitions found"
    for bit, name in header.items():
        assert KPF_NAMES[bit] == name


def test_flag_names_in_bit_order_and_unknown_bits_named():
    assert flag_names(1 << 5 | 1 << 12 | 1 << 22) == ("LRU", "ANON", "THP")
    assert flag_names(1 << 60) == ("BIT60",)


def test_present_entry():
    e = decode_entry(0x7000, (1 << 63) | (1 << 56) | (1 << 55) | 0x1A2B3)
    assert (e.present, e.pfn, e.exclusive, e.soft_dirty, e.swapped, e.state) == (
        True,
        0x1A2B3,
        True,
        True,
        False,
        "present",
    )


def test_present_entry_with_hidden_pfn():
    e = decode_entry(0, 1 << 63)
    assert e.present and e.pfn is None and e.pfn_hidden


def test_swapped_entry_type_and_offset():
    # pagemap.rst: bits 0-4 swap type, bits 5-54 swap offset
    e = decode_entry(0, (1 << 62) | (0x1234 << 5) | 3)
    assert (e.swapped, e.swap_type, e.swap_offset, e.present, e.pfn, e.state) == (
        True,
        3,
        0x1234,
        False,
        None,
        "swapped",
    )


def test_file_shared_and_guard_bits():
    e = decode_entry(0, (1 << 61) | (1 << 58) | (1 << 57))
    assert e.file_or_shared_anon and e.guard and e.uffd_wp and e.state == "absent"


@pytest.mark.parametrize(
    ("va_bits", "page_shift", "bits"),
    [
        # Documentation/arch/arm64/memory.rst: the layouts arm64 supports
        (39, 12, (9, 9, 9)),
        (48, 12, (9, 9, 9, 9)),
        (42, 16, (13, 13)),
        (48, 16, (6, 13, 13)),
        (47, 14, (11, 11, 11)),
        (48, 14, (1, 11, 11, 11)),
        (57, 12, (9, 9, 9, 9, 9)),  # x86_64 with LA57
    ],
)
def test_levels_for_other_page_sizes(va_bits, page_shift, bits):
    assert _levels_for(va_bits, page_shift) == bits
    assert len(LEVEL_NAMES[len(bits)]) == len(bits)
