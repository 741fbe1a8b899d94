"""What `kernlab syscalls`' listing shows, in words."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.reports.syscalls import SyscallsReport

__all__ = ["listing_sentences", "no_lines"]


def listing_sentences(report: SyscallsReport) -> list[str]:
    """How many calls, how many failed, the slowest; and where argument names came from."""
    slowest = max(report.lines, key=lambda ln: ln.duration_ns or 0)
    out = [
        say(
            "report.lines.syscalls",
            shown=report.total_calls,
            errors=report.errors,
            name=slowest.name,
            pid=slowest.pid,
            micros=(slowest.duration_ns or 0) / 1000,
        )
    ]
    if report.args_from_live_kernel:
        out.append(say("report.lines.live_args"))
    return out


def no_lines() -> str:
    return say("report.lines.syscalls_none")
