"""reports.dump: the files written, and what the report says about them."""

from __future__ import annotations

import pytest

from kernlab.errors import BadInput
from kernlab.recording.export.tracedat import TraceDatResult
from kernlab.recording.reader import open_recording
from kernlab.reports import dump
from tests.reports.test_report import recorded  # noqa: F401  (the shared recording)


def test_both_files_are_written_and_described(recorded, tmp_path):  # noqa: F811
    dat, text = tmp_path / "t.dat", tmp_path / "t.txt"
    written = dump.build(recorded, trace_dat=dat, text=text)
    assert [type(w) for w in written] == [TraceDatResult, dump.TextExport]
    trace, lines = written
    assert isinstance(trace, TraceDatResult) and isinstance(lines, dump.TextExport)
    assert trace.size == dat.stat().st_size and dat.read_bytes()[:10] == b"\x17\x08\x44tracing"
    events = open_recording(recorded).event_total
    assert trace.events == lines.events == events
    assert lines.lines == len(text.read_text().splitlines())
    assert text.read_text().splitlines() == list(dump.text_lines(recorded))


def test_nothing_asked_or_unwritable_is_refused(recorded, tmp_path):  # noqa: F811
    with pytest.raises(BadInput, match="say what to write"):
        dump.build(recorded)
    with pytest.raises(BadInput, match="is a directory"):
        dump.build(recorded, text=tmp_path)
