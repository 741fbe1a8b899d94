"""Benchmark `kernlab maps` of a process with tens of thousands of VMAs against pmap -x.

Starts tests/programs/many_maps.c with N one-page areas (2N VMAs: each area and the PROT_NONE
page after it), then times each command whole (wall clock, median of --runs) while it waits.

    python benchmarks/bench_maps_many.py --areas 30000 --runs 5

Prints a Markdown table; the program is compiled into a temporary directory, removed after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

PROGRAM = Path(__file__).parents[1] / "tests" / "programs" / "many_maps.c"


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "many_maps"
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(PROGRAM)], check=True)
        proc = subprocess.Popen([str(exe), str(args.areas)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
            pid = str(proc.pid)
            with open(f"/proc/{pid}/maps") as fh:
                vmas = sum(1 for _ in fh)
            print(f"load average before: {os.getloadavg()[0]:.2f}; cpus: {os.cpu_count()}; VMAs: {vmas:,}")
            print("| command | median wall | best |\n|---|---|---|")
            for command in (
                ["pmap", "-x", pid],
                ["kernlab", "maps", "-x", pid],
                ["kernlab", "maps", pid],
                ["kernlab", "maps", "--json", pid],
            ):
                _wall(command)  # warm the page cache and Python's bytecode cache
                times = [_wall(command) for _ in range(args.runs)]
                name = " ".join(command[:-1])
                print(f"| `{name} PID` | {statistics.median(times):.3f} s | {min(times):.3f} s |")
            print(f"load average after: {os.getloadavg()[0]:.2f}")
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
