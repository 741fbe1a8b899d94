"""`kernlab sql` as a user runs it: a table at natural width off a terminal, --json with the same
rows, and the per-syscall figures of three recordings equal to their `kernlab report`s."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_kernlab
from tests.recording.pq_util import record_three, run_sql
from tests.reports.test_sql import report_sums

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

QUERY = (
    "SELECT name, count(*) AS calls, sum(duration_ns) AS total_ns FROM syscalls "
    "WHERE returned GROUP BY name ORDER BY name"
)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    return record_three(tmp_path_factory.mktemp("sqlcli"))


def test_json_equals_sum_of_reports(recordings):
    result = run_sql("--json", QUERY, *map(str, recordings))
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["columns"] == ["name", "calls", "total_ns"]
    calls, total = report_sums(recordings)
    assert {r[0]: (r[1], r[2]) for r in doc["rows"]} == {k: (calls[k], total[k]) for k in calls if calls[k]}


def test_table_at_natural_width(recordings):
    result = run_sql(QUERY + " LIMIT 3", *map(str, recordings))
    assert result.code == 0, result.stderr
    doc = json.loads(run_sql("--json", QUERY + " LIMIT 3", *map(str, recordings)).stdout)
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["name", "calls", "total_ns"]
    for row in doc["rows"]:  # each row on one line, whole
        assert any(line.split() == [str(v) for v in row] for line in lines)
    assert "3 rows from 3 recordings" in result.stdout


def test_bad_query_is_a_clean_error(recordings):
    result = run_sql("SELECT nosuchcolumn FROM syscalls", str(recordings[0]))
    assert result.code != 0
    assert "Traceback" not in result.stderr
    assert "nosuchcolumn" in result.stderr


def test_json_is_the_same_in_english_and_korean(recordings):
    english = run_sql("--json", QUERY, *map(str, recordings))
    korean = run_kernlab("--lang", "ko", "sql", "--json", QUERY, *map(str, recordings))
    assert english.code == korean.code == 0, (english.stderr, korean.stderr)
    assert english.stdout == korean.stdout
