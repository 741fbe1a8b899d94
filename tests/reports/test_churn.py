"""reports.churn and reports.authors on a scripted git history, against git rev-list and shortlog."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kernlab.errors import BadInput
from kernlab.reports import authors, churn
from tests.source.test_churn_history import build_history


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return build_history(tmp_path_factory.mktemp("churn") / "repo", seed=5, n_commits=140, first_year=2018)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def _rev_list_count(repo: Path, year: str, path: str | None) -> int:
    args = ["rev-list", "--count", "--no-merges", f"--after={year}-01-01", f"--before={year}-12-31", "HEAD"]
    return int(_git(repo, *args, *(["--", path] if path else [])))


def test_build_counts_every_entry_like_rev_list(repo):
    report = churn.build(year="2019", path=str(repo / "drivers"))
    assert report.path == "drivers"
    assert report.commits_in_period == _rev_list_count(repo, "2019", None)
    assert report.entries, "drivers/ has entries"
    for entry in report.entries:
        assert entry.commits == _rev_list_count(repo, "2019", f"drivers/{entry.name}"), entry.name
        assert entry.is_dir == (repo / "drivers" / entry.name).is_dir()
    # Ranked: most commits first, ties by name, ranks 1..n.
    assert [e.rank for e in report.entries] == list(range(1, len(report.entries) + 1))
    assert [(-e.commits, e.name) for e in report.entries] == sorted(
        (-e.commits, e.name) for e in report.entries
    )
    assert report.head == _git(repo, "rev-parse", "HEAD").strip()


def test_derived_figures_follow_the_counts(repo):
    report = churn.build(year="2020", path=str(repo))
    counts = [e.commits for e in report.entries]
    assert report.touches == sum(counts) > 0
    assert report.leader_share == round(100 * counts[0] / report.commits_in_period)
    few = min(churn.LEADING_FEW, len(counts))
    assert report.leading_few == few
    assert report.leading_few_share == round(100 * sum(counts[:few]) / sum(counts))
    even_twice = 2 * 100 * few // len(counts)
    assert report.concentrated == (report.leading_few_share >= min(90, even_twice))


def test_split_year_and_path(repo):
    assert churn.split_year_and_path(()) == (None, None)
    assert churn.split_year_and_path(("2019",)) == ("2019", None)
    assert churn.split_year_and_path(("2019", "fs")) == ("2019", "fs")
    assert churn.split_year_and_path((str(repo),)) == (None, str(repo))
    assert churn.split_year_and_path(("20x9",)) == ("20x9", None)  # refused later as a year
    with pytest.raises(BadInput):
        churn.split_year_and_path(("2019", "a", "b"))
    with pytest.raises(BadInput):
        churn.build(year="2019", path=str(repo), depth=0)


def _shortlog(repo: Path, *args: str) -> dict[str, int]:
    out = subprocess.run(
        ["git", "-C", str(repo), "shortlog", "-sn", "--no-merges", *args],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    ).stdout
    return {name: int(n) for n, name in (line.strip().split("\t", 1) for line in out.splitlines())}


def test_authors_equal_shortlog_for_a_folder_and_a_file(repo):
    whole = authors.build(path=str(repo))
    assert whole.period.label == "all history"
    assert {a.name: a.commits for a in whole.authors} == _shortlog(repo, "HEAD")
    assert whole.commits == sum(a.commits for a in whole.authors)
    folder = authors.build(year="2019", path=str(repo / "drivers"))
    assert folder.path == "drivers"
    expected = _shortlog(repo, "--since=2019-01-01", "--until=2019-12-31", "HEAD", "--", "drivers")
    assert {a.name: a.commits for a in folder.authors} == expected
    readme = authors.build(path=str(repo / "README"))
    assert readme.path == "README"
    assert {a.name: a.commits for a in readme.authors} == _shortlog(repo, "HEAD", "--", "README")


def test_authors_for_half(repo):
    report = authors.build(path=str(repo))
    counts = [a.commits for a in report.authors]
    k = report.authors_for_half
    assert 2 * sum(counts[:k]) >= report.commits > 2 * sum(counts[: k - 1])
    assert report.leader_share == round(100 * counts[0] / report.commits)
