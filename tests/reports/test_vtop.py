"""reports.vtop: the page kind and the RSS it adds, checked against pagemap, kpageflags and smaps."""

from __future__ import annotations

import os

import pytest

from kernlab.mm.kpageflags import KPF_BITS
from kernlab.reports import vtop
from kernlab.reports.vtop import PageKind
from tests.conftest import PROGRAMS, compile_c, is_root
from tests.mm.procs import kpageflags_word, pagemap_words, smaps_field, waiting_program

PAGE = os.sysconf("SC_PAGE_SIZE")
PRESENT = 1 << 63
PFN_MASK = (1 << 55) - 1


@pytest.fixture(scope="module")
def touch_binary(tmp_path_factory):
    return compile_c(PROGRAMS / "mm_touch.c", tmp_path_factory.mktemp("mm") / "mm_touch", ["-O1"])


def _flag(pfn: int, name: str) -> bool:
    return bool(kpageflags_word(pfn) >> KPF_BITS[name] & 1)


@pytest.mark.skipif(not is_root(), reason="PFNs and kpageflags need CAP_SYS_ADMIN")
def test_written_page_is_anon_and_read_page_is_the_zero_page(touch_binary):
    with waiting_program(touch_binary, ["8", "half"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        written = vtop.build(pid, buf)
        (word,) = pagemap_words(pid, buf, 1)
        anon, zero = _flag(word & PFN_MASK, "ANON"), _flag(word & PFN_MASK, "ZERO_PAGE")
    assert word & PRESENT and written.pagemap is not None and written.pagemap.pfn == word & PFN_MASK
    assert anon and not zero
    assert written.page_kind is PageKind.ANON
    with waiting_program(touch_binary, ["8", "read"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        read = vtop.build(pid, buf + 3 * PAGE)
        (word,) = pagemap_words(pid, buf + 3 * PAGE, 1)
        zero = _flag(word & PFN_MASK, "ZERO_PAGE")
    assert word & PRESENT and zero
    assert read.page_kind is PageKind.ZERO


def test_untouched_page_has_no_kind(touch_binary):
    with waiting_program(touch_binary, ["8", "half"]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        report = vtop.build(pid, buf + 7 * PAGE)
        (word,) = pagemap_words(pid, buf + 7 * PAGE, 1)
    assert not word & PRESENT
    assert report.page is None and report.page_kind is None


@pytest.mark.parametrize("mode", ["read", "odd"])
def test_rss_of_a_vma_equals_smaps_rss(touch_binary, mode):
    """Pages that map the zero page are present in pagemap but not in RSS; the report's rss
    leaves them out, so it is what smaps says."""
    with waiting_program(touch_binary, ["32", mode]) as info:
        pid, buf = int(info["pid"]), int(info["buf"], 16)
        index = vtop.build(pid, buf).vma_index
        assert index is not None
        report = vtop.build_pages(pid, "vma", vma_index=index)
        part = report.vmas[0]
        rss_kb = smaps_field(pid, part.vma.start, "Rss")
        words = pagemap_words(pid, part.vma.start, part.counts.pages)
    assert report.total.present == sum(1 for w in words if w & PRESENT)
    assert report.vsz == part.vma.size
    if report.total.zero_page is None:  # PFNs hidden: zero pages cannot be told apart
        assert report.rss == report.total.present * PAGE
    else:
        assert report.rss // 1024 == rss_kb


def test_stack_address_is_in_the_stack_vma(touch_binary):
    with waiting_program(touch_binary, ["4", "half"]) as info:
        pid = int(info["pid"])
        with open(f"/proc/{pid}/maps") as f:
            line = next(line for line in f if line.rstrip().endswith("[stack]"))
        start, end = (int(x, 16) for x in line.split()[0].split("-"))
        report = vtop.build(pid, end - 8)
    assert report.vma is not None and (report.vma.start, report.vma.end) == (start, end)
    assert report.vma.name == "[stack]" and report.file is None
    assert report.page_kind in (PageKind.ANON, PageKind.ANON_SHARED, None)
