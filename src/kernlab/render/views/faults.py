"""`kernlab faults` for a person: one line per page fault, then what they add up to."""

from __future__ import annotations

from collections.abc import Callable

from kernlab.explain import faults as explain
from kernlab.explain.report import ARROW
from kernlab.render.output import Output
from kernlab.render.views.recording_text import print_event_lines
from kernlab.reports.faults import FaultLine, FaultsReport

__all__ = ["line_formatter", "show"]

KINDS = {True: "major", False: "minor", None: ""}


def line_formatter(report: FaultsReport) -> Callable[[FaultLine], str]:
    """A function printing one fault, its error code in words of the language in force."""
    meanings = {code: explain.code_meaning(code, decoded) for code, decoded in report.codes.items()}
    causes = {key: explain.cause_word(key) for key in report.causes}

    def format_line(ln: FaultLine) -> str:
        stack = f" kstack: {ARROW.join(ln.kernel_stack)}" if ln.kernel_stack else ""
        cause = f" [{causes[ln.cause]}]" if ln.cause else ""
        perms = f" {ln.perms}" if ln.perms else ""
        signal = f" → {explain.signal_word(ln.signal)}" if ln.signal else ""
        head = f"{ln.time_s:12.6f} [{ln.cpu:03d}] {ln.pid:>7} {ln.comm:<15.15} {ln.mode:<6}"
        return (
            f"{head} {KINDS[ln.major]:<5} "
            f"addr={ln.address:#x} ip={ln.ip:#x} code={ln.error_code:#x} ({meanings[ln.error_code]}) "
            f"{ln.vma_kind} {ln.vma or ''}{perms} at {ln.where}{cause}{signal}{stack}"
        )

    return format_line


def show(report: FaultsReport, out: Output) -> None:
    if not print_event_lines(report.loss, report.lines, line_formatter(report), out):
        out.sentence(explain.no_lines())
        return
    out.sentence(explain.listing_sentence(report))
    for sentence in explain.cause_sentences(report.causes, report.signal_events):
        out.sentence(sentence)
