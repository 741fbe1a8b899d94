"""The function probes' own buffer (recording/probe_buffer.py): a second instance with no pid
filter holds the probes' records; the call tree read from it equals the one a recording with the
probes in its own pid-filtered buffer gives; another process running the same program at the
same time adds nothing; no instance or probe is left behind."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from kernlab.recording.functions import read_function_table
from kernlab.recording.probe_buffer import probe_buffer_files
from kernlab.recording.reader import open_recording
from kernlab.reports import replay
from kernlab.reports.replay import CallNode, ReplayReport
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

PROGRAMS = Path(__file__).parents[1] / "programs"


def _build(tmp_path: Path, name: str) -> Path:
    need_tool("gcc")
    out = tmp_path / name
    subprocess.run(["gcc", "-O0", "-o", str(out), str(PROGRAMS / f"{name}.c"), "-lpthread"], check=True)
    return out


def _shape(calls: list[CallNode], depth: int = 0) -> list[str]:
    out: list[str] = []
    for c in calls:
        if c.kind == replay.FUNCTION:
            out.append("  " * depth + c.name)
        out.extend(_shape(c.children, depth + 1 if c.kind == replay.FUNCTION else depth))
    return out


def _trees(report: ReplayReport) -> list[list[str]]:
    """Function names per thread, in the order the threads started."""
    return [_shape(t.calls) for t in report.threads]


def _kernlab_instances() -> set[str]:
    return {p.name for p in (TRACEFS / "instances").iterdir() if p.name.startswith("kernlab-")}


def test_probe_records_in_their_own_buffer_give_the_same_tree(tmp_path):
    need_tracing()
    prog = _build(tmp_path, "fn_calls")
    before = _kernlab_instances()
    apart, together = tmp_path / "apart", tmp_path / "together"
    result = run_kernlab("record", "--functions", "-q", "-d", str(apart), "--", str(prog), "5")
    assert result.code == 0, result.stderr
    # Without fork events the reader could not follow the threads: the probes stay in the
    # recording's own, pid-filtered buffer.
    result = run_kernlab(
        "record", "--functions", "--only", "-e", "raw_syscalls", "-e", "sched:sched_process_exit",
        "-q", "-d", str(together), "--", str(prog), "5",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    table_apart, table_together = read_function_table(apart), read_function_table(together)
    assert table_apart is not None and table_together is not None
    assert table_apart.buffer == "functions" and table_apart.traced_at_start
    assert table_together.buffer == ""
    assert probe_buffer_files(apart) and not probe_buffer_files(together)
    trees = _trees(replay.build(apart))
    assert trees == _trees(replay.build(together))
    assert len(trees) == 2 and "outer" in "".join(trees[0]) and "middle" in "".join(trees[1])
    rec = open_recording(apart)
    assert {c.buffer for c in rec.meta.loss} == {"", "functions"}
    assert _kernlab_instances() == before


def test_another_process_running_the_program_adds_nothing(tmp_path):
    need_tracing()
    prog = _build(tmp_path, "fn_paced")
    other = subprocess.Popen([str(prog), "-1", "2000"])  # forever, hitting the same probes
    try:
        time.sleep(0.2)
        out = tmp_path / "rec"
        result = run_kernlab("record", "--functions", "-q", "-d", str(out), "--", str(prog), "300", "1000")
        assert result.code == 0, result.stderr
    finally:
        other.kill()
        other.wait()
    table = read_function_table(out)
    assert table is not None and table.buffer == "functions"
    rec = open_recording(out)
    leaf = next(f for f in table.functions if f.name == "leaf")
    # The other process's hits were recorded (no pid filter) ...
    pid_field = rec.formats[rec.event_id(leaf.entry_event) or -1].field("common_pid")
    tids = {
        int.from_bytes(cpu.raw[o + pid_field.offset : o + pid_field.offset + 4], "little")
        for cpu in rec.probe_events(table.buffer_page_size)
        for o in cpu.offsets
    }
    if other.pid not in tids:
        pytest.skip("the other process was not scheduled during the recording")
    # ... and left out of the tree: one thread, 300 calls of leaf.
    report = replay.build(out)
    assert [t.tid for t in report.threads] == [rec.meta.root_pid]
    assert sum(1 for name in _shape(report.threads[0].calls) if name.strip() == "leaf") == 300
