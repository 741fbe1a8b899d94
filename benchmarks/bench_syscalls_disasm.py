#!/usr/bin/env python3
"""Benchmark kernlab's disassembler, kallsyms reader and syscall commands on this machine.

Prints Markdown: disassembly speed and agreement with objdump on whole .text sections, reader
timings, and command latencies (median of several runs). Run from the repository root:

    python benchmarks/bench_syscalls_disasm.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kernlab.elf.disasm import disassemble_range
from kernlab.elf.reader import open_elf
from kernlab.kernel.kallsyms import lookup_kallsyms, read_kallsyms
from kernlab.elf.disasm.libc import find_libc

REPO = Path(__file__).resolve().parents[1]


def objdump_text(path: str, syntax: str = "att") -> tuple[dict[int, str], float]:
    t0 = time.perf_counter()
    extra = ["-M", "intel"] if syntax == "intel" else []
    out = subprocess.run(
        ["objdump", "-d", *extra, "--no-show-raw-insn", "-j", ".text", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    elapsed = time.perf_counter() - t0
    lines = {}
    for match in re.finditer(r"^\s+([0-9a-f]+):\s+(.*)$", out, re.M):
        lines[int(match[1], 16)] = " ".join(match[2].split())
    return lines, elapsed


def compare_text(path: str, syntax: str = "att") -> tuple[int, int, float, float]:
    """(instructions, equal to objdump, kernlab seconds, objdump seconds) for .text of path."""
    image = open_elf(path)
    text = next(s for s in image.sections if s.name == ".text")
    t0 = time.perf_counter()
    dis = disassemble_range(path, text.address, text.size, syntax)
    ours = time.perf_counter() - t0
    theirs, objdump_seconds = objdump_text(path, syntax)
    equal = sum(1 for i in dis.instructions if theirs.get(i.address) == " ".join(i.text.split()))
    return len(dis.instructions), equal, ours, objdump_seconds


def median_time(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kernlab", *args], capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer files and runs")
    args = parser.parse_args()
    runs = 3 if args.quick else 5

    print("## Disassembly of whole .text sections against objdump -d --no-show-raw-insn\n")
    print("| file | instructions | identical to objdump | kernlab s | objdump s | kernlab insn/s |")
    print("|---|---:|---:|---:|---:|---:|")
    files = [find_libc()]
    if not args.quick:
        files += [shutil.which("bash") or "/bin/bash", "/usr/bin/ls", "/lib64/ld-linux-x86-64.so.2"]
    with tempfile.TemporaryDirectory() as tmp:
        hello = os.path.join(tmp, "hello")
        if shutil.which("gcc"):
            subprocess.run(
                ["gcc", "-O2", "-o", hello, str(REPO / "tests/programs/disasm_calls.c")], check=True
            )
            files.append(hello)
        runs_of = [(path, "att") for path in files] + [(find_libc(), "intel")]
        for path, syntax in runs_of:
            if not os.path.exists(path):
                continue
            count, equal, ours, theirs = compare_text(os.path.realpath(path), syntax)
            name = "disasm_calls (gcc -O2)" if path == hello else path
            if syntax == "intel":
                name += " (--intel vs objdump -M intel)"
            print(
                f"| {name} | {count:,} | {equal:,} ({100 * equal / count:.3f}%) | {ours:.2f} | {theirs:.2f} "
                f"| {count / ours:,.0f} |"
            )

    print("\n## Readers\n")
    print("| operation | seconds (median of runs) |")
    print("|---|---:|")
    for label, func in (
        ("read_kallsyms() (all lines)", lambda: read_kallsyms()),
        (
            "lookup_kallsyms(5 names)",
            lambda: lookup_kallsyms(["_text", "_stext", "start_kernel", "do_syscall_64", "x"]),
        ),
    ):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            func()
            times.append(time.perf_counter() - t0)
        print(f"| {label} | {statistics.median(times):.3f} |")

    print("\n## Commands (wall time, median, including Python start-up)\n")
    print("| command | seconds |")
    print("|---|---:|")
    for cmd in (
        ["--version"],
        ["kernel", "--json"],
        ["syscall", "rename", "--json"],
        ["syscall", "rename", "--libc", "--json"],
        ["syscall", "--list", "--json"],
        ["disasm", find_libc(), "rename", "--json"],
    ):
        print(f"| `kernlab {' '.join(cmd)}` | {median_time(cmd, runs):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
