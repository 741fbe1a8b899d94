"""The call tree as folded stacks: ``comm;main;f;g;syscall;kernel_fn COUNT`` per line, for
flamegraph.pl, inferno, speedscope and every tool that reads Brendan Gregg's collapsed format.

COUNT is time in **nanoseconds**: each call's *self* time (its duration less the durations of
the calls inside it), summed over every call with the same stack, so a frame's width in the
flame graph is its total time and the file's total is the total time of the tree's top calls.
A call whose end was not recorded counts what is inside it and no self time; so does a page
fault (it has no duration: only kernel functions traced beneath it give it time). Kernel
functions seen in stacks (``record -K`` without function_graph) have no duration of their own: a
system call's self time is shared equally among the kernel paths seen beneath it (their leaf
stacks); kernel functions function_graph traced count their own times like any call. Stacks
are rooted at the thread's name (threads of one name merge, as in perf's stackcollapse); lines
are sorted, each stack once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kernlab.recording.export.atomic import atomic_output
from kernlab.recording.reader import FileDamage, Recording
from kernlab.recording.state import Completeness
from kernlab.reports.replay import FAULT, KERNEL, CallNode, ReplayReport

__all__ = ["UNIT", "FoldedExport", "FoldedStacks", "fold", "folded_lines", "write_folded"]

UNIT = "ns"


@dataclass(frozen=True)
class FoldedStacks:
    lines: dict[str, int]
    """Stack (frames joined by ``;``) -> ns."""
    total_ns: int
    clipped: int
    """Calls whose children added up to more than their own duration (self time taken as 0)."""


@dataclass(frozen=True)
class FoldedExport:
    """The folded-stacks file written."""

    path: str
    stacks: int
    total_ns: int
    unit: str
    threads: int
    clipped: int
    completeness: Completeness | None = None
    damage: list[FileDamage] = field(default_factory=list)


def _frame(name: str) -> str:
    """A name as a frame: ``;`` separates frames and a newline ends the line, so neither may be in it."""
    return name.replace(";", ":").replace("\n", " ").replace("\r", " ") or "?"


def _leaves(node: CallNode, path: str) -> Iterator[str]:
    """The leaf stacks of a kernel path (iterative)."""
    todo = [(node, f"{path};{_frame(node.name)}")]
    while todo:
        n, p = todo.pop()
        if not n.children:
            yield p
        todo.extend((c, f"{p};{_frame(c.name)}") for c in reversed(n.children))


def _timeless(node: CallNode) -> bool:
    """A kernel function seen in a stack: no duration of its own, shares its caller's."""
    return node.kind == KERNEL and node.duration_ns is None


def fold(report: ReplayReport) -> FoldedStacks:
    lines: dict[str, int] = {}
    clipped = 0
    for thread in report.threads:
        # Pre-order with each node's stack, then effective durations children-first.
        order: list[tuple[CallNode, str]] = []
        todo = [(c, f"{_frame(thread.comm)};{_frame(c.name)}") for c in reversed(thread.calls)]
        while todo:
            node, path = todo.pop()
            order.append((node, path))
            if not _timeless(node):
                todo.extend((c, f"{path};{_frame(c.name)}") for c in reversed(node.children))
        eff: dict[int, int] = {}
        for node, _path in reversed(order):
            if _timeless(node):
                eff[id(node)] = 0
            elif node.duration_ns is not None and node.kind != FAULT:
                eff[id(node)] = node.duration_ns
            else:
                eff[id(node)] = sum(eff[id(c)] for c in node.children)
        for node, path in order:
            if _timeless(node):
                continue
            inside = sum(eff[id(c)] for c in node.children)
            own = eff[id(node)] - inside
            if own < 0:
                clipped += 1
                own = 0
            if own == 0:
                continue
            leaves = [leaf for c in node.children if _timeless(c) for leaf in _leaves(c, path)]
            if not leaves:
                lines[path] = lines.get(path, 0) + own
                continue
            share, extra = divmod(own, len(leaves))
            for i, leaf in enumerate(leaves):
                weight = share + (1 if i < extra else 0)
                if weight:
                    lines[leaf] = lines.get(leaf, 0) + weight
    return FoldedStacks(lines, sum(lines.values()), clipped)


def folded_lines(stacks: FoldedStacks) -> Iterator[str]:
    for stack in sorted(stacks.lines):
        yield f"{stack} {stacks.lines[stack]}"


def write_folded(rec: Recording, report: ReplayReport, target: Path) -> FoldedExport:
    stacks = fold(report)
    with atomic_output(Path(target), "the folded stacks", binary=False) as fh:
        for line in folded_lines(stacks):
            fh.write(line)
            fh.write("\n")
    return FoldedExport(
        path=str(target),
        stacks=len(stacks.lines),
        total_ns=stacks.total_ns,
        unit=UNIT,
        threads=len(report.threads),
        clipped=stacks.clipped,
        completeness=rec.completeness(),
        damage=rec.damage(),
    )
