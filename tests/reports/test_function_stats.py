"""Function statistics (`kernlab report` of a `record --functions` recording) against `uftrace
report` of the -pg build of the same source: the same functions with the same calls, the same
order where the keys do not depend on time (``-s call,func``, ``-s func``), and times that hold
together (self ≤ total, sorted by total); plus uftrace's rules on a tree of fixed figures
(recursion counted once in total, system-call and kernel rows, sort keys)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernlab.errors import BadInput
from kernlab.reports import report as reports
from kernlab.reports.functions import FunctionRow, function_statistics, parse_sort, sort_rows
from kernlab.reports.recording.loss import Loss
from kernlab.reports.replay import CallNode, ReplayFilters, ReplayReport, ThreadCalls
from tests.conftest import run_kernlab
from tests.reports.test_graph import no_probe_left, record_both


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[tuple[Path, Path]]:
    tmp = tmp_path_factory.mktemp("fnstats")
    yield record_both(tmp)
    no_probe_left(tmp)


def uftrace_report(directory: Path, *args: str) -> list[tuple[str, int]]:
    """(function, calls) of each row of `uftrace report`, in its order."""
    proc = subprocess.run(
        ["uftrace", "report", "-d", str(directory), *args], capture_output=True, text=True, check=True
    )
    rows = []
    for line in proc.stdout.splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 6:
            rows.append((parts[-1], int(parts[-2])))
    return rows


def own_rows(rows: list[FunctionRow]) -> list[FunctionRow]:
    """The program's own functions (uftrace recorded with --no-libcall, without -K)."""
    return [r for r in rows if r.kind == "function" and not r.library]


def test_functions_and_calls_equal_uftrace_report(recorded):
    ours, theirs = recorded
    stats = reports.build(ours).functions
    assert stats is not None
    mine = {r.name: r.calls for r in own_rows(stats.rows)}
    assert mine == dict(uftrace_report(theirs))
    assert mine["fib"] == 9 and mine["leaf"] == 9 and mine["middle"] == 5


@pytest.mark.parametrize("keys", ["call,func", "func"])
def test_order_equals_uftrace_report_for_keys_without_time(recorded, keys):
    ours, theirs = recorded
    stats = reports.build(ours, sort=keys).functions
    assert stats is not None and stats.sort == keys.split(",")
    assert [(r.name, r.calls) for r in own_rows(stats.rows)] == uftrace_report(theirs, "-s", keys)


@pytest.mark.parametrize("key", ["total", "self", "total_max", "self_avg"])
def test_rows_follow_their_times(recorded, key):
    ours, _ = recorded
    stats = reports.build(ours, sort=key).functions
    assert stats is not None
    values = [
        {
            "total": r.total_ns,
            "self": r.self_ns,
            "total_max": r.total_max_ns,
            "self_avg": r.self_avg_ns,
        }[key]
        or 0
        for r in stats.rows
    ]
    assert values == sorted(values, reverse=True)
    for r in stats.rows:
        assert r.total_ns is not None and r.self_ns is not None
        assert 0 <= r.self_ns <= r.total_ns + r.recursive_ns, r.name


def test_main_total_is_its_self_and_the_calls_inside(recorded):
    """main's total = its self time + the calls made directly inside it (functions, library
    calls and system calls), from the replay tree the statistics are built on."""
    from kernlab.reports import replay

    ours, _ = recorded
    tree = replay.build(ours)
    (main,) = [c for t in tree.threads for c in t.calls if c.name == "main"]
    stats = reports.build(ours).functions
    assert stats is not None
    row = next(r for r in stats.rows if r.name == "main" and r.kind == "function")
    inside = sum(c.duration_ns or 0 for c in main.children if c.kind != "fault")
    assert row.total_ns is not None and row.self_ns is not None
    assert row.total_ns == main.duration_ns == row.self_ns + inside
    assert inside > 0 and row.self_ns > 0


def test_report_json_has_the_function_table(recorded):
    ours, _ = recorded
    result = run_kernlab("report", "-d", str(ours), "--json")
    assert result.code == 0, result.stderr
    import json

    doc = json.loads(result.stdout)
    rows = doc["functions"]["rows"]
    assert {"name", "kind", "calls", "total_ns", "self_ns"} <= set(rows[0])
    assert {r["name"]: r["calls"] for r in rows if r["kind"] == "function" and not r["library"]}["fib"] == 9
    korean = run_kernlab("--lang", "ko", "report", "-d", str(ours), "--json")
    assert korean.stdout == result.stdout


def test_a_recording_without_functions_has_no_table(recorded, tmp_path):
    from tests.recording.rec_util import need_tracing

    need_tracing()
    plain = tmp_path / "plain"
    assert run_kernlab("record", "-q", "-d", str(plain), "--", "true").code == 0
    assert reports.build(plain).functions is None


# Fixed figures: uftrace's rules on a hand-made tree.


def _fn(name: str, start: int, duration: int | None, *children: CallNode, kind: str = "function") -> CallNode:
    return CallNode(kind, name, start, duration, list(children))


def _replay(*calls: CallNode, tid: int = 7) -> ReplayReport:
    return ReplayReport(
        directory="d",
        binary="/bin/prog",
        symbol_table=".symtab",
        functions_probed=4,
        threads=[ThreadCalls(tid, "prog", list(calls))],
        function_calls=0,
        syscalls=0,
        faults=0,
        outside_syscalls=0,
        outside_faults=0,
        unfinished=0,
        stray_returns=0,
        filters=ReplayFilters(),
        loss=Loss(0, 0),
    )


def test_recursion_counts_total_once_and_self_always():
    # main 100 { fib 60 { fib 30 { fib 10 } } write@syscall 20 }
    tree = _fn(
        "main",
        0,
        100,
        _fn("fib", 1, 60, _fn("fib", 2, 30, _fn("fib", 3, 10))),
        _fn("write", 70, 20, kind="syscall"),
    )
    stats = function_statistics(_replay(tree))
    rows = {(r.kind, r.name): r for r in stats.rows}
    fib = rows[("function", "fib")]
    assert (fib.calls, fib.total_ns, fib.self_ns, fib.recursive_ns) == (3, 60, 60, 40)
    assert fib.total_avg_ns == (60 + 40) // 3 and (fib.total_min_ns, fib.total_max_ns) == (10, 60)
    main = rows[("function", "main")]
    assert (main.total_ns, main.self_ns) == (100, 20)  # 100 - fib 60 - write 20
    assert rows[("syscall", "write")].self_ns == 20
    assert [r.name for r in stats.rows] == ["main", "fib", "write"]
    assert (stats.function_calls, stats.syscalls) == (4, 1)


def test_kernel_rows_have_calls_but_no_time_and_unfinished_calls_no_time():
    kernel = CallNode("kernel", "vfs_read", 6, None, [CallNode("kernel", "ext4_file_read_iter", 6, None)])
    tree = _fn("main", 0, None, _fn("read", 5, 9, kernel, kind="syscall"))
    stats = function_statistics(_replay(tree))
    rows = {(r.kind, r.name): r for r in stats.rows}
    assert rows[("kernel", "vfs_read")].calls == 1 and rows[("kernel", "vfs_read")].total_ns is None
    main = rows[("function", "main")]
    assert (main.calls, main.unfinished, main.total_ns) == (1, 1, None)
    assert stats.unfinished == 1 and stats.kernel_functions == 2


def test_sort_keys_as_uftrace_takes_them():
    assert parse_sort(None) == ["total"]
    assert parse_sort("total,self-avg,call,func") == ["total", "self_avg", "call", "func"]
    with pytest.raises(BadInput, match="sort keys"):
        parse_sort("size")
    a = FunctionRow("b", "function", 3, 10, 5, timed=3)
    b = FunctionRow("a", "function", 3, 20, 1, timed=3)
    c = FunctionRow("c", "function", 1, 20, 20, timed=1)
    assert [r.name for r in sort_rows([a, b, c], ["total"])] == ["a", "c", "b"]  # ties by name
    assert [r.name for r in sort_rows([a, b, c], ["call", "func"])] == ["a", "b", "c"]
    assert [r.name for r in sort_rows([a, b, c], ["self"])] == ["c", "b", "a"]
