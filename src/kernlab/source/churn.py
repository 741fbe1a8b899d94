"""Where a repository changes: non-merge commits per entry of a folder, in one pass over history.

The seed's ``git-files-commits`` script answers this with one ``git rev-list --count --no-merges
--after=… --before=… HEAD -- ENTRY`` per entry of the folder. Each of those walks does git's
default *history simplification* for its own path: at a merge whose tree is the same as one
parent's for that path (TREESAME), the walk follows only that parent, so commits of a side branch
whose changes to the path were dropped or already present are not counted. A plain single pass
(``git log --name-only``) sees every commit and so over-counts exactly there.

This module reproduces every per-path walk at once:

1. ``git rev-list --parents --timestamp --max-age=SINCE HEAD`` gives the commits any of those walks
   can reach (they stop at a commit older than the period exactly as this walk does);
2. for every merge, and every non-merge commit inside the period, ``git diff-tree`` says which
   entries differ from each parent (not recursively: one level per requested depth);
3. in topological order, each commit passes to each parent the set (a bit mask) of entries whose
   walk goes there: all of them for a single parent; at a merge, an entry follows the first
   parent it is TREESAME to, or every parent when it is TREESAME to none;
4. a non-merge commit inside the period counts for the entries it changes among those whose walk
   reached it.

The result equals the script's counts for every entry (the tests check it against the script).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import BadInput
from kernlab.source.git_history import (
    CommitGraph,
    Period,
    Repository,
    diff_tree_pairs,
    head_commit,
    read_commit_graph,
    run_git,
    subtree_ids,
)

# The script lists entries with `ls -I …`: no dot files, and none of these build leftovers.
IGNORED_PATTERNS: tuple[str, ...] = (
    "*.patch",
    "*.o",
    "*.order",
    "*.a",
    "*.builtin",
    "*.symvers",
    "*.map",
    "*.mod.*",
    "*.ko",
    "cscope*",
)

ProgressFn = Callable[[int, int], None]
"""Called with (steps done, steps in all) as the work goes on."""


@dataclass(frozen=True)
class Entry:
    """A file or folder whose commits are counted, named relative to the folder asked about."""

    name: str
    is_dir: bool


def ignored(name: str) -> bool:
    """Whether the script's ``ls`` leaves ``name`` out (hidden, or a build leftover)."""
    return name.startswith(".") or any(fnmatch.fnmatchcase(name, pat) for pat in IGNORED_PATTERNS)


def list_entries(folder: Path, depth: int = 1) -> list[Entry]:
    """The entries of a work-tree folder the script would list, ``depth`` levels down.

    At depth 2 a folder is replaced by its own entries (``drivers/net``, ``drivers/gpu`` …); files
    and empty folders above that level stay entries themselves so nothing is left out.
    """
    entries: list[Entry] = []

    def walk(here: Path, prefix: str, level: int) -> None:
        try:
            children = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            raise BadInput(
                f"cannot list {here}: {exc.strerror}",
                key="errors.source.cannot_list",
                fields={"path": str(here), "reason": exc.strerror},
            ) from exc
        for child in children:
            if ignored(child.name):
                continue
            name = f"{prefix}{child.name}"
            is_dir = child.is_dir(follow_symlinks=False)
            if is_dir and level < depth and _has_listed_child(Path(child.path)):
                walk(Path(child.path), f"{name}/", level + 1)
            else:
                entries.append(Entry(name, is_dir))

    walk(folder, "", 1)
    return entries


def _has_listed_child(folder: Path) -> bool:
    try:
        return any(not ignored(e.name) for e in os.scandir(folder))
    except OSError:
        return False


def list_tree_entries(repo: Repository, path: str, depth: int = 1) -> list[Entry]:
    """Entries of ``path`` in HEAD's tree, for a bare repository that has no work tree to list."""
    entries: list[Entry] = []

    def walk(prefix: str, level: int) -> None:
        spec = f"HEAD:{path}/{prefix}".replace("//", "/") if path else f"HEAD:{prefix}"
        out = run_git(repo.top, ["ls-tree", "-z", spec.rstrip("/") if prefix else spec])
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, name_b = record.partition(b"\t")
            name = name_b.decode(errors="surrogateescape")
            if ignored(name):
                continue
            is_dir = meta.split()[1] == b"tree"
            if is_dir and level < depth:
                walk(f"{prefix}{name}/", level + 1)
            else:
                entries.append(Entry(f"{prefix}{name}", is_dir))

    walk("", 1)
    return entries


def folder_in_repository(repo: Repository, folder: Path | str | None) -> tuple[str, Path | None]:
    """The folder as a path relative to the repository's top, and its place in the work tree."""
    if repo.bare:
        # Named by its own path (or none): the top of HEAD's tree; else a folder inside that tree.
        if folder is None or Path(folder).resolve() == repo.top.resolve():
            return "", None
        rel = str(folder).strip("/")
        if rel in ("", "."):
            return "", None
        kind = run_git(repo.top, ["cat-file", "-t", f"HEAD:{rel}"], check=False).strip()
        if kind != b"tree":
            raise BadInput(
                f"{rel} is not a folder in HEAD of {repo.top}",
                key="errors.source.not_folder_in_head",
                fields={"path": rel, "top": str(repo.top)},
            )
        return rel, None
    where = Path(folder) if folder is not None else Path.cwd()
    if not where.exists():
        raise BadInput(
            f"{where} does not exist", path=where, key="errors.source.missing", fields={"path": str(where)}
        )
    if not where.is_dir():
        raise BadInput(
            f"{where} is not a folder: churn counts the entries of a folder",
            path=where,
            key="errors.source.churn_not_folder",
            fields={"path": str(where)},
        )
    absolute = where.resolve()
    return _relative_to_top(repo, where, absolute), absolute


def path_in_repository(repo: Repository, path: Path | str) -> str:
    """A file or folder named on the command line, as a path relative to the repository's top."""
    where = Path(path)
    if where.is_dir():
        return folder_in_repository(repo, where)[0]
    if not where.exists():
        raise BadInput(
            f"{path} does not exist", path=path, key="errors.source.missing", fields={"path": str(path)}
        )
    return _relative_to_top(repo, where, where.resolve())


def _relative_to_top(repo: Repository, given: Path, absolute: Path) -> str:
    try:
        inside = absolute.relative_to(repo.top.resolve())
    except ValueError:
        raise BadInput(
            f"{given} is not inside the repository at {repo.top}",
            key="errors.source.outside_repository",
            fields={"path": str(given), "top": str(repo.top)},
        ) from None
    return "" if str(inside) == "." else inside.as_posix()


class _EntryTrie:
    """The requested entries as a tree of names, so diffs are read one level at a time."""

    def __init__(self, entries: list[Entry]) -> None:
        # node key (folder path relative to the asked folder, "" for it) -> name -> bit or child key
        self.nodes: dict[str, dict[str, int | str]] = {"": {}}
        for bit, entry in enumerate(entries):
            parts = entry.name.split("/")
            key = ""
            for part in parts[:-1]:
                child = f"{key}{part}/"
                self.nodes[key].setdefault(part, child)
                self.nodes.setdefault(child, {})
                key = child
            self.nodes[key][parts[-1]] = 1 << bit


def _changed_masks(
    repo: Repository, trie: _EntryTrie, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """For each (old tree, new tree) of the asked folder: the bit mask of entries that differ."""
    empty = repo.empty_tree
    partial: dict[tuple[str, str, str], tuple[int, list[tuple[str, str, str]]]] = {}
    levels: list[set[tuple[str, str, str]]] = []
    pending = {("", a, b) for a, b in pairs if a != b}
    while pending:
        levels.append(pending)
        diffs = diff_tree_pairs(repo, sorted({(a, b) for _, a, b in pending}))
        following: set[tuple[str, str, str]] = set()
        for request in pending:
            key, a, b = request
            node = trie.nodes[key]
            mask = 0
            deeper: list[tuple[str, str, str]] = []
            for change in diffs.get((a, b), []):
                target = node.get(change.name)
                if target is None:
                    continue
                if isinstance(target, int):
                    mask |= target
                    continue
                old = change.old_id if change.old_is_tree else empty
                new = change.new_id if change.new_is_tree else empty
                if old != new:
                    sub = (target, old, new)
                    deeper.append(sub)
                    if sub not in partial:
                        following.add(sub)
            partial[request] = (mask, deeper)
        pending = following - set(partial)
    resolved: dict[tuple[str, str, str], int] = {}
    for level in reversed(levels):
        for request in level:
            mask, deeper = partial[request]
            for sub in deeper:
                mask |= resolved[sub]
            resolved[request] = mask
    return {(a, b): (resolved[("", a, b)] if a != b else 0) for a, b in pairs}


def _topological(graph: CommitGraph, start: int) -> list[int]:
    """Commits in an order where every commit comes before its parents (Kahn's algorithm)."""
    index = graph.index
    waiting = [0] * len(graph.ids)
    for parents in graph.parents:
        for p in parents:
            j = index.get(p)
            if j is not None:
                waiting[j] += 1
    order: list[int] = []
    ready = [start] if waiting[start] == 0 else []
    while ready:
        i = ready.pop()
        order.append(i)
        for p in graph.parents[i]:
            j = index.get(p)
            if j is not None:
                waiting[j] -= 1
                if waiting[j] == 0:
                    ready.append(j)
    return order


def count_commits_per_entry(
    repo: Repository,
    path: str,
    entries: list[Entry],
    period: Period,
    *,
    head: str | None = None,
    progress: ProgressFn | None = None,
) -> tuple[list[int], int]:
    """Per entry, the count ``git rev-list --count --no-merges PERIOD HEAD -- PATH/ENTRY`` gives.

    Also returns the non-merge commits of the period in the whole repository.
    """
    step = progress or (lambda done, total: None)
    head = head or head_commit(repo)
    step(0, 4)
    graph = read_commit_graph(repo, period, head)
    step(1, 4)
    counts = [0] * len(entries)
    start = graph.index.get(head)
    if start is None:  # HEAD itself is older than the period: every walk stops at once.
        return counts, 0

    in_period = [period.contains(d) for d in graph.dates]
    # Trees are needed for merges (to choose the parents each walk follows) and for commits
    # that may be counted (to know which entries they change).
    wanted: set[str] = set()
    for i, parents in enumerate(graph.parents):
        if len(parents) > 1 or in_period[i]:
            wanted.add(graph.ids[i])
            wanted.update(parents)
    trees = subtree_ids(repo, sorted(wanted), path)
    step(2, 4)
    empty = repo.empty_tree
    pairs: set[tuple[str, str]] = set()
    for i, parents in enumerate(graph.parents):
        if len(parents) > 1 or in_period[i]:
            mine = trees[graph.ids[i]]
            pairs.update((trees[p], mine) for p in parents)
            if not parents:
                pairs.add((empty, mine))
    changed = _changed_masks(repo, _EntryTrie(entries), pairs)
    step(3, 4)

    everyone = (1 << len(entries)) - 1
    reach = [0] * len(graph.ids)
    reach[start] = everyone
    index = graph.index
    total = 0
    for i in _topological(graph, start):
        walks = reach[i]
        parents = graph.parents[i]
        if len(parents) <= 1:
            if in_period[i]:
                total += 1
                before = trees[parents[0]] if parents else empty
                hit = walks & changed[(before, trees[graph.ids[i]])]
                while hit:
                    low = hit & -hit
                    counts[low.bit_length() - 1] += 1
                    hit ^= low
            if parents and walks:
                j = index.get(parents[0])
                if j is not None:
                    reach[j] |= walks
            continue
        if not walks:
            continue
        mine = trees[graph.ids[i]]
        same = [everyone & ~changed[(trees[p], mine)] for p in parents]
        same_to_any = 0
        for s in same:
            same_to_any |= s
        # TREESAME to no parent: that path's walk goes down every parent.
        all_parents = everyone & ~same_to_any
        taken = 0
        for p, s in zip(parents, same, strict=True):
            follow = (s & ~taken) | all_parents
            taken |= s
            j = index.get(p)
            if j is not None and walks & follow:
                reach[j] |= walks & follow
    step(4, 4)
    return counts, total
