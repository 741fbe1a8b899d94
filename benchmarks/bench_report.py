"""Benchmark: how many events per second `kernlab record` + `kernlab report` sustain.

Workload: first-touch of SIZE_MIB of anonymous memory (tests/programs/rep_touch.c), one page
fault per 4 KiB page plus the program's system calls. Measured, each the median of REPEAT runs:

  plain    the workload alone (wall): the time the command needs without kernlab
  record   `kernlab record -q -d DIR -- rep_touch PAGES` (wall), and inside it the traced span
           (meta.json end_time_ns - start_time_ns: tracing on to tracing off)
  report   `kernlab report -d DIR --json` (wall and CPU of the process, as a user runs it)
  one run  `kernlab record --report --json -d DIR -- rep_touch PAGES` (wall): both in one process
  decode   kernlab.recording.reader: raw pages -> columnar records (library, in-process)
  floor    the workload under a bare instance with the same events that nothing reads: the
           kernel's own cost of writing them (paid by any ftrace-based recorder)

End to end = events / (what kernlab adds to the wall time the user waits):
  two commands: (record - plain) + report
  one command : (record --report) - plain
Both include Python start-up, instance set-up and removal, the kernel's cost of writing each
event while the command runs, draining, decoding and the analysis. Also printed: the two-command
figure without the in-command tracing cost (record wall - traced span).

The `kernlab` processes run with their bytecode cached in a temporary PYTHONPYCACHEPREFIX (as
an installed package has its .pyc files) after one warm-up run: this workplace sets
PYTHONDONTWRITEBYTECODE, which would make every run recompile kernlab (~0.1 s).

Usage: python benchmarks/bench_report.py [SIZE_MIB] [REPEAT]   (needs root and tracefs)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(
    argv: list[str], env: dict[str, str], stdout: int | None = subprocess.DEVNULL
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        argv, check=True, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.DEVNULL, env=env
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def floor_run(exe: Path, pages: int) -> float:
    """Wall seconds of the workload under a bare instance with kernlab's default events that
    nothing reads: the kernel's own cost of writing the events, which any ftrace-based
    recorder pays (the same floor bench_record.py measures for dd)."""
    from bench_record import bare_instance_factory

    inst, arm = bare_instance_factory()
    try:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # wait for the go byte, so the pid is in set_event_pid before exec
            os.close(write_fd)
            os.read(read_fd, 1)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execv(str(exe), [str(exe), str(pages)])
        os.close(read_fd)
        arm(pid)
        t0 = time.perf_counter()
        os.write(write_fd, b"x")
        os.close(write_fd)
        os.waitpid(pid, 0)
        return time.perf_counter() - t0
    finally:
        inst.remove()


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    pages = size_mib * 1024 * 1024 // os.sysconf("SC_PAGE_SIZE")
    work = Path(tempfile.mkdtemp(prefix="kernlab-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    try:
        exe = work / "rep_touch"
        subprocess.run(["gcc", "-O1", "-o", str(exe), str(REPO / "tests/programs/rep_touch.c")], check=True)
        data = work / "rec"
        kernlab = [sys.executable, "-m", "kernlab"]
        record_argv = [*kernlab, "record", "-q", "-d", str(data), "--", str(exe), str(pages)]
        report_argv = [*kernlab, "report", "-d", str(data), "--json"]
        together_argv = [*kernlab, "record", "--report", "--json", "-d", str(work / "one")]
        together_argv += ["--", str(exe), str(pages)]
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        timed(record_argv, env)  # warm-up: bytecode cache, page cache of the program
        timed(report_argv, env)
        timed(together_argv, env)
        plain, recorded, spans, reports, report_cpu, together, floors = [], [], [], [], [], [], []
        for _ in range(repeat):  # interleaved, so drift in the machine's load hits all alike
            plain.append(timed([str(exe), str(pages)], env)[0])
            floors.append(floor_run(exe, pages))
            recorded.append(timed(record_argv, env)[0])
            meta = json.loads((data / "meta.json").read_text())
            spans.append((meta["end_time_ns"] - meta["start_time_ns"]) / 1e9)
            wall, cpu = timed(report_argv, env)
            reports.append(wall)
            report_cpu.append(cpu)
            together.append(timed(together_argv, env)[0])

        from kernlab.recording.reader import open_recording

        t0 = time.perf_counter()
        rec = open_recording(data)
        events = rec.event_total
        t_decode = time.perf_counter() - t0
        lost = rec.meta.lost_events

        med = statistics.median
        t_plain, t_record, t_span = med(plain), med(recorded), med(spans)
        t_report, c_report, t_together = med(reports), med(report_cpu), med(together)
        # Differences are taken within each round (plain, record, report, record --report run
        # back to back), then the median: drift in the machine's speed cancels out.
        overhead = med(r - p for r, p in zip(recorded, plain, strict=True))
        fixed = med(r - s for r, s in zip(recorded, spans, strict=True))
        two = med(r - p + q for r, p, q in zip(recorded, plain, reports, strict=True))
        one = med(t - p for t, p in zip(together, plain, strict=True))
        two_fixed = med(r - s + q for r, s, q in zip(recorded, spans, reports, strict=True))
        kernel_cost = med(f - p for f, p in zip(floors, plain, strict=True))

        def rate(seconds: float) -> str:
            return f"{events / seconds / 1e6:6.2f} M events/s" if seconds > 0 else "   (n/a)"

        print(f"workload: first touch of {size_mib} MiB ({pages:,} pages), medians of {repeat} rounds")
        print(f"events recorded: {events:,} (lost: {lost:,})")
        print(f"plain run      : {t_plain:7.2f} s")
        print(f"bare instance  : {med(floors):7.2f} s  (kernel's cost of the events: {kernel_cost:.2f} s)")
        print(f"record         : {t_record:7.2f} s  (traced span {t_span:.2f} s)")
        print(f"  overhead     : {overhead:7.2f} s  (record - plain run)")
        print(f"  fixed part   : {fixed:7.2f} s  (record - traced span)")
        print(f"decode         : {t_decode:7.2f} s  {rate(t_decode)} (library)")
        print(f"report         : {t_report:7.2f} s  {rate(t_report)} (wall)")
        print(f"report CPU     : {c_report:7.2f} s  {rate(c_report)}")
        print(f"record --report: {t_together:7.2f} s  (one process)")
        print("end to end (what kernlab adds to the plain run):")
        print(f"  one command  : {one:7.2f} s  {rate(one)}  (record --report - plain)")
        print(f"  two commands : {two:7.2f} s  {rate(two)}  (record - plain + report)")
        print(f"  without tracing cost: {two_fixed:7.2f} s  {rate(two_fixed)}  (record - span + report)")
        own = one - kernel_cost
        print(f"  kernlab's own: {own:7.2f} s  {rate(own)}  (one command - the kernel's cost)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
