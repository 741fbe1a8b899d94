"""kernlab: see the Linux kernel at work on your own machine.

A library first, in the spirit of psutil: each function below returns the same typed, frozen
report its command prints (``kernlab mem`` ↔ :func:`free`, ``kernlab vtop`` ↔ :func:`vtop` …),
built from the running kernel or from real files. Reports hold figures and keys, never prose;
:mod:`kernlab.explain` turns them into sentences. Every error is a :class:`KernlabError` with the
``path``, ``pid`` and ``errno`` it is about. Examples: docs/API.md.

    >>> import kernlab
    >>> kernlab.free().free.total > 0
    True

Importing kernlab costs nothing beyond this module: each function imports its layer when called.
(``kernel_info``, not ``kernel``, and ``recording_syscalls``, not ``syscalls``: a function named
like a subpackage would be replaced by the subpackage the first time it is imported.)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kernlab.errors import (
    BadInput,
    DiskFull,
    KernlabError,
    NoSuchProcess,
    NotSupported,
    OSFailure,
    PermissionNeeded,
    TracingError,
)

if TYPE_CHECKING:
    from kernlab.elf.reader import ElfImage
    from kernlab.recording.reader import Recording
    from kernlab.recording.session import RecordResult
    from kernlab.reports.disasm import DisasmReport
    from kernlab.reports.doctor import DoctorReport
    from kernlab.reports.faults import FaultsReport
    from kernlab.reports.graph import GraphReport
    from kernlab.reports.kernel import KernelReport
    from kernlab.reports.ldd import LddReport
    from kernlab.reports.maps import MapsReport
    from kernlab.reports.mem import MemReport
    from kernlab.reports.pagecache import PageCacheReport
    from kernlab.reports.parquet import ParquetExport
    from kernlab.reports.ps import PsReport
    from kernlab.reports.replay import ReplayReport
    from kernlab.reports.report import RecordingReport
    from kernlab.reports.sql import SqlReport
    from kernlab.reports.struct import StructReport
    from kernlab.reports.syscall import SyscallDescription
    from kernlab.reports.syscalls import SyscallsReport
    from kernlab.reports.vtop import AddressReport

__version__ = "0.1.0"

__all__ = [
    "BadInput",
    "DiskFull",
    "KernlabError",
    "NoSuchProcess",
    "NotSupported",
    "OSFailure",
    "PermissionNeeded",
    "TracingError",
    "__version__",
    "call_graph",
    "call_tree",
    "disassemble",
    "doctor",
    "export_parquet",
    "free",
    "kernel_info",
    "ldd",
    "memory_maps",
    "open_elf",
    "open_recording",
    "page_cache",
    "processes",
    "record",
    "recording_faults",
    "recording_report",
    "recording_syscalls",
    "sql",
    "struct_layout",
    "syscall",
    "vtop",
]

Pid = int | str
"""A process ID, or ``"self"``."""


# What an executable is ---------------------------------------------------------------------


def open_elf(path: str | os.PathLike[str]) -> ElfImage:
    """An ELF file (executable, library, object, core, kernel image) as readelf reads it."""
    from kernlab.elf.reader import open_elf as _open_elf

    return _open_elf(path)


def ldd(path: str | os.PathLike[str], *, ld_library_path: str | None = None) -> LddReport:
    """The shared libraries ld.so would load for ``path``, resolved without running it."""
    from kernlab.reports import ldd as _ldd

    return _ldd.build(path, ld_library_path=ld_library_path)


def disassemble(
    path: str,
    symbol: str | None = None,
    *,
    address: int | None = None,
    length: int | None = None,
    syntax: str = "att",
) -> DisasmReport:
    """One function (or an address range) disassembled as objdump -d prints it."""
    from kernlab.reports import disasm

    return disasm.build(path, symbol, address=address, length=length, syntax=syntax)


def syscall(name_or_number: str | int, arch: str | None = None) -> SyscallDescription:
    """A system call: its number, kernel entry symbol and arguments on this kernel."""
    from kernlab.reports.syscall import describe

    return describe(str(name_or_number), arch)


# The running kernel ------------------------------------------------------------------------


def kernel_info() -> KernelReport:
    """Release, the config facts kernlab depends on, paging levels in use, KASLR."""
    from kernlab.reports import kernel as _kernel

    return _kernel.build()


def doctor() -> DoctorReport:
    """What this kernel and user allow kernlab to do, each feature found by trying it."""
    from kernlab.reports import doctor as _doctor

    return _doctor.build()


def struct_layout(name: str, *, expand: bool = False) -> StructReport:
    """A kernel structure's layout from the running kernel's BTF, as pahole prints it."""
    from kernlab.reports import struct

    return struct.build(name, expand=expand)


# Memory ------------------------------------------------------------------------------------


def free(*, wide: bool = True, meminfo_file: str | None = None) -> MemReport:
    """free(1)'s figures (KiB) from one read of /proc/meminfo, computed as procps-ng does."""
    from kernlab.reports import mem

    return mem.build(wide=wide, meminfo_file=meminfo_file)


def processes(pids: Sequence[int] | None = None, *, user: str | None = None, sort: str = "pid") -> PsReport:
    """Processes as ps computes them: VSZ, RSS, fault counters, threads, kernel threads."""
    from kernlab.reports import ps

    return ps.build(pids, user=user, sort=sort)


def memory_maps(pid: Pid = "self", *, smaps: bool = True) -> MapsReport:
    """A process's virtual memory areas with their smaps figures and what each one is."""
    from kernlab.reports import maps

    return maps.build(pid, smaps=smaps)


def vtop(pid: Pid, address: int) -> AddressReport:
    """One virtual address through every layer: VMA, file and symbol, page table, PFN, flags."""
    from kernlab.reports import vtop as _vtop

    return _vtop.build(pid, address)


def page_cache(*paths: str | os.PathLike[str]) -> PageCacheReport:
    """Which pages of each file are in the page cache, as fincore counts them."""
    from kernlab.reports import pagecache

    return pagecache.build([os.fspath(p) for p in paths])


# Tracing -----------------------------------------------------------------------------------


def open_recording(directory: str | os.PathLike[str] = "kernlab.data") -> Recording:
    """A recording made by ``kernlab record`` (self-contained: read on any machine)."""
    from kernlab.recording.reader import open_recording as _open

    return _open(os.fspath(directory))


def record(
    command: Sequence[str],
    directory: str | os.PathLike[str] = "kernlab.data",
    *,
    events: Sequence[str] = (),
    kstack: Sequence[str] = (),
    functions: bool = False,
    kernel_depth: int | None = None,
) -> RecordResult:
    """Run ``command`` and record its system calls, page faults and scheduling (needs root).

    Tracing goes through a private tracefs instance that is removed on every way out; a
    recording kept before in ``directory`` is replaced. Read the result with
    :func:`recording_report`, :func:`recording_syscalls` and
    :func:`recording_faults`. With ``functions``, the calls of the program's own functions
    too (uprobes, removed on every way out), and the library calls it makes: read them with
    :func:`call_tree` and :func:`call_graph`. ``kernel_depth`` (``record -K``): the kernel
    functions beneath each system call and fault, that many levels deep.
    """
    from pathlib import Path

    from kernlab.recording.functions import FunctionFilters
    from kernlab.recording.recorder import RecordOptions
    from kernlab.recording.recorder import record as _record

    options = RecordOptions(
        output=Path(directory),
        command=list(command),
        groups=list(events),
        kstack=list(kstack),
        functions=FunctionFilters() if functions else None,
        kernel_depth=kernel_depth,
    )
    return _record(options)


def recording_report(directory: str | os.PathLike[str] = "kernlab.data") -> RecordingReport:
    """``kernlab report``: system-call statistics (like strace -c), page faults, lost events."""
    from kernlab.reports import report

    return report.build(os.fspath(directory))


def recording_syscalls(directory: str | os.PathLike[str] = "kernlab.data") -> SyscallsReport:
    """``kernlab syscalls``: every system call of a recording, with decoded arguments."""
    from kernlab.reports import syscalls as _syscalls

    return _syscalls.build(os.fspath(directory))


def recording_faults(directory: str | os.PathLike[str] = "kernlab.data") -> FaultsReport:
    """``kernlab faults``: every page fault of a recording, with its area and decoded code."""
    from kernlab.reports import faults as _faults

    return _faults.build(os.fspath(directory))


def call_tree(
    directory: str | os.PathLike[str] = "kernlab.data",
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    depth: int | None = None,
) -> ReplayReport:
    """``kernlab replay``: the calls of a ``record(..., functions=True)`` recording, one tree per
    thread, with the system calls and page faults made inside each call (``-F``/``-N``/``-D``)."""
    from kernlab.reports import replay

    return replay.build(os.fspath(directory), include=list(include), exclude=list(exclude), depth=depth)


def call_graph(
    directory: str | os.PathLike[str] = "kernlab.data",
    function: str | None = None,
    *,
    depth: int | None = None,
) -> GraphReport:
    """``kernlab graph FUNC``: the calls below ``function`` merged by path, with total and self
    time and calls per path, as ``uftrace graph`` gives them (the whole program when None)."""
    from kernlab.reports import graph

    return graph.build(os.fspath(directory), function, depth=depth)


# Many recordings ---------------------------------------------------------------------------


def export_parquet(
    directory: str | os.PathLike[str] = "kernlab.data", *, out_dir: str | os.PathLike[str]
) -> ParquetExport:
    """``kernlab dump --parquet``: the recording's tables (system calls, faults, scheduling,
    tasks, functions, kernel paths) as Parquet files any engine reads (docs/PARQUET.md)."""
    from kernlab.reports import parquet

    return parquet.build(os.fspath(directory), out_dir=os.fspath(out_dir))


def sql(
    query: str,
    recordings: Sequence[str | os.PathLike[str]] = (),
    *,
    exports: Sequence[str | os.PathLike[str]] = (),
) -> SqlReport:
    """``kernlab sql``: ``query`` over the tables of many recordings (and Parquet exports) at
    once, with DuckDB (``pip install 'kernlab[fleet]'``)."""
    from pathlib import Path

    from kernlab.reports import sql as _sql

    return _sql.build(query, [Path(r) for r in recordings], [Path(e) for e in exports])
