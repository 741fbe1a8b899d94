"""What `kernlab report` found in a recording, in words."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.explain import count as counted
from kernlab.explain.faults import SIGNAL_NAMES, cause_sentences
from kernlab.explain.syscall import unknown_numbers as unknown_numbers_sentence
from kernlab.recording.reader import LossSummary
from kernlab.reports.functions import FunctionStatistics
from kernlab.reports.recording.fault_stats import FaultStatistics
from kernlab.reports.recording.loss import Loss
from kernlab.reports.recording.syscall_stats import ProcessSyscalls, SyscallStatistics
from kernlab.reports.replay import FUNCTION
from kernlab.reports.report import FaultCounterCheck, RecordingReport, RecordingSummary

__all__ = [
    "ARROW",
    "address_space_sentences",
    "counter_check_sentence",
    "fault_sentences",
    "faults_none_sentence",
    "function_columns",
    "function_heading",
    "function_sentences",
    "listing_loss",
    "loss_sentences",
    "process_syscalls_sentence",
    "recording_sentence",
    "syscall_heading",
    "syscall_sentences",
    "syscall_time_sentence",
    "syscalls_none_sentence",
    "top_ip_sentence",
    "top_stack_sentence",
    "top_vma_sentence",
    "unknown_area_sentence",
]

ARROW = " ← "
"""Between the functions of a kernel stack, innermost first."""


def _command(rec: RecordingSummary) -> str:
    return " ".join(rec.command) or f"PID {rec.root_pid}"


def recording_sentence(report: RecordingReport) -> str:
    rec = report.recording
    if not rec.event_counts:
        return say("report.recording.empty")
    return counted(
        "report.recording.summary",
        rec.events_total,
        cpus=counted("report.n.cpu_buffer", rec.cpus),
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
        out.append(counted("report.lost.some", lost, percent=100.0 * lost / max(written, 1), written=written))
    elif loss.known:  # only the statistics saved at the end of a whole recording prove it
        out.append(say("report.lost.none"))
    if not loss.known:
        from kernlab.explain.completeness import loss_unknown_sentence

        unknown = loss_unknown_sentence(loss.completeness, bool(loss.damage), loss.total)
        if unknown is not None:
            out.append(unknown)
    if loss.pages_marked_missed:
        out.append(
            say(
                "report.lost.pages",
                pages=counted("report.n.marked_page", loss.pages_marked_missed),
                missed=counted("report.n.missed_event", loss.missed_in_pages),
            )
        )
    return out


def listing_loss(loss: Loss) -> str | None:
    """The warning a listing starts with when events were lost; None when none were."""
    if not loss.lost:
        return None
    return counted("report.lost.some", loss.lost, percent=loss.percent, written=loss.written)


def _lost(loss: LossSummary) -> int:
    return max(loss.total, loss.missed_in_pages)


def _cut(loss: LossSummary) -> bool:
    """Cut short, or ended without the per-CPU statistics that would prove what was lost."""
    state = loss.completeness
    return state is not None and not (state.complete and state.stats_saved)


def syscalls_none_sentence(loss: LossSummary) -> str:
    """Why a recording with raw_syscalls events shows no system call: pages that could not be
    read, a recording cut short, or lost events may have held them — only when none of these
    is the case did the command make none (never "not enabled": they were)."""
    if loss.damage:
        return say("report.state.syscalls_damaged")
    if _cut(loss):
        return say("report.state.syscalls_cut")
    if _lost(loss):
        return say("report.state.syscalls_lost", lost=counted("report.functions.n.lost", _lost(loss)))
    return say("report.state.syscalls_enabled")


def faults_none_sentence(loss: LossSummary) -> str:
    """Why a recording with page-fault events shows no fault: damage, cut short or lost events
    first; "none fired" only when the recording is whole and lost nothing."""
    if loss.damage:
        return say("report.state.faults_damaged")
    if _cut(loss):
        return say("report.state.faults_cut")
    if _lost(loss):
        return say("report.state.faults_lost", lost=counted("report.functions.n.lost", _lost(loss)))
    return say("report.faults.none")


def syscall_sentences(stats: SyscallStatistics | None, loss: LossSummary | None = None) -> list[str]:
    """The combined table's meaning, the commonest failure, and the calls that never returned.

    ``loss``: the recording's, so that an empty table says when lost or unreadable events are
    the reason (without it, the sentence for a recording with no system-call events)."""
    if stats is None or not stats.combined.rows:
        if stats is not None and loss is not None:
            return [syscalls_none_sentence(loss)]
        return [say("report.syscalls.none")]
    combined = stats.combined
    top = combined.rows[0]
    out = [
        say(
            "report.syscalls.meaning",
            calls=counted("report.n.syscall", combined.calls),
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
        out.append(
            say(
                "report.syscalls.errno_hint",
                name=worst.name,
                errno=code,
                times=counted("report.n.time", count),
            )
        )
    if combined.unfinished or combined.unpaired_exits:
        names = ", ".join(f"{r.name}×{r.unfinished}" for r in combined.rows if r.unfinished)
        out.append(
            say(
                "report.syscalls.unfinished",
                unfinished=counted("report.n.unfinished", combined.unfinished),
                names=names or "-",
                unpaired=counted("report.n.unpaired", combined.unpaired_exits),
            )
        )
    newer = unknown_numbers_sentence(stats.unknown_numbers, stats.table_version)
    if newer:
        out.append(newer)
    return out


def syscall_heading(stats: SyscallStatistics) -> str:
    """The title of the system-call table, naming the time it shows."""
    return say("report.syscalls.heading_cpu" if stats.time == "cpu" else "report.syscalls.heading_wall")


def syscall_time_sentence(stats: SyscallStatistics) -> str:
    """Which time the seconds column holds (and why not CPU time when it was asked for)."""
    if stats.time == "cpu":
        return say("report.syscalls.time_cpu")
    if stats.time_asked == "cpu":
        return say("report.syscalls.time_cpu_missing")
    return say("report.syscalls.time_wall")


def process_syscalls_sentence(proc: ProcessSyscalls) -> str:
    return say(
        "report.syscalls.per_process",
        pid=proc.pid,
        comm=proc.comm or "?",
        calls=counted("report.n.call", proc.summary.calls),
        errors=proc.summary.errors,
        total_ms=proc.summary.total_ns / 1e6,
    )


def counter_check_sentence(check: FaultCounterCheck) -> str:
    """getrusage's count of the command's faults against the events recorded."""
    if check.own is None or check.difference is None:
        return say(
            "report.faults.counter_check",
            minflt=check.minflt,
            majflt=check.majflt,
            events=counted("report.n.fault_event", check.events),
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
        events=counted("report.n.fault_event", check.events),
        match=match,
    )


def top_vma_sentence(faults: FaultStatistics) -> str:
    top = faults.by_vma[0]
    return say(
        "report.faults.top_vma", count=top.count, total=faults.total, percent=top.percent, kind=top.label
    )


def unknown_area_sentence(faults: FaultStatistics) -> str | None:
    """Faults the recording cannot place (no maps snapshot for their process); None when none."""
    unknown = faults.unmapped - faults.no_vma
    return counted("report.faults.unknown_area", unknown) if unknown > 0 else None


def address_space_sentences(faults: FaultStatistics) -> list[str]:
    """What the address-space timeline adds: writes to present pages (error code 0x7 on x86)
    by what the kernel did, faults in no VMA, the SIGSEGV/SIGBUS the traced tasks got, and how
    many calls changed the address space."""
    out: list[str] = []
    protected = {row.label: row.count for row in faults.write_protect}
    if protected:
        out.append(counted("report.faults.write_protect", sum(protected.values())))
        out.extend(cause_sentences(protected))
    if faults.no_vma:
        out.extend(cause_sentences({"faults.cause.no_vma": faults.no_vma}, faults.signal_events))
    for seen in faults.signals:
        out.append(
            say(
                "report.faults.signal",
                signal=SIGNAL_NAMES.get(seen.signal, str(seen.signal)),
                sent=counted("report.n.time", seen.generated),
                delivered=counted("report.n.time", seen.delivered),
            )
        )
    if faults.address_space_changes:
        out.append(counted("report.faults.timeline", faults.address_space_changes))
    return out


def fault_sentences(faults: FaultStatistics | None, loss: LossSummary | None = None) -> list[str]:
    """After the error-code table: first anonymous writes, what the address-space timeline says
    (writes to present pages by cause, faults in no VMA and their signals), which were major.

    ``loss``: the recording's, so that no fault at all says when lost or unreadable events are
    the reason."""
    if faults is None or not faults.total:
        if faults is not None and loss is not None:
            return [faults_none_sentence(loss)]
        return [say("report.faults.none")]
    out: list[str] = []
    if faults.first_anon_writes:
        out.append(
            counted(
                "report.faults.first_anon",
                faults.first_anon_writes,
                faults=counted("report.n.fault", faults.total),
            )
        )
    out.extend(address_space_sentences(faults))
    major = faults.major
    # Both counts are known whenever the method is page-cache or counter (None only for unknown).
    if major.method == "page-cache":
        out.append(
            say(
                "report.faults.major_cache",
                major=major.count,
                user=counted("report.n.user_fault", faults.user),
                minor=counted("report.n.other_minor", major.minor or 0),
            )
        )
    elif major.method == "counter":
        out.append(
            say("report.faults.major_counter", major=counted("report.n.major_fault", major.count or 0))
        )
    else:
        out.append(say("report.faults.major_unknown"))
    return out


def top_ip_sentence(faults: FaultStatistics) -> str:
    best = faults.top_ips[0]
    return say(
        "report.faults.top_ip",
        location=best.location,
        faults=counted("report.n.fault", best.count),
        percent=best.percent,
    )


def top_stack_sentence(faults: FaultStatistics) -> str:
    best = faults.top_kernel_stacks[0]
    return say(
        "report.faults.top_stack",
        chain=ARROW.join(best.functions),
        faults=counted("report.n.fault", best.count),
        percent=best.percent,
    )


def function_heading(stats: FunctionStatistics) -> str:
    return say("report.functions.heading", keys=",".join(stats.sort))


def function_columns() -> tuple[str, str, str, str]:
    """uftrace report's column titles (Total time, Self time, Calls, Function) in the language."""
    return (
        say("report.functions.total_time"),
        say("report.functions.self_time"),
        say("report.functions.calls"),
        say("report.functions.function"),
    )


def function_sentences(stats: FunctionStatistics) -> list[str]:
    """What the function table holds: the calls and threads, which function took the most time,
    the system-call and kernel rows, the probes' cost in the times, calls with no end."""
    if not stats.symbol_table:
        return [say("report.functions.stripped", binary=stats.binary)]
    if not stats.function_calls:
        return [say("report.functions.none", binary=stats.binary)]
    out = [
        say(
            "report.functions.summary",
            calls=counted("report.functions.n.call", stats.function_calls),
            binary=stats.binary,
            threads=counted("report.functions.n.thread", stats.threads),
        )
    ]
    timed = [r for r in stats.rows if r.kind == FUNCTION and r.total_ns is not None]
    if timed:
        top = max(timed, key=lambda r: (r.total_ns or 0, r.name))
        out.append(
            say(
                "report.functions.top",
                name=top.name,
                total_ms=(top.total_ns or 0) / 1e6,
                self_ms=(top.self_ns or 0) / 1e6,
                calls=counted("report.n.call", top.calls),
            )
        )
    if stats.syscalls:
        out.append(counted("report.functions.syscalls", stats.syscalls))
    untimed = sum(1 for r in stats.rows if r.kind == "kernel" and r.total_ns is None)
    if untimed:
        out.append(counted("report.functions.kernel", untimed))
    out.append(say("report.functions.probe_cost"))
    if stats.unfinished:
        out.append(
            say(
                "report.functions.unfinished",
                calls=counted("report.functions.n.unfinished", stats.unfinished),
            )
        )
    return out
