# ruff: noqa: E501  (golden text: lines as long as the view prints them)
"""views.vtop: reports of fixed figures printed in-process, compared with golden text.

The stack and heap are named "[stack]" and "[heap]" in /proc/PID/maps; the view prints them as
they are (it once escaped them for rich markup and printed "\\[stack]").
"""

from __future__ import annotations

from kernlab.catalog import set_language
from kernlab.mm.kpageflags import KPF_BITS, PageFlags, flag_names
from kernlab.mm.pagemap import decode_entry
from kernlab.mm.paging import LEVEL_NAMES, MmapProbe, PagingMode, split_address
from kernlab.mm.ranges import PageCounts, VmaCounts
from kernlab.mm.vtop import Target
from kernlab.proc.maps import Vma
from kernlab.render.output import Output
from kernlab.render.views import vtop as view
from kernlab.reports.vtop import AddressReport, PageKind, PagesReport

MODE = PagingMode(
    "x86_64",
    4,
    LEVEL_NAMES[4],
    (9, 9, 9, 9),
    12,
    48,
    5,
    False,
    "mmap probe above 2^47",
    ("CONFIG_PGTABLE_LEVELS=5", "CPU flag la57 absent"),
    MmapProbe(1 << 52, False, 0x7F1234567000),
)
STACK = Vma(0x7FFD6D7D8000, 0x7FFD6D7F9000, "rw-p", 0, "00:00", 0, None, "[stack]", kind="stack", rss=20)
ADDRESS = 0x7FFD6D7F8FF8
RAW = 1 << 63 | 1 << 56 | 0x1234
FLAGS = 1 << KPF_BITS["ANON"] | 1 << KPF_BITS["UPTODATE"] | 1 << KPF_BITS["LRU"]


def address_report():
    return AddressReport(
        Target(4242, "sleep", False),
        ADDRESS,
        MODE,
        split_address(ADDRESS, MODE),
        STACK,
        41,
        None,
        None,
        None,
        None,
        decode_entry(ADDRESS, RAW),
        PageFlags(0x1234, FLAGS, flag_names(FLAGS), 1),
        None,
        None,
        page_kind=PageKind.ANON,
    )


HEAP = Vma(0x5555_5555_9000, 0x5555_5556_1000, "rw-p", 0, "00:00", 0, None, "[heap]", kind="heap", rss=16)


def pages_report():
    counts = PageCounts(HEAP.start, HEAP.end, 8, 5, 0, 3, 0, 0, 0, "kpageflags", 1, True, "1f", "00")
    return PagesReport(
        4242, "sleep", "all", 4096, counts, (VmaCounts(3, HEAP, counts),), rss=4 * 4096, vsz=HEAP.size
    )


ADDRESS_GOLDEN = """\
kernlab vtop
  process:  4242 (sleep)
  address:  0x7ffd6d7f8ff8
  paging:   4-level paging (PGD → PUD → PMD → PTE), 48-bit virtual addresses, 4 KiB pages; found by mmap probe above 2^47
  evidence: CONFIG_PGTABLE_LEVELS=5; CPU flag la57 absent; mmap hint 0x10000000000000 returned 0x7f1234567000 (below 2^47)

Page-table indices

 LEVEL    INDEX   ADDRESS BITS   ONE ENTRY MAPS
 ──────────────────────────────────────────────
 PGD        255   47–39          512 GiB
 PUD        501   38–30          1 GiB
 PMD        363   29–21          2 MiB
 PTE        504   20–12          4 KiB
 offset   0xff8   11–0


Virtual memory area
  VMA:        #41: 0x7ffd6d7d8000-0x7ffd6d7f9000 rw-p [stack]
  kind:       stack
  size / RSS: 132 KiB / 20 KiB

pagemap
  raw:              0x8100000000001234
  state:            present
  PFN:              0x1234
  soft-dirty:       no
  exclusive:        yes
  file/shared-anon: no

Physical page (kpageflags, kpagecount)
  flags:     UPTODATE, LRU, ANON
  map count: 1
→ 0x7ffd6d7f8ff8 is in [stack]: PGD 255 → PUD 501 → PMD 363 → PTE 504, offset 0xff8; present in RAM at PFN 0x1234 (page flags: UPTODATE, LRU, ANON)
→ a private anonymous page of this process
→ the kernel is configured for 5 levels but runs 4: this CPU lacks LA57
"""

PAGES_GOLDEN = """\
PID 4242 (sleep): pages by VMA

 #   START          PERMS   NAME     PAGES   RAM   SWAP   NEVER   HUGE
 ─────────────────────────────────────────────────────────────────────
 3   555555559000   rw-p    [heap]       8     5      0       3      0

Total

 PAGES   PRESENT   SWAPPED   NEVER TOUCHED   NO VMA   HUGE   PAGE SIZE
 ─────────────────────────────────────────────────────────────────────
     8         5         0               3        0      0   4 KiB


Presence (█ every page present, ▒ some, · none)
#3 █████···
→ 5 of 8 pages (62%) of PID 4242's 1 VMA are in RAM: RSS 16 KiB of VSZ 32 KiB
→ the other 3 were never touched: VSZ counts them, RSS does not
→ 1 of the present pages maps the shared zero page (read, never written): RSS leaves it out, so RSS here is 16 KiB
"""


def test_one_address_golden(capsys):
    view.show(address_report(), Output())
    out = capsys.readouterr().out
    assert out == ADDRESS_GOLDEN
    assert "[stack]" in out and "\\" not in out


def test_pages_golden(capsys):
    view.show_pages(pages_report(), Output(), width=8)
    out = capsys.readouterr().out
    assert out == PAGES_GOLDEN
    assert "[heap]" in out and "\\" not in out


def test_quiet_leaves_out_the_sentences(capsys):
    view.show(address_report(), Output(quiet=True))
    assert capsys.readouterr().out == ADDRESS_GOLDEN[: ADDRESS_GOLDEN.index("→ 0x")]


def test_sentences_follow_the_language_at_render_time(capsys):
    set_language("ko")
    try:
        view.show(address_report(), Output())
    finally:
        set_language("en")
    out = capsys.readouterr().out
    sentences = [line for line in out.splitlines() if line.startswith("→ ")]
    assert len(sentences) == 3
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in line) for line in sentences)
