"""`record --functions`: the probes placed, enabled only in the recording's instance, and removed
on every way out (normal end, a refusal, SIGTERM, and by the next run after a SIGKILL)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernlab.recording.functions import FunctionFilters, choose_functions, read_function_table
from kernlab.tracing.instance import process_start_time
from tests.conftest import assert_clean_error, need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, instances_of, need_tracing

PROGRAMS = Path(__file__).parents[1] / "programs"


def _kernlab_probes() -> list[str]:
    path = TRACEFS / "uprobe_events"
    return [ln for ln in path.read_text().splitlines() if "kernlab" in ln] if path.exists() else []


@pytest.fixture(autouse=True)
def _no_probe_left():
    yield
    assert _kernlab_probes() == []


def _build(tmp_path: Path, name: str, *flags: str) -> Path:
    need_tool("gcc")
    out = tmp_path / (name + "".join(f.replace("-", "_") for f in flags))
    subprocess.run(
        ["gcc", "-O0", *flags, "-o", str(out), str(PROGRAMS / f"{name}.c"), "-lpthread"], check=True
    )
    return out


def _readelf_offsets(path: Path) -> dict[str, int]:
    """name -> file offset of each defined FUNC, from readelf -s and readelf -l (PT_LOAD)."""
    loads = []
    for line in subprocess.run(
        ["readelf", "-lW", str(path)], capture_output=True, text=True
    ).stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["LOAD"]:
            loads.append((int(parts[1], 16), int(parts[2], 16), int(parts[4], 16)))
    out = {}
    for line in subprocess.run(
        ["readelf", "-sW", str(path)], capture_output=True, text=True
    ).stdout.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[3] == "FUNC" and parts[6] != "UND":
            value = int(parts[1], 16)
            for offset, vaddr, filesz in loads:
                if vaddr <= value < vaddr + filesz:
                    out[parts[7].split("@")[0]] = offset + value - vaddr
    return out


@pytest.mark.parametrize("flags", [("-pie", "-fPIE"), ("-no-pie", "-fno-PIE")])
def test_offsets_are_readelfs_for_pie_and_non_pie(tmp_path, flags):
    need_tool("readelf")
    prog = _build(tmp_path, "fn_calls", *flags)
    table = choose_functions(str(prog), FunctionFilters(), "g")
    expected = _readelf_offsets(prog)
    assert table.pie == (flags[0] == "-pie")
    assert {f.name: f.offset for f in table.functions} == {f.name: expected[f.name] for f in table.functions}
    names = {f.name for f in table.functions}
    assert {"main", "worker", "middle", "leaf", "outer", "fib", "looped"} <= names
    assert not names & {"_start", "_init", "_fini", "frame_dummy"}  # the C runtime's, not the program's


@pytest.mark.parametrize("flags", [("-pie", "-fPIE"), ("-no-pie", "-fno-PIE")])
def test_record_leaves_no_probe_and_counts_every_call(tmp_path, flags):
    need_tracing()
    prog = _build(tmp_path, "fn_calls", *flags)
    out = tmp_path / "rec"
    result = run_kernlab("record", "--functions", "-q", "-d", str(out), "--", str(prog), "7")
    assert result.code == 0, result.stderr
    assert _kernlab_probes() == [] and instances_of(os.getpid()) == []
    from kernlab.reports.replay import build

    report = build(out)
    counts: dict[str, int] = {}
    todo = [c for t in report.threads for c in t.calls]
    while todo:
        node = todo.pop()
        if (
            node.kind == "function" and not node.library
        ):  # the program's own (library calls: test_libcall_plt.py)
            counts[node.name] = counts.get(node.name, 0) + 1
        todo.extend(node.children)
    # from the source: leaf 3 (worker) + 2 (outer) + 7 (looped); fib(4) is 9 calls
    assert counts == {"main": 1, "worker": 1, "middle": 5, "leaf": 12, "outer": 1, "fib": 9, "looped": 1}


def test_filter_probes_what_the_matches_reach(tmp_path):
    prog = _build(tmp_path, "fn_calls")
    table = choose_functions(str(prog), FunctionFilters(include=["^fib$"]), "g")
    # fib calls only itself; worker (given to pthread_create) and middle (stored in a pointer)
    # have their address taken, so they are probed too, with leaf below middle; main and outer not.
    assert {f.name for f in table.functions} == {"fib", "worker", "middle", "leaf"}
    assert table.filtered_out == 3


def test_too_many_functions_names_the_filter(tmp_path):
    need_tracing()
    prog = _build(tmp_path, "fn_calls")
    result = run_kernlab(
        "record", "--functions", "--max-functions", "3", "-d", str(tmp_path / "r"), "--", str(prog)
    )
    assert_clean_error(result, 3)
    assert "-F REGEX" in result.stderr and "--max-functions" in result.stderr


def test_filters_need_functions(tmp_path):
    result = run_kernlab("record", "-F", "main", "-d", str(tmp_path / "r"), "--", "true")
    assert_clean_error(result, 3)


def test_stripped_binary_is_said_once(tmp_path):
    need_tracing()
    need_tool("strip")
    prog = _build(tmp_path, "fn_calls")
    stripped = tmp_path / "stripped"
    shutil.copy(prog, stripped)
    subprocess.run(["strip", "--strip-all", str(stripped)], check=True)
    out = tmp_path / "rec"
    result = run_kernlab("record", "--functions", "--json", "-d", str(out), "--", str(stripped))
    assert result.code == 0, result.stderr
    document = result.stdout[result.stdout.index("{") :]  # after the program's own output
    notes = [n for n in json.loads(document)["meta"]["notes"] if "--functions" in n]
    assert len(notes) == 1 and "stripped" in notes[0] and "system calls" in notes[0]
    table = read_function_table(out)
    assert table is not None and table.missing == "symbols"
    assert table.functions and all(f.library and f.probe for f in table.functions)  # its library calls only
    replay = run_kernlab("replay", "-d", str(out))
    assert replay.code == 0
    assert "pthread_create() {" in replay.stdout  # its library calls still make a tree
    replay = run_kernlab("replay", "-d", str(out), "-N", ".")
    assert ".symtab" in replay.stdout and "kernlab syscalls" in replay.stdout


def _start(out: Path, prog: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kernlab",
            "record",
            "--functions",
            "-q",
            "-d",
            str(out),
            "--",
            str(prog),
            "-1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    start = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        start = start or process_start_time(proc.pid)
        mine = [ln for ln in _kernlab_probes() if f"kernlab_{proc.pid}_" in ln]
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        try:
            child = int(kids.read_text().split()[0])
            running = Path(f"/proc/{child}/comm").read_text().strip() == prog.name[:15]
        except (OSError, IndexError, ValueError):
            child, running = 0, False
        if mine and running:
            assert any(ln.startswith("r:") for ln in mine) and any(ln.startswith("p:") for ln in mine)
            return proc, child
        if proc.poll() is not None:
            pytest.fail(f"kernlab record ended early: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the recording never started")


def test_sigterm_removes_the_probes(tmp_path):
    need_tracing()
    prog = _build(tmp_path, "fn_loop")
    proc, _child = _start(tmp_path / "rec", prog)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert not [ln for ln in _kernlab_probes() if f"kernlab_{proc.pid}_" in ln]
    assert instances_of(proc.pid) == []


def test_sigkill_leaves_probes_that_the_next_run_removes(tmp_path):
    need_tracing()
    prog = _build(tmp_path, "fn_loop")
    proc, child = _start(tmp_path / "rec", prog)
    proc.kill()
    proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.kill(child, signal.SIGKILL)
    left = [ln for ln in _kernlab_probes() if f"kernlab_{proc.pid}_" in ln]
    assert left, "the probes of the killed run should still be there before the next run"
    result = run_kernlab("record", "-q", "-d", str(tmp_path / "next"), "--", "true")
    assert result.code == 0, result.stderr
    assert not [ln for ln in _kernlab_probes() if re.search(rf"kernlab_{proc.pid}_", ln)]
    assert instances_of(proc.pid) == []


def test_recording_again_keeps_the_previous_as_old(tmp_path):
    """A --functions recording is a recording like any other: kept as DIR.old, then replaced."""
    need_tracing()
    prog = _build(tmp_path, "fn_loop")
    out = tmp_path / "rec"
    for _ in range(3):
        result = run_kernlab("record", "--functions", "-q", "-d", str(out), "--", str(prog), "10")
        assert result.code == 0, result.stderr
    assert read_function_table(tmp_path / "rec.old") is not None


def test_dash_n_leaves_out_the_probes_of_leaves_only(tmp_path):
    """-N at record time drops the probes of a matched function that calls nothing (its whole
    subtree is itself: a hot leaf then costs nothing); a matched function that calls others stays
    probed, so replay can hide what it calls."""
    prog = _build(tmp_path, "fn_calls")
    every = {f.name for f in choose_functions(str(prog), FunctionFilters(), "g").functions}
    assert {"leaf", "middle", "fib"} <= every
    no_leaf = {
        f.name for f in choose_functions(str(prog), FunctionFilters(exclude=["^leaf$"]), "g").functions
    }
    assert no_leaf == every - {"leaf"}
    kept = {
        f.name
        for f in choose_functions(str(prog), FunctionFilters(exclude=["^middle$", "^fib$"]), "g").functions
    }
    assert kept == every  # middle calls leaf, fib calls itself: hidden by replay, not unprobed
