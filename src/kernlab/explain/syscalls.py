"""What `kernlab syscalls`' listing shows, in words."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.explain import count
from kernlab.explain.syscall import unknown_numbers as unknown_numbers_sentence
from kernlab.reports.syscalls import PathStringsSummary, SyscallsReport

__all__ = ["listing_sentences", "no_lines", "strings_sentences"]


def listing_sentences(report: SyscallsReport) -> list[str]:
    """How many calls, how many failed, the slowest; and where argument names came from."""
    slowest = max(report.lines, key=lambda ln: ln.duration_ns or 0)
    out = [
        say(
            "report.lines.syscalls",
            shown=count("report.n.call", report.total_calls),
            errors=report.errors,
            name=slowest.name,
            pid=slowest.pid,
            micros=(slowest.duration_ns or 0) / 1000,
        )
    ]
    if report.args_from_live_kernel:
        out.append(say("report.lines.live_args"))
    out.extend(strings_sentences(report.path_strings))
    newer = unknown_numbers_sentence(report.unknown_numbers, report.table_version)
    if newer:
        out.append(newer)
    return out


def strings_sentences(summary: PathStringsSummary) -> list[str]:
    """Why file names show as addresses, when some do: one note."""
    if summary.status == "refused":
        return [say("report.lines.strings_refused", step=summary.refused_step, errno=summary.refused_errno)]
    if summary.status == "absent":
        return [say("report.lines.strings_absent")]
    out = []
    if summary.unmatched:
        out.append(say("report.lines.strings_unread", calls=count("report.n.string_call", summary.unmatched)))
    if summary.dropped:
        out.append(
            say("report.lines.strings_dropped", records=count("report.n.string_record", summary.dropped))
        )
    return out


def no_lines() -> str:
    return say("report.lines.syscalls_none")
