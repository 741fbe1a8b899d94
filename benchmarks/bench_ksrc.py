"""Benchmark: `kernlab ksrc` on a real kernel tree (Debian's linux-source-6.1) against ripgrep.

Extracts the tarball into the cache once (as the slow test does), then measures:

* the index build (``kernlab ksrc index --rebuild``, whole process, and its CPU time);
* each query as a whole process (``kernlab ksrc … --json``) and in-process (library call);
* ripgrep answering the same question over the same tree (the yardstick);
* the incremental update: a query on the unchanged tree, then after editing one file (a
  function appended to fs/namei.c, then taken out again), each as a whole process, with the
  files re-parsed as the index reports them (``--incremental-only`` measures just that).

    python benchmarks/bench_ksrc.py [--tree DIR] [--no-build] [--incremental-only]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")

QUERIES = [
    ("syscall", "rename", r"SYSCALL_DEFINE\d\(rename,"),
    ("ops", "ext4_rename2", r"\.\w+\s*=\s*ext4_rename2\b"),
    ("def", "task_struct", r"^struct task_struct \{"),
    ("refs", "do_renameat2", r"\bdo_renameat2\b"),
]


def extracted_tree() -> Path:
    from kernlab.source.ksrc.index import cache_dir

    tree = cache_dir() / "ksrc-src" / "linux-source-6.1"
    if not (tree / "Makefile").exists():
        tree.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        subprocess.run(["tar", "-xf", str(TARBALL), "-C", str(tree.parent)], check=True)
        print(f"extracted {TARBALL} in {time.perf_counter() - started:.1f} s")
    return tree


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the process and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best_of(cmd: list[str], runs: int = 3) -> tuple[float, float]:
    """The (wall, CPU) seconds of the fastest of ``runs`` runs."""
    return min(timed(cmd) for _ in range(runs))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def query_json(cmd: list[str]) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU seconds of one ``kernlab … --json`` process, and its answer."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 8):
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(done.stdout)


def incremental(kernlab: list[str], tree: Path) -> None:
    """Queries after no change and after one edited file; the edit is undone at the end."""
    edited = tree / "fs" / "namei.c"
    original = edited.read_bytes()
    ask = [*kernlab, "def", "bench_appended_function", "--json"]
    rows = []
    try:
        for _ in range(3):
            rows.append(("unchanged tree", *query_json(ask)))
        for run in range(3):
            with open(edited, "ab") as fh:
                fh.write(f"\nint bench_appended_function(void)\n{{\n\treturn {run};\n}}\n".encode())
            rows.append(("one file edited", *query_json(ask)))
    finally:
        edited.write_bytes(original)
    rows.append(("edit undone", *query_json(ask)))
    print(f"{'incremental query (def)':<24} {'wall':>7} {'CPU':>7} {'re-parsed':>9} {'update':>8} found")
    for what, wall, cpu, answer in rows:
        index = answer["index"]
        print(
            f"{what:<24} {wall:>6.2f}s {cpu:>6.2f}s {index['reparsed_files']:>9}"
            f" {index['update_seconds']:>7.2f}s {len(answer['definitions'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=None)
    parser.add_argument("--no-build", action="store_true", help="Measure queries on the cached index only.")
    parser.add_argument(
        "--incremental-only", action="store_true", help="Only the incremental update (no ripgrep)."
    )
    args = parser.parse_args()
    tree = args.tree or extracted_tree()
    kernlab = [sys.executable, "-m", "kernlab", "ksrc", "--tree", str(tree)]
    print(f"tree: {tree}  (load average {load()} on {os.cpu_count()} CPUs)")
    if not args.no_build:
        wall, cpu = timed([*kernlab, "index", "--rebuild", "--json"])
        print(f"index build: {wall:.1f} s wall, {cpu:.1f} s CPU (all workers); load now {load()}")
    incremental(kernlab, tree)
    if args.incremental_only:
        return
    from kernlab.source.ksrc.index import index_location

    location = index_location(tree)
    if location.is_dir():
        size = sum(f.stat().st_size for f in location.iterdir())
        print(f"index size: {size / 1e6:.0f} MB in {location}")
    from kernlab.source.ksrc import query

    library = {
        "syscall": query.find_syscall,
        "ops": query.find_ops,
        "def": query.find_definitions,
        "refs": query.find_references,
    }
    rg = shutil.which("rg")
    print(f"{'query':<22} {'kernlab process wall/CPU':>25} {'library':>8} {'ripgrep wall/CPU':>17}")
    for command, name, pattern in QUERIES:
        wall, cpu = best_of([*kernlab, command, name, "--json"])
        started = time.perf_counter()
        library[command](tree, name)
        in_process = time.perf_counter() - started
        rg_cmd = [rg or "rg", "-n", "--no-heading", "-g", "*.[ch]", pattern, str(tree)]
        rg_wall, rg_cpu = best_of(rg_cmd, 2) if rg else (float("nan"), float("nan"))
        print(
            f"{command + ' ' + name:<22} {wall:>15.2f}s /{cpu:>5.2f}s {in_process:>7.2f}s"
            f" {rg_wall:>8.2f}s /{rg_cpu:>5.2f}s"
        )
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
