"""System-call counts from a recording against `strace -f -c` running the same workload.

Each workload runs once under the private test recorder and once under strace; per system
call name, the number of calls and of errors must be equal.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernlab.recording.reader import open_recording
from kernlab.reports.recording.syscall_stats import syscall_statistics
from tests.conftest import need_tool, run_kernlab
from tests.reports.recording.capture import capture, tracefs_or_skip

EVENTS = [
    "raw_syscalls/sys_enter",
    "raw_syscalls/sys_exit",
    "sched/sched_process_exec",
    "sched/sched_process_fork",
    "sched/sched_process_exit",
]


def strace_counts(argv: list[str], out: Path, stdout: int = subprocess.DEVNULL) -> dict[str, tuple[int, int]]:
    """name -> (calls, errors) from strace -f -c's table.

    ``stdout`` must be the same kind of file the recorded run had: GNU ls, for one, skips work
    when its output is /dev/null.
    """
    strace = need_tool("strace")
    subprocess.run(
        [strace, "-f", "-c", "-o", str(out), *argv],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )
    counts: dict[str, tuple[int, int]] = {}
    for line in out.read_text().splitlines():
        parts = line.split()
        if len(parts) < 5 or not parts[0][0].isdigit() or parts[-1] == "total":
            continue
        calls = int(parts[3])
        errors = int(parts[4]) if len(parts) == 6 else 0
        counts[parts[-1]] = (calls, errors)
    return counts


def kernlab_counts(root: Path) -> dict[str, tuple[int, int]]:
    rows = syscall_statistics(open_recording(root)).combined.rows
    return {r.name: (r.calls, r.errors) for r in rows if r.calls}


def compare(argv: list[str], tmp: Path, reset=None) -> None:
    tracefs_or_skip()
    if reset:
        reset()
    capture(tmp / "rec", argv, EVENTS, keep_text=False)
    if reset:
        reset()
    expected = strace_counts(argv, tmp / "strace.txt")
    got = kernlab_counts(tmp / "rec")
    assert expected, "strace printed no table"
    assert got == expected, {
        k: (got.get(k), expected.get(k)) for k in set(got) | set(expected) if got.get(k) != expected.get(k)
    }


@pytest.mark.slow
def test_ls_la_usr_matches_strace(tmp_path):
    compare(["/usr/bin/ls", "-la", "/usr"], tmp_path)


@pytest.mark.slow
def test_mv_matches_strace(tmp_path):
    src, dst = tmp_path / "a.txt", tmp_path / "b.txt"

    def reset() -> None:
        dst.unlink(missing_ok=True)
        src.write_text("kernlab\n")

    compare([shutil.which("mv") or "/usr/bin/mv", str(src), str(dst)], tmp_path, reset)


@pytest.mark.slow
def test_python_one_liner_matches_strace(tmp_path):
    python = shutil.which("python3") or sys.executable
    compare([python, "-c", "import os; print(sum(range(1000)), os.getpid() > 0)"], tmp_path)


def test_report_cli_shows_the_syscall_table(tmp_path):
    tracefs_or_skip()
    capture(tmp_path / "rec", ["/usr/bin/ls", "-la", "/usr"], EVENTS, keep_text=False)
    result = run_kernlab("report", "-d", str(tmp_path / "rec"), "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    rows = {r["name"]: r for r in doc["syscalls"]["combined"]["rows"]}
    assert rows["execve"]["calls"] == 1 and rows["exit_group"]["unfinished"] == 1
    assert doc["loss"]["total"] == 0
    lines = run_kernlab("syscalls", "-d", str(tmp_path / "rec"), "-e", "openat", "--json").json()
    assert lines["lines"] and {ln["name"] for ln in lines["lines"]} == {"openat"}
    assert all("flags=O_" in ln["args_text"] for ln in lines["lines"])
    text = run_kernlab("syscalls", "-d", str(tmp_path / "rec"), "-e", "execve")
    assert text.code == 0 and "execve(" in text.stdout and "→" in text.stdout


def test_tiny_buffer_shows_lost_events(tmp_path, build_c):
    tracefs_or_skip()
    exe = build_c("rep_touch", ["-O1"])
    # 4 KiB per CPU holds a few hundred events; 20000 faults cannot fit
    capture(
        tmp_path / "rec",
        [str(exe), "20000"],
        ["exceptions/page_fault_user", "raw_syscalls/sys_enter", "raw_syscalls/sys_exit"],
        buffer_kb=4,
        keep_text=False,
    )
    result = run_kernlab("report", "-d", str(tmp_path / "rec"), "--json")
    assert result.code == 0, result.stderr
    loss = result.json()["loss"]
    assert loss["total"] > 0
    human = run_kernlab("report", "-d", str(tmp_path / "rec"))
    assert "LOST" in human.stdout
    # the per-event listings say it too
    for command in ("faults", "syscalls"):
        listing = run_kernlab(command, "-d", str(tmp_path / "rec"))
        assert listing.code == 0 and "LOST" in listing.stdout
        assert (
            run_kernlab(command, "-d", str(tmp_path / "rec"), "--json").json()["loss"]["lost"]
            == loss["total"]
        )


def _record_or_skip(tmp_path: Path, argv: list[str]) -> Path:
    tracefs_or_skip()
    from kernlab.cli.main import COMMANDS, _available

    if "record" not in COMMANDS or not _available("record"):
        pytest.skip("`kernlab record` is not available in this tree yet")
    data = tmp_path / "kernlab.data"
    result = run_kernlab("record", "-q", "-d", str(data), "--", *argv)
    assert result.code == 0, result.stderr
    return data


@pytest.mark.slow
def test_kernlab_record_then_report_matches_strace_and_trace_cmd(tmp_path):
    argv = ["/usr/bin/ls", "-la", "/usr"]
    data = _record_or_skip(tmp_path, argv)
    # run_kernlab gives the recorded command a pipe for stdout: give strace's run one too
    assert kernlab_counts(data) == strace_counts(argv, tmp_path / "strace.txt", stdout=subprocess.PIPE)
    trace_cmd = need_tool("trace-cmd")
    dat = tmp_path / "ls.dat"
    assert run_kernlab("dump", "-d", str(data), "--trace-dat", str(dat)).code == 0
    proc = subprocess.run([trace_cmd, "report", str(dat)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    import re
    from collections import Counter

    theirs = Counter(m.group(1) for m in re.finditer(r"\[\d{3}\]\s+\d+\.\d+: (\w+):", proc.stdout))
    ours = {name.split(":")[1]: n for name, n in open_recording(data).event_counts().items()}
    assert dict(theirs) == ours


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["plain", "exec"])
def test_threads_and_exec_from_a_thread_match_strace(tmp_path, build_c, mode):
    exe = build_c("rep_threads", ["-O1", "-pthread"])
    compare([str(exe), *(["exec"] if mode == "exec" else [])], tmp_path)


@pytest.mark.slow
def test_threads_are_grouped_into_their_process(tmp_path, build_c):
    exe = build_c("rep_threads", ["-O1", "-pthread"])
    data = _record_or_skip(tmp_path, [str(exe)])
    doc = run_kernlab("report", "-d", str(data), "--json").json()
    (proc,) = doc["syscalls"]["per_process"]
    assert proc["pid"] == doc["recording"]["root_pid"]
    assert len(proc["threads"]) == 4  # main + 3 workers (tests/programs/rep_threads.c)
    assert proc["summary"]["calls"] == doc["syscalls"]["combined"]["calls"]
    # the same calls strace counts for the whole process tree
    expected = strace_counts([str(exe)], tmp_path / "strace.txt", stdout=subprocess.PIPE)
    assert {r["name"]: (r["calls"], r["errors"]) for r in proc["summary"]["rows"] if r["calls"]} == expected


@pytest.mark.slow
def test_signal_handlers_rt_sigreturn_match_strace(tmp_path, build_c):
    exe = build_c("rep_signal", ["-O1"])
    compare([str(exe), "7"], tmp_path)
    assert kernlab_counts(tmp_path / "rec")["rt_sigreturn"] == (7, 0)


def test_cpu_time_leaves_out_time_switched_out(tmp_path):
    """A call that sleeps 0.2 s takes 0.2 s of wall time (strace -c -w) but almost no CPU time
    (strace -c); summed over all calls, CPU time cannot exceed the kernel's own stime of the
    command (getrusage) by more than its tick-based accounting's slack."""
    tracefs_or_skip()
    rec_dir = tmp_path / "rec"
    result = run_kernlab("record", "-q", "-d", str(rec_dir), "--", "sleep", "0.2")
    assert result.code == 0, result.stderr
    rec = open_recording(rec_dir)
    wall = syscall_statistics(rec, time="wall")
    cpu = syscall_statistics(open_recording(rec_dir), time="cpu")
    assert (wall.time, cpu.time) == ("wall", "cpu")
    sleeper = next(n for n in ("clock_nanosleep", "nanosleep") if n in wall.combined.by_name())
    assert wall.combined.by_name()[sleeper].total_ns >= 200_000_000
    assert cpu.combined.by_name()[sleeper].total_ns < 20_000_000
    for row in cpu.combined.rows:
        assert row.total_ns <= wall.combined.by_name()[row.name].total_ns
    meta = rec.meta
    assert meta.rusage is not None
    assert cpu.combined.total_ns / 1e9 <= meta.rusage.stime_s + 0.02


def test_cpu_time_without_sched_switch_says_wall(tmp_path):
    tracefs_or_skip()
    capture(tmp_path / "rec", ["/bin/true"], EVENTS, keep_text=False)
    stats = syscall_statistics(open_recording(tmp_path / "rec"), time="cpu")
    assert (stats.time, stats.time_asked) == ("wall", "cpu")
