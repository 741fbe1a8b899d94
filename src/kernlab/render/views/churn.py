"""`kernlab churn` and `kernlab authors` for a person: ranked tables with bars, then sentences."""

from __future__ import annotations

from kernlab.explain import churn as explain
from kernlab.explain import count, text
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
    rows = report.entries if top <= 0 else report.entries[:top]
    largest = max((e.commits for e in report.entries), default=0)
    left = len(report.entries) - len(rows)
    commits = text("churn.view.commits")
    print_table(
        ["#", text("churn.view.entry"), commits, ""],
        [
            (e.rank, e.name + ("/" if e.is_dir else ""), f"{e.commits:,}", bar(e.commits, largest))
            for e in rows
        ],
        title=text(
            "churn.view.title", where=explain.where(report), period=explain.period_label(report.period)
        ),
        right=["#", commits],
        caption=text("churn.view.more", entries=count("churn.view.n.more_entry", left)) if left > 0 else None,
    )
    out.sentences(explain.churn_sentences(report))


def show_authors(report: AuthorsReport, out: Output, *, top: int = 20) -> None:
    """The ranked authors (the first ``top``; 0: all) and what they say."""
    rows = report.authors if top <= 0 else report.authors[:top]
    largest = max((a.commits for a in report.authors), default=0)
    left = len(report.authors) - len(rows)
    commits = text("churn.view.commits")
    period = explain.period_label(report.period)
    print_table(
        ["#", text("churn.view.author"), commits, ""],
        [(a.rank, a.name, f"{a.commits:,}", bar(a.commits, largest)) for a in rows],
        title=text("churn.view.authors_title_path", period=period, path=report.path)
        if report.path
        else text("churn.view.authors_title", period=period),
        right=["#", commits],
        caption=text("churn.view.more", entries=count("churn.view.n.more_author", left))
        if left > 0
        else None,
    )
    out.sentences(explain.authors_sentences(report))
