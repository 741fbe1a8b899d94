"""funcgraph records read from a raw ring buffer the kernel wrote, against the kernel's own text.

tests/tracing/function_graph_data/ was saved from Debian's stock 6.1 under qemu by
tests/vm/guest_function_graph_raw.sh: function_graph fenced in to one `mv a b` (set_ftrace_pid,
set_graph_function=__x64_sys_renameat2, max_graph_depth=4), then ``trace`` (the kernel's text of
the records, read without consuming them) and each CPU's ``trace_pipe_raw`` (the same records,
raw), the header_page and funcgraph formats of that kernel, and the kallsyms lines of the
functions in it. The tree kernlab builds from the raw records must be the kernel's: the same
calls, nesting and durations (the text prints microseconds with at most three decimals).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kernlab.recording.kallsyms import KernelSymbols
from kernlab.reports.recording.kernel_paths import graph_records, graph_trees
from kernlab.tracing.formats import parse_format, parse_header_page
from kernlab.tracing.ringbuf import decode_pages

DATA = Path(__file__).parent / "function_graph_data"
# " 1)     mv-281     |   0.345 us    |      __cond_resched();"
LINE = re.compile(
    r"^\s*\d+\)\s+(?P<task>.*?)-(?P<pid>\d+)\s+\|\s*[+!#*@$]?\s*(?:(?P<us>[\d.]+) us)?\s*\|(?P<fn>.*)$"
)

Shape = tuple[str, "float | None", list["Shape"]]


def _kernel_text() -> list[Shape]:
    """The kernel's function_graph text as trees: (name, microseconds or None, children)."""
    roots: list[Shape] = []
    stack: list[Shape] = []
    for line in (DATA / "trace.txt").read_text().splitlines():
        m = LINE.match(line)
        if not m:
            continue
        body = m.group("fn").rstrip()
        text = body.lstrip(" ")
        depth = (len(body) - len(text) - 2) // 2
        us = float(m.group("us")) if m.group("us") else None
        if text.startswith("}"):
            name, _, kids = stack.pop()
            closed = (name, us, kids)
            (stack[-1][2] if stack else roots)[-1] = closed
            continue
        name = text.split("(", 1)[0].split(" [", 1)[0]  # "ext4_rename2 [ext4]": a module's function
        node: Shape = (name, us if text.endswith(";") else None, [])
        del stack[depth:]
        (stack[-1][2] if stack else roots).append(node)
        if text.endswith("{"):
            stack.append(node)
    return roots


def _ours() -> list:
    header = parse_header_page((DATA / "header_page").read_text())
    entry = parse_format((DATA / "funcgraph_entry.format").read_text(), "ftrace")
    exit_ = parse_format((DATA / "funcgraph_exit.format").read_text(), "ftrace")
    cpus = [
        decode_pages((DATA / f"cpu{n}.raw").read_bytes(), header, n, 4096)
        for n in range(8)
        if (DATA / f"cpu{n}.raw").exists()
    ]
    ksyms = KernelSymbols(DATA / "kallsyms")

    def name(address: int) -> str:
        found = ksyms.name(address)
        assert found is not None and found.endswith("+0x0"), hex(address)
        return found.split("+", 1)[0]

    return [root for _, root in graph_trees(graph_records(cpus, entry, exit_), 10, name)]


def _close(ours_ns: int | None, printed_us: float | None) -> bool:
    if printed_us is None:
        return ours_ns is None
    return ours_ns is not None and abs(ours_ns - printed_us * 1000) < 1000


def _compare(ours: list, theirs: list[Shape], where: str = "") -> None:
    assert [n.name for n in ours] == [t[0] for t in theirs], where
    for node, (name, us, kids) in zip(ours, theirs, strict=True):
        assert _close(node.duration, us), (where, name, node.duration, us)
        _compare(node.children, kids, f"{where}/{name}")


def test_raw_funcgraph_records_make_the_kernels_tree() -> None:
    if not (DATA / "trace.txt").exists():
        pytest.skip("no saved function_graph buffer")
    theirs = _kernel_text()
    ours = _ours()
    assert theirs and [t[0] for t in theirs] == ["__x64_sys_renameat2"], theirs
    _compare(ours, theirs)
    flat = []

    def walk(nodes, depth=0):
        for n in nodes:
            flat.append((depth, n.name))
            walk(n.children, depth + 1)

    walk(ours)
    assert (1, "do_renameat2") in flat and (2, "vfs_rename") in flat and (3, "ext4_rename2") in flat
