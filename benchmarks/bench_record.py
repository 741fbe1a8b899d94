#!/usr/bin/env python3
"""How much `kernlab record` slows a system-call-heavy command, against its peers.

The command is `dd if=/dev/zero of=/dev/null bs=1 count=N`: two system calls per byte. Each
way of tracing it runs REPEAT times (interleaved, so drift hits every method alike); the figure
is the median of dd's own "copied, X s" time, i.e. the cost inside the traced command, plus the
median wall time of the whole run (start-up and teardown of the tracer included).

Methods:
  plain         dd alone
  bare-instance a tracefs instance with kernlab's default events, filtered on dd, nothing
                reading it: the floor any ftrace-based recorder pays
  kernlab       kernlab record -q -d TMP -- dd ...
  strace -f -c  strace counting system calls
  perf trace -s perf trace summarising system calls

Run as root:  python benchmarks/bench_record.py [--count 100000] [--repeat 5]
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
from collections.abc import Callable
from pathlib import Path

from kernlab.recording.events import DEFAULT_GROUPS, EVENT_GROUPS
from kernlab.recording.recorder import default_buffer_kb
from kernlab.tracing.instance import Instance
from kernlab.tracing.tracefs import available_events, tracefs_root

COPIED = re.compile(r"copied, ([0-9.]+) s")


def dd_args(count: int) -> list[str]:
    return ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}"]


def run_timed(argv: list[str], preexec: Callable[[int], None] | None = None) -> tuple[float, float]:
    """(dd's own seconds, wall seconds) of one run; dd's report is found in stderr."""
    t0 = time.perf_counter()
    if preexec is None:
        proc = subprocess.run(argv, capture_output=True, text=True)
        stderr = proc.stderr
    else:
        # Start the child stopped on a pipe so its pid can go into set_event_pid first.
        read_fd, write_fd = os.pipe()
        proc_ = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import os,sys; os.read(int(sys.argv[1]),1); os.execvp(sys.argv[2], sys.argv[2:])",
                str(read_fd),
                *argv,
            ],
            pass_fds=(read_fd,),
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(read_fd)
        preexec(proc_.pid)
        t0 = time.perf_counter()
        os.write(write_fd, b"x")
        os.close(write_fd)
        _, stderr = proc_.communicate()
    wall = time.perf_counter() - t0
    match = COPIED.search(stderr)
    if not match:
        raise SystemExit(f"no dd timing in output of {argv}: {stderr[-500:]}")
    return float(match.group(1)), wall


def bare_instance_factory() -> tuple[Instance, Callable[[int], None]]:
    root = tracefs_root()
    available = available_events(root)
    inst = Instance.create(root, purpose="bench")
    inst.tracing_on(False)
    inst.set_buffer_size_kb(default_buffer_kb(len(inst.cpus())))
    inst.set_option("event-fork", True)
    for group in DEFAULT_GROUPS:
        for spec in EVENT_GROUPS[group]:
            system, event = spec.split(":")
            if event in available.get(system, []):
                inst.enable_event(system, event)

    def arm(pid: int) -> None:
        inst.set_event_pids([pid])
        inst.tracing_on(True)

    return inst, arm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: tracing needs it")
    dd = dd_args(args.count)
    tmp = Path(tempfile.mkdtemp(prefix="kernlab-bench-"))
    methods: dict[str, list[str] | None] = {
        "plain": dd,
        "bare-instance": None,
        "kernlab record": [
            sys.executable,
            "-m",
            "kernlab",
            "record",
            "-q",
            "-d",
            str(tmp / "rec"),
            "--",
            *dd,
        ],
    }
    if shutil.which("strace"):
        methods["strace -f -c"] = ["strace", "-f", "-c", "-o", str(tmp / "strace.out"), *dd]
    if shutil.which("perf"):
        methods["perf trace -s"] = ["perf", "trace", "-s", "-o", str(tmp / "perf.out"), *dd]
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
    try:
        for _ in range(args.repeat):
            for name, argv in methods.items():
                if argv is None:
                    inst, arm = bare_instance_factory()
                    try:
                        results[name].append(run_timed(dd, preexec=arm))
                    finally:
                        inst.remove()
                else:
                    results[name].append(run_timed(argv))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    plain = statistics.median(r[0] for r in results["plain"])
    floor = statistics.median(r[0] for r in results["bare-instance"])
    print(f"command: {' '.join(dd)}   repeat: {args.repeat}")
    print(f"cpus: {os.cpu_count()}   kernel: {os.uname().release}")
    print(f"{'method':<16} {'dd time (median)':>17} {'slowdown':>9} {'vs floor':>9} {'wall (median)':>14}")
    for name, runs in results.items():
        inner = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(f"{name:<16} {inner:>15.3f} s {inner / plain:>8.1f}x {inner / floor:>8.2f}x {wall:>12.3f} s")


if __name__ == "__main__":
    main()
