"""`kernlab disasm FILE` (every executable section) against `objdump -d FILE`, side by side.

Both commands run alternately in one process (so both see the same machine load), writing to
/dev/null; the best and the median wall and CPU times of each are printed, with the ratio, and
the listing is checked to be objdump's line for line (kernlab's `   → name(2) …` annotations
and its closing sentences removed).

    python benchmarks/bench_disasm_file.py [FILE ...] [--runs N]

FILE defaults to this machine's libc.so.6.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time


def kernlab_command() -> list[str]:
    """The installed entry point itself (a pyenv shim would add its own start-up)."""
    script = os.path.join(os.path.dirname(sys.executable), "kernlab")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "kernlab.cli.main"]


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run with stdout at /dev/null."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(argv, stdout=sink, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def same_listing(path: str) -> tuple[int, int]:
    """(lines compared, lines that differ) between objdump -d and kernlab disasm."""
    theirs = subprocess.run(["objdump", "-d", path], capture_output=True, text=True, check=True).stdout
    ours = subprocess.run(
        [*kernlab_command(), "disasm", path], capture_output=True, text=True, check=True
    ).stdout
    mine = [re.sub(r"   → .*$", "", line) for line in ours.splitlines() if not line.startswith("→ ")]
    theirs_lines = theirs.splitlines()
    differ = sum(1 for a, b in zip(theirs_lines, mine, strict=False) if a != b)
    differ += abs(len(theirs_lines) - len(mine))
    return len(theirs_lines), differ


def main() -> None:
    from kernlab.elf.disasm.libc import find_libc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("objdump") is None:
        sys.exit("objdump is not installed")
    files = args.files or [find_libc()]
    print(f"load average before: {os.getloadavg()[0]:.2f}; cpus: {os.cpu_count()}")
    for path in files:
        lines, differ = same_listing(path)
        print(f"{path}: {lines} lines of objdump -d, {differ} differ from kernlab disasm")
        runs: dict[str, list[tuple[float, float]]] = {"objdump": [], "kernlab": []}
        for _ in range(args.runs):
            runs["objdump"].append(timed(["objdump", "-d", path]))
            runs["kernlab"].append(timed([*kernlab_command(), "disasm", path]))
        for name, figures in runs.items():
            walls = [w for w, _ in figures]
            cpus = [c for _, c in figures]
            print(
                f"  {name:8} wall best {min(walls):.3f} s median {statistics.median(walls):.3f} s; "
                f"CPU best {min(cpus):.3f} s median {statistics.median(cpus):.3f} s"
            )
        ratio_wall = statistics.median(w for w, _ in runs["kernlab"]) / statistics.median(
            w for w, _ in runs["objdump"]
        )
        ratio_cpu = min(c for _, c in runs["kernlab"]) / min(c for _, c in runs["objdump"])
        print(f"  kernlab / objdump: median wall {ratio_wall:.2f}x, best CPU {ratio_cpu:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
