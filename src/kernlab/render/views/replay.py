"""`kernlab replay` for a person: uftrace replay's layout, line for line.

::

    # DURATION     TID     FUNCTION
                [  4724] | main() {
       0.081 us [  4726] |   leaf();
                [  4724] |   read(3, 0x7ffd5a1c8e40, 832) {
                [  4724] |     /* page_fault_kernel: 0x7ffd5a1c8000 ip 0xffffffff8123 (not-present, write) */
       4.120 us [  4724] |   } = 832; /* read */
       7.046 ms [  4724] | } /* main */

The duration column is uftrace's ``print_time_unit`` (``%3d.%03d`` and a unit: us, ms, `` s``,
`` m``, `` h``; blank on entry lines and for 0), the thread in ``[%6d]``, two spaces per depth. A call
with nothing shown below it is one line ``f();`` at its entry; otherwise ``f() {`` at its entry and
``} /* f */`` at its return. The threads' lines are merged in time order, as uftrace merges them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from kernlab.explain import kernel_paths as explain_kernel
from kernlab.explain import replay as explain
from kernlab.render.output import Output
from kernlab.render.views.recording_text import print_event_lines
from kernlab.reports.replay import FAULT, KERNEL, SYSCALL, CallNode, ReplayReport, ThreadCalls

__all__ = ["HEADER", "duration_text", "show", "tree_lines"]

HEADER = "# DURATION     TID     FUNCTION"

_UNITS = ("us", "ms", " s", " m", " h")
_LIMITS = (1000, 1000, 1000, 60, 24, 1 << 31)


def duration_text(ns: int | None) -> str:
    """A duration as uftrace's print_time_unit prints it (10 characters)."""
    if not ns:
        return " " * 10
    delta, small, idx = ns, 0, 0
    for idx in range(len(_UNITS)):
        small = delta % _LIMITS[idx]
        delta //= _LIMITS[idx]
        if delta < _LIMITS[idx + 1]:
            break
    if delta > 999:
        delta = small = 999
    return f"{delta:3d}.{small:03d} {_UNITS[idx]}"


def _ret(node: CallNode) -> str:
    if node.kind != SYSCALL:
        return _fn_ret(node)
    if node.duration_ns is None:
        return " = ?"
    if node.errno:
        return f" = -1 {node.errno}"
    if node.ret is None:
        return ""
    return f" = {node.ret:#x}" if node.ret > 0xFFFFFF else f" = {node.ret}"


def _fn_ret(node: CallNode) -> str:
    """A library call's fetched return value, as uftrace's ``-R`` shows it (pointers in hex)."""
    if not node.ret_kind or node.ret is None or node.duration_ns is None:
        return ""
    if node.ret_kind == "ptr":
        return f" = {node.ret:#x}" if node.ret else " = NULL"
    return f" = {node.ret}"


def _walk(thread: ThreadCalls) -> Iterator[tuple[int, int, str]]:
    """(time, order, line) of one thread, in tree order (which is its time order)."""
    order = 0

    def line(ns: int | None, depth: int, text: str) -> str:
        return f" {duration_text(ns)} [{thread.tid:6d}] | {'  ' * depth}{text}"

    stack: list[tuple[CallNode, int, bool]] = [(c, 0, False) for c in reversed(thread.calls)]
    last = 0  # a kernel function's closing line has no time of its own: the last line's
    while stack:
        node, depth, closing = stack.pop()
        order += 1
        last = max(last, node.time_ns)
        if node.kind == KERNEL:  # uftrace's kernel functions (record -K): durations when traced
            ns = node.duration_ns
            if closing:
                end = last if ns is None else node.time_ns + ns
                yield end, order, line(ns, depth, f"}} /* {node.name} */")
            elif node.children:
                yield node.time_ns, order, line(None, depth, f"{node.name}() {{")
                stack.append((node, depth, True))
                stack.extend((c, depth + 1, False) for c in reversed(node.children))
            else:
                yield node.time_ns, order, line(ns, depth, f"{node.name}();")
            continue
        if closing:
            assert node.duration_ns is not None
            ret = f"{_ret(node)};" if node.kind == SYSCALL or _fn_ret(node) else ""
            yield (
                node.time_ns + node.duration_ns,
                order,
                line(node.duration_ns, depth, f"}}{ret} /* {node.name} */"),
            )
            continue
        if node.kind == FAULT:
            words = explain.fault_words(node)
            detail = f" ({words})" if words else ""
            yield (
                node.time_ns,
                order,
                line(None, depth, f"/* {node.name}: {node.address:#x} ip {node.ip:#x}{detail} */"),
            )
            stack.extend((c, depth + 1, False) for c in reversed(node.children))  # its kernel path
            continue
        args = node.args
        if not node.children:
            ret = _ret(node)
            if node.duration_ns is None and node.kind != SYSCALL:
                yield node.time_ns, order, line(None, depth, f"{node.name}({args}) {{")
            else:
                yield node.time_ns, order, line(node.duration_ns, depth, f"{node.name}({args}){ret};")
            continue
        yield node.time_ns, order, line(None, depth, f"{node.name}({args}) {{")
        if node.duration_ns is not None:
            stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in reversed(node.children))


def tree_lines(report: ReplayReport) -> list[str]:
    """Every line below the header, the threads merged in time order."""
    lost = []
    if report.loss.lost:
        lost = [
            f" {duration_text(None)} [{t.tid:6d}] | /* LOST {report.loss.lost} records!! */"
            for t in report.threads
        ]
    merged = heapq.merge(*(_walk(t) for t in report.threads), key=lambda r: (r[0], r[1]))
    return lost + [text for _ts, _order, text in merged]


def kernel_header(report: ReplayReport) -> list[str]:
    """The comment line under the header saying how the kernel functions were seen (-K)."""
    paths = report.kernel_paths
    if paths is None:
        return []
    how = "(" + " and ".join(_SOURCE_WORDS.get(s, s) for s in (paths.sources or (paths.source,))) + ")"
    if paths.source == "function_graph":
        return [f"#   kernel functions {how}, depth {paths.depth}: durations as function_graph measured them"]
    return [f"#   kernel functions {how}, depth {paths.depth}: no durations below system calls and faults"]


_SOURCE_WORDS = {"tracepoints": "at tracepoints", "function_graph": "traced", "sampled": "sampled"}


def show(report: ReplayReport, out: Output) -> None:
    lines = tree_lines(report)
    head = [HEADER, *kernel_header(report)]
    if not print_event_lines(report.loss, [*head, *lines] if lines else [], str, out):
        out.sentence(
            explain_kernel.empty_sentence(report) if report.kernel_only else explain.empty_sentence(report)
        )
        return
    if report.kernel_only:
        out.sentences(explain_kernel.sentences(report))
        return
    out.sentences(explain.sentences(report) + explain_kernel.path_sentences(report))
