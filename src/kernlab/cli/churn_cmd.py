"""`kernlab churn` and `kernlab authors`: where a git repository changes, and who changes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.source.churn import ChurnReport
    from kernlab.source.git_history import AuthorsReport

F = TypeVar("F", bound=Callable[..., Any])

BAR_WIDTH = 24
SHOWN_TOP = 3  # entries summed in the "concentrated / spread" sentence


def period_options(func: F) -> F:
    """``[YEAR] [PATH]``, ``--since``, ``--until`` and ``--whole-days``: which commits count."""
    for decorate in reversed(
        [
            click.argument("year_and_path", nargs=-1, metavar="[YEAR] [PATH]"),
            click.option("--since", help="Start of the period (git date: 2019-01-01, '2 weeks ago')."),
            click.option("--until", help="End of the period (git date)."),
            click.option(
                "--whole-days",
                is_flag=True,
                help="Read bare dates as whole days (00:00:00 to 23:59:59), not at git's time of day.",
            ),
        ]
    ):
        func = decorate(func)
    return func


def _split_year_and_path(args: tuple[str, ...]) -> tuple[str | None, str | None]:
    """``[YEAR] [PATH]``: a first argument made of digits is the year (as in the seed script)."""
    from kernlab.errors import BadInput

    if len(args) > 2:
        raise BadInput(f"expected at most a YEAR and a PATH, got {len(args)} arguments")
    if not args:
        return None, None
    first = args[0]
    if len(args) == 2 or first.isdigit():
        return first, (args[1] if len(args) == 2 else None)
    if first[:1].isdigit() and not Path(first).exists():
        return first, None  # "2019x": a mistyped year, reported as such
    return None, first


@click.command(
    "churn",
    epilog=examples(
        "kernlab churn 2019                    commits per top-level entry in 2019",
        "kernlab churn 2019 drivers            the same inside drivers/",
        "kernlab churn --since 2023-01-01 --until 2023-06-30 fs",
        "kernlab churn 2019 --depth 2 --json   one level deeper, as JSON",
    ),
)
@period_options
@click.option(
    "--depth", type=int, default=1, show_default=True, help="Levels of folders to count separately."
)
@click.option("--top", type=int, default=30, show_default=True, help="Rows shown in the terminal (0: all).")
@output_options
def churn(
    year_and_path: tuple[str, ...],
    since: str | None,
    until: str | None,
    depth: int,
    whole_days: bool,
    top: int,
    out: Output,
) -> None:
    """Non-merge commits per entry of PATH in a period, ranked.

    The same counts as one `git rev-list --count --no-merges --after=YYYY-01-01
    --before=YYYY-12-31 HEAD -- ENTRY` per entry (the seed's git-files-commits script), found in
    one pass over the history. Without a YEAR or dates: the current year up to today.
    """
    from kernlab.render.progress import progress
    from kernlab.source.churn import churn as count_churn
    from kernlab.source.git_history import open_repository, resolve_period

    year, path = _split_year_and_path(year_and_path)
    repo = open_repository(path or ".")
    period = resolve_period(repo, year=year, since=since, until=until, whole_days=whole_days)
    with progress("Reading history", total=4) as bar:
        report = count_churn(
            repo,
            period,
            path if path is not None else repo.top,
            depth=depth,
            progress=lambda done, total: bar.update(completed=done, total=total),
        )
    out.emit(report, lambda r, o: _render_churn(r, o, top))


def _bar(value: int, largest: int) -> str:
    if largest <= 0 or value <= 0:
        return ""
    cells = value * BAR_WIDTH * 8 // largest
    full, part = divmod(cells, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")


def _render_churn(report: ChurnReport, out: Output, top: int) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_table

    where = f"{report.path}/" if report.path else "the top level"
    rows = report.entries if top <= 0 else report.entries[:top]
    largest = max((e.commits for e in report.entries), default=0)
    left = len(report.entries) - len(rows)
    print_table(
        ["#", "entry", "commits", ""],
        [
            (e.rank, e.name + ("/" if e.is_dir else ""), f"{e.commits:,}", _bar(e.commits, largest))
            for e in rows
        ],
        title=f"Non-merge commits per entry of {where}, {report.period.label}",
        right=["#", "commits"],
        caption=f"{left} more entries (--top 0 shows all)" if left > 0 else None,
    )
    touches = sum(e.commits for e in report.entries)
    if touches == 0:
        out.sentence(say("churn.none", period=report.period.label, where=where))
        return
    leader = report.entries[0]
    total = max(report.commits_in_period, 1)
    out.sentence(
        say(
            "churn.leader",
            entry=leader.name,
            commits=leader.commits,
            total=report.commits_in_period,
            period=report.period.label,
            share=round(100 * leader.commits / total),
            where=where,
        )
    )
    k = min(SHOWN_TOP, len(report.entries))
    k_share = round(100 * sum(e.commits for e in report.entries[:k]) / touches)
    n = len(report.entries)
    # "Concentrated" when the top few hold clearly more than an even share would give them.
    key = "churn.concentrated" if k_share >= min(90, 2 * 100 * k // max(n, 1)) else "churn.spread"
    out.sentence(say(key, k=k, n=n, k_share=k_share))
    out.sentence(say("churn.simplified"))


@click.command(
    "authors",
    epilog=examples(
        "kernlab authors                       like git shortlog -sn --no-merges",
        "kernlab authors 2019 drivers          who changed drivers/ in 2019",
        "kernlab authors --since '6 months ago' fs --json",
    ),
)
@period_options
@click.option("--top", type=int, default=20, show_default=True, help="Rows shown in the terminal (0: all).")
@output_options
def authors(
    year_and_path: tuple[str, ...],
    since: str | None,
    until: str | None,
    whole_days: bool,
    top: int,
    out: Output,
) -> None:
    """Non-merge commits per author (after .mailmap), like `git shortlog -sn --no-merges`.

    Optionally only a YEAR or --since/--until period, and only commits touching PATH (with
    git's history simplification for that path, as shortlog does). Without them: all history.
    """
    from kernlab.source.churn import folder_in_repository
    from kernlab.source.git_history import open_repository, read_authors, resolve_period

    year, path = _split_year_and_path(year_and_path)
    repo = open_repository(path or ".")
    period = resolve_period(
        repo, year=year, since=since, until=until, whole_days=whole_days, default_current_year=False
    )
    rel = ""
    if path is not None:
        rel, _ = folder_in_repository(repo, path) if _is_folder(path) else (_file_in_repo(repo, path), None)
    report = read_authors(repo, period, rel)
    out.emit(report, lambda r, o: _render_authors(r, o, top))


def _is_folder(path: str) -> bool:
    return Path(path).is_dir()


def _file_in_repo(repo, path: str) -> str:  # type: ignore[no-untyped-def]
    from kernlab.errors import BadInput

    where = Path(path)
    if not where.exists():
        raise BadInput(f"{path} does not exist")
    try:
        return where.resolve().relative_to(repo.top.resolve()).as_posix()
    except ValueError:
        raise BadInput(f"{path} is not inside the repository at {repo.top}") from None


def _render_authors(report: AuthorsReport, out: Output, top: int) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_table

    rows = report.authors if top <= 0 else report.authors[:top]
    largest = max((a.commits for a in report.authors), default=0)
    left = len(report.authors) - len(rows)
    print_table(
        ["#", "author", "commits", ""],
        [(a.rank, a.name, f"{a.commits:,}", _bar(a.commits, largest)) for a in rows],
        title=f"Non-merge commits per author, {report.period.label}"
        + (f", {report.path}" if report.path else ""),
        right=["#", "commits"],
        caption=f"{left} more authors (--top 0 shows all)" if left > 0 else None,
    )
    scope = (
        say("churn.authors.scope_path", path=report.path, period=report.period.label)
        if report.path
        else say("churn.authors.scope_all", period=report.period.label)
    )
    if not report.authors:
        out.sentence(say("churn.authors.none", scope=scope))
        return
    first = report.authors[0]
    running, half = 0, 0
    for a in report.authors:
        running += a.commits
        half += 1
        if 2 * running >= report.commits:
            break
    out.sentence(
        say(
            "churn.authors.summary",
            name=first.name,
            commits=first.commits,
            total=report.commits,
            scope=scope,
            share=round(100 * first.commits / report.commits),
            half=half,
            count=len(report.authors),
        )
    )
