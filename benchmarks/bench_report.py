"""Benchmark: how many events per second `kernlab record` + `kernlab report` sustain.

Workload: first-touch of SIZE_MIB of anonymous memory (tests/programs/rep_touch.c), one page
fault per 4 KiB page plus the program's system calls. Measures, each as wall time:
  record  - `kernlab record -d DIR -- rep_touch PAGES`
  decode  - kernlab.recording.reader: raw pages -> columnar records (library, in-process)
  report  - `kernlab report -d DIR --json` (a separate process, as a user runs it)
and prints events/s for each and end to end (record + report).

Usage: python benchmarks/bench_report.py [SIZE_MIB]   (needs root and tracefs)
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    pages = size_mib * 1024 * 1024 // os.sysconf("SC_PAGE_SIZE")
    work = Path(tempfile.mkdtemp(prefix="kernlab-bench-"))
    try:
        exe = work / "rep_touch"
        subprocess.run(["gcc", "-O1", "-o", str(exe), str(REPO / "tests/programs/rep_touch.c")], check=True)
        data = work / "rec"
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "kernlab", "record", "-q", "-d", str(data), "--", str(exe), str(pages)],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        t_record = time.perf_counter() - t0

        from kernlab.recording.reader import open_recording

        t0 = time.perf_counter()
        rec = open_recording(data)
        events = rec.event_total
        t_decode = time.perf_counter() - t0
        lost = rec.meta.lost_events

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "kernlab", "report", "-d", str(data), "--json"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        t_report = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_report = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

        print(f"workload: first touch of {size_mib} MiB ({pages:,} pages)")
        print(f"events recorded: {events:,} (lost: {lost:,})")
        print(f"record : {t_record:7.2f} s  {events / t_record / 1e6:6.2f} M events/s")
        rate = events / t_decode / 1e6
        print(f"decode : {t_decode:7.2f} s  {rate:6.2f} M events/s (library, pages -> records)")
        print(
            f"report : {t_report:7.2f} s  {events / t_report / 1e6:6.2f} M events/s (kernlab report --json)"
        )
        print(f"report CPU time: {cpu_report:7.2f} s  {events / cpu_report / 1e6:6.2f} M events/s")
        total = t_record + t_report
        print(f"end to end (record + report): {total:7.2f} s  {events / total / 1e6:6.2f} M events/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
