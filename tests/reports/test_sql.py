"""kernlab.reports.sql: the views over many recordings answer as `kernlab report` counts, the
cache is reused while current, and DuckDB may read nothing else."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from kernlab.errors import BadInput
from tests.conftest import run_kernlab
from tests.recording.pq_util import record_three

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    return record_three(tmp_path_factory.mktemp("sql"))


def report_sums(dirs) -> tuple[Counter[str], Counter[str]]:
    calls: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for directory in dirs:
        result = run_kernlab("report", "-d", str(directory), "--json")
        assert result.code == 0, result.stderr
        for row in json.loads(result.stdout)["syscalls"]["combined"]["rows"]:
            calls[row["name"]] += row["calls"]
            total[row["name"]] += row["total_ns"]
    return calls, total


def test_grouped_counts_equal_the_sum_of_reports(recordings):
    from kernlab.reports import sql

    report = sql.build(
        "SELECT name, count(*) AS calls, sum(duration_ns) AS total_ns FROM syscalls "
        "WHERE returned GROUP BY name",
        recordings,
    )
    calls, total = report_sums(recordings)
    assert {r[0]: r[1] for r in report.rows} == {k: v for k, v in calls.items() if v}
    assert {r[0]: r[2] for r in report.rows} == {k: v for k, v in total.items() if calls[k]}
    assert len({s.recording_id for s in report.sources}) == 3


def test_one_view_holds_every_recording(recordings):
    from kernlab.reports import sql
    from kernlab.reports.parquet import TABLES

    for table in TABLES:
        report = sql.build(f"SELECT count(DISTINCT recording_id), count(*) FROM {table}", recordings)
        assert report.rows[0][0] <= 3
    report = sql.build("SELECT count(DISTINCT recording_id) FROM faults", recordings)
    assert report.rows == [[3]]


def test_cache_is_reused_and_renewed(recordings):
    from kernlab.reports import sql

    first = sql.build("SELECT 1", recordings[:1])
    again = sql.build("SELECT 1", recordings[:1])
    assert not again.sources[0].exported
    assert first.sources[0].parquet == again.sources[0].parquet == str(recordings[0] / sql.CACHE_DIR)
    manifest = recordings[0] / sql.CACHE_DIR / "manifest.json"
    data = json.loads(manifest.read_text())
    data["recording_id"] = "0" * 16  # a cache of another recording: exported anew
    manifest.write_text(json.dumps(data))
    assert sql.build("SELECT 1", recordings[:1]).sources[0].exported


def test_reads_only_the_recordings(recordings):
    from kernlab.reports import sql

    with pytest.raises(BadInput):
        sql.build("SELECT * FROM read_csv('/etc/passwd')", recordings[:1])
    with pytest.raises(BadInput):
        sql.build("COPY (SELECT 1) TO '/tmp/kernlab-sql-escape.csv'", recordings[:1])
    with pytest.raises(BadInput):
        sql.build("INSTALL httpfs", recordings[:1])


def test_parquet_exports_equal_recordings(recordings, tmp_path):
    from kernlab.reports import parquet, sql

    outs = []
    for n, directory in enumerate(recordings):
        outs.append(tmp_path / f"e{n}")
        parquet.build(directory, out_dir=outs[-1])
    query = "SELECT name, count(*), sum(duration_ns) FROM syscalls GROUP BY name ORDER BY name"
    assert sql.build(query, exports=outs).rows == sql.build(query, recordings).rows
    with pytest.raises(BadInput):
        sql.build(query, exports=[recordings[0]])  # a recording is not an export
