"""What the kernel paths of `kernlab replay` (``record -K DEPTH``) show, in words."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.explain import count
from kernlab.reports.replay import ReplayReport

__all__ = ["empty_sentence", "path_sentences", "sentences"]


def _stacks(report: ReplayReport) -> str:
    paths = report.kernel_paths
    assert paths is not None
    return count(f"replay.kernel.n.{paths.source}", paths.stacks)


def sentences(report: ReplayReport) -> list[str]:
    """A ``-K`` recording made without --functions: its system calls, faults and kernel paths."""
    out = []
    if report.kernel_paths is not None:
        out.append(
            say(
                "replay.kernel.summary",
                syscalls=count("replay.n.syscall", report.syscalls),
                faults=count("replay.n.fault", report.faults),
                binary=report.binary,
                threads=count("replay.n.thread", len(report.threads)),
                functions=count("replay.kernel.n.function", report.kernel_functions),
                stacks=_stacks(report),
                depth=report.kernel_paths.depth,
            )
        )
        out += _how(report)
    return out + _left_out(report)


def path_sentences(report: ReplayReport) -> list[str]:
    """The kernel paths beneath the calls of a ``--functions -K`` recording; [] without -K."""
    paths = report.kernel_paths
    if paths is None:
        return []
    functions = count("replay.kernel.n.function", report.kernel_functions)
    key = "replay.kernel.graph.traced" if paths.source == "function_graph" else "replay.kernel.paths"
    return [
        say(key, functions=functions, stacks=_stacks(report), depth=paths.depth),
        *_how(report),
        *_left_out(report),
    ]


def _how(report: ReplayReport) -> list[str]:
    """How the paths were seen: function_graph's place or why not, and the samples."""
    return _graph(report) + _sampled(report)


def _sampled(report: ReplayReport) -> list[str]:
    """Samples taken, placed and lost; or why sampling was not used (where it was tried)."""
    paths = report.kernel_paths
    if paths is None:
        return []
    if paths.sample_why:
        reason = say(f"replay.kernel.sampled.why.{paths.sample_why}", errno=paths.sample_errno)
        return [say("replay.kernel.sampled.not_used", reason=reason)]
    if not paths.sample_hz:
        return []
    out = [
        say(
            "replay.kernel.sampled.taken",
            hz=paths.sample_hz,
            samples=count("replay.kernel.n.sample", paths.samples),
            kernel=paths.samples_kernel,
            placed=paths.samples_placed,
            interrupt=paths.samples_interrupt,
            lost=paths.samples_lost,
        )
    ]
    if paths.sample_offset_ns is None and paths.samples_kernel:
        out.append(say("replay.kernel.sampled.unshifted"))
    return out


def _graph(report: ReplayReport) -> list[str]:
    """Where function_graph traced the paths, or why it was not used (when it was tried)."""
    paths = report.kernel_paths
    if paths is None or not paths.graph_why:
        return []
    if paths.source == "function_graph":
        return [say(f"replay.kernel.graph.{paths.graph_place or 'instance'}")]
    why = paths.graph_why
    if why == "no_filter" and not paths.graph_errno:
        why = "no_functions"
    if why in ("refused", "no_filter") and not paths.graph_errno:
        why = "not_offered"
    reason = say(f"replay.kernel.graph.why.{why}", errno=paths.graph_errno)
    return [say("replay.kernel.graph.not_used", reason=reason)]


def _left_out(report: ReplayReport) -> list[str]:
    paths = report.kernel_paths
    if paths is None or not (paths.in_interrupt or paths.unplaced):
        return []
    return [
        say(
            "replay.kernel.left_out",
            interrupt=count("replay.kernel.n.stack", paths.in_interrupt),
            unplaced=count("replay.kernel.n.stack", paths.unplaced),
        )
    ]


def empty_sentence(report: ReplayReport) -> str:
    """Why a ``-K`` recording without --functions shows no tree."""
    f = report.filters
    if f.include or f.exclude or f.depth or f.time_ns or f.tids:
        return say("replay.no_calls_filtered")
    return say("replay.kernel.none", binary=report.binary)
