"""`dump --parquet` (kernlab.reports.parquet): the files read back with pyarrow equal the decoder's
rows (`kernlab syscalls` pairing and arguments, `kernlab faults` lines), every table carries the
recording's identity, and the directory is written whole or not at all."""

from __future__ import annotations

import json

import pytest

from kernlab.errors import BadInput
from kernlab.recording.export.parquet import read_manifest, recording_id
from kernlab.recording.reader import open_recording
from tests.conftest import run_kernlab
from tests.recording.pq_util import record_three

pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from kernlab.reports import parquet

    base = tmp_path_factory.mktemp("pq")
    out = []
    for directory in record_three(base):
        target = directory.parent / f"{directory.name}.pq"
        report = parquet.build(directory, out_dir=target)
        out.append((directory, target, report))
    return out


def test_every_table_with_identity_and_version(exported):
    from kernlab.reports.parquet import SCHEMA_VERSION, TABLES

    for directory, target, report in exported:
        rec = open_recording(directory)
        assert {t.name for t in report.tables} == set(TABLES)
        manifest = read_manifest(target)
        assert manifest is not None and manifest["schema_version"] == SCHEMA_VERSION
        for name in TABLES:
            table = pq.read_table(target / f"{name}.parquet")
            assert table.num_rows == manifest["tables"][name]["rows"]
            meta = table.schema.metadata
            assert meta[b"kernlab.schema_version"] == str(SCHEMA_VERSION).encode()
            if table.num_rows:
                assert set(table["recording_id"].to_pylist()) == {recording_id(directory)}
                assert set(table["kernel_release"].to_pylist()) == {rec.meta.kernel_release}
                assert set(table["schema_version"].to_pylist()) == {SCHEMA_VERSION}
        assert pq.read_table(target / "syscalls.parquet").num_rows > 0
        assert pq.read_table(target / "faults.parquet").num_rows > 0


def test_syscalls_equal_the_decoder(exported):
    from kernlab.reports import syscalls

    for directory, target, _ in exported:
        table = pq.read_table(target / "syscalls.parquet").to_pylist()
        lines = syscalls.build(directory).lines
        assert len(table) == len(lines)
        for row, line in zip(table, lines, strict=True):
            assert (row["name"], row["nr"], row["tid"], row["cpu"]) == (
                line.name,
                line.nr,
                line.pid,
                line.cpu,
            )
            assert row["ret"] == line.ret and row["errno"] == line.errno
            assert row["duration_ns"] == line.duration_ns
            assert row["time_s"] == pytest.approx(line.time_s, abs=1e-9)
            assert [row[f"arg{i}"] for i in range(len(line.args))] == line.args
            assert (row["args"] or "…") == line.args_text


def test_faults_equal_kernlab_faults(exported):
    for directory, target, _ in exported:
        table = pq.read_table(target / "faults.parquet").to_pylist()
        result = run_kernlab("faults", "-d", str(directory), "--json")
        assert result.code == 0, result.stderr
        lines = json.loads(result.stdout)["lines"]
        assert len(table) == len(lines) > 0
        for row, line in zip(table, lines, strict=True):
            assert (row["address"], row["ip"], row["error_code"]) == (
                line["address"],
                line["ip"],
                line["error_code"],
            )
            assert (row["tid"], row["cpu"], row["mode"], row["comm"]) == (
                line["pid"],
                line["cpu"],
                line["mode"],
                line["comm"],
            )
            assert (row["vma_kind"], row["vma"], row["perms"]) == (
                line["vma_kind"],
                line["vma"],
                line["perms"],
            )
            assert (row["location"], row["cause"], row["major"]) == (
                line["where"],
                line["cause"],
                line["major"],
            )
            # the decoded bits are the error code's own bits (x86: P=1, W=2, U=4, I=16)
            if row["present"] is not None:
                code = row["error_code"]
                assert (row["present"], row["write"], row["user"], row["instruction"]) == (
                    bool(code & 1),
                    bool(code & 2),
                    bool(code & 4),
                    bool(code & 16),
                )


def test_tasks_name_every_thread_of_the_other_tables(exported):
    for _directory, target, _ in exported:
        tids = set(pq.read_table(target / "tasks.parquet")["tid"].to_pylist())
        for name in ("syscalls", "faults", "sched"):
            assert set(pq.read_table(target / f"{name}.parquet")["tid"].to_pylist()) <= tids


def test_sched_rows_equal_the_events(exported):
    directory, target, _ = exported[1]
    rec = open_recording(directory)
    since = rec.command_start_ts
    events = [e for e in rec.iter_events({"sched:sched_switch"}) if e.ts >= since]
    rows = [r for r in pq.read_table(target / "sched.parquet").to_pylist() if r["event"] == "switch"]
    assert [(r["ts_ns"], r["prev_pid"], r["next_pid"], r["next_comm"]) for r in rows] == [
        (e.ts, e.fields["prev_pid"], e.fields["next_pid"], e.fields["next_comm"]) for e in events
    ]


def test_refuses_a_foreign_directory_and_replaces_its_own(exported, tmp_path):
    from kernlab.reports import parquet

    directory, target, _ = exported[0]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(BadInput):
        parquet.build(directory, out_dir=foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    again = parquet.build(directory, out_dir=target)  # an earlier export is replaced whole
    assert again.recording_id == recording_id(directory)
    assert not [p for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.kernlab-")]
