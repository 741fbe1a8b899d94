"""kernlab's own ptrace stops stay out of the times a recording shows; DIR.old; kernel threads; -a.

The stops are found in the kernel's own data: a ``sched:sched_switch`` whose ``prev_state`` has
TASK_TRACED ('t') is a task stopping for its tracer. Such a stop inside a system call's
enter..exit would be kernlab's time counted as the call's.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernlab.recording.layout import read_meta
from kernlab.recording.reader import open_recording
from kernlab.reports.recording.syscall_calls import iter_calls
from kernlab.reports.recording.syscall_stats import syscall_statistics
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, global_state, need_tracing

TASK_TRACED = 0x08  # the 't' bit of sched_switch's prev_state (see its format's print fmt)
FORK_CALLS = {"fork", "vfork", "clone", "clone3"}


def _record(out: Path, *args: str) -> None:
    result = run_kernlab("record", "-q", "-d", str(out), *args)
    assert result.code == 0, result.stderr


def _stops_inside_calls(directory: Path) -> list[tuple[str, int]]:
    """(call name, pid) of each call of the command whose time holds a ptrace stop of its task."""
    rec = open_recording(directory)
    start = rec.command_start_ts
    calls = [
        c
        for c in iter_calls(rec, with_args=False)
        if c.enter_ts is not None and c.exit_ts is not None and c.enter_ts >= start
    ]
    found = []
    for ev in rec.iter_events({"sched:sched_switch"}):
        state = ev.fields["prev_state"]
        if state & TASK_TRACED and state < 0x100 and ev.ts >= start:
            pid = ev.fields["prev_pid"]
            found += [(c.name, pid) for c in calls if c.pid == pid and c.enter_ts < ev.ts < c.exit_ts]
    return found


def _root_execve_ms(directory: Path) -> float:
    rec = open_recording(directory)
    for call in iter_calls(rec, with_args=False):
        if call.pid == rec.meta.root_pid and call.name in ("execve", "execveat") and call.duration_ns:
            return call.duration_ns / 1e6
    raise AssertionError("no execve of the command in the recording")


def test_execve_time_is_the_same_with_and_without_the_maps_snapshot(tmp_path):
    need_tracing()
    with_ptrace, without = [], []
    for i in range(5):  # alternated, so machine load hits both alike
        _record(tmp_path / f"p{i}", "--", "/bin/true")
        _record(tmp_path / f"n{i}", "--no-ptrace", "--", "/bin/true")
        assert read_meta(tmp_path / f"p{i}").maps[0].when == "exec"  # a snapshot was taken
        assert _stops_inside_calls(tmp_path / f"p{i}") == []
        with_ptrace.append(_root_execve_ms(tmp_path / f"p{i}"))
        without.append(_root_execve_ms(tmp_path / f"n{i}"))
    # Before: a ptrace stop inside execve made it 1-18 ms against 0.2-0.3 ms.
    noise = max(0.3, statistics.pstdev(without))
    assert statistics.median(with_ptrace) <= statistics.median(without) + noise, (with_ptrace, without)


def test_the_exec_snapshot_is_the_new_image_before_it_runs(tmp_path):
    """Only what execve maps: the program and its interpreter (readelf's PT_INTERP), no library."""
    need_tracing()
    need_tool("readelf")
    program = os.path.realpath("/bin/true")
    headers = subprocess.run(["readelf", "-lW", program], capture_output=True, text=True, check=True).stdout
    interp = next(
        (ln.split(":", 1)[1].strip(" ]") for ln in headers.splitlines() if "program interpreter" in ln), None
    )
    _record(tmp_path / "r", "--", program)
    rec = open_recording(tmp_path / "r")
    snap = next(s for s in rec.meta.maps if s.when == "exec")
    files = {ln.split(maxsplit=5)[5] for ln in (rec.maps_text(snap) or "").splitlines() if "/" in ln}
    expected = {program} | ({os.path.realpath(interp)} if interp else set())
    assert {os.path.realpath(f) for f in files} == expected


def test_children_exec_without_a_stop_inside_and_only_forks_keep_one(tmp_path):
    need_tracing()
    _record(tmp_path / "r", "--", "/bin/sh", "-c", "/bin/true; /bin/true; exit 0")
    meta = read_meta(tmp_path / "r")
    assert sum(s.when == "exec" for s in meta.maps) == 3  # sh and both children
    inside = _stops_inside_calls(tmp_path / "r")
    assert {name for name, _ in inside} <= FORK_CALLS, inside


def _fork_ms(directory: Path) -> list[float]:
    rec = open_recording(directory)
    return [
        c.duration_ns / 1e6
        for c in iter_calls(rec, with_args=False)
        if c.name in FORK_CALLS and c.duration_ns
    ]


def test_fork_time_leaves_out_the_stop_that_reports_the_child(tmp_path):
    """kernel_clone stops the parent for kernlab (PTRACE_EVENT_FORK) before it returns: that stop
    is found in sched_switch and left out, so fork/clone take as long as with --no-ptrace."""
    need_tracing()
    script = "; ".join(["/bin/true"] * 8)
    with_ptrace, without, left_out = [], [], []
    for i in range(4):  # alternated, so machine load hits both alike
        _record(tmp_path / f"p{i}", "--", "/bin/sh", "-c", script)
        _record(tmp_path / f"n{i}", "--no-ptrace", "--", "/bin/sh", "-c", script)
        assert {name for name, _ in _stops_inside_calls(tmp_path / f"p{i}")} <= FORK_CALLS
        stats = syscall_statistics(open_recording(tmp_path / f"p{i}"), per_process=False)
        left_out.append(stats.ptrace_stops_ns)
        with_ptrace += _fork_ms(tmp_path / f"p{i}")
        without += _fork_ms(tmp_path / f"n{i}")
    assert with_ptrace and without
    assert max(left_out) > 0  # the stops were there, and the statistics left them out
    noise = max(0.1, statistics.pstdev(without))
    assert statistics.median(with_ptrace) <= statistics.median(without) + noise, (with_ptrace, without)


def test_a_previous_recording_is_kept_as_dir_old(tmp_path):
    need_tracing()
    out, old = tmp_path / "r", tmp_path / "r.old"
    _record(out, "--", "true")
    first = read_meta(out).root_pid
    result = run_kernlab("record", "-q", "-d", str(out), "--", "true")
    assert result.code == 0, result.stderr
    notice = [ln for ln in result.stderr.splitlines() if "r.old" in ln]
    assert len(notice) == 1 and str(out) in notice[0], result.stderr
    second = read_meta(out).root_pid
    assert read_meta(old).root_pid == first
    _record(out, "--", "true")  # an existing DIR.old is removed first
    assert read_meta(old).root_pid == second
    assert not (out / ".kernlab-old").exists() and not list(tmp_path.glob(".*deleting*"))


def test_a_dir_old_with_user_files_is_never_removed(tmp_path):
    need_tracing()
    out, old = tmp_path / "r", tmp_path / "r.old"
    _record(out, "--", "true")
    old.mkdir()
    (old / "mine.txt").write_text("keep me")
    result = run_kernlab("record", "-d", str(out), "--", "true")
    assert result.code == 3
    assert len([ln for ln in result.stderr.splitlines() if ln.strip()]) == 1, result.stderr
    assert "r.old" in result.stderr
    assert (old / "mine.txt").read_text() == "keep me"
    assert (out / "meta.json").exists()


def _switches() -> dict[int, int]:
    """Context switches so far of every kernel thread (children of kthreadd, PID 2)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() != "2":
            continue
        out[int(entry.name)] = sum(
            int(fields.get(k, "0").strip() or 0)
            for k in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")
        )
    return out


def _kernel_thread() -> int:
    """The kernel thread that switched most in the last half second: it will run while recorded
    (an idle ksoftirqd may not run at all in a second)."""
    first = _switches()
    time.sleep(0.5)
    second = _switches()
    busy = sorted(((second[p] - first.get(p, second[p]), p) for p in second), reverse=True)
    if not busy or busy[0][0] <= 0:
        pytest.skip("no kernel thread ran in half a second")
    return busy[0][1]


def test_a_kernel_thread_is_recorded_without_ptrace_with_kernel_stacks(tmp_path):
    need_tracing()
    pid = _kernel_thread()
    before = global_state()
    result = run_kernlab("record", "-d", str(tmp_path / "k"), "-p", str(pid), "--duration", "1")
    assert result.code == 0, result.stderr
    assert global_state() == before
    rec = open_recording(tmp_path / "k")
    assert not (TRACEFS / "instances" / rec.meta.instance).exists()
    assert rec.meta.maps == [] and rec.meta.kstack_events == rec.meta.events
    own = [e for e in rec.iter_events() if e.pid == pid]
    assert own, "no event of the kernel thread"
    # Its switches (the thread runs at least its timer work in a second) carry kernel stacks.
    assert any(e.name == "ftrace:kernel_stack" for e in own)


def test_the_whole_system_shows_a_known_programs_calls(tmp_path):
    need_tracing()
    program = subprocess.Popen(
        [sys.executable, "-c", "import os, time\nwhile True:\n    os.getppid(); time.sleep(0.005)"]
    )
    try:
        time.sleep(0.3)
        before = global_state()
        result = run_kernlab("record", "-d", str(tmp_path / "a"), "-a", "--duration", "1")
        assert result.code == 0, result.stderr
        assert global_state() == before
    finally:
        program.kill()
        program.wait()
    rec = open_recording(tmp_path / "a")
    names = {c.name for c in iter_calls(rec, with_args=False) if c.pid == program.pid}
    assert "getppid" in names
    assert rec.meta.maps == [] and rec.meta.attached
    assert not (TRACEFS / "instances" / rec.meta.instance).exists()


def test_ctrl_c_ends_a_system_wide_recording_cleanly(tmp_path):
    need_tracing()
    before = global_state()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "record", "-q", "-d", str(tmp_path / "a"), "-a"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (tmp_path / "a" / "meta.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    meta = read_meta(tmp_path / "a")
    assert meta.end_time_ns > meta.start_time_ns
    assert not (TRACEFS / "instances" / meta.instance).exists()
    assert global_state() == before
