"""`kernlab graph` as a user runs it: uftrace graph's text, --json the same in both languages,
status 8 when the function was never called, a clean error on a recording without functions."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult, need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

SOURCE = Path(__file__).parents[1] / "programs" / "fn_calls.c"


def run_graph(*args: str) -> CliResult:
    return run_kernlab(*args)


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Iterator[Path]:
    need_tracing()
    need_tool("gcc")
    tmp = tmp_path_factory.mktemp("graphcli")
    exe = tmp / "fn_calls"
    subprocess.run(["gcc", "-O0", "-o", str(exe), str(SOURCE), "-lpthread"], check=True)
    rec = tmp / "kernlab.data"
    result = run_kernlab("record", "--functions", "-q", "-d", str(rec), "--", str(exe))
    assert result.code == 0, result.stderr
    yield rec
    if (TRACEFS / "uprobe_events").exists():
        assert str(tmp) not in (TRACEFS / "uprobe_events").read_text()


def test_graph_prints_uftraces_layout(recording):
    result = run_graph("graph", "-d", str(recording), "middle")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# Function Call Graph for 'middle' (session: ")
    assert "=============== BACKTRACE ===============" in lines
    assert "========== FUNCTION CALL GRAPH ==========" in lines
    assert "# TOTAL TIME   FUNCTION" in lines
    graph = lines[lines.index("# TOTAL TIME   FUNCTION") + 1 :]
    assert graph[0].endswith(" : (5) middle") and graph[1].endswith(" : (5) leaf")
    assert "→ middle was called 5 times (outermost calls) in 2 threads, from 2 call paths" in result.stdout


def test_json_is_the_graph_and_the_same_in_both_languages(recording):
    english = run_graph("--lang", "en", "graph", "-d", str(recording), "main", "--json")
    korean = run_graph("--lang", "ko", "graph", "-d", str(recording), "main", "--json")
    assert english.code == korean.code == 0, english.stderr
    assert english.stdout == korean.stdout
    doc = json.loads(english.stdout)
    assert doc["root"]["name"] == "main" and doc["root"]["calls"] == 1
    names = {c["name"] for c in doc["root"]["children"]}
    assert {"outer", "fib", "looped"} <= names
    assert doc["backtraces"][0]["functions"][0]["name"] == "main"


def test_korean_titles(recording):
    result = run_graph("--lang", "ko", "graph", "-d", str(recording), "fib")
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("# 'fib'의 함수 호출 그래프 (세션: ")
    assert "========== 함수 호출 그래프 ==========" in result.stdout


def test_whole_graph_and_depth(recording):
    whole = run_graph("graph", "-d", str(recording), "-D", "1")
    assert whole.code == 0, whole.stderr
    assert "# Function Call Graph for 'fn_calls'" in whole.stdout and "BACKTRACE" not in whole.stdout
    assert " : (1) fn_calls" in whole.stdout and "(1) main" in whole.stdout and "outer" not in whole.stdout


def test_a_function_never_called_exits_8(recording):
    result = run_graph("graph", "-d", str(recording), "mian")
    assert result.code == 8, result.stderr
    assert "→ No call of mian was recorded" in result.stdout and "main" in result.stdout


def test_a_recording_without_functions_is_a_clean_error(tmp_path):
    need_tracing()
    plain = tmp_path / "plain"
    assert run_kernlab("record", "-q", "-d", str(plain), "--", "true").code == 0
    result = run_graph("graph", "-d", str(plain), "main")
    assert result.code == 3 and "--functions" in result.stderr and "Traceback" not in result.stderr
