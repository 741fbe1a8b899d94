"""views.report: the function table of a `record --functions` recording, from fixed figures.

The figures are those `uftrace report` (v0.13) printed for tests/programs/fn_calls.c (-pg
build); given them, the table must be uftrace's text line for line, in its order.
"""

from __future__ import annotations

from dataclasses import replace

from kernlab import catalog
from kernlab.render.output import Output
from kernlab.render.views import report as view
from kernlab.reports.functions import FunctionRow, FunctionStatistics, sort_rows
from tests.render.test_view_report import _report

UFTRACE_REPORT = """\
  Total time   Self time       Calls  Function
  ==========  ==========  ==========  ====================
  382.441 us  379.466 us           1  main
    2.224 us    1.753 us           5  middle
    1.742 us    0.540 us           1  worker
    1.202 us    1.202 us           9  fib
    1.192 us    0.170 us           1  outer
    0.681 us    0.681 us           9  leaf
    0.581 us    0.371 us           1  looped
"""

FIGURES = [  # name, total, self, calls, as uftrace printed them
    ("fib", 1_202, 1_202, 9),
    ("leaf", 681, 681, 9),
    ("looped", 581, 371, 1),
    ("main", 382_441, 379_466, 1),
    ("middle", 2_224, 1_753, 5),
    ("outer", 1_192, 170, 1),
    ("worker", 1_742, 540, 1),
]


def _stats(extra: list[FunctionRow] | None = None, sort: list[str] | None = None) -> FunctionStatistics:
    rows = [
        FunctionRow(n, "function", calls, total, self_, timed=calls) for n, total, self_, calls in FIGURES
    ]
    rows += extra or []
    keys = sort or ["total"]
    return FunctionStatistics(
        binary="/tmp/fn_pg",
        symbol_table=".symtab",
        sort=keys,
        rows=sort_rows(rows, keys),
        function_calls=27,
        syscalls=sum(r.calls for r in extra or [] if r.kind == "syscall"),
        kernel_functions=sum(r.calls for r in extra or [] if r.kind == "kernel"),
        unfinished=0,
        threads=2,
        functions_probed=7,
    )


def test_function_table_is_uftrace_reports_for_its_figures():
    assert "\n".join(view.function_lines(_stats())) + "\n" == UFTRACE_REPORT


def test_sort_by_calls_then_name_is_uftraces():
    lines = view.function_lines(_stats(sort=["call", "func"]))
    assert [ln.split()[-1] for ln in lines[2:]] == [
        "fib",
        "leaf",
        "middle",
        "looped",
        "main",
        "outer",
        "worker",
    ]


def test_system_call_and_kernel_rows(capsys):
    extra = [
        FunctionRow("write", "syscall", 1, 19_009, 19_009, timed=1),
        FunctionRow("vfs_write", "kernel", 1, None, None),
        FunctionRow("ext4_buffered_write_iter", "kernel", 1, None, None),
    ]
    stats = _stats(extra)
    lines = view.function_lines(stats)
    assert "   19.009 us   19.009 us           1  write@syscall" in lines
    assert "                                   1  vfs_write@kernel" in lines  # no time: blank
    view.show(replace(_report(), functions=stats), Output())
    out = capsys.readouterr().out
    assert "Functions (like uftrace report, sorted by total)" in out
    assert "→ The 1 system call made inside the functions is a row of its own, as name@syscall" in out
    assert "→ The 2 kernel functions beneath the system calls and faults (record -K) are rows" in out
    assert "→ 27 function calls of /tmp/fn_pg in 2 threads." in out
    assert "→ main took the most time: 0.382 ms in 1 call, 0.379 ms of it its own." in out


def test_no_table_without_functions(capsys):
    view.show(_report(), Output())
    assert "Functions (like uftrace report" not in capsys.readouterr().out


def test_stripped_and_empty(capsys):
    empty = replace(_stats(), rows=[], function_calls=0)
    view.show(replace(_report(), functions=empty), Output())
    assert "→ No function call of /tmp/fn_pg was recorded." in capsys.readouterr().out
    view.show(replace(_report(), functions=replace(empty, symbol_table="")), Output())
    assert "has no symbol table (.symtab)" in capsys.readouterr().out


def test_korean_titles_keep_the_columns(capsys):
    catalog.set_language("ko")
    try:
        lines = view.function_lines(_stats())
        view.show(replace(_report(), functions=_stats()), Output())
    finally:
        catalog.set_language("en")
    # Hangul takes two columns: each title still ends where uftrace's does
    assert lines[0] == "   전체 시간   자체 시간        호출  함수"
    assert lines[2:] == UFTRACE_REPORT.splitlines()[2:]
    out = capsys.readouterr().out
    assert "함수 (uftrace report처럼, total 순)" in out
    assert "스레드 2개에서 /tmp/fn_pg의 함수 호출 27번이 기록되었습니다." in out
