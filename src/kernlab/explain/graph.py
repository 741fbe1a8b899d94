"""What `kernlab graph`'s call graph shows, in words; its titles in the language in force."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.explain import count, text
from kernlab.reports.graph import GraphNode, GraphReport

__all__ = ["backtrace_line", "empty_sentences", "sentences", "text", "title"]


def title(report: GraphReport) -> str:
    """uftrace's first line: ``# Function Call Graph for 'main' (session: …)``."""
    return say("graph.view.title", function=report.function, session=report.session)


def backtrace_line(index: int, hits: int, time: str) -> str:
    """`` backtrace #0: hit 2, time   1.022 us`` (``time`` already in uftrace's time unit)."""
    return say("graph.view.backtrace", index=index, hits=hits, time=time)


def sentences(report: GraphReport) -> list[str]:
    """How many calls the root stands for and from how many paths; its own share of the time;
    kernel functions without time; calls with no end; the probes' cost."""
    root = report.root
    if root is None:
        return empty_sentences(report)
    if report.whole:
        out = [
            say(
                "graph.whole",
                binary=report.binary,
                threads=count("graph.n.thread", report.threads),
                calls=count("graph.n.top_call", sum(c.calls for c in root.children)),
            )
        ]
    else:
        out = [
            say(
                "graph.summary",
                function=report.function,
                calls=count("graph.n.call", root.calls),
                threads=count("graph.n.thread", report.threads),
                paths=count("graph.n.path", len(report.backtraces)),
            )
        ]
        if root.total_ns is not None and root.self_ns is not None and root.children:
            out.append(
                say(
                    "graph.self",
                    function=report.function,
                    self_ms=root.self_ns / 1e6,
                    total_ms=root.total_ns / 1e6,
                    percent=100.0 * root.self_ns / max(root.total_ns, 1),
                )
            )
    kernel = _untimed_kernel(root)
    if kernel:
        out.append(count("graph.kernel_paths", kernel))
    unfinished = _unfinished(root)
    if unfinished:
        out.append(say("graph.unfinished", calls=count("graph.n.unfinished", unfinished)))
    out.append(say("graph.probe_cost"))
    return out


def empty_sentences(report: GraphReport) -> list[str]:
    """Why there is no graph: a stripped binary, a function probed but never called, or a name
    the recording does not know (with the close ones it does)."""
    if not report.symbol_table and report.root is None and not report.probed:
        return [say("graph.stripped", binary=report.binary)]
    if report.whole:
        return [say("graph.no_calls", binary=report.binary)]
    if report.probed:
        return [say("graph.not_called", function=report.function)]
    out = [say("graph.not_found", function=report.function)]
    if report.similar:
        out.append(say("graph.similar", names=", ".join(report.similar)))
    return out


def _untimed_kernel(node: GraphNode) -> int:
    """Paths of kernel functions seen only in stacks (no time) below (and at) ``node``."""
    todo, n = [node], 0
    while todo:
        g = todo.pop()
        n += g.kind == "kernel" and g.total_ns is None
        todo.extend(g.children)
    return n


def _unfinished(node: GraphNode) -> int:
    todo, n = [node], 0
    while todo:
        g = todo.pop()
        n += g.unfinished
        todo.extend(g.children)
    return n
