"""`kernlab churn`: the entries of a folder ranked by the non-merge commits of a period touching them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import BadInput
from kernlab.source.churn import (
    count_commits_per_entry,
    folder_in_repository,
    list_entries,
    list_tree_entries,
)
from kernlab.source.git_history import Period, head_commit, open_repository, resolve_period

__all__ = ["LEADING_FEW", "ChurnReport", "EntryChurn", "build", "split_year_and_path"]

LEADING_FEW = 3
"""How many leading entries the concentrated/spread judgement sums."""

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class EntryChurn:
    """One ranked line: an entry and the non-merge commits of the period touching it."""

    rank: int
    name: str
    is_dir: bool
    commits: int


@dataclass(frozen=True)
class ChurnReport:
    """Commits per entry of ``path`` in a period, ranked, as the seed script would print them."""

    repository: str
    path: str
    """The folder, relative to the top of the repository (``""``: the top)."""
    depth: int
    period: Period
    head: str
    commits_in_period: int
    """Non-merge commits of the period in the whole repository (``git rev-list --count --no-merges``)."""
    entries: tuple[EntryChurn, ...] = ()

    # Derived figures are properties, not fields: --json keeps exactly the counted facts.
    @property
    def touches(self) -> int:
        """Entry touches: a commit touching several entries counts once for each."""
        return sum(e.commits for e in self.entries)

    @property
    def leader_share(self) -> int:
        """The leading entry's commits as a whole percentage of the period's commits."""
        if not self.entries:
            return 0
        return round(100 * self.entries[0].commits / max(self.commits_in_period, 1))

    @property
    def leading_few(self) -> int:
        return min(LEADING_FEW, len(self.entries))

    @property
    def leading_few_share(self) -> int:
        """The leading few entries' share of all entry touches, in whole percent."""
        leading = sum(e.commits for e in self.entries[: self.leading_few])
        return round(100 * leading / self.touches) if self.touches else 0

    @property
    def concentrated(self) -> bool:
        """Whether the leading few hold clearly more than an even share (twice it, at most 90%)."""
        even_twice = 2 * 100 * self.leading_few // max(len(self.entries), 1)
        return self.leading_few_share >= min(90, even_twice)


def split_year_and_path(args: tuple[str, ...]) -> tuple[str | None, str | None]:
    """``[YEAR] [PATH]``: a first argument made of digits is the year (as in the seed script)."""
    if len(args) > 2:
        raise BadInput(
            f"expected at most a YEAR and a PATH, got {len(args)} arguments",
            key="errors.report.churn_arguments",
            fields={"given": len(args)},
        )
    if not args:
        return None, None
    first = args[0]
    if len(args) == 2 or first.isdigit():
        return first, (args[1] if len(args) == 2 else None)
    if first[:1].isdigit() and not Path(first).exists():
        return first, None  # "2019x": a mistyped year, reported as such
    return None, first


def build(
    *,
    year: str | None = None,
    path: str | None = None,
    since: str | None = None,
    until: str | None = None,
    whole_days: bool = False,
    depth: int = 1,
    progress: ProgressFn | None = None,
) -> ChurnReport:
    """Rank the entries of ``path`` by commits in the period.

    Without ``path``: the current folder, as the seed's script (whose ``ls`` and ``git rev-list --
    ENTRY`` are relative to where it runs) counts it; in a bare repository, HEAD's top tree.
    Without a year or dates the period is the current year up to today.
    """
    repo = open_repository(path or ".")
    period = resolve_period(repo, year=year, since=since, until=until, whole_days=whole_days)
    if depth < 1:
        raise BadInput(
            f"--depth must be 1 or more, not {depth}",
            key="errors.report.depth_below_one",
            fields={"value": depth},
        )
    # No path: folder_in_repository takes the current folder (bare: the top of HEAD's tree).
    rel, where = folder_in_repository(repo, path)
    entries = list_tree_entries(repo, rel, depth) if where is None else list_entries(where, depth)
    head = head_commit(repo)
    counts, total = count_commits_per_entry(repo, rel, entries, period, head=head, progress=progress)
    ranked = sorted(zip(entries, counts, strict=True), key=lambda item: (-item[1], item[0].name))
    rows = tuple(EntryChurn(rank, e.name, e.is_dir, n) for rank, (e, n) in enumerate(ranked, start=1))
    return ChurnReport(str(repo.top), rel, depth, period, head, total, rows)
