"""Reading a git repository's history: the repository, periods as git reads them, the commit graph.

Everything here runs git's plumbing commands (``rev-parse``, ``rev-list``, ``cat-file``,
``diff-tree``) with argument lists, never a shell, and turns their output into plain data.
:mod:`kernlab.source.churn` builds the per-entry commit counts on top of it; :func:`count_authors`
is the ``git shortlog -sn --no-merges`` equivalent.

Dates are resolved by git itself (``git rev-parse --since=… --until=…``) so that a period means
exactly what it means to ``git rev-list --after/--before``: a bare date such as ``2019-01-01`` is
that day *at the current time of day* in the local time zone (git's approxidate keeps the clock
fields of "now" when the text gives none). :func:`resolve_period` can instead pin bare dates to
whole calendar days.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from kernlab.errors import BadInput, NotSupported, OSFailure

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""The id of the empty tree, which git knows without having it stored (SHA-1 repositories)."""

_YEAR = re.compile(r"^[0-9]+$")
_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RELATIVE = re.compile(
    r"^\d+\s*(second|minute|hour|day|week|month|year)s?(\s+ago)?$|^(now|today|yesterday)$", re.IGNORECASE
)


@dataclass(frozen=True)
class Repository:
    """A git work tree (or bare repository) and where the user stands in it."""

    top: Path
    """The top of the work tree (for a bare repository: the git directory)."""
    bare: bool
    object_format: str
    """``sha1`` or ``sha256``: the empty tree has a different id in each."""

    @property
    def empty_tree(self) -> str:
        if self.object_format == "sha1":
            return EMPTY_TREE
        return "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"


@dataclass(frozen=True)
class Period:
    """A commit-date window, as the two timestamps git compares committer dates against."""

    label: str
    """How the period was asked for, e.g. ``2019`` or ``2019-03-01 ~ 2019-06-30``."""
    since_text: str | None
    until_text: str | None
    since: int | None
    """``--max-age``: commits older than this are left out and stop the walk (None: no bound)."""
    until: int | None
    """``--min-age``: commits newer than this are left out but walked through (None: no bound)."""
    whole_days: bool = False

    def git_args(self) -> list[str]:
        args = []
        if self.since is not None:
            args.append(f"--max-age={self.since}")
        if self.until is not None:
            args.append(f"--min-age={self.until}")
        return args

    def contains(self, timestamp: int) -> bool:
        return (self.since is None or timestamp >= self.since) and (
            self.until is None or timestamp <= self.until
        )


@dataclass
class CommitGraph:
    """The commits a date-limited walk from HEAD visits, with their parents and committer dates.

    Commit ``i`` is ``ids[i]``; ``parents[i]`` holds ids (a parent older than the period is not in
    the graph itself). Index 0 is HEAD when HEAD is inside the period.
    """

    ids: list[str] = field(default_factory=list)
    dates: list[int] = field(default_factory=list)
    parents: list[list[str]] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TreeChange:
    """One entry that differs between two trees, as ``git diff-tree --raw`` reports it."""

    name: str
    old_mode: str
    new_mode: str
    old_id: str
    new_id: str

    @property
    def old_is_tree(self) -> bool:
        return self.old_mode == "040000"

    @property
    def new_is_tree(self) -> bool:
        return self.new_mode == "040000"


def _git_binary() -> str:
    git = shutil.which("git")
    if git is None:
        raise NotSupported("git is not installed (apt-get install git)", key="errors.source.no_git")
    return git


def run_git(
    repo: Path | str, args: Sequence[str], *, input: bytes | None = None, check: bool = True
) -> bytes:
    """Run one git command in ``repo`` and return its standard output.

    A failing command becomes a :class:`KernlabError` carrying git's own first error line.
    """
    proc = subprocess.run(
        [_git_binary(), "-C", str(repo), *args],
        input=input,
        capture_output=True,
        env=_git_env(),
    )
    if check and proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        first = message[0] if message else f"exit status {proc.returncode}"
        raise OSFailure(
            f"git {args[0]} failed in {repo}: {first}",
            path=repo,
            key="errors.source.git_failed",
            fields={"command": args[0], "path": str(repo), "reason": first},
        )
    return proc.stdout


def _git_env() -> dict[str, str]:
    # Git's messages in English so errors can be recognised; no pager, no prompts.
    env = dict(os.environ)
    env.update({"LC_MESSAGES": "C", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"})
    return env


def open_repository(where: Path | str) -> Repository:
    """The repository containing ``where`` (a directory); BadInput if there is none."""
    where = Path(where)
    if not where.exists():
        raise BadInput(
            f"{where} does not exist", path=where, key="errors.source.missing", fields={"path": str(where)}
        )
    folder = where if where.is_dir() else where.parent
    proc = subprocess.run(
        [
            _git_binary(),
            "-C",
            str(folder),
            "rev-parse",
            "--is-bare-repository",
            "--show-toplevel",
            "--show-object-format",
        ],
        capture_output=True,
        env=_git_env(),
    )
    lines = proc.stdout.decode(errors="surrogateescape").splitlines()
    if proc.returncode != 0 and not (lines and lines[0] == "true"):
        raise BadInput(
            f"{folder} is not inside a git repository",
            path=folder,
            key="errors.source.not_in_git",
            fields={"path": str(folder)},
        )
    if lines and lines[0] == "true":
        gitdir = run_git(folder, ["rev-parse", "--absolute-git-dir"]).decode(errors="surrogateescape").strip()
        fmt = run_git(folder, ["rev-parse", "--show-object-format"]).decode().strip() or "sha1"
        return Repository(top=Path(gitdir), bare=True, object_format=fmt)
    if len(lines) < 2:
        raise BadInput(
            f"{folder} is inside a git directory, not a work tree",
            path=folder,
            key="errors.source.in_git_dir",
            fields={"path": str(folder)},
        )
    fmt = lines[2] if len(lines) > 2 else "sha1"
    return Repository(top=Path(lines[1]), bare=False, object_format=fmt)


def head_commit(repo: Repository) -> str:
    """HEAD's commit id; BadInput when the repository has no commits yet."""
    out = run_git(repo.top, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], check=False).strip()
    if not out:
        raise BadInput(
            f"the repository at {repo.top} has no commits yet",
            key="errors.source.no_commits",
            fields={"path": str(repo.top)},
        )
    return out.decode()


def _check_date_text(text: str) -> None:
    """Refuse text git would silently read as "now" (approxidate accepts almost anything)."""
    stripped = text.strip()
    if _RELATIVE.match(stripped) or re.fullmatch(r"@\d+", stripped):
        return
    try:
        datetime.fromisoformat(stripped.replace(" ", "T", 1) if " " in stripped else stripped)
    except ValueError:
        raise BadInput(
            f"{text!r} is not a date: use YYYY-MM-DD, 'YYYY-MM-DD HH:MM:SS', '@SECONDS' or 'N days ago'",
            key="errors.source.not_a_date",
            fields={"value": repr(text)},
        ) from None


def _git_timestamps(repo: Repository, since: str | None, until: str | None) -> tuple[int | None, int | None]:
    args = ["rev-parse"]
    if since is not None:
        args.append(f"--since={since}")
    if until is not None:
        args.append(f"--until={until}")
    if len(args) == 1:
        return None, None
    out = run_git(repo.top, args).decode().split()
    ages = dict(item.lstrip("-").split("=", 1) for item in out if "=" in item)
    low = int(ages["max-age"]) if "max-age" in ages else None
    high = int(ages["min-age"]) if "min-age" in ages else None
    return low, high


def resolve_period(
    repo: Repository,
    *,
    year: str | None = None,
    since: str | None = None,
    until: str | None = None,
    default_current_year: bool = True,
    whole_days: bool = False,
    today: date | None = None,
) -> Period:
    """The period of ``YEAR`` or ``--since/--until``, with timestamps exactly as git computes them.

    ``YEAR`` follows the seed script: ``--after=YYYY-01-01 --before=YYYY-12-31``; no year and no
    dates means the current year up to today (``default_current_year``) or all history.
    ``whole_days`` pins bare ``YYYY-MM-DD`` bounds to 00:00:00 and 23:59:59 local time instead of
    git's "that day at the current time of day".
    """
    today = today or date.today()
    if year is not None and (since is not None or until is not None):
        raise BadInput("give either a YEAR or --since/--until, not both", key="errors.source.year_and_since")
    if year is not None:
        if not _YEAR.match(year) or len(year) != 4:
            raise BadInput(
                f"{year!r} is not a year: give four digits, e.g. 2019",
                key="errors.source.not_a_year",
                fields={"value": repr(year)},
            )
        since, until, label = f"{year}-01-01", f"{year}-12-31", year
    elif since is None and until is None:
        if not default_current_year:
            return Period("all history", None, None, None, None, whole_days)
        since, until = f"{today.year}-01-01", today.isoformat()
        label = f"{today.year}"
    else:
        label = f"{since or 'the beginning'} ~ {until or 'now'}"
    for text in (since, until):
        if text is not None:
            _check_date_text(text)
    git_since, git_until = since, until
    if whole_days:
        if since is not None and _BARE_DATE.match(since.strip()):
            git_since = f"{since.strip()} 00:00:00"
        if until is not None and _BARE_DATE.match(until.strip()):
            git_until = f"{until.strip()} 23:59:59"
    low, high = _git_timestamps(repo, git_since, git_until)
    if low is not None and high is not None and low > high:
        raise BadInput(
            f"the period starts ({since}) after it ends ({until})",
            key="errors.source.period_reversed",
            fields={"since": since, "until": until},
        )
    return Period(label, since, until, low, high, whole_days)


def read_commit_graph(repo: Repository, period: Period, head: str) -> CommitGraph:
    """Every commit ``git rev-list --max-age=SINCE HEAD`` visits, with parents and dates.

    That walk (date-ordered, not limited) drops a commit older than the period *and does not go
    on to its parents*; a ``rev-list -- PATH`` walk does the same, so no counted commit can lie
    outside this graph.
    """
    args = ["rev-list", "--parents", "--timestamp"]
    if period.since is not None:
        args.append(f"--max-age={period.since}")
    args.append(head)
    graph = CommitGraph()
    out = run_git(repo.top, args)
    for line in out.split(b"\n"):
        if not line:
            continue
        fields = line.decode().split()
        graph.index[fields[1]] = len(graph.ids)
        graph.ids.append(fields[1])
        graph.dates.append(int(fields[0]))
        graph.parents.append(fields[2:])
    return graph


def subtree_ids(repo: Repository, commits: Sequence[str], path: str) -> dict[str, str]:
    """The tree id of ``path`` (``""``: the root) in each commit; the empty tree where it is absent."""
    if not commits:
        return {}
    suffix = f":{path}" if path else "^{tree}"
    request = "".join(f"{c}{suffix}\n" for c in commits).encode()
    out = run_git(repo.top, ["cat-file", "--batch-check=%(objectname) %(objecttype)"], input=request)
    lines = out.decode(errors="surrogateescape").splitlines()
    result: dict[str, str] = {}
    for commit, line in zip(commits, lines, strict=True):
        parts = line.rsplit(" ", 1)
        result[commit] = parts[0] if len(parts) == 2 and parts[1] == "tree" else repo.empty_tree
    return result


def diff_tree_pairs(
    repo: Repository, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[TreeChange]]:
    """The top-level entries that differ between each (old tree, new tree), in one diff-tree run.

    ``git diff-tree --stdin`` echoes each input pair as a header line before its changes, so the
    changes are attributed to their pair by that header. Not recursive: a changed folder is one
    entry whose ids say where to look one level deeper.
    """
    result: dict[tuple[str, str], list[TreeChange]] = {pair: [] for pair in pairs}
    todo = [pair for pair in result if pair[0] != pair[1]]
    if not todo:
        return result
    request = "".join(f"{a} {b}\n" for a, b in todo).encode()
    out = run_git(
        repo.top, ["diff-tree", "--stdin", "-z", "--raw", "--no-renames", "--abbrev=64"], input=request
    )
    current: list[TreeChange] | None = None
    tokens = iter(out.split(b"\0"))
    for token in tokens:
        if not token:
            continue
        text = token.decode(errors="surrogateescape")
        if "\n" in text:
            header, _, text = text.rpartition("\n")
            a, b = header.strip().split("\n")[-1].split()[:2]
            current = result.setdefault((a, b), [])
        if not text.startswith(":") or current is None:
            continue
        meta = text[1:].split()
        name = next(tokens).decode(errors="surrogateescape")
        current.append(TreeChange(name, meta[0], meta[1], meta[2], meta[3]))
    return result


def iter_lines(data: bytes) -> Iterator[str]:
    for line in data.split(b"\n"):
        if line:
            yield line.decode(errors="replace")


def count_authors(repo: Repository, period: Period, path: str = "") -> Counter[str]:
    """Non-merge commits per author over the period and path, as ``git shortlog -sn --no-merges``.

    One ``git log`` walk limited to the path does git's own history simplification, and names go
    through .mailmap (``%aN``) exactly as shortlog does.
    """
    head = head_commit(repo)
    args = ["log", "--no-merges", "--no-show-signature", "--format=%aN", *period.git_args(), head]
    if path:
        # No pathspec at all for the whole tree: even ":(top)" would turn on simplification and
        # drop empty commits, which shortlog without a path counts.
        args += ["--", f":(top,literal){path}"]
    return Counter(iter_lines(run_git(repo.top, args)))
