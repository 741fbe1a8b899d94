"""views.mem: a report of fixed figures printed as free prints it, with its sentences."""

from __future__ import annotations

from kernlab.proc.free import compute_free
from kernlab.proc.meminfo import parse_meminfo
from kernlab.render.output import Output
from kernlab.render.views import mem as view
from kernlab.reports.mem import FREE_COLUMNS, MemReport

MEMINFO = """\
MemTotal:        2035676 kB
MemFree:           39620 kB
MemAvailable:    1841396 kB
Buffers:          162904 kB
Cached:          1504128 kB
SwapCached:            0 kB
Shmem:               260 kB
SReclaimable:     167916 kB
SwapTotal:       2094076 kB
SwapFree:        2064124 kB
"""


def _report() -> MemReport:
    info = parse_meminfo(MEMINFO, source="saved")
    figures = compute_free(info)
    return MemReport(
        source="saved",
        unit="kibi",
        si=False,
        columns=FREE_COLUMNS,
        free=figures,
        display={"Mem:": ["2035676", "194280", "39620", "260", "1834948", "1841396"]},
        meminfo=None,
    )


def test_view_prints_free_table_and_the_identity(capsys):
    view.show(_report(), Output())
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "free, from saved (KiB)"
    assert any(
        line.split() == ["Mem::", "2035676", "194280", "39620", "260", "1834948", "1841396"] for line in lines
    )
    # The seed's own check: used + free + buff/cache against total, and what available means.
    assert (
        "→ used 194,280 + free 39,620 + buff/cache 1,834,948 = 2,068,848 KiB against total 2,035,676" in out
    )
    assert "→ available 1,841,396 KiB is 90% of total" in out
    assert "swap" in out.lower()


def test_view_quiet_has_no_sentences(capsys):
    view.show(_report(), Output(quiet=True))
    assert "→" not in capsys.readouterr().out


def test_view_speaks_korean_at_render_time(capsys):
    from kernlab import explain

    report = _report()  # built in English: the view decides the language when it prints
    explain.set_language("ko")
    try:
        view.show(report, Output())
    finally:
        explain.set_language("en")
    out = capsys.readouterr().out
    assert "against total" not in out
    assert any("\uac00" <= ch <= "\ud7a3" for ch in out)
