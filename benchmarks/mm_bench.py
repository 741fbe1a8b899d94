"""Benchmarks for kernlab's memory readers: pagemap, kpageflags, mincore, and the vtop/pagecache CLI.

Run:  python benchmarks/mm_bench.py [--size-mib 1024] [--dir DIR]
It maps and touches a buffer in this process, creates one file in DIR (default: a fresh
temporary directory, removed afterwards), and prints a Markdown table of timings (best of 5).
"""

from __future__ import annotations

import argparse
import mmap
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()

    from kernlab.mm.kpageflags import read_kpageflags
    from kernlab.mm.pagecache import evict, file_residency
    from kernlab.mm.pagemap import PFN_MASK, read_pagemap_raw
    from kernlab.mm.vtop import vtop_range

    page = os.sysconf("SC_PAGE_SIZE")
    size = args.size_mib << 20
    pages = size // page
    buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for i in range(0, size, 2 * page):  # touch every other page
        buf[i] = 1
    import ctypes

    address = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    pid = os.getpid()
    rows: list[tuple[str, float, str]] = []

    t = best_of(lambda: read_pagemap_raw(pid, address, pages, page))
    rows.append(
        (f"read_pagemap_raw, {pages:,} pages ({args.size_mib} MiB)", t, f"{pages / t / 1e6:.1f} M pages/s")
    )
    words = read_pagemap_raw(pid, address, pages, page)
    pfns = [w & PFN_MASK for w in words if w >> 63 and w & PFN_MASK]
    if pfns:
        t = best_of(lambda: read_kpageflags(pfns))
        rows.append((f"read_kpageflags, {len(pfns):,} PFNs", t, f"{len(pfns) / t / 1e6:.2f} M PFNs/s"))
    t = best_of(lambda: vtop_range(pid, address, size))
    rows.append((f"vtop_range (counts + THP + runs), {pages:,} pages", t, f"{pages / t / 1e6:.2f} M pages/s"))

    workdir = args.dir or tempfile.mkdtemp(prefix="kernlab-bench-")
    path = os.path.join(workdir, "bench.bin")
    try:
        with open(path, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        t = best_of(lambda: file_residency(path))
        rows.append((f"file_residency (mmap + mincore), {args.size_mib} MiB file, cached", t, ""))
        fincore = shutil.which("fincore")
        if fincore:
            t = best_of(lambda: subprocess.run([fincore, path], capture_output=True, check=True))
            rows.append(("fincore(1) on the same file (process start included)", t, ""))
        t = best_of(
            lambda: subprocess.run(
                [sys.executable, "-m", "kernlab", "pagecache", "--json", path],
                capture_output=True,
                check=True,
            )
        )
        rows.append(("kernlab pagecache --json (whole CLI run)", t, ""))
        evict(path)
        t = best_of(lambda: file_residency(path))
        rows.append((f"file_residency, {args.size_mib} MiB file, evicted", t, ""))
    finally:
        if args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            os.unlink(path)

    t = best_of(
        lambda: subprocess.run(
            [sys.executable, "-m", "kernlab", "vtop", "--json", str(pid), hex(address)],
            capture_output=True,
            check=True,
        )
    )
    rows.append(("kernlab vtop --json PID ADDRESS (whole CLI run)", t, ""))
    t = best_of(
        lambda: subprocess.run(
            [sys.executable, "-m", "kernlab", "vtop", "--json", str(pid), "--all"],
            capture_output=True,
            check=True,
        )
    )
    rows.append((f"kernlab vtop --json PID --all (this process, {args.size_mib} MiB buffer)", t, ""))

    print("| what | best of 5 | rate |")
    print("|---|---:|---|")
    for what, seconds, rate in rows:
        print(f"| {what} | {seconds * 1000:.1f} ms | {rate} |")


if __name__ == "__main__":
    main()
