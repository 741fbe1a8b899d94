"""Benchmark `kernlab elf --json` (everything, all symbols) against GNU readelf and pyelftools.

Each tool runs as a whole process, as a user would run it, on the same files:

    kernlab elf --json FILE          (kernlab: header, segments, sections, symbols, dynamic, notes)
    readelf -hlSsdW FILE             (GNU binutils)
    readelf.py -h -l -S -s -d FILE   (pyelftools' readelf clone)

and the medians of several runs are reported, for wall-clock time and for CPU time (user +
system, from getrusage of the children), which is steadier on a busy machine. kernlab runs
with Python's bytecode cache allowed (PYTHONDONTWRITEBYTECODE removed from its environment),
as an installed package has its modules compiled; the warm-up run writes the cache. The
in-process cost of the library (open + every table, no JSON) is measured too, and the cost of
``open_elf`` on every ELF file of a directory (what ldd and the symbolizer pay per file).

    python benchmarks/bench_elf.py --runs 7 [--baseline-src DIR] [FILE ...]

``--baseline-src DIR`` also measures the kernlab found in DIR (e.g. an export of an earlier
commit: ``git archive HEAD src | tar -x -C /tmp/base``, then ``--baseline-src /tmp/base/src``)
in the same conditions. Prints a Markdown table; nothing is written to disk but bytecode.
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

# open_elf on every ELF file of a directory, then what ldd reads; prints CPU seconds (best of 3).
OPEN_SNIPPET = """
import os, sys, time
from kernlab.elf.reader import open_elf
folder = sys.argv[1]
paths = []
for name in sorted(os.listdir(folder)):
    path = os.path.join(folder, name)
    try:
        with open(path, "rb") as f:
            if os.path.isfile(path) and f.read(4) == b"\\x7fELF":
                paths.append(path)
    except OSError:
        pass
best = {}
for _ in range(3):
    for what in ("open", "ldd", "mapping"):
        start = time.process_time()
        for path in paths:
            image = open_elf(path)
            if what == "ldd":
                image.needed, image.runpath, image.interpreter
                any(s.type == "DYNAMIC" for s in image.segments)
            elif what == "mapping":
                [s.sections for s in image.segments]
        best[what] = min(best.get(what, 1e9), time.process_time() - start)
print(len(paths), best["open"], best["ldd"], best["mapping"])
"""


def kernlab_env(src: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if src:
        env["PYTHONPATH"] = src
    return env


def run_once(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command`` with its output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def medians(command: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    run_once(command, env)  # warm the page cache and bytecode caches
    samples = [run_once(command, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def library_cost(path: str, runs: int) -> float:
    """Median seconds to open ``path`` and read every table in-process (no JSON, no start-up)."""
    from kernlab.elf.reader import open_elf
    from kernlab.reports.elf import from_image

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        from_image(open_elf(path))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def open_cost(folder: str, src: str | None) -> tuple[int, float, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", OPEN_SNIPPET, folder],
        capture_output=True,
        text=True,
        check=True,
        env=kernlab_env(src),
    ).stdout.split()
    return int(out[0]), float(out[1]), float(out[2]), float(out[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=list(DEFAULT_FILES))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline-src", help="also measure the kernlab package found in this src folder")
    parser.add_argument("--open-dir", default="/usr/bin", help="open_elf every ELF file of this folder")
    args = parser.parse_args()

    kernlab = [sys.executable, "-m", "kernlab", "elf", "--json"]
    tools: dict[str, tuple[list[str], dict[str, str] | None]] = {}
    if args.baseline_src:
        tools["kernlab elf --json (baseline)"] = (kernlab, kernlab_env(args.baseline_src))
    tools["kernlab elf --json"] = (kernlab, kernlab_env(None))
    tools["readelf -hlSsdW"] = (["readelf", "-hlSsdW"], None)
    tools["readelf.py -h -l -S -s -d"] = (["readelf.py", "-h", "-l", "-S", "-s", "-d"], None)
    tools = {name: t for name, t in tools.items() if shutil.which(t[0][0]) or t[0][0] == sys.executable}
    print(f"runs per cell: {args.runs} (medians); CPU = user + system time of the process")
    print()
    print("| file | size | symbols | tool | wall s | CPU s | CPU × readelf |")
    print("|---|---:|---:|---|---:|---:|---:|")
    from kernlab.elf.reader import open_elf

    floors = {
        "python -c pass (interpreter start-up)": [sys.executable, "-c", "pass"],
        "kernlab --version (start-up floor)": [sys.executable, "-m", "kernlab", "--version"],
    }
    for label, command in floors.items():
        floor_wall, floor_cpu = medians(command, args.runs, kernlab_env(None))
        print(f"| (none) | | | {label} | {floor_wall:.3f} | {floor_cpu:.3f} | |")
    for path in args.files:
        if not os.path.isfile(path):
            print(f"| {path} | missing | | | | | |")
            continue
        size_mib = os.path.getsize(path) / (1 << 20)
        nsym = sum(table.count for table in open_elf(path).symbol_columns())
        results = {name: medians([*cmd, path], args.runs, env) for name, (cmd, env) in tools.items()}
        base = results.get("readelf -hlSsdW", (0.0, 0.0))[1]
        for name, (wall, cpu) in results.items():
            ratio = f"{cpu / base:.1f}×" if base else "-"
            name_cells = f"| {os.path.basename(path)} | {size_mib:.1f} MiB | {nsym} | {name} |"
            print(f"{name_cells} {wall:.3f} | {cpu:.3f} | {ratio} |")
        lib = library_cost(path, args.runs)
        label = "kernlab library (open + all tables, in-process)"
        print(f"| {os.path.basename(path)} | | | {label} | {lib:.3f} | | |")
    if os.path.isdir(args.open_dir):
        print()
        print(f"open_elf on every ELF file of {args.open_dir}, in-process CPU seconds (best of 3):")
        print()
        print("| kernlab | files | open_elf | + what ldd reads | + every segment's sections |")
        print("|---|---:|---:|---:|---:|")
        for label, src in (("baseline", args.baseline_src), ("this tree", None)):
            if label == "baseline" and not src:
                continue
            n, opened, ldd, mapped = open_cost(args.open_dir, src)
            cells = " | ".join(f"{t:.3f} s ({t / n * 1e3:.2f} ms/file)" for t in (opened, ldd, mapped))
            print(f"| {label} | {n} | {cells} |")


if __name__ == "__main__":
    main()
