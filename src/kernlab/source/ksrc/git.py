"""The last commit that touched a file of a tree that is a git checkout (``git log -1 -- FILE``).

Asked of git itself, never worked out from the object store, so the answer is git's. Two ways:

* when the history reachable from HEAD has no merge commit (``git rev-list --merges -n1 HEAD``
  prints nothing), one ``git log --name-only`` walk answers every file: in a line of commits
  the first one listing a file is the one ``git log -1 -- FILE`` shows;
* with merges, git simplifies history per path set (a merge is followed through the parent that
  has the same content *for the paths asked*), so one walk over many files can follow another
  parent than ``git log -1 -- FILE`` would: each file is asked on its own, a few in parallel.

Answers are cached beside the index, keyed by HEAD (a file's last commit changes only when
HEAD moves): a later query on the same files costs one ``git rev-parse``.
"""

from __future__ import annotations

import os
import pickle
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

_FORMAT = "%H%x00%an%x00%aI%x00%s"
_TIMEOUT_S = 120
_PARALLEL = 4
_CACHE = "last-commits.pickle"


@dataclass(frozen=True)
class LastCommit:
    """The last commit that touched one file, as ``git log -1 --format=%H%x00%an%x00%aI%x00%s``."""

    file: str
    """Relative to the tree, as the answer names it."""
    commit: str
    """Full hash (%H)."""
    author: str
    """Author name (%an)."""
    date: str
    """Author date, strict ISO 8601 (%aI)."""
    subject: str
    """First line of the message (%s)."""


def _git(tree: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C")  # a query must not write git's index
    try:
        return subprocess.run(
            ["git", "--literal-pathspecs", "-C", str(tree), *args],
            capture_output=True,
            timeout=_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None  # no git, or a history too slow to walk: no last commits, not an error


def head_commit(tree: Path) -> str | None:
    """HEAD's hash when ``tree`` is in a git work tree with at least one commit, else None."""
    done = _git(tree, "rev-parse", "--is-inside-work-tree", "--verify", "-q", "HEAD")
    if done is None or done.returncode != 0:
        return None
    lines = done.stdout.decode(errors="replace").split()
    return lines[1] if len(lines) == 2 and lines[0] == "true" else None


def _tracked(tree: Path, files: list[str]) -> set[str]:
    """The files git tracks (an untracked one has no last commit: no history walk for it)."""
    done = _git(tree, "ls-files", "-z", "--", *files)
    if done is None or done.returncode != 0:
        return set()
    return {name.decode("utf-8", errors="surrogateescape") for name in done.stdout.split(b"\0") if name}


def _parse_commit(file: str, text: bytes) -> LastCommit | None:
    fields = text.decode("utf-8", errors="replace").rstrip("\n").split("\0")
    if len(fields) < 4 or not fields[0]:
        return None
    return LastCommit(file, fields[0], fields[1], fields[2], fields[3])


def _one(tree: Path, file: str) -> LastCommit | None:
    done = _git(tree, "log", "-1", f"--format={_FORMAT}", "--", file)
    if done is None or done.returncode != 0:
        return None
    return _parse_commit(file, done.stdout)


def _linear_history(tree: Path) -> bool:
    done = _git(tree, "rev-list", "--merges", "-n", "1", "HEAD")
    return done is not None and done.returncode == 0 and not done.stdout.strip()


def _walk(tree: Path, files: list[str]) -> dict[str, LastCommit | None]:
    """One walk of a history without merges: each file's first appearance is its last commit."""
    found: dict[str, LastCommit | None] = dict.fromkeys(files)
    # \x01 starts each commit; -z ends the header and each file name with NUL; --relative names
    # files relative to the tree (which may be a folder inside the repository).
    done = _git(
        tree,
        "log",
        f"--format=%x01{_FORMAT}",
        "--name-only",
        "-z",
        "--relative",
        "--no-renames",
        "--",
        *files,
    )
    if done is None or done.returncode != 0:
        return {file: _one(tree, file) for file in files}
    wanted = set(files)
    for record in done.stdout.split(b"\x01")[1:]:
        parts = record.split(b"\0")
        # hash, author, date, subject, then "\n"-prefixed first name, further names, empty ends.
        header, names = parts[:4], parts[4:]
        commit = _parse_commit("", b"\0".join(header))
        if commit is None:
            continue
        for raw in names:
            name = raw.decode("utf-8", errors="surrogateescape").lstrip("\n")
            if name in wanted and found[name] is None:
                found[name] = LastCommit(name, commit.commit, commit.author, commit.date, commit.subject)
                wanted.discard(name)
        if not wanted:
            break
    return found


def last_commits(tree: Path, files: Iterable[str], cache: Path | None = None) -> dict[str, LastCommit]:
    """The last commit of each file that git knows (untracked files, or no git: left out)."""
    head = head_commit(tree)
    unique = list(dict.fromkeys(files))
    if head is None or not unique:
        return {}
    known: dict[str, LastCommit | None] = {}
    cache_file = cache / _CACHE if cache is not None else None
    if cache_file is not None:
        try:
            with open(cache_file, "rb") as fh:
                cached_head, cached = pickle.load(fh)
            if cached_head == head:
                known = dict(cached)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
            pass
    missing = [f for f in unique if f not in known]
    if missing:
        tracked = _tracked(tree, missing)
        known.update((f, None) for f in missing if f not in tracked)
        missing = [f for f in missing if f in tracked]
        if missing and _linear_history(tree):
            known.update(_walk(tree, missing))
        elif missing:
            with ThreadPoolExecutor(_PARALLEL) as pool:
                known.update(zip(missing, pool.map(lambda f: _one(tree, f), missing), strict=True))
        if cache_file is not None and cache_file.parent.is_dir():
            partial = cache_file.with_name(f"{_CACHE}.{os.getpid()}")
            try:
                with open(partial, "wb") as fh:
                    pickle.dump((head, known), fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(partial, cache_file)
            except OSError:
                pass  # a cache that cannot be written only costs the next query the same calls
    return {f: c for f in unique if (c := known.get(f)) is not None}
