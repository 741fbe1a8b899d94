"""What `kernlab report` found in a recording, in words."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.reports.recording.fault_stats import FaultStatistics
from kernlab.reports.recording.loss import Loss
from kernlab.reports.recording.syscall_stats import ProcessSyscalls, SyscallStatistics
from kernlab.reports.report import FaultCounterCheck, RecordingReport, RecordingSummary

__all__ = [
    "ARROW",
    "counter_check_sentence",
    "fault_sentences",
    "listing_loss",
    "loss_sentences",
    "process_syscalls_sentence",
    "recording_sentence",
    "syscall_sentences",
    "top_ip_sentence",
    "top_stack_sentence",
    "top_vma_sentence",
    "unmapped_sentence",
]

ARROW = " ← "
"""Between the functions of a kernel stack, innermost first."""


def _command(rec: RecordingSummary) -> str:
    return " ".join(rec.command) or f"PID {rec.root_pid}"


def recording_sentence(report: RecordingReport) -> str:
    rec = report.recording
    if not rec.event_counts:
        return say("report.recording.empty")
    return say(
        "report.recording.summary",
        events=rec.events_total,
        cpus=rec.cpus,
        seconds=rec.duration_ns / 1e9,
        command=_command(rec),
        clock=rec.clock,
    )


def loss_sentences(report: RecordingReport) -> list[str]:
    """Whether events were lost (the counters and the pages' own marks)."""
    loss = report.loss
    written = sum(c.entries for c in loss.per_cpu) + loss.total
    out: list[str] = []
    if loss.total or loss.missed_in_pages:
        lost = max(loss.total, loss.missed_in_pages)
        out.append(
            say("report.lost.some", lost=lost, percent=100.0 * lost / max(written, 1), written=written)
        )
    else:
        out.append(say("report.lost.none"))
    if loss.pages_marked_missed:
        out.append(say("report.lost.pages", pages=loss.pages_marked_missed, missed=loss.missed_in_pages))
    return out


def listing_loss(loss: Loss) -> str | None:
    """The warning a listing starts with when events were lost; None when none were."""
    if not loss.lost:
        return None
    return say("report.lost.some", lost=loss.lost, percent=loss.percent, written=loss.written)


def syscall_sentences(stats: SyscallStatistics | None) -> list[str]:
    """The combined table's meaning, the commonest failure, and the calls that never returned."""
    if stats is None or not stats.combined.rows:
        return [say("report.syscalls.none")]
    combined = stats.combined
    top = combined.rows[0]
    out = [
        say(
            "report.syscalls.meaning",
            calls=combined.calls,
            errors=combined.errors,
            top=top.name,
            top_percent=top.percent_time,
            total_ms=combined.total_ns / 1e6,
        )
    ]
    failing = [r for r in combined.rows if r.errnos]
    if failing:
        worst = max(failing, key=lambda r: max(r.errnos.values()))
        code, count = max(worst.errnos.items(), key=lambda kv: kv[1])
        out.append(say("report.syscalls.errno_hint", name=worst.name, errno=code, count=count))
    if combined.unfinished or combined.unpaired_exits:
        names = ", ".join(f"{r.name}×{r.unfinished}" for r in combined.rows if r.unfinished)
        out.append(
            say(
                "report.syscalls.unfinished",
                unfinished=combined.unfinished,
                names=names or "-",
                unpaired=combined.unpaired_exits,
            )
        )
    return out


def process_syscalls_sentence(proc: ProcessSyscalls) -> str:
    return say(
        "report.syscalls.per_process",
        pid=proc.pid,
        comm=proc.comm or "?",
        calls=proc.summary.calls,
        errors=proc.summary.errors,
        total_ms=proc.summary.total_ns / 1e6,
    )


def counter_check_sentence(check: FaultCounterCheck) -> str:
    """getrusage's count of the command's faults against the events recorded."""
    if check.own is None or check.difference is None:
        return say(
            "report.faults.counter_check", minflt=check.minflt, majflt=check.majflt, events=check.events
        )
    match = (
        say("report.faults.counter_same")
        if check.difference == 0
        else say("report.faults.counter_differs", diff=check.difference, percent=check.percent)
    )
    return say(
        "report.faults.counter_check_exact",
        minflt=check.minflt,
        majflt=check.majflt,
        before=check.before_exec,
        own=check.own,
        events=check.events,
        match=match,
    )


def top_vma_sentence(faults: FaultStatistics) -> str:
    top = faults.by_vma[0]
    return say(
        "report.faults.top_vma", count=top.count, total=faults.total, percent=top.percent, kind=top.label
    )


def unmapped_sentence(faults: FaultStatistics) -> str:
    return say("report.faults.unmapped", count=faults.unmapped)


def fault_sentences(faults: FaultStatistics | None) -> list[str]:
    """After the error-code table: first anonymous writes, and which faults were major."""
    if faults is None or not faults.total:
        return [say("report.faults.none")]
    out: list[str] = []
    if faults.first_anon_writes:
        out.append(say("report.faults.first_anon", first=faults.first_anon_writes, total=faults.total))
    major = faults.major
    if major.method == "page-cache":
        out.append(say("report.faults.major_cache", major=major.count, user=faults.user, minor=major.minor))
    elif major.method == "counter":
        out.append(say("report.faults.major_counter", major=major.count))
    else:
        out.append(say("report.faults.major_unknown"))
    return out


def top_ip_sentence(faults: FaultStatistics) -> str:
    best = faults.top_ips[0]
    return say("report.faults.top_ip", location=best.location, count=best.count, percent=best.percent)


def top_stack_sentence(faults: FaultStatistics) -> str:
    best = faults.top_kernel_stacks[0]
    return say(
        "report.faults.top_stack", chain=ARROW.join(best.functions), count=best.count, percent=best.percent
    )
