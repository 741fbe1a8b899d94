"""Benchmark `kernlab elf --json` (everything, all symbols) against GNU readelf and pyelftools.

Each tool runs as a whole process, as a user would run it, on the same files:

    kernlab elf --json FILE          (kernlab: header, segments, sections, symbols, dynamic, notes)
    readelf -hlSsdW FILE             (GNU binutils)
    readelf.py -h -l -S -s -d FILE   (pyelftools' readelf clone)

and the medians of several runs are reported, for wall-clock time and for CPU time (user +
system, from getrusage of the children), which is steadier on a busy machine. The in-process
cost of the library (open + every table, no JSON) is measured too.

    python benchmarks/bench_elf.py --runs 7 [FILE ...]

Prints a Markdown table; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

DEFAULT_FILES = (
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so",
)


def run_once(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command`` with its output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def medians(command: list[str], runs: int) -> tuple[float, float]:
    run_once(command)  # warm the page cache and bytecode caches
    samples = [run_once(command) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def library_cost(path: str, runs: int) -> float:
    """Median seconds to open ``path`` and read every table in-process (no JSON, no start-up)."""
    from kernlab.elf.reader import open_elf, report

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        report(open_elf(path))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=list(DEFAULT_FILES))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    tools = {
        "kernlab elf --json": [sys.executable, "-m", "kernlab", "elf", "--json"],
        "readelf -hlSsdW": ["readelf", "-hlSsdW"],
        "readelf.py -h -l -S -s -d": ["readelf.py", "-h", "-l", "-S", "-s", "-d"],
    }
    tools = {name: cmd for name, cmd in tools.items() if shutil.which(cmd[0]) or cmd[0] == sys.executable}
    print(f"runs per cell: {args.runs} (medians); CPU = user + system time of the process")
    print()
    print("| file | size | symbols | tool | wall s | CPU s | CPU × readelf |")
    print("|---|---:|---:|---|---:|---:|---:|")
    from kernlab.elf.reader import open_elf

    floor_wall, floor_cpu = medians([sys.executable, "-m", "kernlab", "--version"], args.runs)
    print(f"| (none) | | | kernlab --version (start-up floor) | {floor_wall:.3f} | {floor_cpu:.3f} | |")
    for path in args.files:
        if not os.path.isfile(path):
            print(f"| {path} | missing | | | | | |")
            continue
        size_mib = os.path.getsize(path) / (1 << 20)
        nsym = len(open_elf(path).symbols())
        results = {name: medians([*cmd, path], args.runs) for name, cmd in tools.items()}
        base = results.get("readelf -hlSsdW", (0.0, 0.0))[1]
        for name, (wall, cpu) in results.items():
            ratio = f"{cpu / base:.1f}×" if base else "-"
            name_cells = f"| {os.path.basename(path)} | {size_mib:.1f} MiB | {nsym} | {name} |"
            print(f"{name_cells} {wall:.3f} | {cpu:.3f} | {ratio} |")
        lib = library_cost(path, args.runs)
        label = "kernlab library (open + all tables, in-process)"
        print(f"| {os.path.basename(path)} | | | {label} | {lib:.3f} | | |")


if __name__ == "__main__":
    main()
