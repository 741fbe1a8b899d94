"""What `kernlab replay`'s tree shows, in words."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.explain import count
from kernlab.explain.faults import code_words
from kernlab.reports.replay import CallNode, ReplayReport

__all__ = ["empty_sentence", "fault_words", "sentences"]


def sentences(report: ReplayReport) -> list[str]:
    """How many calls, threads, system calls and faults; what was left out and why."""
    figures = {
        "calls": count("replay.n.call", report.function_calls),
        "binary": report.binary,
        "threads": count("replay.n.thread", len(report.threads)),
        "syscalls": count("replay.n.syscall", report.syscalls),
        "faults": count("replay.n.fault", report.faults),
        "probed": count("replay.n.function", report.functions_probed),
    }
    if report.symbol_table:
        out = [say("replay.summary", table=report.symbol_table, **figures)]
    else:  # a stripped program: only its library calls (PLT stubs, call sites) have names
        out = [say("replay.summary_stripped", **figures)]
    if report.outside_syscalls or report.outside_faults:
        out.append(
            say(
                "replay.outside",
                syscalls=count("replay.n.syscall", report.outside_syscalls),
                faults=count("replay.n.fault", report.outside_faults),
            )
        )
    if report.unfinished:
        out.append(say("replay.unfinished", calls=count("replay.n.unfinished", report.unfinished)))
    if report.stray_returns:
        out.append(say("replay.stray", returns=count("replay.n.stray", report.stray_returns)))
    return out


def empty_sentence(report: ReplayReport) -> str:
    """Why there is no tree: a stripped binary, no call at all, or filters that keep nothing."""
    if not report.symbol_table:
        return say("replay.stripped", binary=report.binary)
    f = report.filters
    if f.include or f.exclude or f.depth or f.time_ns or f.tids:
        return say("replay.no_calls_filtered")
    return say("replay.no_calls", binary=report.binary)


def fault_words(node: CallNode) -> str:
    """The decoded error code of a fault node ("not-present, write, user"), or its number."""
    if node.fault_code is None:
        return ""
    return ", ".join(code_words(node.fault_code))
