"""`kernlab disasm FILE` (every executable section) against `objdump -d FILE`, side by side.

Both commands run alternately in one process (so both see the same machine load), writing to
/dev/null; the best and the median wall and CPU times of each are printed, with the ratio, and
the listing is checked to be objdump's line for line (kernlab's `   → name(2) …` annotations
and its closing sentences removed).

The CPU time is every process's: kernlab lists a big file with forked children on idle CPUs
and does not wait for a child's exit, so this script makes itself their reaper
(PR_SET_CHILD_SUBREAPER) and counts them too. kernlab runs as installed, its bytecode cached:
PYTHONDONTWRITEBYTECODE is dropped from its environment and a first run writes the cache.

    python benchmarks/bench_disasm_file.py [FILE ...] [--runs N] [--jobs N]

FILE defaults to this machine's libc.so.6.
"""

from __future__ import annotations

import argparse
import contextlib
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


# A user's installed kernlab has its bytecode cached; a sandbox may forbid writing it.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def become_reaper() -> None:
    """Orphans of the commands run here (kernlab's children, which it leaves to exit on their
    own) become this process's, so that their CPU time is counted."""
    import ctypes

    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def timed(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children) of one run with stdout at
    /dev/null; the wall time ends when the command exits."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(argv, stdout=sink, check=True, env=ENV)
    wall = time.perf_counter() - start
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-1, 0)  # orphans handed to this reaper
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def same_listing(path: str) -> tuple[int, int]:
    """(lines compared, lines that differ) between objdump -d and kernlab disasm."""
    theirs = subprocess.run(["objdump", "-d", path], capture_output=True, text=True, check=True).stdout
    ours = subprocess.run(
        [*kernlab_command(), "disasm", path], capture_output=True, text=True, check=True, env=ENV
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
    parser.add_argument("--jobs", type=int, default=None, help="kernlab disasm --jobs (default: its own)")
    args = parser.parse_args()
    if shutil.which("objdump") is None:
        sys.exit("objdump is not installed")
    files = args.files or [find_libc()]
    become_reaper()
    print(f"load average before: {os.getloadavg()[0]:.2f}; cpus: {os.cpu_count()}")
    for path in files:
        lines, differ = same_listing(path)
        print(f"{path}: {lines} lines of objdump -d, {differ} differ from kernlab disasm")
        runs: dict[str, list[tuple[float, float]]] = {"objdump": [], "kernlab": []}
        for _ in range(args.runs):
            runs["objdump"].append(timed(["objdump", "-d", path]))
            jobs = ["--jobs", str(args.jobs)] if args.jobs else []
            runs["kernlab"].append(timed([*kernlab_command(), "disasm", path, *jobs]))
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
