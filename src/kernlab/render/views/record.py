"""`kernlab record`'s summary, on stderr: stdout belongs to the traced command."""

from __future__ import annotations

from kernlab.explain import record as explain
from kernlab.explain import text
from kernlab.render.output import Output
from kernlab.reports.record import RecordReport

__all__ = ["show", "show_kept_previous"]


def show_kept_previous(report: RecordReport) -> None:
    """One line on stderr when the previous recording was moved to ``DIR.old`` (even with -q:
    it is about the user's data)."""
    from kernlab.render.terminal import error_console

    line = explain.kept_previous(report)
    if line is not None:
        error_console().print(f"kernlab: {line}", markup=False, highlight=False, soft_wrap=True)


def show(report: RecordReport, out: Output) -> None:
    from rich import box
    from rich.table import Table

    from kernlab.render.terminal import print_error_text

    meta = report.meta
    title = text("record.view.title", directory=report.directory)
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    # overrun, dropped and lost are the names of ftrace's own per_cpu/stats counters.
    names = (
        "CPU",
        text("record.view.raw_bytes"),
        text("record.view.events_read"),
        "overrun",
        "dropped",
        "lost",
    )
    for name in names:
        table.add_column(name, justify="right")
    for cpu in meta.loss:
        table.add_row(
            cpu.label,
            f"{cpu.bytes_raw:,}",
            f"{cpu.read:,}",
            str(cpu.overrun),
            str(cpu.dropped),
            str(cpu.lost),
        )
    print_error_text(table)
    print_error_text(
        "  "
        + text("record.view.events", events=", ".join(meta.events))
        + "\n  "
        + text("record.view.buffer", kib=meta.buffer_size_kb, clock=meta.clock),
        markup=False,
        highlight=False,
    )
    for note in explain.notes(meta):
        print_error_text("  " + text("record.view.note", note=note), markup=False, highlight=False)
    if out.quiet:
        return
    for sentence in explain.summary_sentences(report):
        print_error_text(f"[italic cyan]→ {sentence}[/italic cyan]", highlight=False)
