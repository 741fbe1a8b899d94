"""kernlab.kernel.layout and kernlab.kernel.cmdline: the x86_64 kernel-half map of mm.rst,
/proc/kcore words, and stack_guard_gap= as the kernel parses it."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from kernlab.kernel.cmdline import stack_guard_gap
from kernlab.kernel.layout import _region_at, _x86_64_regions, read_kcore_word


def _core(path: Path, vaddr: int, payload: bytes) -> None:
    """A minimal ELF64 core with one PT_LOAD segment mapping ``vaddr`` to ``payload``."""
    ehdr = bytearray(64)
    ehdr[:4] = b"\x7fELF"
    ehdr[4] = 2  # ELFCLASS64
    struct.pack_into("<Q", ehdr, 32, 64)  # e_phoff
    struct.pack_into("<HH", ehdr, 54, 56, 1)  # e_phentsize, e_phnum
    phdr = struct.pack("<IIQQQQQQ", 1, 4, 64 + 56, vaddr, 0, len(payload), len(payload), 0)
    path.write_bytes(bytes(ehdr) + phdr + payload)


def test_kcore_word_is_read_from_its_segment(tmp_path):
    core = tmp_path / "kcore"
    _core(
        core, 0xFFFFFFFF82000000, (0xFFFF888000000000).to_bytes(8, "little") + (0x1234).to_bytes(8, "little")
    )
    assert read_kcore_word(0xFFFFFFFF82000000, str(core)) == 0xFFFF888000000000
    assert read_kcore_word(0xFFFFFFFF82000008, str(core)) == 0x1234
    with pytest.raises(Exception, match="no segment"):
        read_kcore_word(0xFFFFFFFF83000000, str(core))


@pytest.mark.parametrize(
    ("levels", "address", "key"),
    [  # Documentation/arch/x86/x86_64/mm.rst, without CONFIG_RANDOMIZE_MEMORY
        (4, 0xFFFF888000000000, "direct_map"),
        (4, 0xFFFFC90000000000, "vmalloc"),
        (4, 0xFFFFEA0000000000, "vmemmap"),
        (4, 0xFFFFC88000000000, "unused"),
        (4, 0xFFFF800000000000, "guard_hole"),
        (5, 0xFF11000000000000, "direct_map"),
        (5, 0xFFA0000000000000, "vmalloc"),
        (5, 0xFFD4000000000000, "vmemmap"),
        (5, 0xFF10000000000000, "ldt_remap"),
        (4, 0xFFFFFE0000000000, "cpu_entry_area"),
        (5, 0xFFFFFF0000000000, "espfix"),
        (4, 0xFFFFFFEF00000000, "efi"),
        (4, 0xFFFFFFFF81000000, "kernel_image"),
        (4, 0xFFFFFFFFC0000000, "modules"),
        (4, 0xFFFFFFFFFF600000, "vsyscall"),
    ],
)
def test_fixed_layout_of_mm_rst(levels, address, key):
    regions, randomized = _x86_64_regions(levels, {"CONFIG_RANDOMIZE_MEMORY": "n"}, {})
    assert randomized is False
    kernel_start = 0xFF00000000000000 if levels == 5 else 0xFFFF800000000000
    assert _region_at(address, regions, kernel_start).key == key


def test_randomized_layout_without_bases_is_one_range():
    regions, randomized = _x86_64_regions(4, {"CONFIG_RANDOMIZE_MEMORY": "y"}, {})
    assert randomized is True
    r = _region_at(0xFFFFC90000000000, regions, 0xFFFF800000000000)
    assert (r.key, r.start, r.end) == ("randomized", 0xFFFF888000000000, 0xFFFFFE0000000000)


def test_randomized_layout_with_bases_from_kcore():
    bases = {
        "page_offset_base": 0xFFFF9A0000000000,
        "vmalloc_base": 0xFFFFB00000000000,
        "vmemmap_base": 0xFFFFD40000000000,
    }
    regions, _ = _x86_64_regions(4, {"CONFIG_RANDOMIZE_MEMORY": "y"}, bases)
    at = lambda a: _region_at(a, regions, 0xFFFF800000000000)  # noqa: E731
    assert at(0xFFFF9A0000001000).key == "direct_map"
    assert at(0xFFFFB00000001000).key == "vmalloc"
    assert at(0xFFFFD40000001000).key == "vmemmap"
    assert at(0xFFFF990000000000).key == "unused"
    # Without CONFIG_RANDOMIZE_BASE the image mapping is 512 MiB (KERNEL_IMAGE_SIZE) and modules follow.
    small, _ = _x86_64_regions(4, {"CONFIG_RANDOMIZE_MEMORY": "n", "CONFIG_RANDOMIZE_BASE": "n"}, {})
    assert _region_at(0xFFFFFFFFA0000000, small, 0xFFFF800000000000).key == "modules"


@pytest.mark.parametrize(
    ("cmdline", "pages", "from_cmdline"),
    [
        ("quiet", 256, False),
        ("quiet stack_guard_gap=1 ro", 1, True),
        ("stack_guard_gap=12x", 256, False),  # cmdline_parse_stack_guard_gap ignores it
        ("stack_guard_gap=8 stack_guard_gap=16", 16, True),
        ("ro -- stack_guard_gap=1", 256, False),  # after "--": init's arguments
    ],
)
def test_stack_guard_gap_parsing(cmdline, pages, from_cmdline):
    gap = stack_guard_gap(4096, cmdline)
    assert (gap.pages, gap.bytes, gap.from_cmdline) == (pages, pages * 4096, from_cmdline)


def test_stack_guard_gap_of_this_boot():
    text = Path("/proc/cmdline").read_text()
    gap = stack_guard_gap(4096)
    assert gap.cmdline_read
    assert gap.from_cmdline == ("stack_guard_gap=" in text.split(" -- ")[0])
