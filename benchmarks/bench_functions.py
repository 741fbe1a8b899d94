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
  raw+syscalls  the same, with raw_syscalls:sys_enter/sys_exit enabled in that instance too
                (filtered on the return probes' own `uretprobe` system call, as kernlab did
                before): raw_syscalls still builds a record for each uretprobe call, then drops it
  raw+percall   the same, with every per-call syscalls:* event enabled but the uretprobe pair
                (what kernlab arms under --functions where that system call exists): the floor
                of a recording that also records system calls
  perf-uprobe   the same pair through perf_event_open on the uprobe PMU
                (/sys/bus/event_source/devices/uprobe), for the command's pid only: the kernel
                plants the breakpoint in that process alone; samples go to a perf ring buffer
  kernlab       kernlab record --functions -q -d TMP -- prog N (its rusage from meta.json), which
                probes main() and leaf() (and the program's PLT stub of atol, called once) and
                records system calls, faults and scheduling too
  kernlab-only  the same with --only -e sched:sched_process_fork,sched_process_exit (the fork
                events let the probes keep their own unfiltered buffer): the probes without the
                system-call events

Besides the command's CPU, kernlab's own CPU (the `kernlab record` process: arming, the
drainer thread, saving) is printed for the kernlab rows.

Run as root:  python benchmarks/bench_functions.py [--calls 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

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


def _leaf_offset(prog: str) -> int:
    image = open_elf(prog)
    leaf = next(s for s in image.symbols(".symtab") if s.name == "leaf" and s.type == "FUNC")
    offset = image.offset_for_vaddr(leaf.value)
    assert offset is not None
    return offset


def _uretprobe_number() -> int | None:
    from kernlab.recording.syscall_names import syscall_namer

    return next((nr for nr, name in syscall_namer(os.uname().machine).items() if name == "uretprobe"), None)


def raw_tracefs(prog: str, calls: int, syscalls: str = "") -> float:
    """``syscalls``: "" (none), "raw" (raw_syscalls, uretprobe filtered out) or "per-call"."""
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
            if syscalls == "per-call":
                instance.enable_event("syscalls")
                for event in ("sys_enter_uretprobe", "sys_exit_uretprobe"):
                    if instance.file(f"events/syscalls/{event}").exists():
                        instance.write(f"events/syscalls/{event}/enable", "0")
            elif syscalls:
                instance.enable_event("raw_syscalls")
                number = _uretprobe_number()
                for event in ("sys_enter", "sys_exit"):
                    if number is not None:
                        instance.write(f"events/raw_syscalls/{event}/filter", f"id != {number}")
            instance.tracing_on(True)
            return cpu_of([prog, str(calls)])
    finally:
        group.remove()


_PERF_FLAG_FD_CLOEXEC = 8
_PERF_EVENT_IOC_SET_OUTPUT = 0x2405
_PERF_SAMPLE_TID_TIME = (1 << 1) | (1 << 2)


def _perf_uprobe(pmu: int, pid: int, path: Any, offset: int, is_return: bool) -> int:
    """One uprobe perf event for ``pid`` (config bit 0: a return probe, as the PMU's
    ``format/retprobe`` says on this kernel)."""
    import ctypes

    attr = struct.pack(
        "<IIQQQQQIIQQ",
        pmu,
        128,
        1 if is_return else 0,
        1,  # sample_period: every hit
        _PERF_SAMPLE_TID_TIME,
        0,
        0,  # flags: enabled, not inherited
        0,
        0,
        ctypes.addressof(path),  # config1: uprobe_path
        offset,  # config2: probe_offset
    ).ljust(128, b"\0")
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(attr, 128)
    fd = libc.syscall(298 if os.uname().machine == "x86_64" else 241, buf, pid, -1, -1, _PERF_FLAG_FD_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "perf_event_open")
    return int(fd)


def perf_uprobe(prog: str, calls: int) -> float:
    """The pair through the uprobe PMU, opened on the command's pid before it execs."""
    import ctypes
    import fcntl
    import mmap

    pmu = int(Path("/sys/bus/event_source/devices/uprobe/type").read_text())
    offset = _leaf_offset(prog)
    path = ctypes.create_string_buffer(prog.encode())
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        os.read(go_r, 1)
        os.execv(prog, [prog, str(calls)])
    os.close(go_r)
    fds: list[int] = []
    try:
        fds = [_perf_uprobe(pmu, pid, path, offset, False), _perf_uprobe(pmu, pid, path, offset, True)]
        pages = 1 << 12  # 16 MiB: every sample of 200,000 calls fits, none is lost
        ring = mmap.mmap(fds[0], (pages + 1) * mmap.PAGESIZE)
        fcntl.ioctl(fds[1], _PERF_EVENT_IOC_SET_OUTPUT, fds[0])
        os.write(go_w, b"x")
        _, _, usage = os.wait4(pid, 0)
        head = struct.unpack_from("<Q", ring, 1024)[0]  # data_head
        ring.close()
        if head < calls * 2 * 24:
            print(f"perf-uprobe: only {head} bytes of samples for {calls} calls", file=sys.stderr)
        return usage.ru_utime + usage.ru_stime
    finally:
        os.close(go_w)
        for fd in fds:
            os.close(fd)


OWN_CPU: dict[str, list[float]] = {}
"""kernlab's own CPU per run (all of `kernlab record`'s children's time minus the command's)."""


def kernlab(prog: str, calls: int, folder: str, label: str, extra: tuple[str, ...] = ()) -> float:
    out = Path(folder) / "rec"
    argv = [sys.executable, "-m", "kernlab", "record", "--functions", *extra, "-q", "-d", str(out)]
    before = os.times()
    subprocess.run([*argv, "--", prog, str(calls)], check=True, capture_output=True)
    after = os.times()
    usage = json.loads((out / "meta.json").read_text())["rusage"]
    command = float(usage["utime_s"] + usage["stime_s"])
    children = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    OWN_CPU.setdefault(label, []).append(children - command)
    return command


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
            "raw+syscalls": lambda: raw_tracefs(prog, args.calls, syscalls="raw"),
            "raw+percall": lambda: raw_tracefs(prog, args.calls, syscalls="per-call"),
            "perf-uprobe": lambda: perf_uprobe(prog, args.calls),
            "kernlab": lambda: kernlab(prog, args.calls, folder, "kernlab"),
            "kernlab-only": lambda: kernlab(
                prog,
                args.calls,
                folder,
                "kernlab-only",
                ("--only", "-e", "sched:sched_process_fork", "-e", "sched:sched_process_exit"),
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(args.repeat):
            for name, run in methods.items():
                times[name].append(run())
    plain = statistics.median(times["plain"])
    raw = statistics.median(times["raw-tracefs"])
    print(f"{args.calls:,} calls of leaf(), median of {args.repeat} runs, CPU time of the command")
    floor = min(statistics.median(times[n]) for n in ("raw-tracefs", "perf-uprobe"))
    head = f"{'method':<14} {'cpu s':>7} {'per call':>10} {'vs raw':>7} {'vs cheapest':>12}"
    print(f"{head} {'kernlab own s':>14}")
    for name, values in times.items():
        cpu = statistics.median(values)
        per_call = (cpu - plain) / args.calls * 1e9
        versus = f"{(cpu - plain) / (raw - plain) * 100 - 100:+.0f}%" if name != "plain" else ""
        cheapest = f"{(cpu - plain) / (floor - plain) * 100 - 100:+.0f}%" if name != "plain" else ""
        own = f"{statistics.median(OWN_CPU[name]):.3f}" if name in OWN_CPU else ""
        print(f"{name:<14} {cpu:7.3f} {per_call:7.0f} ns {versus:>7} {cheapest:>12} {own:>14}")


if __name__ == "__main__":
    main()
