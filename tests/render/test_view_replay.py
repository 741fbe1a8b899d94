"""The replay view: uftrace's layout, its duration column checked against uftrace itself."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kernlab.mm.fault_codes import decode_error_code
from kernlab.render.views.replay import HEADER, duration_text, tree_lines
from kernlab.reports.recording.loss import Loss
from kernlab.reports.replay import CallNode, ReplayFilters, ReplayReport, ThreadCalls
from tests.conftest import need_tool

PROGRAMS = Path(__file__).parents[1] / "programs"


def _report(threads: list[ThreadCalls], lost: int = 0) -> ReplayReport:
    return ReplayReport(
        directory="d",
        binary="/bin/prog",
        symbol_table=".symtab",
        functions_probed=3,
        threads=threads,
        function_calls=0,
        syscalls=0,
        faults=0,
        outside_syscalls=0,
        outside_faults=0,
        unfinished=0,
        stray_returns=0,
        filters=ReplayFilters(),
        loss=Loss(lost, 100),
    )


def test_duration_column_is_uftraces(tmp_path):
    """Durations from `uftrace dump` (entry/exit time stamps), printed by kernlab, are the column
    `uftrace replay` prints for the same calls."""
    need_tool("uftrace")
    need_tool("gcc")
    prog = tmp_path / "prog"
    subprocess.run(
        ["gcc", "-O0", "-pg", "-o", str(prog), str(PROGRAMS / "fn_calls.c"), "-lpthread"], check=True
    )
    data = tmp_path / "uftrace.data"
    subprocess.run(
        ["uftrace", "record", "--no-event", "--no-libcall", "-d", str(data), str(prog)],
        check=True,
        capture_output=True,
    )
    dump = subprocess.run(
        ["uftrace", "dump", "-d", str(data)], capture_output=True, text=True, check=True
    ).stdout
    ours: list[str] = []
    stacks: dict[str, list[int]] = {}
    for line in dump.splitlines():
        m = re.match(r"^(\d+)\.(\d{9})\s+(\d+): \[(entry|exit )\]", line)
        if not m:
            continue
        ns = int(m.group(1)) * 1_000_000_000 + int(m.group(2))
        stack = stacks.setdefault(m.group(3), [])
        if m.group(4) == "entry":
            stack.append(ns)
        else:
            ours.append(f"{m.group(3)} {duration_text(ns - stack.pop())}")
    replay = subprocess.run(
        ["uftrace", "replay", "-d", str(data)], capture_output=True, text=True, check=True
    ).stdout
    theirs = [
        f"{m.group(2)} {m.group(1)}"
        for m in (re.match(r"^ (.{10}) \[\s*(\d+)\] \| ", ln) for ln in replay.splitlines())
        if m and m.group(1).strip()
    ]
    assert sorted(ours) == sorted(theirs) and len(theirs) > 10


def test_units_and_blank():
    assert duration_text(None) == duration_text(0) == " " * 10
    assert duration_text(81) == "  0.081 us"
    assert duration_text(1_645_000) == "  1.645 ms"
    assert duration_text(2_500_000_000) == "  2.500  s"
    assert (
        duration_text(90 * 1_000_000_000) == "  1.030  m"
    )  # uftrace: minutes, then seconds as the "fraction"


def test_layout_leaf_nested_syscall_fault_and_threads():
    fault = CallNode(
        "fault", "page_fault_user", 30, None, [], address=0x1000, ip=0x2000, fault_code=decode_error_code(6)
    )
    read = CallNode("syscall", "read", 20, 50, [fault], args="fd=3, buf=0x10, count=8", ret=8)
    fail = CallNode("syscall", "openat", 80, 5, [], args='dfd=AT_FDCWD, filename="x"', ret=-2, errno="ENOENT")
    leaf = CallNode("function", "leaf", 15, 3, [])
    main = CallNode("function", "main", 10, 100, [leaf, read, fail])
    other = CallNode("function", "worker", 12, None, [])
    lines = tree_lines(_report([ThreadCalls(1, "prog", [main]), ThreadCalls(2, "prog", [other])]))
    assert lines == [
        "            [     1] | main() {",
        "            [     2] | worker() {",
        "   0.003 us [     1] |   leaf();",
        "            [     1] |   read(fd=3, buf=0x10, count=8) {",
        "            [     1] |     /* page_fault_user: 0x1000 ip 0x2000 (not-present, write, user) */",
        "   0.050 us [     1] |   } = 8; /* read */",
        '   0.005 us [     1] |   openat(dfd=AT_FDCWD, filename="x") = -1 ENOENT;',
        "   0.100 us [     1] | } /* main */",
    ]
    assert HEADER == "# DURATION     TID     FUNCTION"


def test_lost_records_are_a_line_of_the_tree():
    lines = tree_lines(_report([ThreadCalls(7, "p", [CallNode("function", "f", 1, 2, [])])], lost=12))
    assert lines[0] == "            [     7] | /* LOST 12 records!! */"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_sentences_for_zero_one_many(lang):
    from kernlab.catalog import set_language
    from kernlab.explain.replay import empty_sentence, sentences

    set_language(lang)
    try:
        for n in (0, 1, 2):
            report = _report([])
            report = ReplayReport(
                **{
                    **report.__dict__,
                    "function_calls": n,
                    "unfinished": n,
                    "stray_returns": n,
                    "outside_syscalls": n,
                }
            )
            text = " ".join(sentences(report))
            assert str(n) in text
            if lang == "en":
                assert ("1 function call " in text) == (n == 1)
        stripped = ReplayReport(**{**_report([]).__dict__, "symbol_table": ""})
        assert ".symtab" in empty_sentence(stripped)
        # A stripped program's tree holds its library calls: the summary names no symbol table.
        summary = sentences(stripped)[0]
        assert "names from" not in summary and "()" not in summary and "에서 가져왔" not in summary
    finally:
        set_language("en")
