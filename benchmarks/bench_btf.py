"""Benchmark kernlab's BTF reader and `kernlab struct` against bpftool and pahole.

In process (the library, no interpreter start-up):

    load_btf()                      parse the header and find every type record
    find("task_struct")             first name lookup (builds the name index)
    struct_layout(name)             one layout, for the structures the guide shows
    every named struct and union    all layouts, one after another

As whole processes (what a user waits for), medians of wall-clock and CPU time:

    kernlab struct task_struct
    bpftool btf dump file /sys/kernel/btf/vmlinux format raw     (all types, as text)
    pahole -C task_struct /sys/kernel/btf/vmlinux                  (when installed)

    python benchmarks/bench_btf.py --runs 7

Prints a Markdown table; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time

VMLINUX = "/sys/kernel/btf/vmlinux"
NAMED = ("task_struct", "mm_struct", "vm_area_struct", "folio", "page", "file", "inode")


def run_once(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command``, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def process_medians(command: list[str], runs: int) -> tuple[float, float]:
    run_once(command)
    samples = [run_once(command) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def timed(func, runs: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from kernlab.source.btf import load_btf
    from kernlab.source.btf_layout import struct_layout

    rows: list[tuple[str, str]] = []
    btf = load_btf()
    rows.append(("types in vmlinux BTF", f"{btf.type_count:,}"))
    rows.append(("load_btf() (parse, find every record)", f"{timed(load_btf, args.runs) * 1000:.1f} ms"))

    def first_find() -> None:
        load_btf().find("task_struct", "STRUCT")

    rows.append(("load_btf() + first find('task_struct')", f"{timed(first_find, args.runs) * 1000:.1f} ms"))
    for name in NAMED:
        fresh = load_btf()
        start = time.perf_counter()
        layout = struct_layout(fresh, name)
        took = time.perf_counter() - start
        rows.append(
            (f"struct_layout({name}) on a fresh load, {len(layout.members)} members", f"{took * 1000:.1f} ms")
        )

    names = sorted(set(btf.names_of_kind("STRUCT", "UNION")))
    start = time.perf_counter()
    for name in names:
        struct_layout(btf, name)
    took = time.perf_counter() - start
    rows.append(
        (
            f"every named struct/union ({len(names):,}) laid out",
            f"{took:.2f} s ({took / len(names) * 1e6:.0f} µs each)",
        )
    )

    commands = [("kernlab struct task_struct", [sys.executable, "-m", "kernlab", "struct", "task_struct"])]
    if shutil.which("bpftool"):
        commands.append(
            ("bpftool btf dump … format raw", ["bpftool", "btf", "dump", "file", VMLINUX, "format", "raw"])
        )
    if shutil.which("pahole"):
        commands.append(("pahole -C task_struct", ["pahole", "-C", "task_struct", VMLINUX]))
    for label, command in commands:
        wall, cpu = process_medians(command, args.runs)
        rows.append((f"process: {label}", f"{wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"))

    print("| measurement | median |")
    print("|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
