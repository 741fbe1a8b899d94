"""`kernlab churn` and `kernlab authors`: where a git repository changes, and who changes it.

Two commands and the period options they share, so a little over the ~100 lines of one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from kernlab.cli.common import Output, examples, output_options

F = TypeVar("F", bound=Callable[..., Any])


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


@click.command(
    "churn",
    epilog=examples(
        "kernlab churn 2019                    commits per entry of the current folder in 2019",
        "kernlab churn 2019 drivers            the same for drivers/",
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
    one pass over the history. Without PATH: the current folder, as the script counts it.
    Without a YEAR or dates: the current year up to today.
    """
    from kernlab.render.progress import progress
    from kernlab.render.views import churn as view
    from kernlab.reports import churn as reports

    year, path = reports.split_year_and_path(year_and_path)
    with progress("Reading history", total=4) as bar:
        report = reports.build(
            year=year,
            path=path,
            since=since,
            until=until,
            whole_days=whole_days,
            depth=depth,
            progress=lambda done, total: bar.update(completed=done, total=total),
        )
    out.emit(report, lambda r, o: view.show(r, o, top=top))


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
    from kernlab.render.views import churn as view
    from kernlab.reports import authors as reports
    from kernlab.reports.churn import split_year_and_path

    year, path = split_year_and_path(year_and_path)
    report = reports.build(year=year, path=path, since=since, until=until, whole_days=whole_days)
    out.emit(report, lambda r, o: view.show_authors(r, o, top=top))
