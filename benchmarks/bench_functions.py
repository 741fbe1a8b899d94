#!/usr/bin/env python3
"""Per-call cost of `kernlab record --functions`: a tight loop calling a leaf function N times.

The program is tests/programs/fn_loop.c (built -O0, leaf() noinline). The figure is the
command's own CPU time (user + system, from wait4's rusage — what a uprobe trap costs is mostly
system time), median of REPEAT interleaved runs; the per-call cost is the difference to the
plain run divided by N.

Methods:
  plain         the program alone
  raw-tracefs   one uprobe + one uretprobe on leaf() defined by hand in uprobe_events and enabled
                in a private tracefs instance filtered on nothing else: the floor of the mechanism
  kernlab       kernlab record --functions -q -d TMP -- prog N (its rusage from meta.json), which
                probes main() and leaf() and records system calls, faults and scheduling too

Run as root:  python benchmarks/bench_functions.py [--calls 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from kernlab.elf.reader import open_elf
from kernlab.tracing.instance import Instance
from kernlab.tracing.tracefs import tracefs_root
from kernlab.tracing.uprobes import ProbeSpec, UprobeGroup

SOURCE = Path(__file__).parents[1] / "tests" / "programs" / "fn_loop.c"


def cpu_of(argv: list[str]) -> float:
    """User + system seconds of one run (wait4's rusage)."""
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _, _, usage = os.wait4(pid, 0)
    return usage.ru_utime + usage.ru_stime


def raw_tracefs(prog: str, calls: int) -> float:
    root = tracefs_root()
    image = open_elf(prog)
    leaf = next(s for s in image.symbols(".symtab") if s.name == "leaf" and s.type == "FUNC")
    offset = image.offset_for_vaddr(leaf.value)
    assert offset is not None
    group = UprobeGroup(root)
    try:
        group.define([ProbeSpec("e0", prog, offset), ProbeSpec("r0", prog, offset, True)])
        with Instance.create(root, "bench") as instance:
            instance.enable_event(group.group)
            instance.tracing_on(True)
            return cpu_of([prog, str(calls)])
    finally:
        group.remove()


def kernlab(prog: str, calls: int, folder: str) -> float:
    out = Path(folder) / "rec"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "kernlab",
            "record",
            "--functions",
            "-q",
            "-d",
            str(out),
            "--",
            prog,
            str(calls),
        ],
        check=True,
        capture_output=True,
    )
    usage = json.loads((out / "meta.json").read_text())["rusage"]
    return usage["utime_s"] + usage["stime_s"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        prog = f"{folder}/fn_loop"
        subprocess.run(["gcc", "-O0", "-o", prog, str(SOURCE)], check=True)
        methods = {
            "plain": lambda: cpu_of([prog, str(args.calls)]),
            "raw-tracefs": lambda: raw_tracefs(prog, args.calls),
            "kernlab": lambda: kernlab(prog, args.calls, folder),
        }
        times: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(args.repeat):
            for name, run in methods.items():
                times[name].append(run())
    plain = statistics.median(times["plain"])
    raw = statistics.median(times["raw-tracefs"])
    print(f"{args.calls:,} calls of leaf(), median of {args.repeat} runs, CPU time of the command")
    print(f"{'method':<12} {'cpu s':>8} {'per call':>10} {'vs raw':>8}")
    for name, values in times.items():
        cpu = statistics.median(values)
        per_call = (cpu - plain) / args.calls * 1e9
        versus = f"{(cpu - plain) / (raw - plain) * 100 - 100:+.0f}%" if name == "kernlab" else ""
        print(f"{name:<12} {cpu:8.3f} {per_call:8.0f} ns {versus:>8}")


if __name__ == "__main__":
    main()
