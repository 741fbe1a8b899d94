"""views.churn: reports of fixed figures printed as ranked tables with bars, then their sentences."""

from __future__ import annotations

from kernlab.render.output import Output
from kernlab.render.views import churn as view
from kernlab.reports.authors import AuthorCount, AuthorsReport
from kernlab.reports.churn import ChurnReport, EntryChurn
from kernlab.source.git_history import Period

YEAR_2019 = Period("2019", "2019-01-01", "2019-12-31", 1546300800, 1577836799)
ALL_HISTORY = Period("all history", None, None, None, None)


def _churn(path: str = "drivers", counts: tuple[int, ...] = (24, 12, 3, 1, 0)) -> ChurnReport:
    names = [("net", True), ("gpu", True), ("Kconfig", False), ("Makefile", False), ("README", False)]
    entries = tuple(
        EntryChurn(rank, name, is_dir, n)
        for rank, ((name, is_dir), n) in enumerate(zip(names, counts, strict=True), start=1)
    )
    return ChurnReport("/repo", path, 1, YEAR_2019, "0" * 40, 40, entries)


def _authors() -> AuthorsReport:
    people = (AuthorCount(1, "Ada", 6), AuthorCount(2, "Linus", 3), AuthorCount(3, "Grace", 1))
    return AuthorsReport("/repo", "", ALL_HISTORY, 10, people)


CHURN_GOLDEN = (
    "Non-merge commits per entry of drivers/, 2019\n"
    "\n"
    " #   entry      commits\n"
    " " + "─" * 49 + "\n"
    " 1   net/            24   " + "█" * 24 + "\n"
    " 2   gpu/            12   " + "█" * 12 + "\n"
    " 3   Kconfig          3   " + "█" * 3 + "\n"
    " 4   Makefile         1   " + "█" + "\n"
    "\n"
    "1 more entry (--top 0 shows all)\n"
    "→ net was touched by 24 of the 40 non-merge commits of 2019 (60%), more than any other entry of"
    " drivers/.\n"
    "→ Change is concentrated: the top 3 of 5 entries hold 98% of all entry touches (a commit touching"
    " several entries counts for each).\n"
    "→ Each entry is counted like `git rev-list --no-merges -- ENTRY`: a side branch that a merge left"
    " unchanged for an entry is not walked for that entry.\n"
)

AUTHORS_GOLDEN = (
    "Non-merge commits per author, all history\n"
    "\n"
    " #   author   commits\n"
    " " + "─" * 47 + "\n"
    " 1   Ada            6   " + "█" * 24 + "\n"
    " 2   Linus          3   " + "█" * 12 + "\n"
    " 3   Grace          1   " + "█" * 4 + "\n"
    "\n"
    "→ Ada made 6 of the 10 non-merge commits in all history (60%); 1 of 3 authors made half of them.\n"
)


def test_churn_view_golden(capsys):
    view.show(_churn(), Output(), top=4)
    assert capsys.readouterr().out == CHURN_GOLDEN


def test_authors_view_golden(capsys):
    view.show_authors(_authors(), Output())
    assert capsys.readouterr().out == AUTHORS_GOLDEN


def test_bars_are_drawn_to_an_eighth_of_a_cell():
    assert view.bar(7, 7) == "█" * view.BAR_WIDTH
    assert view.bar(5, 7) == "█" * 17 + "▏"  # 5/7 of 24 cells = 17.14
    assert view.bar(0, 7) == view.bar(3, 0) == ""


def test_churn_without_commits_says_so_in_one_sentence(capsys):
    view.show(_churn(counts=(0, 0, 0, 0, 0)), Output())
    sentences = [line for line in capsys.readouterr().out.splitlines() if line.startswith("→")]
    assert sentences == ["→ No non-merge commit of 2019 touched drivers/."]


def test_quiet_leaves_the_tables_only(capsys):
    view.show(_churn(), Output(quiet=True), top=4)
    view.show_authors(_authors(), Output(quiet=True))
    out = capsys.readouterr().out
    assert "→" not in out
    assert out == CHURN_GOLDEN.split("→")[0] + AUTHORS_GOLDEN.split("→")[0]


def test_sentences_speak_korean_at_render_time(capsys):
    from kernlab import explain

    churn, authors = _churn(path=""), _authors()  # built before the language changes
    explain.set_language("ko")
    try:
        view.show(churn, Output())
        view.show_authors(authors, Output())
    finally:
        explain.set_language("en")
    sentences = [line for line in capsys.readouterr().out.splitlines() if line.startswith("→")]
    assert sentences and all(any("\uac00" <= ch <= "\ud7a3" for ch in s) for s in sentences)
    # The open parts of a sentence are Korean too: the top level and "all history".
    assert "최상위" in sentences[0] and "전체 이력" in sentences[-1]
    assert not any("the top level" in s or "all history" in s for s in sentences)
