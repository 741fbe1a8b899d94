"""The call tree of a ``record --functions`` (or ``-K``) recording — what `kernlab replay` prints —
as an interactive figure and a collapsible tree on the HTML page.

The figure is a flame chart in time, the shape of replay's indentation turned on its side: time
runs left to right and each depth of the tree is a row (depth 0 on top, one band of rows per
thread). A call is a bar as long as it lasted — the program's functions, library calls, system
calls and the kernel functions traced with a duration each in their colour — so what a call made
lies right below it and inside its span. A page fault is an instant, drawn as a marker where it
happened; a kernel function seen only in a stack taken at a tracepoint (``-K`` without
function_graph) has no duration either and is a marker too, stacked under the call it was seen in.
plotly's zoom (drag across the time axis) opens up short calls; the hover text is replay's line.

Below it the same tree as text, the way replay prints it, each call a ``<details>`` that opens
and closes, so a reader can fold away what does not interest them. Both stop after
:data:`MAX_NODES` calls (in time order) and the page says how many were left out.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass

import plotly.graph_objects as go

from kernlab.explain import count, language, text
from kernlab.explain import kernel_paths as explain_kernel
from kernlab.explain import replay as explain
from kernlab.render.html.page import Page
from kernlab.render.views.replay import duration_text
from kernlab.reports.replay import FAULT, FUNCTION, KERNEL, SYSCALL, CallNode, ReplayReport

__all__ = [
    "KINDS",
    "MAX_NODES",
    "Placed",
    "add_calltree",
    "calltree_figure",
    "calltree_page",
    "kind_of",
    "placed",
    "tree_html",
]

MAX_NODES = 4000
"""Calls drawn at most (figure and tree): a browser draws a few thousand SVG bars at once; a
longer recording is narrowed with replay's filters (-F, -D, -t), which the page says."""

# Kind of a node on the page → colour. "library" is a function call with a library file;
# "kernel_seen" a kernel function without a duration; faults by the mode they happened in.
KINDS: dict[str, str] = {
    "function": "#636EFA",
    "library": "#00CC96",
    "syscall": "#EF553B",
    "kernel": "#AB63FA",
    "kernel_seen": "#AB63FA",
    "fault_user": "#FFA15A",
    "fault_kernel": "#19D3F3",
}
POINTS = ("kernel_seen", "fault_user", "fault_kernel")
"""Kinds drawn as markers (no duration)."""
SYMBOLS = {"kernel_seen": "square", "fault_user": "triangle-down", "fault_kernel": "diamond"}


def kind_of(node: CallNode) -> str:
    """The kind a node is drawn as (a key of :data:`KINDS`)."""
    if node.kind == FUNCTION:
        return "library" if node.library else "function"
    if node.kind == KERNEL:
        return "kernel" if node.duration_ns is not None else "kernel_seen"
    if node.kind == FAULT:
        return "fault_kernel" if node.name == "page_fault_kernel" else "fault_user"
    return "syscall"


@dataclass(frozen=True)
class Placed:
    """A node where the figure draws it."""

    node: CallNode
    kind: str
    tid: int
    depth: int
    row: int
    """The figure's row: the thread's first row plus the depth."""
    start_ns: int
    end_ns: int
    """``start_ns`` for a marker; for a call that never returned, the last time seen in its thread."""
    finished: bool


def _walk(calls: list[CallNode], depth: int = 0) -> Iterator[tuple[CallNode, int]]:
    """Every node of a thread with its depth, in tree order (which is time order)."""
    for node in calls:
        yield node, depth
        yield from _walk(node.children, depth + 1)


def _end(node: CallNode) -> int:
    return node.time_ns + (node.duration_ns or 0)


def _shares(sizes: list[int], limit: int) -> list[int]:
    """How many nodes of each thread are shown: ``limit`` shared evenly, a thread needing less
    than its share leaving the rest to the others."""
    share, keep = limit, [0] * len(sizes)
    pending = sorted(range(len(sizes)), key=lambda k: sizes[k])
    while pending:
        each = share // len(pending)
        k = pending.pop(0)
        keep[k] = min(sizes[k], each)
        share -= keep[k]
    return keep


def placed(report: ReplayReport, limit: int = MAX_NODES) -> tuple[list[Placed], dict[int, int], int]:
    """The nodes to draw (the earliest of each thread, :func:`_shares` of ``limit``), each
    thread's first row, and how many nodes were left out."""
    walks = [list(_walk(t.calls)) for t in report.threads]
    total = sum(len(w) for w in walks)
    keep = _shares([len(w) for w in walks], limit)
    out: list[Placed] = []
    first_rows: dict[int, int] = {}
    row = 0
    for thread, walk, n in zip(report.threads, walks, keep, strict=True):
        if not n:
            continue
        kept = walk[:n]
        last = max(_end(node) for node, _ in kept)
        first_rows[thread.tid] = row
        for node, depth in kept:
            kind = kind_of(node)
            if kind in POINTS:
                end, finished = node.time_ns, True
            else:
                finished = node.duration_ns is not None
                end = _end(node) if finished else max(last, node.time_ns)
            out.append(Placed(node, kind, thread.tid, depth, row + depth, node.time_ns, end, finished))
        row += 1 + max(depth for _, depth in kept)
    return out, first_rows, total - len(out)


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=False)


def _ret(node: CallNode) -> str:
    """A call's return as replay prints it: `` = 3``, `` = -1 ENOENT``, pointers in hex."""
    if node.duration_ns is None:
        return ""
    if node.kind == SYSCALL:
        if node.errno:
            return f" = -1 {node.errno}"
        if node.ret is None:
            return ""
        return f" = {node.ret:#x}" if node.ret > 0xFFFFFF else f" = {node.ret}"
    if node.kind == FUNCTION and node.ret_kind and node.ret is not None:
        if node.ret_kind == "ptr":
            return f" = {node.ret:#x}" if node.ret else " = NULL"
        return f" = {node.ret}"
    return ""


def call_text(node: CallNode) -> str:
    """The node as replay's line says it (without the duration): ``read(fd=3, …) = 832``,
    ``page_fault_user: 0x7f… ip 0x55… (not-present, write, user)``."""
    if node.kind == FAULT:
        words = explain.fault_words(node)
        return f"{node.name}: {node.address:#x} ip {node.ip:#x}" + (f" ({words})" if words else "")
    if node.kind == KERNEL:
        return f"{node.name}()"
    return f"{node.name}({node.args}){_ret(node)}"


def _hover(p: Placed, comms: dict[int, str]) -> str:
    node = p.node
    lines = [_esc(call_text(node)), _esc(text(f"report.html.calltree_kind_{p.kind}"))]
    if node.library:
        lines[-1] += f" ({_esc(node.library)})"
    if p.kind not in POINTS:
        lines.append(
            _esc(duration_text(node.duration_ns).strip())
            if p.finished
            else _esc(text("report.html.calltree_unfinished"))
        )
    lines.append(f"{node.time_ns / 1e6:.6f} ms · {_esc(comms.get(p.tid, ''))}[{p.tid}]")
    return "<br>".join(lines)


def calltree_figure(report: ReplayReport, title: str, limit: int = MAX_NODES) -> go.Figure:
    """The flame chart of the call tree (see the module's docstring)."""
    nodes, first_rows, _ = placed(report, limit)
    comms = {t.tid: t.comm for t in report.threads}
    fig = go.Figure()
    for kind, colour in KINDS.items():
        mine = [p for p in nodes if p.kind == kind]
        if not mine:
            continue
        name = text(f"report.html.calltree_kind_{kind}")
        hover = [_hover(p, comms) for p in mine]
        if kind in POINTS:
            fig.add_trace(
                go.Scatter(
                    x=[p.start_ns / 1e6 for p in mine],
                    y=[p.row for p in mine],
                    mode="markers",
                    name=name,
                    marker={
                        "symbol": SYMBOLS[kind],
                        "size": 9 if kind != "kernel_seen" else 7,
                        "color": colour,
                        "line": {"width": 1, "color": "#1f2937"},
                    },
                    hovertext=hover,
                    hoverinfo="text",
                )
            )
            continue
        fig.add_trace(
            go.Bar(
                x=[(p.end_ns - p.start_ns) / 1e6 for p in mine],
                base=[p.start_ns / 1e6 for p in mine],
                y=[p.row for p in mine],
                orientation="h",
                width=0.85,
                name=name,
                marker={
                    "color": colour,
                    "line": {"width": 0.5, "color": "white"},
                    # a call that never returned is drawn to its thread's last record, hatched
                    "pattern": {"shape": ["" if p.finished else "/" for p in mine]},
                },
                text=[_esc(p.node.name) for p in mine],
                textposition="inside",
                insidetextanchor="start",
                hovertext=hover,
                hoverinfo="text",
            )
        )
    rows = 1 + max((p.row for p in nodes), default=0)
    fig.update_yaxes(
        autorange="reversed",
        tickvals=list(first_rows.values()),
        ticktext=[f"{_esc(comms.get(tid, ''))} [{tid}]" for tid in first_rows],
        title_text=text("report.html.calltree_depth_axis"),
        zeroline=False,
    )
    fig.update_xaxes(title_text=text("report.html.calltree_time_axis"), ticksuffix=" ms")
    fig.update_layout(
        title_text=title,
        barmode="overlay",
        height=min(240 + 24 * rows, 2400),
        bargap=0.1,
        uniformtext={"minsize": 8, "mode": "hide"},
        legend={"font": {"size": 10}},
        hoverlabel={"align": "left"},
    )
    return fig


TREE_STYLE = """
div.calltree { font-family: 'DejaVu Sans Mono', 'Noto Sans Mono', 'NanumGothicCoding', monospace;
               font-size: 0.82em; background: #f6f7f9; padding: 0.6em; overflow-x: auto; }
div.calltree details > details, div.calltree details > div.ct-leaf { margin-left: 1.6em; }
div.calltree summary, div.calltree div.ct-leaf { white-space: pre; cursor: default; }
div.calltree summary { cursor: pointer; }
div.calltree span.ct-t { color: #6b7280; display: inline-block; min-width: 7.5em; text-align: right;
                         margin-right: 0.6em; }
div.calltree span.ct-k { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em;
                         border-radius: 2px; vertical-align: -0.05em; }
div.calltree span.ct-u { color: #805; }
"""


def _line(node: CallNode, kind: str) -> str:
    name = html.escape(text(f"report.html.calltree_kind_{kind}"), quote=True)
    mark = f'<span class="ct-k" style="background:{KINDS[kind]}" title="{name}"></span>'
    time = duration_text(node.duration_ns).strip() if kind not in POINTS else ""
    tail = ""
    if kind not in POINTS and node.duration_ns is None:
        tail = f' <span class="ct-u">/* {_esc(text("report.html.calltree_unfinished"))} */</span>'
    body = _esc(call_text(node))
    if node.kind == FAULT:
        body = f"/* {body} */"
    return f'<span class="ct-t">{_esc(time)}</span>{mark}{body}{tail}'


def tree_html(report: ReplayReport, limit: int = MAX_NODES, open_depth: int = 2) -> str:
    """The tree as nested ``<details>``: a call with calls below it opens and closes (the first
    ``open_depth`` levels start open), a leaf is one line; the nodes the figure draws."""
    sizes = [sum(1 for _ in _walk(t.calls)) for t in report.threads]
    left = [0]
    parts: list[str] = []

    def emit(nodes: list[CallNode], depth: int) -> None:
        for node in nodes:
            if left[0] <= 0:
                return
            left[0] -= 1
            line = _line(node, kind_of(node))
            if node.children:
                opened = " open" if depth < open_depth else ""
                parts.append(f"<details{opened}><summary>{line}</summary>")
                emit(node.children, depth + 1)
                parts.append("</details>")
            else:
                parts.append(f'<div class="ct-leaf">{line}</div>')

    for thread, keep in zip(report.threads, _shares(sizes, limit), strict=True):
        if not keep:
            continue
        left[0] = keep
        parts.append(f"<details open><summary><b>{_esc(thread.comm)} [{thread.tid}]</b></summary>")
        emit(thread.calls, 0)
        parts.append("</details>")
    return f'<div class="calltree"><style>{TREE_STYLE}</style>{"".join(parts)}</div>'


def add_calltree(page: Page, report: ReplayReport, level: int = 2) -> None:
    """The call tree's heading, its sentences (those replay ends with), the figure and the tree."""
    page.heading(text("report.html.calltree_heading"), level)
    if not report.threads:
        page.paragraph(
            explain_kernel.empty_sentence(report) if report.kernel_only else explain.empty_sentence(report)
        )
        return
    if report.kernel_only:
        page.paragraphs(explain_kernel.sentences(report))
    else:
        page.paragraphs(explain.sentences(report) + explain_kernel.path_sentences(report))
    _, _, left_out = placed(report)
    if left_out:
        shown = sum(1 for t in report.threads for _ in _walk(t.calls)) - left_out
        page.paragraph(
            text(
                "report.html.calltree_cut",
                shown=count("report.n.call", shown),
                total=count("report.n.call", shown + left_out),
            )
        )
    page.figure(calltree_figure(report, text("report.html.calltree_figure")))
    page.paragraph(text("report.html.calltree_tree"))
    page.parts.append(tree_html(report))


def calltree_page(report: ReplayReport) -> Page:
    """A page of the call tree alone (for `kernlab replay --html`)."""
    binary = report.binary.rsplit("/", 1)[-1] or report.directory
    page = Page(text("report.html.calltree_title", binary=binary), language())
    add_calltree(page, report)
    return page
