"""reports.report: one call on a recording directory, checked against the recording's own files
and against `kernlab report --json` (the library and the command give one document)."""

from __future__ import annotations

import json

import pytest

from kernlab.recording.layout import read_meta
from kernlab.recording.reader import open_recording
from kernlab.render.jsonout import to_jsonable
from kernlab.reports import report
from tests.conftest import run_kernlab
from tests.recording.rec_util import need_tracing


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    need_tracing()
    out = tmp_path_factory.mktemp("report") / "rec"
    result = run_kernlab("record", "-q", "-d", str(out), "--", "ls", "-la", "/usr")
    assert result.code == 0, result.stderr
    return out


def test_build_from_a_directory_equals_the_command(recorded):
    built = report.build(recorded)
    cli = run_kernlab("report", "-d", str(recorded), "--json")
    assert cli.code == 0, cli.stderr
    assert json.loads(json.dumps(to_jsonable(built))) == cli.json()


def test_summary_counts_every_record(recorded):
    built = report.build(str(recorded))
    rec = built.recording
    assert rec.events_total == sum(rec.event_counts.values()) > 0
    assert rec.command == ["ls", "-la", "/usr"]
    assert built.syscalls is not None and built.faults is not None
    combined = built.syscalls.combined
    assert combined.calls == sum(r.calls for r in combined.rows)
    # ls is one process: its table is the combined one
    assert [p.summary.calls for p in built.syscalls.per_process] == [combined.calls]


def test_fault_counter_check_is_getrusage_against_the_events(recorded):
    meta = read_meta(recorded)
    built = report.build(open_recording(recorded), per_process=False)
    check = built.fault_counter_check
    assert built.syscalls is not None and built.syscalls.per_process == []
    assert meta.rusage is not None and check is not None and built.faults is not None
    assert (check.minflt, check.majflt, check.events) == (
        meta.rusage.minflt,
        meta.rusage.majflt,
        built.faults.total,
    )
    if check.before_exec is not None:
        assert check.own == meta.rusage.minflt + meta.rusage.majflt - check.before_exec
        assert check.difference == built.faults.total - check.own
