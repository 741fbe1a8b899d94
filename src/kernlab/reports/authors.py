"""`kernlab authors`: non-merge commits per author, like ``git shortlog -sn --no-merges``."""

from __future__ import annotations

from dataclasses import dataclass

from kernlab.source.churn import path_in_repository
from kernlab.source.git_history import Period, count_authors, open_repository, resolve_period

__all__ = ["AuthorCount", "AuthorsReport", "build"]


@dataclass(frozen=True)
class AuthorCount:
    """One line of ``git shortlog -sn``: an author (after .mailmap) and their commit count."""

    rank: int
    name: str
    commits: int


@dataclass(frozen=True)
class AuthorsReport:
    """Who made the non-merge commits of a period that touch a path."""

    repository: str
    path: str
    period: Period
    commits: int
    authors: tuple[AuthorCount, ...]

    @property
    def leader_share(self) -> int:
        """The first author's commits as a whole percentage of all of them."""
        return round(100 * self.authors[0].commits / self.commits) if self.authors else 0

    @property
    def authors_for_half(self) -> int:
        """How many of the leading authors together made at least half of the commits."""
        running = 0
        for count, author in enumerate(self.authors, start=1):
            running += author.commits
            if 2 * running >= self.commits:
                return count
        return len(self.authors)


def build(
    *,
    year: str | None = None,
    path: str | None = None,
    since: str | None = None,
    until: str | None = None,
    whole_days: bool = False,
) -> AuthorsReport:
    """Commits per author over the period (all history by default) and path (the whole tree)."""
    repo = open_repository(path or ".")
    period = resolve_period(
        repo, year=year, since=since, until=until, whole_days=whole_days, default_current_year=False
    )
    rel = path_in_repository(repo, path) if path is not None else ""
    counts = count_authors(repo, period, rel)
    # Ties in shortlog's order: by the name's bytes.
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].encode()))
    authors = tuple(AuthorCount(rank, name, n) for rank, (name, n) in enumerate(ordered, start=1))
    return AuthorsReport(str(repo.top), rel, period, sum(counts.values()), authors)
