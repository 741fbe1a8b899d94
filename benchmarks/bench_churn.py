"""Benchmark: `kernlab churn YEAR` against the seed's git-files-commits script on a large history.

Generates (once, kept in the cache) a repository with ``--commits`` commits over ``--entries``
top-level folders: topic branches merged back, and maintenance branches that get fixes and are
merged back into main with per-folder resolutions (some folders keep main's version, so the
merge is TREESAME to the first parent for them; some take the branch's, TREESAME to the second).
Then runs, as whole processes, the seed script and ``kernlab churn YEAR --json`` in the work
tree, checks every entry's count is identical, and prints both times.

    python benchmarks/bench_churn.py [--commits 55000] [--entries 120] [--year 2019]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.source.test_churn_history import SEED_SCRIPT


def cache_dir() -> Path:
    from kernlab.source.ksrc.index import cache_dir as kernlab_cache

    return kernlab_cache() / "bench-churn"


def generate(repo: Path, commits: int, entries: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    folders = [f"e{i:03d}" for i in range(entries)]
    weights = [1.0 / (i + 1) ** 0.8 for i in range(entries)]  # a few folders change most
    start = datetime(2014, 1, 1).timestamp()
    end = datetime(2024, 12, 31).timestamp()
    step = (end - start) / commits
    trees: dict[str, dict[str, int]] = {"main": {}}
    parents: dict[str, int] = {}
    lines: list[str] = []
    clock = start
    blob = 0

    def emit(branch: str, mark: int, changes: dict[str, int | None], merge: int | None = None) -> None:
        nonlocal clock
        clock += step * rng.uniform(0.3, 1.7)
        when = int(clock - (rng.uniform(0, 5) * 86400 if rng.random() < 0.02 else 0))
        lines.append(f"commit refs/heads/{branch}\nmark :{mark}\n")
        lines.append(f"committer Dev{mark % 97} <dev{mark % 97}@example.org> {when} +0000\n")
        lines.append(f"data 9\nchange {mark % 10}\n")
        if branch in parents:
            lines.append(f"from :{parents[branch]}\n")
        if merge is not None:
            lines.append(f"merge :{merge}\n")
        for path, content in changes.items():
            if content is None:
                lines.append(f"D {path}\n")
            else:
                text = f"{content}\n"
                lines.append(f"M 100644 inline {path}\ndata {len(text)}\n{text}")
        parents[branch] = mark

    # Per side branch: the paths it changed, and the paths main changed, since it forked.
    side_changed: dict[str, set[str]] = {}
    main_changed: dict[str, set[str]] = {}
    mark = 0
    stable: str | None = None
    topics: list[str] = []
    while mark < commits:
        mark += 1
        roll = rng.random()
        if (roll < 0.004 or stable is None) and "main" in parents:
            stable = f"stable{mark}"
            trees[stable] = dict(trees["main"])
            parents[stable] = parents["main"]
            side_changed[stable], main_changed[stable] = set(), set()
        if roll < 0.03 and len(topics) < 8:
            name = f"topic{mark}"
            trees[name] = dict(trees["main"])
            side_changed[name], main_changed[name] = set(), set()
            if "main" in parents:
                parents[name] = parents["main"]
            topics.append(name)
        if 0.03 <= roll < 0.06 and (topics or stable):
            side = rng.choice([*topics, stable]) if topics else stable
            if side is not None and side in parents and parents[side] != parents.get("main"):
                main_tree, side_tree = trees["main"], trees[side]
                changes: dict[str, int | None] = {}
                for path in set(main_tree) | set(side_tree):
                    if main_tree.get(path) == side_tree.get(path):
                        continue
                    on_side, on_main = path in side_changed[side], path in main_changed[side]
                    if on_side and on_main:
                        # Changed on both sides: usually a real merge (new content); sometimes
                        # an "ours" resolution that drops the branch's change -- where history
                        # simplification prunes the branch for that folder.
                        if rng.random() < 0.8:
                            blob += 1
                            changes[path] = blob
                    elif on_side or rng.random() < 0.3:
                        # The branch's version (TREESAME to the second parent for that folder
                        # when main did not touch it; a revert of main's change otherwise).
                        changes[path] = side_tree.get(path)
                emit("main", mark, changes, merge=parents[side])
                side_changed[side], main_changed[side] = set(), set()
                for path, content in changes.items():
                    if content is None:
                        trees["main"].pop(path, None)
                    else:
                        trees["main"][path] = content
                if side in topics and rng.random() < 0.7:
                    topics.remove(side)
                continue
        branch = "main"
        pick = rng.random()
        if pick < 0.15 and stable:
            branch = stable
        elif pick < 0.45 and topics:
            branch = rng.choice(topics)
        changes = {}
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            folder = rng.choices(folders, weights)[0]
            path = f"{folder}/s{rng.randrange(4)}/f{rng.randrange(8)}.c"
            blob += 1
            changes[path] = blob
        if rng.random() < 0.01 and trees[branch]:
            changes[rng.choice(sorted(trees[branch]))] = None
        emit(branch, mark, changes)
        if branch == "main":
            for other in (*topics, stable):
                if other is not None:
                    main_changed[other].update(changes)
        else:
            side_changed[branch].update(changes)
        for path, content in changes.items():
            if content is None:
                trees[branch].pop(path, None)
            else:
                trees[branch][path] = content
    lines.append(f"reset refs/heads/main\nfrom :{parents['main']}\n\n")
    repo.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet"], input="".join(lines).encode(), check=True
    )
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "-f", "main"], check=True)


def run_script(repo: Path, year: str) -> tuple[dict[str, int], float]:
    script = cache_dir() / "git-files-commits"
    script.write_text(SEED_SCRIPT)
    started = time.perf_counter()
    out = subprocess.run(
        ["bash", str(script), year], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    seconds = time.perf_counter() - started
    counts = {}
    for line in out.splitlines()[1:]:
        match = re.match(r"^\s*\d+\s+(\S+):\s+(\d+)$", line)
        if match:
            counts[match.group(1)] = int(match.group(2))
    return counts, seconds


def run_kernlab(repo: Path, year: str) -> tuple[dict[str, int], float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "kernlab", "churn", year, str(repo), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    seconds = time.perf_counter() - started
    return {e["name"]: e["commits"] for e in json.loads(out)["entries"]}, seconds


def naive_counts(repo: Path, year: str) -> dict[str, int]:
    out = subprocess.run(
        [
            *("git", "-C", str(repo), "log", "--no-merges", "--format=tformat:@", "--name-only"),
            *(f"--after={year}-01-01", f"--before={year}-12-31", "HEAD"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: dict[str, int] = {}
    for block in out.split("@")[1:]:
        for top in {line.split("/", 1)[0] for line in block.split() if line}:
            counts[top] = counts.get(top, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=55000)
    parser.add_argument("--entries", type=int, default=120)
    parser.add_argument("--year", default="2019")
    args = parser.parse_args()
    repo = cache_dir() / f"repo-{args.commits}-{args.entries}"
    if not (repo / ".git").exists():
        print(f"generating {repo} ...", flush=True)
        started = time.perf_counter()
        generate(repo, args.commits, args.entries)
        print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    total = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True
    )
    merges = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "--merges", "HEAD"], capture_output=True, text=True
    )
    print(
        f"repository: {total.stdout.strip()} commits, {merges.stdout.strip()} merges, {args.entries} entries"
    )
    ours, ours_s = run_kernlab(repo, args.year)
    script, script_s = run_script(repo, args.year)
    naive = naive_counts(repo, args.year)
    naive_diff = sum(1 for k, v in script.items() if naive.get(k, 0) != v)
    same = ours == script
    print(f"seed script : {script_s:8.2f} s")
    print(f"kernlab     : {ours_s:8.2f} s   ({script_s / ours_s:.1f}x faster)")
    print(f"identical counts for all {len(script)} entries: {same}")
    print(f"a naive single pass (git log --name-only) differs on {naive_diff} of {len(script)} entries")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if not same:
        bad = {k: (ours.get(k), v) for k, v in script.items() if ours.get(k) != v}
        print("DIFFERENCES:", bad)
        sys.exit(1)


if __name__ == "__main__":
    main()
