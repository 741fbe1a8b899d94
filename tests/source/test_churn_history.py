"""churn and authors against their oracles (the seed's script, git rev-list, git shortlog).

Each test builds a git repository with scripted, dated history: several years, side branches
merged back (with results TREESAME to the first parent for some folders and to the second for
others), back-merges, an octopus merge, files moved between top-level folders, nested folders,
empty commits, committer dates out of order, and commits on the first and last day of a year
on both sides of the current time of day (git reads a bare date as that day at the current time).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.conftest import assert_clean_error, need_tool, run_kernlab

# The seed's git-files-commits script, verbatim: the oracle for churn.
SEED_SCRIPT = (
    r"""#!/bin/bash
start="$1";
curr=`date +%Y-%m-%d`
curr_y=`date +%Y`;
re='^[0-9]+$'
if [[ $1 == "" ]]; then
	start="$curr_y-01-01"
	end=$curr
elif ! [[ $1 =~ $re ]];then
	echo "Please enter a year."
	exit 1
elif [[ ${#start} != 4 ]]; then
	echo "Please enter a year."
	exit 1
else
	end="$start-12-31"
	start="$start-01-01"
fi
files=`ls -I "*\.patch" -I "*\.o" -I "*\.order"  -I "*\.a"  -I "*\.builtin"  """  # one line, split here
    r"""-I "*\.symvers" -I "*\.map" -I "*\.mod\.*"  -I "*\.ko" -I "cscope*" `
echo "$start ~ $end:"
for i in $files
do
    printf "$i: ";
    git rev-list --after=$start --before=$end --count --no-merges HEAD -- $i;
done | sort -k2 -nr | awk '{printf("%20s %5d\n", $1, $2)}' |nl
exit 0
"""
)

FOLDERS = [
    "drivers/net/e1000",
    "drivers/net",
    "drivers/gpu/drm",
    "drivers/base",
    "arch/x86/kernel",
    "arch/arm",
    "fs/ext4",
    "fs",
    "kernel/sched",
    "mm",
    "Documentation/admin",
]
TOP_FILES = ["README", "Makefile"]
MAILMAP = "Old Name Mapped <old@example.org> <old-name@example.org>\n"
AUTHORS = ["Ada Lovelace", "Linus T", "Greg KH", "Alan Cox", "old-name"]


@dataclass
class _Commit:
    mark: int
    parents: list[int]
    tree: dict[str, str]
    when: int
    author: str


@dataclass
class _History:
    rng: random.Random
    commits: list[_Commit] = field(default_factory=list)
    heads: dict[str, int] = field(default_factory=dict)
    clock: float = 0.0


def _local_ts(day: date, seconds_of_day: int) -> int:
    seconds_of_day = max(60, min(86400 - 60, seconds_of_day))
    h, rest = divmod(seconds_of_day, 3600)
    return int(datetime(day.year, day.month, day.day, h, rest // 60, rest % 60).timestamp())


def _boundary_times(years: list[int]) -> list[int]:
    """Commit times on Jan 1 and Dec 31, an hour either side of the current local time of day."""
    now = datetime.now()
    tod = now.hour * 3600 + now.minute * 60 + now.second
    times = []
    for y in years:
        for day in (date(y, 1, 1), date(y, 12, 31)):
            times += [_local_ts(day, tod - 3600), _local_ts(day, tod + 3600)]
    return times


def _new_commit(h: _History, parents: list[int], tree: dict[str, str], when: int | None = None) -> int:
    step = h.rng.uniform(0.2, 1.8) * h.spacing  # type: ignore[attr-defined]
    h.clock += step
    stamp = int(h.clock) if when is None else when
    if when is None and h.rng.random() < 0.05:
        stamp -= int(h.rng.uniform(1, 20) * 86400)  # a committer clock running late
    mark = len(h.commits) + 1
    h.commits.append(_Commit(mark, parents, dict(tree), stamp, h.rng.choice(AUTHORS)))
    return mark


def _edit(h: _History, tree: dict[str, str], tag: str) -> dict[str, str]:
    rng = h.rng
    tree = dict(tree)
    roll = rng.random()
    if roll < 0.04:
        return tree  # an empty commit
    if roll < 0.12 and tree:
        # move a file to another top-level folder (a rename across entries)
        path = rng.choice(sorted(tree))
        target = rng.choice(FOLDERS) + "/" + path.rsplit("/", 1)[-1]
        tree.setdefault(target, tree.pop(path))
        return tree
    if roll < 0.17 and len(tree) > 5:
        tree.pop(rng.choice(sorted(tree)))
        return tree
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if rng.random() < 0.15:
            path = rng.choice(TOP_FILES)
        else:
            path = f"{rng.choice(FOLDERS)}/f{rng.randrange(6)}.c"
        tree[path] = f"{tag} {rng.random()}\n"
    return tree


def _merge_trees(h: _History, trees: list[dict[str, str]]) -> dict[str, str]:
    """A merge result taking, per top-level entry, the first tree's, another's, or a mix."""
    rng = h.rng
    tops = {p.split("/", 1)[0] for t in trees for p in t}
    result: dict[str, str] = {}
    for top in sorted(tops):
        parts = [{p: c for p, c in t.items() if p.split("/", 1)[0] == top} for t in trees]
        choice = rng.random()
        if choice < 0.45:
            result.update(parts[0])
        elif choice < 0.8:
            result.update(rng.choice(parts[1:]))
        else:
            mixed: dict[str, str] = {}
            for part in parts:
                for p, c in part.items():
                    if p not in mixed or rng.random() < 0.5:
                        mixed[p] = c
            result.update(mixed)
    return result


def build_history(root: Path, seed: int, n_commits: int = 260, first_year: int = 2017) -> Path:
    """A repository at ``root`` with a scripted history; HEAD is ``main``, checked out."""
    need_tool("git")
    rng = random.Random(seed)
    h = _History(rng)
    start = datetime(first_year, 1, 3).timestamp()
    end = time.time() - 2 * 86400
    h.spacing = (end - start) / n_commits  # type: ignore[attr-defined]
    h.clock = start
    boundaries = _boundary_times(list(range(first_year, date.today().year)))
    rng.shuffle(boundaries)

    tree = {f"{FOLDERS[i]}/init.c": "init\n" for i in range(0, len(FOLDERS), 2)} | {"README": "r\n"}
    h.heads["main"] = _new_commit(h, [], tree)
    while len(h.commits) < n_commits:
        roll = rng.random()
        branches = sorted(h.heads)
        when = boundaries.pop() if boundaries and rng.random() < 0.1 else None
        if roll < 0.1 and len(h.heads) < 6:
            base = h.heads[rng.choice(branches)]
            # sometimes fork from an older commit of main so side branches run long
            if rng.random() < 0.3:
                base = max(1, base - rng.randrange(1, 10))
            h.heads[f"topic{len(h.commits)}"] = base
        elif roll < 0.3 and len(branches) > 1:
            into = "main" if rng.random() < 0.7 else rng.choice(branches)
            others = [b for b in branches if b != into]
            take = rng.sample(others, 2 if len(others) > 1 and rng.random() < 0.08 else 1)
            parents = [h.heads[into]] + [h.heads[b] for b in take]
            merged = _merge_trees(h, [h.commits[p - 1].tree for p in parents])
            h.heads[into] = _new_commit(h, parents, merged, when)
            for b in take:
                if b != "main" and rng.random() < 0.6:
                    del h.heads[b]
        else:
            branch = "main" if rng.random() < 0.5 else rng.choice(branches)
            parent = h.heads[branch]
            h.heads[branch] = _new_commit(h, [parent], _edit(h, h.commits[parent - 1].tree, branch), when)

    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    stream = []
    for c in h.commits:
        email = f"{c.author.lower().replace(' ', '.')}@example.org"
        stream.append(f"commit refs/heads/main\nmark :{c.mark}\n")
        stream.append(f"author {c.author} <{email}> {c.when} +0000\n")
        stream.append(f"committer {c.author} <{email}> {c.when} +0000\n")
        msg = f"change {c.mark}\n"
        stream.append(f"data {len(msg)}\n{msg}")
        if c.parents:
            stream.append(f"from :{c.parents[0]}\n")
            stream.extend(f"merge :{p}\n" for p in c.parents[1:])
        stream.append("deleteall\n")
        # Every commit carries the same .mailmap (hidden: `ls` does not list it).
        for path, content in sorted((c.tree | {".mailmap": MAILMAP}).items()):
            data = content.encode()
            stream.append(f"M 100644 inline {path}\ndata {len(data)}\n{content}\n")
    stream.append(f"reset refs/heads/main\nfrom :{h.heads['main']}\n\n")
    subprocess.run(
        ["git", "-C", str(root), "fast-import", "--quiet"], input="".join(stream).encode(), check=True
    )
    subprocess.run(["git", "-C", str(root), "checkout", "-q", "-f", "main"], check=True)
    # What `ls` sees but history does not: untracked files, ignored build leftovers.
    (root / "untracked_dir").mkdir()
    (root / "untracked_dir" / "x").write_text("x\n")
    (root / "vmlinux.o").write_text("o\n")
    (root / "cscope.out").write_text("c\n")
    return root


def seed_script_counts(folder: Path, year: str | None, tmp: Path) -> dict[str, int]:
    """Run the seed's script in ``folder`` and parse its ``nl`` lines into {entry: count}."""
    script = tmp / "git-files-commits"
    if not script.exists():
        script.write_text(SEED_SCRIPT)
        script.chmod(0o755)
    out = subprocess.run(
        ["bash", str(script), *([year] if year else [])],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts = {}
    for line in out.splitlines()[1:]:
        match = re.match(r"^\s*\d+\s+(\S+):\s+(\d+)$", line)
        assert match, line
        counts[match.group(1)] = int(match.group(2))
    return counts


def kernlab_counts(*args: str, cwd: Path | None = None) -> dict[str, int]:
    result = run_kernlab("churn", *args, "--json") if cwd is None else _run_in(cwd, "churn", *args, "--json")
    assert result.code == 0, result.stderr
    return {e["name"]: e["commits"] for e in result.json()["entries"]}


def _run_in(cwd: Path, *args: str):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return run_kernlab(*args)
    finally:
        os.chdir(old)


def naive_counts(repo: Path, year: str, entries: list[str]) -> dict[str, int]:
    """A single git log --name-only pass with no simplification (what the script does NOT do)."""
    out = subprocess.run(
        [
            *("git", "-C", str(repo), "log", "--no-merges", "--format=tformat:@", "--name-only"),
            *(f"--after={year}-01-01", f"--before={year}-12-31", "HEAD"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: Counter[str] = Counter()
    for block in out.split("@")[1:]:
        for top in {line.split("/", 1)[0] for line in block.split() if line}:
            counts[top] += 1
    return {e: counts.get(e, 0) for e in entries}


@pytest.fixture(scope="module")
def histories(tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("churn")
    return [build_history(base / f"repo{seed}", seed) for seed in (1, 2, 3)]


@pytest.mark.parametrize("year", ["2018", "2019", "2020"])
def test_churn_equals_seed_script_top_level(histories, tmp_path, year):
    differs_from_naive = False
    for repo in histories:
        expected = seed_script_counts(repo, year, tmp_path)
        assert kernlab_counts(year, str(repo)) == expected
        differs_from_naive |= naive_counts(repo, year, list(expected)) != expected
    # The histories must exercise history simplification, or the test proves little.
    assert differs_from_naive or year == "2018"


def test_churn_equals_seed_script_in_subfolders(histories, tmp_path):
    for repo in histories:
        for sub in ("drivers", "drivers/net", "arch"):
            if not (repo / sub).is_dir():
                continue
            for year in ("2019", "2020"):
                assert kernlab_counts(year, str(repo / sub)) == seed_script_counts(repo / sub, year, tmp_path)


def test_churn_without_path_counts_the_current_folder_like_the_script(histories, tmp_path):
    # `cd drivers; git files-commits 2019`: the script's `ls` and `git rev-list -- $i` are relative
    # to where it runs, so `kernlab churn 2019` from the same folder must rank that folder's entries.
    compared = 0
    for repo in histories:
        for sub in ("drivers", "drivers/net", "arch", "fs"):
            folder = repo / sub
            if not folder.is_dir():
                continue
            for year in ("2019", "2020"):
                expected = seed_script_counts(folder, year, tmp_path)
                got = kernlab_counts(year, cwd=folder)
                assert got == expected, (sub, year)
                compared += sum(1 for n in expected.values() if n)
            # A path given from there is relative to it, as the script's `cd` makes it.
            inner = next((p.name for p in sorted(folder.iterdir()) if p.is_dir()), None)
            if inner is not None:
                assert kernlab_counts("2020", inner, cwd=folder) == seed_script_counts(
                    folder / inner, "2020", tmp_path
                )
    assert compared > 0  # some subfolder had commits in those years, or the test proves little


def test_churn_without_path_at_the_top_equals_script(histories, tmp_path):
    for repo in histories[:1]:
        assert kernlab_counts("2019", cwd=repo) == seed_script_counts(repo, "2019", tmp_path)


def test_churn_depth_two_equals_script_run_in_each_folder(histories, tmp_path):
    repo = histories[0]
    got = kernlab_counts("2019", str(repo), "--depth", "2")
    expected: dict[str, int] = {}
    top = seed_script_counts(repo, "2019", tmp_path)
    for name, count in top.items():
        folder = repo / name
        inner = seed_script_counts(folder, "2019", tmp_path) if folder.is_dir() else {}
        if inner:
            expected.update({f"{name}/{k}": v for k, v in inner.items()})
        else:
            expected[name] = count
    assert got == expected


def test_churn_current_year_default_equals_script(histories, tmp_path):
    for repo in histories:
        assert kernlab_counts(str(repo)) == seed_script_counts(repo, None, tmp_path)


def test_churn_since_until_and_whole_days(histories):
    repo = histories[1]
    report = run_kernlab(
        "churn", "--since", "2019-03-01", "--until", "2020-06-30", str(repo), "--json"
    ).json()
    whole = run_kernlab(
        "churn", "2019", "--whole-days", str(repo), "--json"
    ).json()  # bare dates pinned to 00:00:00 and 23:59:59
    for entry in report["entries"]:
        assert entry["commits"] == _rev_list_count(repo, "2019-03-01", "2020-06-30", entry["name"])
    for entry in whole["entries"]:
        want = _rev_list_count(repo, "2019-01-01 00:00:00", "2019-12-31 23:59:59", entry["name"])
        assert entry["commits"] == want
    total = _rev_list_count(repo, "2019-03-01", "2020-06-30", None)
    assert report["commits_in_period"] == total


def _rev_list_count(repo: Path, since: str, until: str, path: str | None) -> int:
    cmd = [
        "git",
        "-C",
        str(repo),
        "rev-list",
        "--count",
        "--no-merges",
        f"--since={since}",
        f"--until={until}",
    ]
    cmd += ["HEAD"] + (["--", path] if path else [])
    return int(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def _shortlog(repo: Path, *args: str) -> dict[str, int]:
    out = subprocess.run(
        ["git", "-C", str(repo), "shortlog", "-sn", "--no-merges", *args],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    ).stdout
    return {name: int(n) for n, name in (line.strip().split("\t", 1) for line in out.splitlines())}


def test_authors_equals_shortlog(histories):
    for repo in histories:
        got = run_kernlab("authors", str(repo), "--json").json()
        assert {a["name"]: a["commits"] for a in got["authors"]} == _shortlog(repo, "HEAD")
        assert "Old Name Mapped" in {a["name"] for a in got["authors"]}  # .mailmap applied
        counts = [a["commits"] for a in got["authors"]]
        assert counts == sorted(counts, reverse=True)


def test_authors_with_period_and_path_equals_shortlog(histories):
    repo = histories[2]
    got = run_kernlab("authors", "2019", str(repo / "drivers"), "--json").json()
    expected = _shortlog(repo, "--since=2019-01-01", "--until=2019-12-31", "HEAD", "--", "drivers")
    assert {a["name"]: a["commits"] for a in got["authors"]} == expected
    assert got["commits"] == sum(expected.values())


def test_churn_human_output_has_bars_and_sentence(histories, tmp_path):
    result = run_kernlab("churn", "2020", str(histories[0]))
    assert result.code == 0, result.stderr
    expected = seed_script_counts(histories[0], "2020", tmp_path)
    leader = max(expected.values())
    assert leader > 0
    # The sentence names an entry with the highest count and that count.
    sentence = result.stdout[result.stdout.index("→") :]
    assert any(name in sentence for name, n in expected.items() if n == leader)
    assert f"touched by {leader:,} of" in " ".join(sentence.split())
    assert "█" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["19"],
        ["20x9"],
        ["--since", "yesterday-ish"],
        ["--since", "2020-01-01", "--until", "2019-01-01"],
        ["2019", "--since", "2019-01-01"],
        ["2019", "/no/such/folder"],
        ["2019", "--depth", "0"],
    ],
)
def test_churn_bad_input_is_one_clean_line(histories, args):
    # Paths are resolved from the repository, so run inside it.
    assert_clean_error(_run_in(histories[0], "churn", *args))


def test_churn_outside_a_repository_and_on_a_file(tmp_path, histories):
    assert_clean_error(run_kernlab("churn", str(tmp_path)))
    assert_clean_error(run_kernlab("authors", str(tmp_path)))
    assert_clean_error(run_kernlab("churn", str(histories[0] / "README")))
    assert_clean_error(run_kernlab("churn", "2019", str(tmp_path.parent)))


def test_churn_in_a_bare_clone_equals_rev_list_per_entry(histories, tmp_path):
    # A bare repository has no work tree for `ls`: the entries come from HEAD's tree, and each
    # count must still be what `git rev-list … -- ENTRY` says.
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(histories[2]), str(bare)], check=True)
    got = run_kernlab("churn", "2020", str(bare), "--json")
    assert got.code == 0, got.stderr
    entries = {e["name"]: e["commits"] for e in got.json()["entries"]}
    tracked = subprocess.run(
        ["git", "-C", str(bare), "ls-tree", "--name-only", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(entries) == {name for name in tracked if not name.startswith(".")}
    for name, count in entries.items():
        cmd = ["git", "-C", str(bare), "rev-list", "--after=2020-01-01", "--before=2020-12-31"]
        cmd += ["--count", "--no-merges", "HEAD", "--", name]
        assert count == int(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout), name


@pytest.mark.parametrize("seed", [11, 12])
def test_churn_equals_seed_script_on_more_histories(tmp_path, seed):
    # Fewer, longer-lived branches and more commits: other shapes of merges.
    repo = build_history(tmp_path / "repo", seed, n_commits=420, first_year=2019)
    for year in ("2020", "2021"):
        assert kernlab_counts(year, str(repo)) == seed_script_counts(repo, year, tmp_path)
        assert kernlab_counts(year, str(repo / "drivers")) == seed_script_counts(
            repo / "drivers", year, tmp_path
        )
