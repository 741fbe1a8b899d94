"""`kernlab report` for a person: the recording, lost events, strace -c's table, page faults, and
the functions of a `record --functions` recording in uftrace report's layout::

      Total time   Self time       Calls  Function
      ==========  ==========  ==========  ====================
      382.441 us  379.466 us           1  main
        2.224 us    1.753 us           5  middle
"""

from __future__ import annotations

from kernlab.explain import faults as explain_faults
from kernlab.explain import report as explain
from kernlab.explain.report import ARROW
from kernlab.recording.reader import LossSummary
from kernlab.render.output import Output
from kernlab.render.terminal import format_hex, print_fields, print_heading, print_table
from kernlab.reports.functions import FunctionStatistics, display_name
from kernlab.reports.recording.fault_stats import FaultStatistics
from kernlab.reports.recording.syscall_stats import SyscallStatistics, SyscallSummary
from kernlab.reports.report import RecordingReport

__all__ = ["function_lines", "show", "show_faults", "show_functions", "show_loss", "show_syscalls"]


def show(report: RecordingReport, out: Output) -> None:
    from kernlab.render.views.recording_text import show_truth

    # First: a recording cut short or damaged says so, before any figure.
    show_truth(report.loss.completeness, report.loss.damage)
    rec = report.recording
    print_fields(
        [
            ("recording", rec.directory),
            ("command", " ".join(rec.command) or f"attached to PID {rec.root_pid}"),
            ("kernel", f"{rec.kernel_release} {rec.machine}"),
            ("events", f"{rec.events_total:,} in {rec.pages:,} pages"),
        ]
    )
    if rec.event_counts:
        print_table(
            ["event", "records"],
            [(name, f"{n:,}") for name, n in rec.event_counts.items()],
            right=["records"],
        )
    out.sentence(explain.recording_sentence(report))
    show_loss(report.loss, report, out)
    if report.syscalls is not None:
        show_syscalls(report.syscalls, out, report.loss)
    if report.faults is not None:
        show_faults(report, report.faults, out)
    if report.functions is not None:
        show_functions(report.functions, out)


def show_loss(loss: LossSummary, report: RecordingReport, out: Output) -> None:
    print_heading("Lost events")
    rows = [
        (
            c.label,
            f"{c.entries:,}",
            f"{c.overrun:,}",
            f"{c.dropped:,}",
            f"{c.commit_overrun:,}",
            f"{c.lost:,}",
        )
        for c in loss.per_cpu
    ]
    if rows:
        print_table(
            ["cpu", "entries", "overrun", "dropped", "commit overrun", "lost"],
            rows,
            right=["entries", "overrun", "dropped", "commit overrun", "lost"],
        )
    out.sentences(explain.loss_sentences(report))


def show_syscalls(stats: SyscallStatistics, out: Output, loss: LossSummary | None = None) -> None:
    print_heading(explain.syscall_heading(stats))
    combined = stats.combined
    if not combined.rows:
        # "none recorded" is no explanation when pages are unreadable or events were lost
        out.sentences(explain.syscall_sentences(stats, loss))
        return
    _syscall_table(combined)
    out.sentence(explain.syscall_time_sentence(stats))
    out.sentences(explain.syscall_sentences(stats))
    if len(stats.per_process) > 1:
        for proc in stats.per_process:
            threads = f" ({len(proc.threads)} threads)" if len(proc.threads) > 1 else ""
            print_heading(f"System calls of process {proc.pid} {proc.comm}{threads}")
            _syscall_table(proc.summary, limit=15)
            out.sentence(explain.process_syscalls_sentence(proc))


def syscall_rows(summary: SyscallSummary, limit: int | None = None) -> list[tuple[str, ...]]:
    """strace -c's rows, in its order, plus the most common errno of each call, and the total."""
    rows: list[tuple[str, ...]] = [
        (
            f"{r.percent_time:.2f}",
            f"{r.total_ns / 1e9:.6f}",
            f"{r.avg_ns // 1000:,}",
            f"{r.calls:,}",
            f"{r.errors:,}" if r.errors else "",
            r.name,
            next(iter(r.errnos), ""),
        )
        for r in summary.rows[:limit]
        if r.calls
    ]
    rows.append(
        (
            "100.00",
            f"{summary.total_ns / 1e9:.6f}",
            "",
            f"{summary.calls:,}",
            f"{summary.errors:,}",
            "total",
            "",
        )
    )
    return rows


def _syscall_table(summary: SyscallSummary, limit: int | None = None) -> None:
    rows = syscall_rows(summary, limit)
    print_table(
        ["% time", "seconds", "usecs/call", "calls", "errors", "syscall", "errno"],
        rows,
        right=["% time", "seconds", "usecs/call", "calls", "errors"],
    )


def show_faults(report: RecordingReport, faults: FaultStatistics, out: Output) -> None:
    print_heading("Page faults")
    if not faults.total:
        # "not enabled, or none fired" is no explanation when pages are unreadable or events lost
        out.sentences(explain.fault_sentences(faults, report.loss))
        return
    print_table(
        ["pid", "comm", "user faults", "kernel faults", "minflt (stat)", "majflt (stat)"],
        [
            (
                p.pid,
                p.comm,
                f"{p.user:,}",
                f"{p.kernel:,}",
                "" if p.minflt is None else f"{p.minflt:,}",
                "" if p.majflt is None else f"{p.majflt:,}",
            )
            for p in faults.per_process
        ],
        right=["user faults", "kernel faults", "minflt (stat)", "majflt (stat)"],
        title="per process",
    )
    if report.fault_counter_check is not None:
        out.sentence(explain.counter_check_sentence(report.fault_counter_check))
    print_table(
        ["area class", "faults", "%"],
        [(r.label, f"{r.count:,}", f"{r.percent:.1f}") for r in faults.by_vma],
        right=["faults", "%"],
        title="by kind of memory area",
    )
    out.sentence(explain.top_vma_sentence(faults))
    unknown = explain.unknown_area_sentence(faults)
    if unknown is not None:
        out.sentence(unknown)
    if faults.no_vma or faults.signals:
        # Faults in no VMA at their moment, and the SIGSEGV/SIGBUS the traced tasks got
        # (signal:signal_generate, signal_deliver); without signal events only the faults.
        rows: list[tuple[str, str]] = [("faults in no VMA", f"{faults.no_vma:,}")]
        for seen in faults.signals:
            name = explain_faults.SIGNAL_NAMES.get(seen.signal, str(seen.signal))
            rows.append((f"{name} sent", f"{seen.generated:,}"))
            rows.append((f"{name} delivered", f"{seen.delivered:,}"))
        print_table(["what", "count"], rows, right=["count"], title="no VMA and signals")
    print_table(
        ["error code", "flags", "meaning", "faults", "%"],
        [
            (
                format_hex(c.code),
                "|".join(c.flags),
                explain_faults.code_meaning(c.code, c.decoded),
                f"{c.count:,}",
                f"{c.percent:.1f}",
            )
            for c in faults.by_code
        ],
        right=["faults", "%"],
        title="by error code",
    )
    out.sentences(explain.fault_sentences(faults))
    if faults.top_ips:
        print_table(
            ["instruction", "where", "area", "pid", "faults", "%"],
            [
                (format_hex(r.ip), r.location, r.vma_kind, r.pid, f"{r.count:,}", f"{r.percent:.1f}")
                for r in faults.top_ips
            ],
            right=["faults", "%"],
            title="instructions that fault most",
        )
        out.sentence(explain.top_ip_sentence(faults))
    if faults.top_kernel_stacks:
        print_table(
            ["kernel stack (innermost first)", "faults", "%"],
            [(ARROW.join(r.functions), f"{r.count:,}", f"{r.percent:.1f}") for r in faults.top_kernel_stacks],
            right=["faults", "%"],
            title="kernel paths of faults",
        )
        out.sentence(explain.top_stack_sentence(faults))


def _width(text: str) -> int:
    """Columns ``text`` takes on a terminal (a Hangul syllable takes two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _rjust(text: str, width: int) -> str:
    return " " * max(width - _width(text), 0) + text


def function_lines(stats: FunctionStatistics) -> list[str]:
    """uftrace report's table, line for line: times as its print_time_unit prints them (blank
    for none), calls in ten columns, then the name (``NAME@syscall``, ``NAME@kernel``)."""
    from kernlab.render.views.replay import duration_text

    total, self_, calls, function = explain.function_columns()
    lines = [
        f"  {_rjust(total, 10)}  {_rjust(self_, 10)}  {_rjust(calls, 10)}  {function}",
        f"  {'=' * 10}  {'=' * 10}  {'=' * 10}  {'=' * 20}",
    ]
    for r in stats.rows:
        lines.append(
            f"  {duration_text(r.total_ns)}  {duration_text(r.self_ns)}  {r.calls:10d}  "
            f"{display_name(r.kind, r.name)}"
        )
    return lines


def show_functions(stats: FunctionStatistics, out: Output) -> None:
    from kernlab.render.terminal import print_line

    print_heading(explain.function_heading(stats))
    if stats.rows:
        for line in function_lines(stats):
            print_line(line, wrap=False)
    out.sentences(explain.function_sentences(stats))
