"""kernlab record as a user runs it: pass-through, exit status, errors, -p, event choice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernlab.recording.layout import read_meta
from tests.conftest import PROGRAMS, assert_clean_error, compile_c, need_tool, run_kernlab
from tests.recording.rec_rawpages import count_events, event_id
from tests.recording.rec_util import instances_of, need_tracing

DROP_TO_NOBODY = """
import os, sys
# Import everything while still root: the interpreter's packages may be unreadable afterwards.
import click, difflib, gzip, rich.console, rich.table, rich.box, rich.progress
from kernlab.cli.main import main
import kernlab.cli.record_cmd, kernlab.cli.doctor_cmd, kernlab.recording.recorder
import kernlab.tracing.capabilities, kernlab.render.terminal, kernlab.render.jsonout, kernlab.source.btf
import kernlab.catalog, kernlab.syscalls.tables, kernlab.kernel.config
kernlab.catalog.sentences("en")
# The packaged syscall tables are read through importlib.resources, whose reader module loads
# lazily: load it (and a table) now, as the rest.
import importlib.readers, platform
kernlab.syscalls.tables.lookup("bpf", kernlab.syscalls.tables.normalize_arch(platform.machine()))
import io
from rich.console import Console
from rich.table import Table
_warm = Console(file=io.StringIO(), force_terminal=True)
_table = Table("a", "b", title="t")
_table.add_row("1", "2")
_warm.print("[bold]x[/bold] [italic cyan]y[/italic cyan] :smile:", _table)
os.setgroups([]); os.setgid(65534); os.setuid(65534)
main(sys.argv[1:])
"""


def run_as_nobody(*args: str) -> subprocess.CompletedProcess:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to the unprivileged user 65534")
    return subprocess.run(
        [sys.executable, "-c", DROP_TO_NOBODY, *args], capture_output=True, text=True, timeout=60, cwd="/"
    )


def test_stdout_and_exit_status_pass_through(tmp_path):
    need_tracing()
    result = run_kernlab("record", "-d", str(tmp_path / "r"), "--", "sh", "-c", "echo hello; exit 7")
    assert result.code == 7, result.stderr
    assert result.stdout == "hello\n"  # the summary goes to stderr
    assert "Recorded" in result.stderr
    assert read_meta(tmp_path / "r").exit_code == 7


def test_stdin_passes_through(tmp_path):
    need_tracing()
    result = run_kernlab("record", "-q", "-d", str(tmp_path / "r"), "--", "cat", input="typed text\n")
    assert result.code == 0, result.stderr
    assert result.stdout == "typed text\n"


def test_json_is_one_document(tmp_path):
    need_tracing()
    result = run_kernlab("record", "--json", "-d", str(tmp_path / "r"), "--", "true")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["meta"]["command"] == ["true"]
    assert isinstance(doc["meta"]["root_pid"], int) and doc["meta"]["root_pid"] > 0
    assert doc["meta"]["lost_events"] == 0
    assert doc["raw_bytes"] == sum(
        (tmp_path / "r" / "cpus" / f"cpu{c['cpu']}.raw").stat().st_size for c in doc["meta"]["loss"]
    )


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--", "no-such-command-kernlab"], 3, "not found"),
        (["--", "{tmp}/data.txt"], 3, "not executable"),
        (["--", "{tmp}/garbage"], 3, "Exec format error"),
        (["--", "/tmp"], 3, "directory"),
        ([], 3, "nothing to record"),
        (["-p", "999999999"], 4, "999999999"),
        (["-a", "--", "true"], 3, "whole system"),
        (["-p", "1", "--", "true"], 3, "either"),
        (["--duration", "1", "--", "true"], 3, "-p"),
        (["-e", "no-such-group", "--", "true"], 3, "no-such-group"),
        (["-e", "nosys:noevent", "--", "true"], 6, "nosys:noevent"),
        (["--kstack", "sched_switch", "--only", "-e", "syscalls", "--", "true"], 3, "--kstack"),
    ],
)
def test_user_errors_are_one_line(tmp_path, args, code, words):
    if args[:2] != ["--", "no-such-command-kernlab"] and args:
        need_tracing()
    (tmp_path / "data.txt").write_text("not a program\n")
    (tmp_path / "garbage").write_bytes(b"\x00\x01 not an executable format")
    (tmp_path / "garbage").chmod(0o755)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = run_kernlab("record", "-d", str(tmp_path / "r"), *args)
    assert_clean_error(result, code)
    assert words in result.stderr


def test_refuses_to_overwrite_a_directory_that_is_not_a_recording(tmp_path):
    need_tracing()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = run_kernlab("record", "-d", str(tmp_path / "mine"), "--", "true")
    assert_clean_error(result, 3)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    assert_clean_error(run_kernlab("record", "-d", str(tmp_path / "file"), "--", "true"), 3)


def test_a_second_recording_replaces_the_first(tmp_path):
    need_tracing()
    out = tmp_path / "r"
    assert run_kernlab("record", "-q", "-d", str(out), "--", "true").code == 0
    first = read_meta(out).root_pid
    assert run_kernlab("record", "-q", "-d", str(out), "--", "true").code == 0
    meta = read_meta(out)
    assert meta.root_pid != first
    assert read_meta(tmp_path / "r.old").root_pid == first  # kept, as uftrace keeps DIR.old
    assert {Path(s.path).name.split(".")[0] for s in meta.maps} == {str(meta.root_pid)}


def test_not_root_is_one_clear_line(tmp_path):
    result = run_as_nobody("record", "-d", str(tmp_path / "r"), "--", "true")
    assert result.returncode == 5, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("kernlab: error:") and "root" in lines[0], result.stderr


def test_children_are_followed(tmp_path):
    need_tracing()
    strace = need_tool("strace")
    script = "/bin/true; /bin/echo x >/dev/null; /bin/true"
    oracle = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "sh", "-c", script],
        capture_output=True,
        text=True,
    ).stderr
    execs = len(re.findall(r"execve\(.*\) = 0", oracle))
    out = tmp_path / "r"
    result = run_kernlab("record", "-q", "-d", str(out), "--", "sh", "-c", script)
    assert result.code == 0, result.stderr
    meta = read_meta(out)
    assert len([s for s in meta.maps if s.when == "exec"]) == execs
    assert len([s for s in meta.maps if s.when == "exit"]) == execs
    counts = count_events(out, meta.page_size)
    exec_id = event_id(out, "sched", "sched_process_exec")
    assert sum(n for (etype, _), n in counts.items() if etype == exec_id) == execs


def test_only_and_extra_groups(tmp_path):
    need_tracing()
    out = tmp_path / "r"
    result = run_kernlab("record", "-q", "--only", "-e", "syscalls", "-d", str(out), "--", "true")
    assert result.code == 0, result.stderr
    assert read_meta(out).events == ["raw_syscalls:sys_enter", "raw_syscalls:sys_exit"]
    available = Path("/sys/kernel/tracing/available_events").read_text().split()
    filemap = sorted(e for e in available if e.startswith("filemap:"))
    if not filemap:
        pytest.skip("this kernel has no filemap events")
    result = run_kernlab("record", "-q", "-e", "pagecache", "-d", str(out), "--", "cat", "/etc/hostname")
    assert result.code == 0, result.stderr
    events = read_meta(out).events
    assert set(filemap) <= set(events) and "raw_syscalls:sys_enter" in events


def test_kernel_stacks_on_chosen_events(tmp_path):
    need_tracing()
    prog = compile_c(PROGRAMS / "rec_touch.c", tmp_path / "rec_touch", ["-O2"])
    out = tmp_path / "r"
    result = run_kernlab("record", "-q", "--kstack", "page_fault_user", "-d", str(out), "--", str(prog), "4")
    assert result.code == 0, result.stderr
    meta = read_meta(out)
    assert meta.kstack_events == ["exceptions:page_fault_user"]
    counts = count_events(out, meta.page_size)
    stacks = sum(n for (etype, _), n in counts.items() if etype == event_id(out, "ftrace", "kernel_stack"))
    faults = sum(
        n for (etype, _), n in counts.items() if etype == event_id(out, "exceptions", "page_fault_user")
    )
    assert stacks == faults > 1024


def test_attach_to_a_running_process(tmp_path):
    need_tracing()
    target = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.1)
        out = tmp_path / "r"
        t0 = time.monotonic()
        result = run_kernlab("record", "-q", "-p", str(target.pid), "--duration", "0.5", "-d", str(out))
        assert result.code == 0, result.stderr
        assert time.monotonic() - t0 < 15
        meta = read_meta(out)
        assert meta.attached and meta.root_pid == target.pid and meta.command == []
        assert [s.when for s in meta.maps] == ["attach", "end"]
        assert target.poll() is None  # still running, and no longer traced
        status = Path(f"/proc/{target.pid}/status").read_text()
        assert re.search(r"^TracerPid:\s+0$", status, re.M)
        assert re.search(r"^State:\s+S", status, re.M)
    finally:
        target.kill()
        target.wait()


def test_attach_to_a_zombie_is_no_such_process(tmp_path):
    need_tracing()
    zombie = subprocess.Popen(["true"])
    deadline = time.monotonic() + 5
    while Path(f"/proc/{zombie.pid}/stat").read_text().split(") ")[1][0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        result = run_kernlab("record", "-p", str(zombie.pid), "-d", str(tmp_path / "r"))
        assert_clean_error(result, 4)
        assert "zombie" in result.stderr
    finally:
        zombie.wait()


def test_ctrl_c_ends_an_attached_recording(tmp_path):
    need_tracing()
    target = subprocess.Popen(["sleep", "30"])
    out = tmp_path / "r"
    rec = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "record", "-q", "-p", str(target.pid), "-d", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not re.search(r"^TracerPid:\s+[1-9]", Path(f"/proc/{target.pid}/status").read_text(), re.M):
            assert time.monotonic() < deadline and rec.poll() is None
            time.sleep(0.05)
        rec.send_signal(signal.SIGINT)
        _, stderr = rec.communicate(timeout=30)
        assert rec.returncode == 0, stderr
        assert target.poll() is None  # the process itself was not interrupted
        assert re.search(r"^TracerPid:\s+0$", Path(f"/proc/{target.pid}/status").read_text(), re.M)
        assert [s.when for s in read_meta(out).maps] == ["attach", "end"]
    finally:
        target.kill()
        target.wait()


def test_attached_process_that_exits(tmp_path):
    need_tracing()
    target = subprocess.Popen(["sleep", "3"])
    try:
        time.sleep(0.1)
        out = tmp_path / "r"
        result = run_kernlab("record", "-q", "-p", str(target.pid), "-d", str(out))
        assert result.code == 0, result.stderr
        meta = read_meta(out)
        assert [s.when for s in meta.maps] == ["attach", "exit"]
    finally:
        target.kill()
        target.wait()


@pytest.mark.slow
def test_two_recordings_at_once(tmp_path):
    need_tracing()
    prog = compile_c(PROGRAMS / "rec_touch.c", tmp_path / "rec_touch", ["-O2"])
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kernlab",
                "record",
                "-q",
                "-d",
                str(tmp_path / f"r{i}"),
                "--",
                str(prog),
                "64",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for i, proc in enumerate(procs):
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        out = tmp_path / f"r{i}"
        meta = read_meta(out)
        assert meta.lost_events == 0
        counts = count_events(out, meta.page_size)
        pid = meta.root_pid
        # only this recording's command makes system calls and faults in its pages (sched_switch
        # and sched_wakeup may be run by other tasks that switch to or wake the command)
        own_kinds = {
            event_id(out, "raw_syscalls", "sys_enter"),
            event_id(out, "exceptions", "page_fault_user"),
        }
        assert {p for (t, p) in counts if t in own_kinds} == {pid}
        traced = counts[(event_id(out, "exceptions", "page_fault_user"), pid)]
        own = int(re.search(r"minflt=(\d+)", stdout).group(1))
        exec_snap = next(s for s in meta.maps if s.when == "exec")
        assert abs(traced - (own - exec_snap.minflt)) <= own * 0.01


def test_no_ptrace_lets_the_command_be_a_debugger(tmp_path):
    need_tracing()
    strace = need_tool("strace")
    out = tmp_path / "r"
    result = run_kernlab(
        "record",
        "-q",
        "--no-ptrace",
        "-d",
        str(out),
        "--",
        strace,
        "-f",
        "-o",
        str(tmp_path / "s.txt"),
        "true",
    )
    assert result.code == 0, result.stderr
    meta = read_meta(out)
    assert meta.maps == [] and any("--no-ptrace" in n for n in meta.notes)
    # strace saw the same execve of true that the recording's sched_process_exec events show
    traced = (tmp_path / "s.txt").read_text()
    assert re.search(r'execve\("[^"]*true"', traced)
    counts = count_events(out, meta.page_size)
    assert (
        sum(n for (etype, _), n in counts.items() if etype == event_id(out, "sched", "sched_process_exec"))
        == 2
    )


def test_failure_after_setup_began_cleans_up(tmp_path):
    """tracefs refuses a buffer larger than memory: one line, code 7, and no instance left."""
    need_tracing()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kernlab",
            "record",
            "--buffer-size",
            str(1 << 40),
            "-d",
            str(tmp_path / "r"),
            "--",
            "sleep",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 7, stderr
    assert stderr.startswith("kernlab: error:") and len(stderr.strip().splitlines()) == 1
    assert "buffer_size_kb" in stderr
    assert instances_of(proc.pid) == []


def test_clock_sync_markers_are_in_the_pages(tmp_path):
    need_tracing()
    out = tmp_path / "r"
    result = run_kernlab("record", "-q", "-d", str(out), "--", "true")
    assert result.code == 0, result.stderr
    meta = read_meta(out)
    clocks = Path("/sys/kernel/tracing/trace_clock").read_text().replace("[", " ").replace("]", " ").split()
    assert meta.clock == "local" and meta.clock in clocks
    assert (
        len(meta.clock_sync_ns) == 2 and meta.start_time_ns <= meta.clock_sync_ns[0] <= meta.clock_sync_ns[1]
    )
    raw = b"".join(p.read_bytes() for p in sorted((out / "cpus").glob("cpu*.raw")))
    for value in meta.clock_sync_ns:
        assert f"kernlab-sync mono_ns={value}".encode() in raw
    counts = count_events(out, meta.page_size)
    assert sum(n for (etype, _), n in counts.items() if etype == event_id(out, "ftrace", "print")) == 2


def test_unknown_clock_is_refused(tmp_path):
    need_tracing()
    result = run_kernlab("record", "--clock", "sundial", "-d", str(tmp_path / "r"), "--", "true")
    assert_clean_error(result, 6)
    assert "sundial" in result.stderr and "local" in result.stderr


def test_attach_to_a_process_already_under_strace(tmp_path):
    """ptrace is refused (strace holds it): the recording still works and ends with the process."""
    need_tracing()
    strace = need_tool("strace")
    target = subprocess.Popen(["sleep", "2"])
    tracer = subprocess.Popen([strace, "-qq", "-o", str(tmp_path / "s.txt"), "-p", str(target.pid)])
    try:
        deadline = time.monotonic() + 10
        while not re.search(r"^TracerPid:\s+[1-9]", Path(f"/proc/{target.pid}/status").read_text(), re.M):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        out = tmp_path / "r"
        t0 = time.monotonic()
        result = run_kernlab("record", "-q", "-p", str(target.pid), "-d", str(out))
        assert result.code == 0, result.stderr
        assert time.monotonic() - t0 < 15  # it ended when sleep ended (a zombie until we reap it)
        meta = read_meta(out)
        assert any("ptrace was refused" in n for n in meta.notes)
        assert [s.when for s in meta.maps] == ["attach"]
    finally:
        target.kill()
        target.wait()
        tracer.wait(timeout=10)
