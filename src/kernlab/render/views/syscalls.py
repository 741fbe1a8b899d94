"""`kernlab syscalls` for a person: one strace-like line per call, then what they add up to."""

from __future__ import annotations

from kernlab.explain import syscalls as explain
from kernlab.render.output import Output
from kernlab.render.views.recording_text import print_event_lines
from kernlab.reports.syscalls import SyscallLine, SyscallsReport

__all__ = ["format_line", "show"]


def format_line(ln: SyscallLine) -> str:
    if ln.ret is None:
        result = "= ?"
    elif ln.errno:
        result = f"= -1 {ln.errno}"
    else:
        result = f"= {ln.ret:#x}" if ln.ret > 0xFFFFFF else f"= {ln.ret}"
    took = f" <{ln.duration_ns / 1e9:.6f}>" if ln.duration_ns is not None else ""
    head = f"{ln.time_s:12.6f} [{ln.cpu:03d}] {ln.pid:>7} {ln.comm:<15.15}"
    return f"{head} {ln.name}({ln.args_text}) {result}{took}"


def show(report: SyscallsReport, out: Output) -> None:
    if not print_event_lines(report.loss, report.lines, format_line, out):
        out.sentence(explain.no_lines())
        return
    out.sentences(explain.listing_sentences(report))
