"""`kernlab churn` and `kernlab authors` for a person: ranked tables with bars, then sentences."""

from __future__ import annotations

from kernlab.explain import churn as explain
from kernlab.render.output import Output
from kernlab.render.terminal import print_table
from kernlab.reports.authors import AuthorsReport
from kernlab.reports.churn import ChurnReport

__all__ = ["BAR_WIDTH", "bar", "show", "show_authors"]

BAR_WIDTH = 24
_EIGHTHS = "▏▎▍▌▋▊▉"


def bar(value: int, largest: int) -> str:
    """A bar of ``BAR_WIDTH`` cells for ``largest``, drawn to an eighth of a cell."""
    if largest <= 0 or value <= 0:
        return ""
    cells = value * BAR_WIDTH * 8 // largest
    full, part = divmod(cells, 8)
    return "█" * full + (_EIGHTHS[part - 1] if part else "")


def show(report: ChurnReport, out: Output, *, top: int = 30) -> None:
    """The ranked entries (the first ``top``; 0: all) and what they say."""
    where = f"{report.path}/" if report.path else "the top level"
    rows = report.entries if top <= 0 else report.entries[:top]
    largest = max((e.commits for e in report.entries), default=0)
    left = len(report.entries) - len(rows)
    print_table(
        ["#", "entry", "commits", ""],
        [
            (e.rank, e.name + ("/" if e.is_dir else ""), f"{e.commits:,}", bar(e.commits, largest))
            for e in rows
        ],
        title=f"Non-merge commits per entry of {where}, {report.period.label}",
        right=["#", "commits"],
        caption=f"{left} more entries (--top 0 shows all)" if left > 0 else None,
    )
    out.sentences(explain.churn_sentences(report))


def show_authors(report: AuthorsReport, out: Output, *, top: int = 20) -> None:
    """The ranked authors (the first ``top``; 0: all) and what they say."""
    rows = report.authors if top <= 0 else report.authors[:top]
    largest = max((a.commits for a in report.authors), default=0)
    left = len(report.authors) - len(rows)
    print_table(
        ["#", "author", "commits", ""],
        [(a.rank, a.name, f"{a.commits:,}", bar(a.commits, largest)) for a in rows],
        title=f"Non-merge commits per author, {report.period.label}"
        + (f", {report.path}" if report.path else ""),
        right=["#", "commits"],
        caption=f"{left} more authors (--top 0 shows all)" if left > 0 else None,
    )
    out.sentences(explain.authors_sentences(report))
