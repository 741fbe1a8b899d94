"""`kernlab lab lazy-alloc`: no physical page until the first touch, measured.

A child maps an anonymous region with mmap() and gets another from libc's malloc() (through
ctypes; glibc serves large requests with mmap too): VSZ jumps by the size, RSS does not. It
then writes into each region in steps; after each step kernlab reads the child's VSZ, RSS and
fault counter (/proc/PID/stat, status) and the region's pagemap, whose presence bits make a
strip of where pages now are. Last, the same with transparent huge pages (madvise
MADV_HUGEPAGE) where the kernel has them: one fault can bring in 2 MiB.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from kernlab.errors import OSFailure
from kernlab.mm.pagemap import read_pagemap_raw
from kernlab.mm.strip import runs_from_flags, strip_fractions

__all__ = ["DEFAULT_SIZE", "AllocStep", "LazyAllocReport", "Region", "TouchStep", "build", "thp_mode"]

DEFAULT_SIZE = 256 << 20
STEPS = 4
STRIP_WIDTH = 64
PRESENT_BIT = 1 << 63
THP_ENABLED = "/sys/kernel/mm/transparent_hugepage/enabled"
HUGE = 2 << 20  # a PMD's worth on x86_64 and 4 KiB-granule arm64: what a huge page maps

# Commands on stdin, one answer line each on stdout.
_CHILD = r"""
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
vp, size_t = ctypes.c_void_p, ctypes.c_size_t
libc.mmap.restype = vp
libc.mmap.argtypes = [vp, size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.madvise.argtypes = [vp, size_t, ctypes.c_int]
libc.malloc.restype = vp
libc.malloc.argtypes = [size_t]
prot = mmap.PROT_READ | mmap.PROT_WRITE
flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
print(os.getpid(), flush=True)
for line in sys.stdin:
    cmd, *args = line.split()
    n = int(args[-1])
    if cmd == "mmap":
        addr = libc.mmap(None, n, prot, flags, -1, 0)
        ok = libc.madvise(addr, n, 15)  # MADV_NOHUGEPAGE: 4 KiB at a time, whatever THP says
        print(addr, 1 if ok == 0 else 0, flush=True)
    elif cmd == "malloc":
        addr = libc.malloc(n)
        print(addr or 0, 0, flush=True)
    elif cmd == "thp":
        huge = 2 << 20
        raw = libc.mmap(None, n + huge, prot, flags, -1, 0)
        addr = (raw + huge - 1) & ~(huge - 1)  # aligned, so whole 2 MiB pieces fit
        ok = libc.madvise(addr, n, 14)  # MADV_HUGEPAGE
        print(addr, 1 if ok == 0 else 0, flush=True)
    elif cmd == "touch":
        ctypes.memset(int(args[0]) + int(args[1]), 1, n)
        print("done", flush=True)
"""


@dataclass(frozen=True)
class TouchStep:
    """The region after writing into its first ``touched`` bytes."""

    touched: int
    vsz_kib: int
    rss_kib: int
    minflt: int  # the child's minor faults since the region was allocated
    majflt: int
    present_pages: int  # pagemap: pages of the region with a physical page
    strip: tuple[float, ...]  # presence fraction of each cell of the region
    anon_huge_kib: int | None = None  # smaps AnonHugePages of the region's VMA


@dataclass(frozen=True)
class AllocStep:
    """VSZ and RSS just before and just after the allocation."""

    vsz_before_kib: int
    vsz_after_kib: int
    rss_before_kib: int
    rss_after_kib: int


@dataclass(frozen=True)
class Region:
    kind: str  # "mmap", "malloc" or "thp"
    address: int
    size: int
    pages: int
    page_size: int
    advice_applied: bool  # MADV_NOHUGEPAGE (mmap) or MADV_HUGEPAGE (thp) accepted
    alloc: AllocStep
    steps: tuple[TouchStep, ...] = field(default_factory=tuple)

    @property
    def rss_growth_kib(self) -> int:
        return self.steps[-1].rss_kib - self.alloc.rss_after_kib if self.steps else 0


@dataclass(frozen=True)
class LazyAllocReport:
    pid: int
    size: int
    page_size: int
    regions: tuple[Region, ...]
    thp_mode: str | None  # "always", "madvise", "never"; None: the kernel has no THP
    thp_skipped: str | None  # why the THP part did not run: "thp_never", "no_thp"


def thp_mode(path: str = THP_ENABLED) -> str | None:
    """The bracketed choice of /sys/kernel/mm/transparent_hugepage/enabled, None without THP."""
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else None


class _Child:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = int(self._line())

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise OSFailure(
                "the lab's child process stopped before answering", key="errors.report.lab_child_silent"
            )
        return line.strip()

    def ask(self, *words: object) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(" ".join(map(str, words)) + "\n")
        self.process.stdin.flush()
        return self._line()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def _status(pid: int) -> tuple[int, int, int, int]:
    from kernlab.reports import ps as ps_reports

    proc = ps_reports.build([pid]).processes[0]
    return proc.vsz, proc.rss, proc.min_flt, proc.maj_flt


def _huge_kib(pid: int, address: int) -> int | None:
    from kernlab.reports import maps as maps_reports

    vma = next((v for v in maps_reports.build(pid).vmas if v.start <= address < v.end), None)
    return None if vma is None else vma.anon_huge_pages


def _presence(pid: int, address: int, pages: int, page_size: int) -> tuple[int, tuple[float, ...]]:
    words = read_pagemap_raw(pid, address, pages, page_size)
    flags = [bool(w & PRESENT_BIT) for w in words]
    return sum(flags), tuple(strip_fractions(runs_from_flags(flags), pages, STRIP_WIDTH))


def _region(
    child: _Child, kind: str, size: int, page_size: int, steps: int, step: Callable[[], None]
) -> Region:
    vsz0, rss0, _, _ = _status(child.pid)
    address, applied = (int(w) for w in child.ask(kind, size).split())
    if not address:
        raise OSFailure(
            f"{kind} of {size} bytes failed in the lab's child",
            key="errors.report.lab_child_failed",
            fields={"kind": kind, "size": size},
        )
    vsz1, rss1, flt1, maj1 = _status(child.pid)
    pages = size // page_size
    touches: list[TouchStep] = []
    done = 0
    for n in range(1, steps + 1):
        upto = size * n // steps // page_size * page_size
        child.ask("touch", address, done, upto - done)
        done = upto
        vsz, rss, flt, maj = _status(child.pid)
        present, strip = _presence(child.pid, address, pages, page_size)
        huge = _huge_kib(child.pid, address) if kind == "thp" else None
        touches.append(TouchStep(done, vsz, rss, flt - flt1, maj - maj1, present, strip, huge))
        step()
    alloc = AllocStep(vsz0, vsz1, rss0, rss1)
    return Region(kind, address, size, pages, page_size, bool(applied), alloc, tuple(touches))


def build(
    size: int = DEFAULT_SIZE, *, steps: int = STEPS, advance: Callable[[], None] | None = None
) -> LazyAllocReport:
    """Allocate, touch in ``steps`` steps and measure: mmap, malloc, then THP where it can run."""
    step = advance or (lambda: None)
    page_size = os.sysconf("SC_PAGE_SIZE")
    size = max(page_size * steps, size // page_size * page_size)
    mode = thp_mode()
    skipped = None if mode in ("always", "madvise") else ("no_thp" if mode is None else "thp_never")
    child = _Child()
    try:
        regions = [_region(child, kind, size, page_size, steps, step) for kind in ("mmap", "malloc")]
        if skipped is None:
            huge_size = max(HUGE, size // HUGE * HUGE)
            regions.append(_region(child, "thp", huge_size, page_size, steps, step))
        return LazyAllocReport(child.pid, size, page_size, tuple(regions), mode, skipped)
    finally:
        child.stop()
