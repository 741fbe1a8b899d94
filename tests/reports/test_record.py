"""reports.record: a finished run's figures, from the recorder itself, as meta.json keeps them."""

from __future__ import annotations

from kernlab.recording.layout import meta_to_dict, read_meta
from kernlab.recording.recorder import RecordOptions, record
from kernlab.render.jsonout import to_jsonable
from kernlab.reports import record as reports
from tests.conftest import run_kernlab
from tests.recording.rec_util import need_tracing


def test_build_holds_the_runs_metadata_and_size(tmp_path):
    need_tracing()
    result = record(RecordOptions(output=tmp_path / "rec", command=["/bin/true"]))
    report = reports.build(result)
    meta = read_meta(tmp_path / "rec")
    assert to_jsonable(report.meta) == to_jsonable(meta)
    raw = sum(p.stat().st_size for p in (tmp_path / "rec" / "cpus").glob("cpu*.raw"))
    assert report.raw_bytes == raw
    assert report.events_read == sum(c.read for c in meta.loss)
    assert report.meta.exit_code == 0


def test_json_of_the_command_is_the_report(tmp_path):
    need_tracing()
    out = tmp_path / "rec"
    result = run_kernlab("record", "--json", "-d", str(out), "--", "/bin/true")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert set(doc) == {"directory", "meta", "raw_bytes", "elapsed_s", "previous", "target"}
    assert doc["target"] == "command" and doc["previous"] is None  # no earlier recording was kept
    assert doc["meta"] == to_jsonable(meta_to_dict(read_meta(out)))
