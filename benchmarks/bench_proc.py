"""Benchmark `kernlab ps` and `kernlab maps --all` against ps aux and pmap -x for every PID.

Whole-process wall-clock medians (what a user waits for), plus the in-process cost of the
library readers, which excludes the Python interpreter's start-up.

    python benchmarks/bench_proc.py --runs 15

Prints a Markdown table; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

CPU: dict[str, list[float]] = {}  # command name -> CPU seconds (user + sys) of each run


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(command: list[str], name: str | None = None) -> float:
    """Wall-clock seconds of one run; its CPU time is kept under ``name`` (less noisy under load)."""
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    CPU.setdefault(name or " ".join(command), []).append(_children_cpu() - cpu)
    return elapsed


def pmap_every_pid() -> float:
    """One `pmap -x PID` per process, as a script looping over /proc would do."""
    cpu = _children_cpu()
    start = time.perf_counter()
    for name in os.listdir("/proc"):
        if name.isdigit():
            subprocess.run(
                ["pmap", "-x", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
            )
    elapsed = time.perf_counter() - start
    CPU.setdefault("pmap", []).append(_children_cpu() - cpu)
    return elapsed


def median(runs: int, measure: Callable[[], float]) -> float:
    measure()  # warm the page cache and Python's bytecode cache
    return statistics.median(measure() for _ in range(runs))


def in_process(runs: int) -> dict[str, float]:
    from kernlab.proc.allmaps import read_all_maps
    from kernlab.proc.process import iter_processes

    def time_it(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return {
        "iter_processes() (library, all PIDs)": median(runs, lambda: time_it(lambda: list(iter_processes()))),
        "read_all_maps() (library, maps + smaps_rollup)": median(runs, lambda: time_it(read_all_maps)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    kernlab = [sys.executable, "-m", "kernlab"]
    processes = sum(1 for name in os.listdir("/proc") if name.isdigit())
    commands = [
        ("python -c pass (interpreter start-up alone)", [sys.executable, "-c", "pass"]),
        ("ps aux", ["ps", "aux"]),
        ("kernlab ps", [*kernlab, "ps"]),
        ("kernlab ps --quiet", [*kernlab, "ps", "--quiet"]),
        ("kernlab ps --json", [*kernlab, "ps", "--json"]),
        ("kernlab maps --all", [*kernlab, "maps", "--all"]),
        ("kernlab maps --all --json", [*kernlab, "maps", "--all", "--json"]),
    ]
    rows = []
    for name, command in commands:
        rows.append((name, median(args.runs, lambda c=command, n=name: wall(c, n)), name))
    rows.insert(5, ("pmap -x, once per PID", median(max(3, args.runs // 3), pmap_every_pid), "pmap"))
    load = os.getloadavg()[0]
    print(f"{processes} processes, {args.runs} runs, load average {load:.2f} on {os.cpu_count()} CPUs\n")
    print("| command | median wall | median CPU (user+sys) |")
    print("|---|---:|---:|")
    for name, seconds, key in rows:
        cpu = statistics.median(CPU[key][1:] or CPU[key])  # the first run warmed caches
        print(f"| `{name}` | {seconds * 1000:.1f} ms | {cpu * 1000:.1f} ms |")
    for name, seconds in in_process(args.runs).items():
        print(f"| `{name}` | {seconds * 1000:.1f} ms | (in process) |")


if __name__ == "__main__":
    main()
