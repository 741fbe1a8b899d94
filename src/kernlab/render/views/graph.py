"""`kernlab graph FUNC` for a person: uftrace graph's layout, line for line::

    # Function Call Graph for 'main' (session: kernlab-4242-1-rec0)
    =============== BACKTRACE ===============
     backtrace #0: hit 1, time   5.171 ms
       [0] main (0x1189)

    ========== FUNCTION CALL GRAPH ==========
    # TOTAL TIME   FUNCTION
        5.171 ms : (1) main
       14.261 us :  +-(1) outer
       10.663 us :  | (2) middle
        3.074 us :  | (2) leaf
                 :  |
       20.190 us :  +-(1) fib

Times are uftrace's ``print_time_unit`` (blank for none: a kernel function seen at a
tracepoint), then `` : ``, the branches (uftrace's ``pr_indent``: ``+-`` before each child of a
node with several, `` | `` while siblings follow, an only child under its parent without a
branch) and ``(calls) name``; a blank branch line between siblings. The titles follow --lang
(English: uftrace's own). A backtrace's address is the function's in its file (uftrace prints
the run-time address).
"""

from __future__ import annotations

from kernlab.explain import graph as explain
from kernlab.render.output import Output
from kernlab.render.views.replay import duration_text
from kernlab.reports.graph import GraphNode, GraphReport

__all__ = ["graph_lines", "show"]


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _indent(mask: list[bool], indent: int, line: bool) -> str:
    """uftrace's pr_indent: `` | `` for an open branch, ``+-`` before a child of a node with several."""
    last = max((i for i in range(indent) if mask[i]), default=-1) if line else -1
    out = []
    for i in range(indent):
        if not line or i < last:
            out.append(" | " if mask[i] else "   ")
        else:
            out.append(" +-" if i == last else "---")
    return "".join(out)


def _node_lines(
    node: GraphNode,
    parent: GraphNode | None,
    last_child: bool,
    mask: list[bool],
    indent: int,
    needs_line: bool,
    out: list[str],
) -> None:
    out.append(
        f"  {duration_text(node.total_ns)} : {_indent(mask, indent, needs_line)}({node.calls}) {node.name}"
    )
    orig = indent
    while len(mask) <= indent + 1:
        mask.append(False)
    if len(node.children) > 1:
        mask[indent] = True
        indent += 1
    # the last child of a node with several closes its parent's branch
    if parent is not None and len(parent.children) > 1 and orig > 0 and last_child:
        mask[orig - 1] = False
    several = len(node.children) > 1
    for k, child in enumerate(node.children):
        last = k == len(node.children) - 1
        _node_lines(child, node, last, mask, indent, several, out)
        if not last:
            out.append(f"  {duration_text(None)} : {_indent(mask, indent, False)}")
    mask[orig] = False


def graph_lines(report: GraphReport) -> list[str]:
    """Every line uftrace graph prints for the report (none when FUNC was never called)."""
    if report.root is None:
        return []
    lines = [explain.title(report)]
    if not report.whole and report.backtraces:
        lines.append(explain.text("graph.view.backtrace_title"))
        for k, bt in enumerate(report.backtraces):
            lines.append(explain.backtrace_line(k, bt.hits, duration_text(bt.total_ns)))
            for i, f in enumerate(bt.functions):
                where = f" ({f.address:#x})" if f.address is not None else ""
                lines.append(f"   [{i}] {f.name}{where}")
            lines.append("")
    lines.append(explain.text("graph.view.graph_title"))
    total, function = explain.text("graph.view.total_time"), explain.text("graph.view.function")
    lines.append(f"# {' ' * max(10 - _width(total), 0)}{total}   {function}")
    _node_lines(report.root, None, True, [], 0, len(report.root.children) > 1, lines)
    lines.append("")
    return lines


def show(report: GraphReport, out: Output) -> None:
    from kernlab.render.views.recording_text import print_event_lines

    # The lines go out whole (for diff against uftrace graph), after what the recording lost.
    if not print_event_lines(report.loss, graph_lines(report), str, out):
        out.sentences(explain.empty_sentences(report))
        return
    out.sentences(explain.sentences(report))
