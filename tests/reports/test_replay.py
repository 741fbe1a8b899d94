"""`kernlab replay` of unmodified binaries against `uftrace replay` of the -pg build of the same source."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from kernlab.reports import replay as reports
from kernlab.reports.replay import FUNCTION, CallNode, ReplayReport
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

LINE = re.compile(r"^\s*(?:\d+\.\d+ +\S+)?\s*\[\s*(\d+)\] \| (.*)$")


@pytest.fixture(autouse=True)
def _no_probe_left():
    yield
    if (TRACEFS / "uprobe_events").exists():
        assert "kernlab" not in (TRACEFS / "uprobe_events").read_text()


def _per_thread(lines: list[str]) -> list[list[str]]:
    """Lines grouped by thread (threads in order of first appearance), duration column dropped,
    uftrace's event comments left out."""
    threads: dict[str, list[str]] = {}
    for line in lines:
        match = LINE.match(line)
        if not match or match.group(2).strip().startswith("/*"):
            continue
        threads.setdefault(match.group(1), []).append(match.group(2))
    return list(threads.values())


def _functions_only(report: ReplayReport) -> ReplayReport:
    def keep(nodes: list[CallNode]) -> list[CallNode]:
        return [replace(n, children=keep(n.children)) for n in nodes if n.kind == FUNCTION]

    threads = [replace(t, calls=keep(t.calls)) for t in report.threads]
    return replace(report, threads=threads)


def _kernlab_threads(directory: Path, **filters) -> list[list[str]]:
    from kernlab.render.views.replay import tree_lines

    report = _functions_only(reports.build(directory, **filters))
    return _per_thread(tree_lines(report))


def _uftrace_threads(directory: Path, *options: str) -> list[list[str]]:
    proc = subprocess.run(
        ["uftrace", "replay", "-d", str(directory), *options], capture_output=True, text=True, check=True
    )
    return _per_thread(proc.stdout.splitlines())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, Path]:
    """(kernlab recording of the plain build, uftrace recording of the -pg build) of fn_calls.c."""
    need_tracing()
    need_tool("uftrace")
    need_tool("gcc")
    tmp = tmp_path_factory.mktemp("replay")
    source = Path(__file__).parents[1] / "programs" / "fn_calls.c"
    plain, pg = tmp / "fn_calls", tmp / "fn_calls_pg"
    subprocess.run(["gcc", "-O0", "-o", str(plain), str(source), "-lpthread"], check=True)
    subprocess.run(["gcc", "-O0", "-pg", "-o", str(pg), str(source), "-lpthread"], check=True)
    ours, theirs = tmp / "kernlab.data", tmp / "uftrace.data"
    # Both without library calls (kernlab probes them by default, as uftrace does).
    result = run_kernlab("record", "--functions", "--no-libcall", "-q", "-d", str(ours), "--", str(plain))
    assert result.code == 0, result.stderr
    subprocess.run(
        ["uftrace", "record", "--no-event", "--no-libcall", "-d", str(theirs), str(pg)],
        check=True,
        capture_output=True,
    )
    return ours, theirs


def test_tree_equals_uftrace_replay(recorded):
    ours, theirs = recorded
    mine = _kernlab_threads(ours)
    assert mine == _uftrace_threads(theirs)
    # the shapes the program was written to have are there
    assert len(mine) == 2
    assert "  fib() {" in mine[0] and "    middle() {" in mine[0] and "worker() {" in mine[1]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({"include": ["middle"]}, ["-F", "middle"]),
        ({"exclude": ["fib"]}, ["-N", "fib"]),
        ({"depth": 2}, ["-D", "2"]),
        ({"include": ["^main$"], "depth": 3}, ["-F", "^main$", "-D", "3"]),
    ],
)
def test_filters_equal_uftrace_replay_filters(recorded, ours, theirs):
    kernlab_dir, uftrace_dir = recorded
    assert _kernlab_threads(kernlab_dir, **ours) == _uftrace_threads(uftrace_dir, *theirs)


def test_system_calls_nest_under_the_function_that_made_them(recorded):
    ours, _ = recorded
    report = reports.build(ours)
    main = next(c for t in report.threads for c in t.calls if c.name == "main")
    # printf's write(1, "total=23\n", 9) is made inside main, with its decoded arguments
    writes = [c for c in main.children if c.kind == "syscall" and c.name == "write"]
    assert writes and writes[0].args.startswith("fd=1") and writes[0].ret == len("total=23\n")
    assert report.outside_syscalls > 0  # the dynamic loader's, before main: counted, not shown

    # every shown call lies inside its parent in time
    def check(node: CallNode) -> None:
        for child in node.children:
            assert child.time_ns >= node.time_ns
            if node.duration_ns is not None and child.duration_ns is not None:
                # durations leave out kernlab's ptrace stops; the times are the trace clock's
                child_end = child.time_ns + child.duration_ns + child.stopped_ns
                assert child_end <= node.time_ns + node.duration_ns + node.stopped_ns
            check(child)

    for t in report.threads:
        for c in t.calls:
            check(c)


def test_syscalls_match_kernlab_syscalls(recorded):
    """The system calls inside functions are those `kernlab syscalls` lists, same text."""
    from kernlab.reports import syscalls

    ours, _ = recorded
    listing = {(ln.pid, ln.name, ln.args_text) for ln in syscalls.build(ours).lines}
    report = reports.build(ours)
    todo = [(t.tid, c) for t in report.threads for c in t.calls]
    seen = 0
    while todo:
        tid, node = todo.pop()
        if node.kind == "syscall":
            assert (tid, node.name, node.args) in listing
            seen += 1
        todo.extend((tid, c) for c in node.children)
    assert seen == report.syscalls > 0


def test_time_filter_and_tid(recorded):
    ours, _ = recorded
    full = reports.build(ours)
    worker_tid = full.threads[1].tid
    only = reports.build(ours, tids={worker_tid})
    assert [t.tid for t in only.threads] == [worker_tid]
    slow = reports.build(ours, time_ns=reports.parse_time("1s"))
    # nothing of this program takes a second: only calls with no recorded end could stay
    assert slow.function_calls == 0


def test_parse_time_as_uftrace():
    assert reports.parse_time("10us") == 10_000
    assert reports.parse_time("1.5ms") == 1_500_000
    assert reports.parse_time("2") == 2_000
    with pytest.raises(Exception, match="-t"):
        reports.parse_time("soon")


def test_replay_of_a_recording_without_functions(tmp_path):
    need_tracing()
    out = tmp_path / "plain"
    assert run_kernlab("record", "-q", "-d", str(out), "--", "true").code == 0
    result = run_kernlab("replay", "-d", str(out))
    assert result.code == 3
    assert "--functions" in result.stderr and "Traceback" not in result.stderr
