"""`kernlab graph FUNC` of an unmodified binary against `uftrace graph FUNC` of the -pg build of the
same source (tests/programs/fn_calls.c): the same lines once the time column is set aside —
backtraces (paths and hits), the graph's names, calls per path and branches — and times that
hold together (self ≤ total, a node's total = its self + its children's)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kernlab.render.views.graph import graph_lines
from kernlab.reports import graph as reports
from kernlab.reports.graph import GraphNode, GraphReport
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

SOURCE = Path(__file__).parents[1] / "programs" / "fn_calls.c"
FUNCTIONS = ["main", "middle", "fib", "leaf", "looped", "outer", "worker"]


def record_both(tmp: Path) -> tuple[Path, Path]:
    """(kernlab recording of the plain build, uftrace recording of the -pg build); both
    executables are called ``fn_calls`` so the whole graph's root has one name."""
    need_tracing()
    need_tool("uftrace")
    need_tool("gcc")
    plain, pg = tmp / "plain" / "fn_calls", tmp / "pg" / "fn_calls"
    for exe, flags in ((plain, []), (pg, ["-pg"])):
        exe.parent.mkdir()
        subprocess.run(["gcc", "-O0", *flags, "-o", str(exe), str(SOURCE), "-lpthread"], check=True)
    ours, theirs = tmp / "kernlab.data", tmp / "uftrace.data"
    result = run_kernlab("record", "--functions", "-q", "-d", str(ours), "--", str(plain))
    assert result.code == 0, result.stderr
    subprocess.run(
        ["uftrace", "record", "--no-event", "--no-libcall", "-d", str(theirs), str(pg)],
        check=True,
        capture_output=True,
    )
    return ours, theirs


def no_probe_left(tmp: Path) -> None:
    """None of the probes on our binaries remain (other tests' recordings may be running)."""
    if (TRACEFS / "uprobe_events").exists():
        assert str(tmp) not in (TRACEFS / "uprobe_events").read_text()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[tuple[Path, Path]]:
    tmp = tmp_path_factory.mktemp("graph")
    yield record_both(tmp)
    no_probe_left(tmp)


def functions_only(report: GraphReport) -> GraphReport:
    """The program's own functions: no system calls (uftrace without -K has none), no library
    calls (uftrace recorded with --no-libcall)."""

    def keep(node: GraphNode) -> GraphNode:
        kept = [keep(c) for c in node.children if c.kind == "function" and not c.library]
        return replace(node, children=kept)

    return replace(report, root=keep(report.root) if report.root is not None else None)


TIME = re.compile(r"(time|시간)\s+\S+ \S+$")


def normalized(lines: list[str]) -> list[str]:
    """Lines without what differs between the tools by nature: the session, times, addresses."""
    out = []
    for line in lines:
        if line.startswith("# Function Call Graph"):
            out.append(line.split(" (session:")[0])
        elif line.startswith(" backtrace #"):
            out.append(TIME.sub("time", line))
        elif re.match(r"^   \[\d+\] ", line):
            out.append(re.sub(r" \(0x[0-9a-f]+\)$", "", line))
        elif " : " in line[:16] or line.rstrip().endswith(":"):
            out.append(line[12:].rstrip())  # the 10-column time and the two spaces before it
        else:
            out.append(line.rstrip())
    while out and not out[-1]:
        out.pop()
    return out


def uftrace_graph(directory: Path, *args: str) -> list[str]:
    proc = subprocess.run(
        ["uftrace", "graph", "-d", str(directory), *args], capture_output=True, text=True, check=True
    )
    return proc.stdout.splitlines()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_graph_lines_equal_uftrace_graph(recorded, function):
    ours, theirs = recorded
    report = functions_only(reports.build(ours, function))
    mine = normalized(graph_lines(report))
    assert mine == normalized(uftrace_graph(theirs, function))
    assert mine[0] == f"# Function Call Graph for '{function}'"


def test_whole_graph_equals_uftrace_graph_without_function(recorded):
    ours, theirs = recorded
    report = functions_only(reports.build(ours))
    assert report.whole and report.root is not None and report.root.name == "fn_calls"
    assert normalized(graph_lines(report)) == normalized(uftrace_graph(theirs))


def test_backtraces_and_calls_per_path(recorded):
    """middle is reached by two paths: main → outer (twice) and worker (three times)."""
    ours, _ = recorded
    report = reports.build(ours, "middle")
    paths = {tuple(e.name for e in b.functions): b.hits for b in report.backtraces}
    assert paths == {("main", "outer", "middle"): 2, ("worker", "middle"): 3}
    assert report.root is not None and report.root.calls == 5 and report.threads == 2
    assert [(c.name, c.calls) for c in report.root.children] == [("leaf", 5)]
    # the backtrace times add up to the root's
    assert sum(b.total_ns for b in report.backtraces) == report.root.total_ns


def _check_times(node: GraphNode) -> None:
    assert node.total_ns is not None and node.self_ns is not None, node.name
    assert 0 <= node.self_ns <= node.total_ns, node.name
    children = sum(c.total_ns or 0 for c in node.children)
    # total = self + the calls made inside (exact: the same durations, merged by path)
    assert node.total_ns == node.self_ns + children, node.name
    for c in node.children:
        _check_times(c)


@pytest.mark.parametrize("function", [None, "main", "fib", "worker"])
def test_times_hold_together(recorded, function):
    ours, _ = recorded
    report = reports.build(ours, function)
    assert report.root is not None
    _check_times(report.root)


def test_recursion_is_counted_as_uftrace_counts_it(recorded):
    """fib(4): one outermost call; the 8 inner calls are the graph below it, by depth."""
    ours, _ = recorded
    root = reports.build(ours, "fib").root
    assert root is not None and root.calls == 1
    chain = []
    node = root
    while node.children:
        (node,) = node.children
        chain.append(node.calls)
    assert chain == [2, 4, 2]


def test_depth_and_unknown_names(recorded):
    ours, _ = recorded
    shallow = reports.build(ours, "main", depth=1)
    assert shallow.root is not None and all(not c.children for c in shallow.root.children)
    missing = reports.build(ours, "mian")
    assert missing.root is None and not missing.probed and "main" in missing.similar
    syscall = reports.build(ours, "write@syscall")
    assert syscall.root is not None and syscall.root.kind == "syscall"
    # printf's write: made in main (through fflush when library calls are recorded)
    path = [e.name for e in syscall.backtraces[0].functions]
    assert path[0] == "main" and path[-1] == "write@syscall"
