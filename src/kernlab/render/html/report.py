"""`kernlab report --html`: a recording's system calls and page faults as one HTML page."""

from __future__ import annotations

from kernlab.explain import completeness as explain_state
from kernlab.explain import report as explain
from kernlab.explain import text
from kernlab.render.html import figures
from kernlab.render.html.page import Page
from kernlab.render.views.report import syscall_rows
from kernlab.reports.faults import FaultsReport
from kernlab.reports.recording.syscall_stats import SyscallSummary
from kernlab.reports.replay import ReplayReport
from kernlab.reports.report import RecordingReport

__all__ = ["add_recording", "report_page", "syscall_table", "written_line"]

SYSCALL_COLUMNS = ("% time", "seconds", "usecs/call", "calls", "errors", "syscall", "errno")
"""strace -c's columns, in its order, plus the most common errno of each call."""


def written_line(path: str) -> str:
    """Where the page was written."""
    return text("tour.html.written", path=path)


def report_page(
    report: RecordingReport, faults: FaultsReport | None, calls: ReplayReport | None = None
) -> Page:
    """The page of `kernlab report -d DIR --html FILE`: the report's sentences, its system-call
    table and bars, the timeline of every fault (``faults``: kernlab faults' lines) and, for a
    ``record --functions`` or ``-K`` recording, its call tree (``calls``: kernlab replay's)."""
    from kernlab.explain import language

    page = Page(text("report.html.title", command=" ".join(report.recording.command)), language())
    # First, as the text report says it: a recording cut short (why, the span) or damaged.
    page.warnings(explain_state.truth_sentences(report.loss.completeness, report.loss.damage))
    page.paragraph(explain.recording_sentence(report))
    page.paragraphs(explain.loss_sentences(report))
    add_recording(page, report, faults, sentences=True)
    if calls is not None:
        from kernlab.render.html.calltree import add_calltree

        add_calltree(page, calls)
    return page


def syscall_table(page: Page, summary: SyscallSummary) -> None:
    rows = syscall_rows(summary)
    page.table(SYSCALL_COLUMNS, rows, right=SYSCALL_COLUMNS[:5])


def add_recording(
    page: Page, report: RecordingReport, faults: FaultsReport | None, *, sentences: bool
) -> None:
    """The system-call table of the recording (bars and strace -c's table) and the page-fault
    timeline; with ``sentences`` the report's own sentences beside them (the tour says its own)."""
    stats = report.syscalls
    if stats is not None:
        page.heading(explain.syscall_heading(stats), 3 if not sentences else 2)
        if any(r.calls for r in stats.combined.rows):
            page.figure(figures.syscalls(stats.combined, text("report.html.syscalls_figure")))
            syscall_table(page, stats.combined)
            if sentences:
                page.paragraph(explain.syscall_time_sentence(stats))
        if sentences:
            page.paragraphs(explain.syscall_sentences(stats, report.loss))
    if report.faults is not None:
        page.heading(text("report.html.faults_heading"), 3 if not sentences else 2)
        if faults is not None and faults.lines:
            page.figure(figures.fault_timeline(faults.lines, text("report.html.timeline")))
        page.table(
            ("VMA", "faults", "%"),
            [(r.label, f"{r.count:,}", f"{r.percent:.1f}") for r in report.faults.by_vma],
            right=("faults", "%"),
        )
        if sentences:
            page.paragraphs(explain.fault_sentences(report.faults, report.loss))
            page.paragraph(explain.top_vma_sentence(report.faults))
