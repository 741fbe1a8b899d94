# ruff: noqa: E501  (golden text: lines as long as the view prints them)
"""views.pagecache: a report of fixed figures printed in-process, compared with golden text.

Paths with brackets print as themselves: the view once escaped them for rich markup and printed
"/srv/\\[data]" in tables and sentences.
"""

from __future__ import annotations

from kernlab.mm.pagecache import FileIdentity, FileReport, FileResidency, PageCacheReport
from kernlab.render.output import Output
from kernlab.render.views import pagecache as view


def _file(path: str, size: int, ranges: tuple[tuple[int, int], ...], before: int | None) -> FileReport:
    pages = -(-size // 4096)
    resident = sum(count for _, count in ranges)
    ident = FileIdentity(
        path, 1234, size, 8 * pages, 4096, "254:0", "ext4", "/srv/[data]", "/dev/vda", 4096 * pages
    )
    return FileReport(
        FileResidency(ident, 4096, pages, resident, ranges, resident * 4096, 100 * resident / pages), before
    )


def report() -> PageCacheReport:
    files = (
        _file("/srv/[data]/[heap].log", 40960, ((0, 4), (8, 2)), 10),
        _file("/srv/[data]/x", 8192, ((0, 2),), 2),
    )
    return PageCacheReport("evict", files, 4096, 12, 8, 49152, 32768)


GOLDEN = """\
Page cache

 FILE                      SIZE   PAGES   RESIDENT        RES      %   BEFORE
 ────────────────────────────────────────────────────────────────────────────
 /srv/[data]/[heap].log   40960      10          6   24.0 KiB    60%       10
 /srv/[data]/x             8192       2          2    8.0 KiB   100%        2
 total                    49152      12          8   32.0 KiB    67%

stat and df -T

 FILE                     INODE   BLOCKS   DEVICE   TYPE   MOUNTED ON    SOURCE
 ────────────────────────────────────────────────────────────────────────────────
 /srv/[data]/[heap].log    1234       80   254:0    ext4   /srv/[data]   /dev/vda
 /srv/[data]/x             1234       16   254:0    ext4   /srv/[data]   /dev/vda


Residency (each cell ≈ 1/10 of the file; █ all cached, ▒ some, · none)
/srv/[data]/[heap].log  ████····██
/srv/[data]/x           ██
→ --evict took /srv/[data]/[heap].log from 10 to 6 resident pages (dirty data was written back first)
→ 6 pages of /srv/[data]/[heap].log stayed: pages that a process maps, or that are locked or under writeback, cannot be dropped
→ 6 of 10 pages of /srv/[data]/[heap].log (60%) are in the page cache: reading those costs no disk I/O, the other 4 would be read from /dev/vda (ext4, mounted at /srv/[data])
→ --evict took /srv/[data]/x from 2 to 2 resident pages (dirty data was written back first)
→ 2 pages of /srv/[data]/x stayed: pages that a process maps, or that are locked or under writeback, cannot be dropped
→ all 2 pages of /srv/[data]/x are in the page cache: reading it costs no disk I/O
→ 8 of 12 pages (67%) of these 2 files are cached: 32.0 KiB of RAM holds their data
"""


def test_golden(capsys):
    view.show(report(), Output(), width=10)
    out = capsys.readouterr().out
    assert out == GOLDEN
    assert "/srv/[data]/[heap].log" in out and "\\" not in out


def test_quiet_leaves_out_the_sentences(capsys):
    view.show(report(), Output(quiet=True), width=10)
    assert capsys.readouterr().out == GOLDEN[: GOLDEN.index("→ ")]
