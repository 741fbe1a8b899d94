"""views.graph: a graph of fixed figures printed as `uftrace graph` prints it.

The figures are those uftrace v0.13 printed for tests/programs/fn_calls.c (-pg build); given
them, the view must print uftrace's text line for line, branches and blank sibling lines
included (those end in a blank, as uftrace prints them: checked apart, the texts below are
stripped).
"""

from __future__ import annotations

from kernlab import catalog
from kernlab.render.output import Output
from kernlab.render.views import graph as view
from kernlab.reports.graph import Backtrace, BacktraceEntry, GraphNode, GraphReport
from kernlab.reports.recording.loss import Loss


def _n(name: str, calls: int, total: int | None, *children: GraphNode, kind: str = "function") -> GraphNode:
    inside = sum(c.total_ns or 0 for c in children)
    self_ns = None if total is None else total - inside
    return GraphNode(name, kind, calls, total, self_ns, list(children))


def _main_subtree() -> list[GraphNode]:
    return [
        _n("outer", 1, 1_192, _n("middle", 2, 1_022, _n("leaf", 2, 280))),
        _n("fib", 1, 1_202, _n("fib", 2, 952, _n("fib", 4, 500, _n("fib", 2, 90)))),
        _n("looped", 1, 581, _n("leaf", 4, 210)),
    ]


def _report(root: GraphNode | None, **kw: object) -> GraphReport:
    fields: dict[str, object] = {
        "directory": "kernlab.data",
        "binary": "/tmp/fn_pg",
        "symbol_table": ".symtab",
        "function": "main",
        "whole": False,
        "session": "ad5fdc84e62ade65",
        "backtraces": [Backtrace(1, 382_441, [BacktraceEntry("main", "function", 0x561F8E58034A)])],
        "root": root,
        "threads": 1,
        "depth": None,
        "tids": [],
        "loss": Loss(0, 100),
        "probed": True,
    }
    fields.update(kw)
    return GraphReport(**fields)  # type: ignore[arg-type]


UFTRACE_MAIN = """\
# Function Call Graph for 'main' (session: ad5fdc84e62ade65)
=============== BACKTRACE ===============
 backtrace #0: hit 1, time 382.441 us
   [0] main (0x561f8e58034a)

========== FUNCTION CALL GRAPH ==========
# TOTAL TIME   FUNCTION
  382.441 us : (1) main
    1.192 us :  +-(1) outer
    1.022 us :  | (2) middle
    0.280 us :  | (2) leaf
             :  |
    1.202 us :  +-(1) fib
    0.952 us :  | (2) fib
    0.500 us :  | (4) fib
    0.090 us :  | (2) fib
             :  |
    0.581 us :  +-(1) looped
    0.210 us :    (4) leaf

"""

UFTRACE_WHOLE = """\
# Function Call Graph for 'fn_pg' (session: ad5fdc84e62ade65)
========== FUNCTION CALL GRAPH ==========
# TOTAL TIME   FUNCTION
  384.183 us : (1) fn_pg
  382.441 us :  +-(1) main
    1.192 us :  |  +-(1) outer
    1.022 us :  |  | (2) middle
    0.280 us :  |  | (2) leaf
             :  |  |
    1.202 us :  |  +-(1) fib
    0.952 us :  |  | (2) fib
    0.500 us :  |  | (4) fib
    0.090 us :  |  | (2) fib
             :  |  |
    0.581 us :  |  +-(1) looped
    0.210 us :  |    (4) leaf
             :  |
    1.742 us :  +-(1) worker
    1.202 us :    (3) middle
    0.191 us :    (3) leaf

"""

UFTRACE_MIDDLE = """\
# Function Call Graph for 'middle' (session: ad5fdc84e62ade65)
=============== BACKTRACE ===============
 backtrace #0: hit 2, time   1.022 us
   [0] main (0x561f8e58034a)
   [1] outer (0x561f8e580250)
   [2] middle (0x561f8e580230)

 backtrace #1: hit 3, time   1.202 us
   [0] worker (0x561f8e5802c3)
   [1] middle (0x561f8e580230)

========== FUNCTION CALL GRAPH ==========
# TOTAL TIME   FUNCTION
    2.224 us : (5) middle
    0.471 us : (5) leaf

"""


def _main() -> GraphReport:
    return _report(_n("main", 1, 382_441, *_main_subtree()))


def _text(lines: list[str]) -> str:
    return "\n".join(ln.rstrip() for ln in lines) + "\n"


def test_graph_lines_are_uftraces_for_its_figures():
    lines = view.graph_lines(_main())
    assert _text(lines) == UFTRACE_MAIN
    # the blank line between siblings keeps uftrace's branch and the blank after it
    assert lines[11] == " " * 13 + ":  | "


def test_whole_graph_lines_are_uftraces():
    main = _n("main", 1, 382_441, *_main_subtree())
    worker = _n("worker", 1, 1_742, _n("middle", 3, 1_202, _n("leaf", 3, 191)))
    root = GraphNode("fn_pg", "program", 1, 384_183, 0, [main, worker])
    report = _report(root, function="fn_pg", whole=True, backtraces=[])
    assert _text(view.graph_lines(report)) == UFTRACE_WHOLE


def test_backtraces_are_uftraces():
    fn = "function"
    backtraces = [
        Backtrace(
            2,
            1_022,
            [
                BacktraceEntry("main", fn, 0x561F8E58034A),
                BacktraceEntry("outer", fn, 0x561F8E580250),
                BacktraceEntry("middle", fn, 0x561F8E580230),
            ],
        ),
        Backtrace(
            3,
            1_202,
            [BacktraceEntry("worker", fn, 0x561F8E5802C3), BacktraceEntry("middle", fn, 0x561F8E580230)],
        ),
    ]
    report = _report(
        _n("middle", 5, 2_224, _n("leaf", 5, 471)), function="middle", backtraces=backtraces, threads=2
    )
    assert _text(view.graph_lines(report)) == UFTRACE_MIDDLE


def test_show_prints_the_lines_then_the_sentences(capsys):
    view.show(_main(), Output())
    out = capsys.readouterr().out
    lines = [ln.rstrip() for ln in out.splitlines()]
    assert lines[: len(UFTRACE_MAIN.splitlines())] == [ln.rstrip() for ln in UFTRACE_MAIN.splitlines()]
    assert "→ main was called once (outermost calls) in 1 thread, from 1 call path" in out
    assert "→ main spent 0.379 ms of its 0.382 ms (99%) in its own code" in out
    view.show(_main(), Output(quiet=True))
    assert "→" not in capsys.readouterr().out


def test_system_calls_and_kernel_functions_without_time(capsys):
    kernel = _n("vfs_read@kernel", 1, None, kind="kernel")
    read = _n("read@syscall", 2, 5_000, kernel, kind="syscall")
    report = _report(_n("main", 1, 9_000, read))
    lines = view.graph_lines(report)
    assert "    5.000 us : (2) read@syscall" in lines
    assert "             : (1) vfs_read@kernel" in lines  # no time: blank, as uftrace prints 0
    view.show(report, Output())
    assert (
        "→ 1 kernel function path (name@kernel, record -K) was seen in stacks taken"
        in capsys.readouterr().out
    )


def test_titles_and_sentences_follow_the_language(capsys):
    catalog.set_language("ko")
    try:
        lines = view.graph_lines(_main())
        view.show(_main(), Output())
    finally:
        catalog.set_language("en")
    out = capsys.readouterr().out
    assert lines[0] == "# 'main'의 함수 호출 그래프 (세션: ad5fdc84e62ade65)"
    assert "========== 함수 호출 그래프 ==========" in lines
    # "전체 시간" is 9 columns wide: right-aligned in uftrace's 10, so FUNCTION's column stays
    assert "#  전체 시간   함수" in lines
    assert "  382.441 us : (1) main" in lines
    assert "main은 스레드 1개에서 한 번 호출되었고" in out and "Function Call Graph" not in out


def test_nothing_found_says_why(capsys):
    view.show(_report(None, function="mian", probed=False, similar=["main"], backtraces=[]), Output())
    out = capsys.readouterr().out
    assert "FUNCTION CALL GRAPH" not in out
    assert "→ No call of mian was recorded" in out and "→ Recorded names close to it: main." in out
    view.show(_report(None, function="unused", backtraces=[]), Output())
    assert "→ unused was probed but never called in this recording." in capsys.readouterr().out
    view.show(_report(None, symbol_table="", probed=False, backtraces=[]), Output())
    assert "has no symbol table" in capsys.readouterr().out


def test_lost_events_are_said_before_the_graph(capsys):
    view.show(_report(_n("main", 1, 382_441, *_main_subtree()), loss=Loss(3, 100)), Output())
    out = capsys.readouterr().out
    assert out.index("3 events were LOST") < out.index("# Function Call Graph")
