"""`kernlab lab mmap-vs-read`: the course's last exercise, measured on this machine.

A file (one given, or one kernlab writes) is pushed out of the page cache, then read once with
read() and once through an mmap() of it, each cold (just evicted) and then warm (still cached),
each by a fresh child. For each of the four runs: the time, the system calls, the faults (all,
and those on the file's own pages; major or minor), the pages that entered the page cache, the
readahead decisions and one kernel stack of the work — from a recording of the child (root) or
from getrusage and mincore (otherwise). Then the seed's hello_mmap.c (a MAP_SHARED write of 16
zero bytes) and, with ``--drop-caches``, what ``free`` shows before and after the whole page
cache is dropped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kernlab.errors import BadInput, OSFailure, PermissionNeeded
from kernlab.mm.pagecache import evict, file_residency
from kernlab.proc.free import FreeFigures
from kernlab.reports.labs.common import (
    ChildRun,
    SyscallCount,
    can_trace,
    remove_folder,
    run_child,
    scratch_folder,
    syscalls_in,
    work_window,
)

__all__ = [
    "DEFAULT_SIZE",
    "SEED_TEXT",
    "STAGES",
    "Eviction",
    "FileFacts",
    "FreeChange",
    "MmapReadReport",
    "RunFigures",
    "SharedWrite",
    "build",
    "parse_size",
]

DEFAULT_SIZE = 64 << 20
SEED_TEXT = b"111111122222333344456\n"
"""The seed's mmap_test.txt, whose first 16 bytes hello_mmap.c zeroes."""
SHARED_BYTES = 16  # hello_mmap.c's READ_SIZE
STAGES = 7  # what the progress bar counts: file, 4 runs, hello_mmap, the end
ADD_TO_CACHE = "filemap:mm_filemap_add_to_page_cache"
SYNC_RA = "readahead:page_cache_sync_ra"
ASYNC_RA = "readahead:page_cache_async_ra"
PATH_EVENTS = (
    ADD_TO_CACHE,
    "filemap:mm_filemap_get_pages",
    "filemap:mm_filemap_fault",
    "filemap:mm_filemap_map_pages",
)
"""Events whose kernel stack shows the work's path: an insertion (cold), else the look-up of a
read (filemap_read) or of a fault (filemap_fault, fault-around's filemap_map_pages)."""
PATH_DEPTH = 16

_READ = r"""
import sys
out, path = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDONLY)
buf = bytearray(1 << 20)
for i in range(0, len(buf), 4096):
    buf[i] = 1  # touched now, so the copy into it raises no fault during the work
view = memoryview(buf)
f = open(fd, "rb", buffering=0, closefd=False)
u0 = usage(); mark(BEGIN); t0 = time.perf_counter_ns()
total = 0
while True:
    n = f.readinto(view)
    if not n:
        break
    total += n
t1 = time.perf_counter_ns(); mark(END); u1 = usage()
with open(out, "w") as fh:
    json.dump({"pid": os.getpid(), "ns": t1 - t0, "bytes": total, "minflt": u1[0] - u0[0],
               "majflt": u1[1] - u0[1], "address": 0, "length": 0}, fh)
"""

_MMAP = r"""
import sys, ctypes, mmap
out, path = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
I, vp = ctypes.c_int, ctypes.c_void_p
libc.mmap.argtypes = [vp, ctypes.c_size_t, I, I, I, ctypes.c_long]
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
page = os.sysconf("SC_PAGE_SIZE")
addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
if addr is None or addr == ctypes.c_void_p(-1).value:
    raise SystemExit("mmap failed: errno %d" % ctypes.get_errno())
at = ctypes.string_at
u0 = usage(); mark(BEGIN); t0 = time.perf_counter_ns()
for off in range(0, size, page):
    at(addr + off, 1)  # one byte of each page: the first touch faults it in
t1 = time.perf_counter_ns(); mark(END); u1 = usage()
with open(out, "w") as fh:
    json.dump({"pid": os.getpid(), "ns": t1 - t0, "bytes": size, "minflt": u1[0] - u0[0],
               "majflt": u1[1] - u0[1], "address": addr, "length": size}, fh)
"""

_SHARED = r"""
import sys, ctypes, mmap
out, path, length = sys.argv[1], sys.argv[2], int(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
I, vp = ctypes.c_int, ctypes.c_void_p
libc.mmap.argtypes = [vp, ctypes.c_size_t, I, I, I, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
fd = os.open(path, os.O_RDWR)
addr = libc.mmap(None, length, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
if addr is None or addr == ctypes.c_void_p(-1).value:
    raise SystemExit("mmap failed: errno %d" % ctypes.get_errno())
seen = ctypes.string_at(addr, length)  # what hello_mmap.c's printf("%s") shows
ctypes.memset(addr, 0, length)
libc.munmap(addr, length)
os.close(fd)
with open(out, "w") as fh:
    json.dump({"pid": os.getpid(), "seen": seen.hex()}, fh)
"""


@dataclass(frozen=True)
class FileFacts:
    path: str
    created: bool  # kernlab wrote it (and removes it at the end)
    size: int
    pages: int
    page_size: int
    inode: int
    device: str  # "major:minor"
    fstype: str | None
    mount_point: str | None


@dataclass(frozen=True)
class Eviction:
    """One emptying of the page cache before a cold run: resident pages before and after."""

    method: str  # "fadvise" (fsync + POSIX_FADV_DONTNEED of this file) or "drop_caches" (global)
    resident_before: int
    resident_after: int


@dataclass(frozen=True)
class RunFigures:
    """One run of the work (read() or mmap touches, cold or warm), measured."""

    method: str  # "read" or "mmap"
    temperature: str  # "cold" or "warm"
    eviction: Eviction | None  # what emptied the cache before this run (cold runs)
    resident_before: int  # the file's pages in the page cache before the run (mincore)
    resident_after: int
    time_ns: int  # the child's own clock around the work
    bytes: int  # bytes read, or bytes of the mapping touched
    rusage_minor: int  # getrusage's fault counters, before and after the work
    rusage_major: int
    traced: bool
    window_ns: int | None = None  # between the two marker calls, in the recording
    syscalls: int | None = None  # calls entered during the work
    syscall_rows: tuple[SyscallCount, ...] = ()
    copied_bytes: int | None = None  # what read() returned: bytes copied into the process
    faults: int | None = None  # user page faults during the work
    data_faults: int | None = None  # those at an address of the file's mapping
    data_major: int | None = None
    data_minor: int | None = None
    major: int | None = None  # major faults during the work (any address)
    pages_added: int | None = None  # the file's pages inserted into the page cache
    pages_added_source: str = "trace"  # "trace" (filemap events) or "mincore" (residency delta)
    readahead_sync: int | None = None
    readahead_async: int | None = None
    kernel_path: tuple[str, ...] = ()  # outermost first: one recorded kernel stack of the work
    kernel_path_event: str | None = None  # the event that stack was taken at
    notes: tuple[str, ...] = ()  # keys: what the recording could not tell


@dataclass(frozen=True)
class SharedWrite:
    """hello_mmap.c: MAP_SHARED, memset(addr, 0, 16), munmap: the file's bytes before and after."""

    path: str
    length: int
    before: str  # hex of the file's first bytes before
    seen: str  # hex of what the child read through the mapping
    after: str  # the file read back with read() after the child exited
    after_writeback: str  # read back again after fsync and eviction: from the disk
    zeroed: bool  # the first ``length`` bytes are zero after
    rest_unchanged: bool


@dataclass(frozen=True)
class FreeChange:
    """free before and after echo 3 > /proc/sys/vm/drop_caches (KiB)."""

    before: FreeFigures
    after: FreeFigures

    @property
    def buff_cache_drop(self) -> int:
        return self.before.buff_cache - self.after.buff_cache

    @property
    def available_change(self) -> int:
        return self.after.available - self.before.available


@dataclass(frozen=True)
class MmapReadReport:
    file: FileFacts
    traced: bool
    trace_note: str | None  # why not traced: "not_root" or "no_trace"
    eviction_method: str
    runs: tuple[RunFigures, ...]
    shared_write: SharedWrite | None
    free: FreeChange | None
    notes: tuple[str, ...] = field(default_factory=tuple)


def parse_size(text: str) -> int:
    """64M, 1G, 4096, 512K → bytes."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    suffix = cleaned[-1:] if cleaned[-1:] in "KMG" else ""
    try:
        value = int(cleaned[: len(cleaned) - len(suffix)]) * units[suffix]
    except (ValueError, KeyError):
        raise BadInput(
            f"size {text!r}: give bytes or a number with K, M or G (64M)",
            key="errors.report.lab_size",
            fields={"value": repr(text)},
        ) from None
    if value <= 0:
        raise BadInput(
            f"size {text!r}: must be more than 0",
            key="errors.report.lab_size_zero",
            fields={"value": repr(text)},
        )
    return value


def _write_file(path: Path, size: int) -> None:
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            fh.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)


def drop_caches() -> None:
    """The seed's global ``echo 3 > /proc/sys/vm/drop_caches`` (after sync): page cache,
    dentries and inodes of the whole machine. Needs root."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except PermissionError as exc:
        raise PermissionNeeded(
            "--drop-caches writes /proc/sys/vm/drop_caches, which needs root",
            key="errors.report.drop_caches_root",
        ) from exc
    except OSError as exc:
        raise OSFailure(
            f"cannot write /proc/sys/vm/drop_caches: {exc.strerror}",
            path="/proc/sys/vm/drop_caches",
            key="errors.export.cannot_write",
            fields={"path": "/proc/sys/vm/drop_caches", "reason": exc.strerror},
        ) from exc


def _resident(path: str) -> int:
    return file_residency(path).resident_pages


def _empty_cache(path: str, global_drop: bool) -> Eviction:
    before = _resident(path)
    if global_drop:
        drop_caches()
    else:
        evict(path)
    return Eviction("drop_caches" if global_drop else "fadvise", before, _resident(path))


def _kernel_dev(device: str) -> int:
    """ "8:1" as the kernel's dev_t in trace events (major << 20 | minor)."""
    major, _, minor = device.partition(":")
    return int(major) << 20 | int(minor)


def _traced_figures(child: ChildRun, facts: FileFacts) -> dict[str, object]:
    """The run's figures from its recording; {} with a note when the markers were not found."""
    from kernlab.recording.kallsyms import KernelSymbols
    from kernlab.reports import faults as faults_reports
    from kernlab.reports.recording.clock import first_record_ts
    from kernlab.reports.recording.kstacks import StackKey, event_stacks

    rec = child.recording
    assert rec is not None
    window = work_window(rec, child.pid)
    if window is None:
        return {"notes": ("lab.note.no_window",)}
    calls = syscalls_in(rec, window)
    base = first_record_ts(rec)
    lo, hi = (window.begin - base) / 1e9, (window.end - base) / 1e9
    lines = [
        ln for ln in faults_reports.build(rec, pids={child.pid}, symbolize=False).lines if lo < ln.time_s < hi
    ]
    start, length = int(child.result.get("address") or 0), int(child.result.get("length") or 0)
    data = [ln for ln in lines if start <= ln.address < start + length] if length else []
    # The file's pages entering the page cache, and readahead of it, by this child.
    dev, ino = _kernel_dev(facts.device), facts.inode
    added = sync_ra = async_ra = 0
    have_add = ADD_TO_CACHE in rec.by_name
    wanted = {n for n in (ADD_TO_CACHE, SYNC_RA, ASYNC_RA) if n in rec.by_name}
    for event in rec.iter_events(wanted):
        f = event.fields
        if event.pid != child.pid or f.get("i_ino") != ino or f.get("s_dev") != dev:
            continue
        if event.name == ADD_TO_CACHE:
            added += 1 << int(f.get("order", 0) or 0)
        elif event.name == SYNC_RA:
            sync_ra += 1
        else:
            async_ra += 1
    # One kernel stack of the work: an insertion when there was one, else the first look-up.
    path: tuple[str, ...] = ()
    path_event = None
    names = {n for n in PATH_EVENTS if n in rec.by_name}
    stacks = event_stacks(rec, names, KernelSymbols(rec.kallsyms_path)) if names else {}
    if stacks:
        found: dict[str, tuple[str, ...]] = {}
        for event in rec.iter_events(names):
            if event.pid != child.pid or not window.begin < event.ts < window.end or event.name in found:
                continue
            stack = stacks.get(StackKey(event.cpu, event.ts))
            if stack:
                found[event.name] = tuple(reversed(stack[:PATH_DEPTH]))
        for name in PATH_EVENTS:
            if name in found:
                path, path_event = found[name], name
                break
    majors_known = any(ln.major is not None for ln in lines) or have_add
    return {
        "window_ns": window.duration_ns,
        "syscalls": calls.total,
        "syscall_rows": calls.calls,
        "copied_bytes": calls.returned_by("read"),
        "faults": len(lines),
        "data_faults": len(data),
        "data_major": sum(1 for ln in data if ln.major) if majors_known else None,
        "data_minor": sum(1 for ln in data if not ln.major) if majors_known else None,
        "major": sum(1 for ln in lines if ln.major) if majors_known else None,
        "pages_added": added if have_add else None,
        "readahead_sync": sync_ra if SYNC_RA in rec.by_name else None,
        "readahead_async": async_ra if ASYNC_RA in rec.by_name else None,
        "kernel_path": path,
        "kernel_path_event": path_event,
    }


def _run(
    method: str, temperature: str, facts: FileFacts, folder: Path, trace: bool, eviction: Eviction | None
) -> RunFigures:
    before = _resident(facts.path)
    groups = ["pagecache"] if trace else []
    kstack: list[str] = []
    if trace:
        from kernlab.tracing.tracefs import available_events

        available = available_events()
        kstack = [n for n in PATH_EVENTS if n.partition(":")[2] in available.get(n.partition(":")[0], [])]
    child = run_child(
        _READ if method == "read" else _MMAP,
        [facts.path],
        folder,
        f"{method}-{temperature}",
        trace=trace,
        groups=groups,
        kstack=kstack,
    )
    after = _resident(facts.path)
    r = child.result
    figures: dict[str, object] = {}
    if child.recording is not None:
        figures = _traced_figures(child, facts)
        if child.directory is not None:
            remove_folder(child.directory)
    if figures.get("pages_added") is None:
        figures["pages_added"] = max(after - before, 0)
        figures["pages_added_source"] = "mincore"
    return RunFigures(
        method=method,
        temperature=temperature,
        eviction=eviction,
        resident_before=before,
        resident_after=after,
        time_ns=int(r["ns"]),
        bytes=int(r["bytes"]),
        rusage_minor=int(r["minflt"]),
        rusage_major=int(r["majflt"]),
        traced=child.recording is not None,
        **figures,  # type: ignore[arg-type]
    )


def _shared_write(folder: Path, trace_off: bool) -> SharedWrite:
    path = folder / "mmap_test.txt"
    path.write_bytes(SEED_TEXT)
    before = path.read_bytes()
    child = run_child(_SHARED, [str(path), str(SHARED_BYTES)], folder, "hello_mmap", trace=False)
    after = path.read_bytes()
    evict(str(path))  # fsync writes the dirty page back; then the cache forgets it
    from_disk = path.read_bytes()
    head, rest = from_disk[:SHARED_BYTES], from_disk[SHARED_BYTES:]
    return SharedWrite(
        path=str(path),
        length=SHARED_BYTES,
        before=before.hex(),
        seen=str(child.result.get("seen", "")),
        after=after.hex(),
        after_writeback=from_disk.hex(),
        zeroed=head == bytes(len(head)) and len(head) == SHARED_BYTES,
        rest_unchanged=rest == before[SHARED_BYTES:],
    )


def _facts(path: str, created: bool) -> FileFacts:
    residency = file_residency(path)
    ident = residency.file
    return FileFacts(
        path=path,
        created=created,
        size=ident.size,
        pages=residency.pages,
        page_size=residency.page_size,
        inode=ident.inode,
        device=ident.device,
        fstype=ident.fstype,
        mount_point=ident.mount_point,
    )


def build(
    path: str | None = None,
    *,
    size: int = DEFAULT_SIZE,
    drop_caches_too: bool = False,
    no_trace: bool = False,
    shared_write: bool = True,
    advance: Callable[[], None] | None = None,
) -> MmapReadReport:
    """Run the lab: four measured runs, hello_mmap's shared write, and free around drop_caches."""
    step = advance or (lambda: None)
    if drop_caches_too and os.geteuid() != 0:
        raise PermissionNeeded(
            "--drop-caches writes /proc/sys/vm/drop_caches, which needs root",
            key="errors.report.drop_caches_root",
        )
    trace = can_trace(no_trace)
    note = None if trace else ("no_trace" if no_trace else "not_root")
    folder = scratch_folder("kernlab-lab-")
    try:
        if path is None:
            target = folder / "data.bin"
            _write_file(target, size)
            facts = _facts(str(target), True)
        else:
            facts = _facts(path, False)
        if facts.size == 0:
            raise BadInput(
                f"{facts.path} is empty: there is nothing to read or map",
                key="errors.report.lab_file_empty",
                fields={"path": str(facts.path)},
            )
        step()
        runs: list[RunFigures] = []
        free_change = None
        for method in ("read", "mmap"):
            if drop_caches_too and free_change is None:
                from kernlab.reports import mem as mem_reports

                before = mem_reports.build().free
                eviction = _empty_cache(facts.path, True)
                free_change = FreeChange(before, mem_reports.build().free)
            else:
                eviction = _empty_cache(facts.path, drop_caches_too)
            runs.append(_run(method, "cold", facts, folder, trace, eviction))
            step()
            runs.append(_run(method, "warm", facts, folder, trace, None))
            step()
        shared = _shared_write(folder, no_trace) if shared_write else None
        step()
        return MmapReadReport(
            file=facts,
            traced=trace,
            trace_note=note,
            eviction_method="drop_caches" if drop_caches_too else "fadvise",
            runs=tuple(runs),
            shared_write=shared,
            free=free_change,
        )
    finally:
        remove_folder(folder)
