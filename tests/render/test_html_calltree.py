"""The call-tree figure and tree of the HTML page (render/html/calltree.py) against `uftrace replay`
of the -pg build of the same program and against the replay report they draw; the page opened
in headless chromium in English and Korean."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from kernlab.explain import set_language
from kernlab.render.html import calltree
from kernlab.reports import replay as replay_reports
from kernlab.reports.replay import FAULT, FUNCTION, KERNEL, SYSCALL

# selenium, the browser fixture and the page checks of the report's browser test
from tests.cli.test_html_browser import _check, _open, browser  # noqa: F401
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

PROGRAM = Path(__file__).parents[1] / "programs" / "fn_calls.c"
CATALOG = Path(__file__).parents[2] / "src" / "kernlab" / "catalog"
UFTRACE_LINE = re.compile(r"^\s*(?:\d+\.\d+ +\S+)?\s*\[\s*(\d+)\] \| (.*)$")


@pytest.fixture(scope="module", autouse=True)
def _no_probe_left(tmp_path_factory):
    yield
    # only this module's probes: other tests may be recording at the same time
    mine = str(tmp_path_factory.getbasetemp())
    if (TRACEFS / "uprobe_events").exists():
        assert mine not in (TRACEFS / "uprobe_events").read_text()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, Path]:
    """fn_calls.c recorded by kernlab with --functions and with -K 3, and by uftrace (-pg build)."""
    need_tracing()
    need_tool("uftrace")
    need_tool("gcc")
    tmp = tmp_path_factory.mktemp("calltree")
    plain, pg = tmp / "fn_calls", tmp / "fn_calls_pg"
    subprocess.run(["gcc", "-O0", "-o", str(plain), str(PROGRAM), "-lpthread"], check=True)
    subprocess.run(["gcc", "-O0", "-pg", "-o", str(pg), str(PROGRAM), "-lpthread"], check=True)
    out = {"functions": tmp / "f.data", "kernel": tmp / "k.data", "uftrace": tmp / "uftrace.data"}
    for key, extra in (("functions", []), ("kernel", ["-K", "3"])):
        result = run_kernlab("record", "--functions", *extra, "-q", "-d", str(out[key]), "--", str(plain))
        assert result.code == 0, result.stderr
    subprocess.run(
        ["uftrace", "record", "--no-event", "--no-libcall", "-d", str(out["uftrace"]), str(pg)],
        check=True,
        capture_output=True,
    )
    return out


def _uftrace_calls(directory: Path) -> list[list[tuple[int, str]]]:
    """(depth, function) of each call uftrace replay prints, per thread in order of appearance."""
    proc = subprocess.run(
        ["uftrace", "replay", "-d", str(directory)], capture_output=True, text=True, check=True
    )
    threads: dict[str, list[tuple[int, str]]] = {}
    for line in proc.stdout.splitlines():
        match = UFTRACE_LINE.match(line)
        if not match:
            continue
        body = match.group(2)
        call = body.strip()
        if call.startswith(("}", "/*")):
            continue
        depth = (len(body) - len(body.lstrip(" "))) // 2
        threads.setdefault(match.group(1), []).append((depth, call.split("(")[0]))
    return list(threads.values())


def _program_calls(nodes: list[calltree.Placed]) -> list[list[tuple[int, str]]]:
    """The same from the figure: the program's own functions (kind "function"), each with the
    number of program functions above it, per thread in the figure's order (tree order)."""
    threads: dict[int, list[tuple[int, str]]] = {}
    stacks: dict[int, list[calltree.Placed]] = {}
    for p in nodes:
        stack = stacks.setdefault(p.tid, [])
        del stack[p.depth :]
        if p.kind == "function":
            above = sum(1 for q in stack if q.kind == "function")
            threads.setdefault(p.tid, []).append((above, p.node.name))
        stack.append(p)
    return list(threads.values())


def test_function_bars_are_uftrace_replays_calls(recorded):
    report = replay_reports.build(recorded["functions"])
    nodes, _, left_out = calltree.placed(report)
    assert left_out == 0
    assert _program_calls(nodes) == _uftrace_calls(recorded["uftrace"])


def test_every_node_of_the_tree_is_drawn_where_replay_puts_it(recorded):
    report = replay_reports.build(recorded["kernel"])
    set_language("en")
    fig = calltree.calltree_figure(report, "t")
    nodes, first_rows, _ = calltree.placed(report)
    by_kind: dict[str, int] = {}
    for p in nodes:
        by_kind[p.node.kind] = by_kind.get(p.node.kind, 0) + 1
    assert by_kind.get(FUNCTION, 0) == report.function_calls
    assert by_kind.get(SYSCALL, 0) == report.syscalls
    assert by_kind.get(FAULT, 0) == report.faults
    assert by_kind.get(KERNEL, 0) == report.kernel_functions > 0  # -K 3: kernel paths present
    assert first_rows == {t.tid: first_rows[t.tid] for t in report.threads}
    # each trace is one kind; its bars and markers sit at the nodes' times, rows and durations
    drawn = 0
    for trace in fig.data:
        kind = next(
            k for k in calltree.KINDS if trace.name == calltree.text(f"report.html.calltree_kind_{k}")
        )
        mine = [p for p in nodes if p.kind == kind]
        assert list(trace.y) == [p.row for p in mine]
        if trace.type == "bar":
            assert list(trace.base) == pytest.approx([p.start_ns / 1e6 for p in mine])
            finished = [p for p in mine if p.finished]
            assert [x for x, p in zip(trace.x, mine, strict=True) if p.finished] == pytest.approx(
                [p.node.duration_ns / 1e6 for p in finished]
            )
        else:
            assert kind in calltree.POINTS
            assert list(trace.x) == pytest.approx([p.start_ns / 1e6 for p in mine])
        drawn += len(mine)
    assert drawn == len(nodes)
    # a child lies one row below its parent and, when both have a span, inside it
    for thread in report.threads:
        stack: list[Any] = []
        for p in (q for q in nodes if q.tid == thread.tid):
            del stack[p.depth :]
            if stack:
                parent = stack[-1]
                assert p.row == parent.row + 1
                # (a duration leaves out kernlab's ptrace stops, so only the start is compared)
                assert parent.start_ns <= p.start_ns
            stack.append(p)


def test_a_long_tree_is_cut_the_same_in_figure_and_tree(recorded):
    report = replay_reports.build(recorded["functions"])
    total = sum(1 for t in report.threads for _ in calltree._walk(t.calls))
    nodes, _, left_out = calltree.placed(report, limit=10)
    assert len(nodes) == 10 and left_out == total - 10
    tree = calltree.tree_html(report, limit=10)
    lines = tree.count('class="ct-leaf"') + tree.count("<summary>") - len(report.threads)
    assert lines == 10
    # every thread keeps its first calls
    assert {p.tid for p in nodes} == {t.tid for t in report.threads}


def _english_calltree_values() -> list[str]:
    table = tomllib.loads((CATALOG / "en" / "report.toml").read_text())["html"]
    return [
        part.strip()
        for key, value in table.items()
        if key.startswith("calltree_")
        for part in re.split(r"\{[^}]*\}", value)
        if len(part.strip()) > 8
    ]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_report_page_with_call_tree_in_a_browser(browser, recorded, tmp_path, lang):  # noqa: F811
    from kernlab.render.html.report import report_page
    from kernlab.reports import faults as faults_reports
    from kernlab.reports import report as report_reports

    directory = recorded["functions"]
    set_language(lang)
    try:
        calls = replay_reports.build(directory)
        page = report_page(report_reports.build(directory), faults_reports.build(directory), calls)
        path = page.write(tmp_path / f"calltree-{lang}.html")
    finally:
        set_language("en")
    shot = tmp_path / f"calltree-{lang}.png"
    seen = _open(browser, path, shot)
    _check(seen, path, shot)
    assert len(seen["figures"]) == 3  # system calls, fault timeline, call tree
    # the figure in the browser holds every node placed: bars and markers
    nodes, _, _ = calltree.placed(calls)
    drawn = browser.execute_script(
        "const g = document.querySelectorAll('.plotly-graph-div')[2];"
        "return g.data.reduce((n, t) => n + t.y.length, 0);"
    )
    assert drawn == len(nodes)
    bars = browser.execute_script(
        "return document.querySelectorAll('.plotly-graph-div')[2].querySelectorAll('g.point').length"
    )
    assert bars >= sum(1 for p in nodes if p.kind not in calltree.POINTS)
    # the tree folds: closing main's <details> hides its calls
    main = next(c for t in calls.threads for c in t.calls if c.name == "main")
    hidden = browser.execute_script(
        "const d = Array.from(document.querySelectorAll('div.calltree details'))"
        "  .find(e => e.querySelector(':scope > summary').textContent.includes('main()'));"
        "d.querySelector(':scope > summary').click();"
        "return [d.open, d.querySelectorAll(':scope > details, :scope > div.ct-leaf').length];"
    )
    assert hidden == [False, len(main.children)]
    assert "main()" in seen["text"]
    if lang == "ko":
        doc = path.read_text()
        found = [p for p in _english_calltree_values() if p in doc]
        assert not found, found
