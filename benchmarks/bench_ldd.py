"""Benchmark and cross-check `kernlab ldd` against the real ldd on many files.

For every ELF file in the given directories (default /usr/bin and /usr/lib/x86_64-linux-gnu),
runs ``ldd FILE`` and kernlab's resolver in process, compares the lines (addresses dropped,
paths made real), and reports the agreement and the time each side took in total.

    python benchmarks/bench_ldd.py [--limit N] [DIR ...]

Prints a Markdown table and the first mismatches, if any; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time

_ADDRESS = re.compile(r"\s*\(0x[0-9a-f]+\)$")


def normalise(line: str) -> str:
    line = _ADDRESS.sub("", line.strip())
    if " => " in line:
        name, path = line.split(" => ", 1)
        return f"{name} => {path if path == 'not found' else os.path.realpath(path)}"
    return os.path.realpath(line) if line.startswith("/") and os.path.exists(line) else line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", default=["/usr/bin", "/usr/lib/x86_64-linux-gnu"])
    parser.add_argument("--limit", type=int, default=0, help="stop after this many files (0: all)")
    args = parser.parse_args()

    from kernlab.elf.ldd import read_identity
    from kernlab.render.views.ldd import ldd_lines
    from kernlab.reports.ldd import build

    files = []
    for folder in args.dirs:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_file() and not entry.is_symlink() and read_identity(entry.path) is not None:
                files.append(entry.path)
    if args.limit:
        files = files[: args.limit]
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    ldd_time = ours_time = 0.0
    mismatches = []
    libraries = 0
    for path in files:
        start = time.perf_counter()
        proc = subprocess.run(["ldd", path], capture_output=True, text=True, env=env)
        ldd_time += time.perf_counter() - start
        expected = [normalise(ln) for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
        start = time.perf_counter()
        got = [normalise(ln) for ln in ldd_lines(build(path))]
        ours_time += time.perf_counter() - start
        libraries += sum(1 for ln in got if " => " in ln)
        if got != expected:
            mismatches.append((path, expected, got))
    n = len(files)
    print("| measurement | value |")
    print("|---|---|")
    print(f"| ELF files compared | {n:,} ({libraries:,} resolved library lines) |")
    print(f"| identical to ldd (same lines, same order) | {n - len(mismatches):,} |")
    totals = (("ldd (a process each, runs the loader)", ldd_time), ("kernlab (in process)", ours_time))
    for label, total in totals:
        print(f"| {label}, total | {total:.1f} s ({total / n * 1000:.1f} ms/file) |")
    for path, expected, got in mismatches[:5]:
        print(f"\nMISMATCH {path}\n  ldd:     {expected}\n  kernlab: {got}")


if __name__ == "__main__":
    main()
