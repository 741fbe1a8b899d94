"""A deliberately tiny ring buffer loses events, and the recording says so (never silently)."""

from __future__ import annotations

import importlib.util
import json

from kernlab.recording.layout import cpu_stats_path, read_meta
from tests.conftest import PROGRAMS, compile_c, run_kernlab
from tests.recording.rec_util import need_tracing


def test_tiny_buffer_records_lost_events(tmp_path):
    need_tracing()
    prog = compile_c(PROGRAMS / "rec_touch.c", tmp_path / "rec_touch", ["-O2"])
    out = tmp_path / "rec"
    result = run_kernlab("record", "--json", "--buffer-size", "8", "-d", str(out), "--", str(prog), "128")
    assert result.code == 0, result.stderr
    # stdout: the program's own line, then one JSON document
    doc = json.loads(result.stdout[result.stdout.index("{") :])
    meta = read_meta(out)
    assert meta.lost_events > 0
    assert doc["meta"]["lost_events"] == meta.lost_events
    # the per-CPU counters are the kernel's own stats files, kept verbatim
    total = 0
    for loss in meta.loss:
        text = cpu_stats_path(out, loss.cpu).read_text()
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        assert int(fields["overrun"]) == loss.overrun
        assert int(fields["dropped events"]) == loss.dropped
        total += int(fields["overrun"]) + int(fields["commit overrun"]) + int(fields["dropped events"])
    assert total == meta.lost_events


def test_human_summary_tells_about_the_loss(tmp_path):
    need_tracing()
    prog = compile_c(PROGRAMS / "rec_touch.c", tmp_path / "rec_touch", ["-O2"])
    out = tmp_path / "rec"
    result = run_kernlab("record", "--buffer-size", "8", "-d", str(out), "--", str(prog), "64")
    assert result.code == 0, result.stderr
    meta = read_meta(out)
    assert meta.lost_events > 0
    said = "1 event was lost" if meta.lost_events == 1 else f"{meta.lost_events:,} events were lost"
    flat = " ".join(result.stderr.split())
    assert said in flat or said.replace(",", "") in flat, flat
    if importlib.util.find_spec("kernlab.cli.report_cmd") is not None:
        report = run_kernlab("report", "--json", "-d", str(out))
        if report.code == 0:
            assert str(meta.lost_events) in report.stdout
