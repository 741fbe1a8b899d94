"""What `kernlab churn` and `kernlab authors` found, in sentences."""

from __future__ import annotations

from kernlab.explain import count, say
from kernlab.reports.authors import AuthorsReport
from kernlab.reports.churn import ChurnReport
from kernlab.source.git_history import Period

__all__ = ["authors_sentences", "churn_sentences", "period_label", "where"]


def period_label(period: Period) -> str:
    """The period as it was asked for; open ends named in the current language."""
    if period.since_text is None and period.until_text is None:
        return say("churn.period.all")
    if period.since_text == f"{period.label}-01-01":  # a YEAR, or the current year by default
        return period.label
    since = period.since_text or say("churn.period.beginning")
    until = period.until_text or say("churn.period.now")
    return f"{since} ~ {until}"


def where(report: ChurnReport) -> str:
    """The folder whose entries were counted."""
    return f"{report.path}/" if report.path else say("churn.top_level")


def churn_sentences(report: ChurnReport) -> list[str]:
    """Which entry leads, and whether change is concentrated in a few entries or spread out."""
    period = period_label(report.period)
    if report.touches == 0:
        return [say("churn.none", period=period, where=where(report))]
    leader = report.entries[0]
    judgement = "churn.concentrated" if report.concentrated else "churn.spread"
    entries = count("churn.n.entry", len(report.entries))
    return [
        say(
            "churn.leader",
            entry=leader.name,
            commits=leader.commits,
            total=report.commits_in_period,
            period=period,
            share=report.leader_share,
            where=where(report),
        ),
        count(judgement, report.leading_few, entries=entries, k_share=report.leading_few_share),
        say("churn.simplified"),
    ]


def authors_sentences(report: AuthorsReport) -> list[str]:
    """Who made the most commits, and how few authors made half of them."""
    period = period_label(report.period)
    scope = (
        say("churn.authors.scope_path", path=report.path, period=period)
        if report.path
        else say("churn.authors.scope_all", period=period)
    )
    if not report.authors:
        return [say("churn.authors.none", scope=scope)]
    first = report.authors[0]
    return [
        say(
            "churn.authors.summary",
            name=first.name,
            commits=first.commits,
            total=count("churn.n.commit", report.commits),
            scope=scope,
            share=report.leader_share,
            half=report.authors_for_half,
            authors=count("churn.n.author", len(report.authors)),
        )
    ]
