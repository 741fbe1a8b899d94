"""`kernlab maps`: a process's VMAs from /proc/PID/maps joined with smaps, or every process's totals."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kernlab.errors import BadInput, NoSuchProcess
from kernlab.proc.allmaps import ProcessMaps, read_all_maps
from kernlab.proc.cmdline import read_cmdline
from kernlab.proc.maps import KINDS, KindTotals, MapsTotals, Vma, read_maps, total_vmas, totals_by_kind
from kernlab.proc.process import list_pids, read_process

__all__ = ["AllMapsReport", "MapsReport", "build", "build_all", "processes_to_read"]


@dataclass(frozen=True)
class MapsReport:
    """The VMAs shown (all, or those of the kinds asked for) with their sums, in KiB."""

    pid: int
    comm: str
    kernel_thread: bool
    zombie: bool
    ps_vsz: int  # /proc/PID/status VmSize read after the maps: what ps would print
    totals: MapsTotals
    kinds: tuple[KindTotals, ...]
    vmas: tuple[Vma, ...]
    cmdline: str  # /proc/PID/cmdline, as pmap prints it in its first line ("" for a kernel thread)
    shared: int  # Shared_Clean + Shared_Dirty over the VMAs shown (0 without smaps)
    thp: int  # AnonHugePages over the VMAs shown: anonymous memory in transparent huge pages
    # Shared_Hugetlb + Private_Hugetlb over the VMAs shown: resident, yet left out of Rss
    hugetlb: int = 0
    threads: int = 1  # stat num_threads: a zombie with more than one is a dead main thread only


@dataclass(frozen=True)
class AllMapsReport:
    """Totals of every readable user address space on the machine."""

    processes: tuple[ProcessMaps, ...]
    skipped: int  # kernel threads, zombies, and processes that exited while being read
    denied: int  # smaps refused (another user's process without root)
    as_root: bool  # read with effective UID 0: a refusal then comes from a security module


def build(pid: int | str, *, smaps: bool = True, kinds: Sequence[str] = ()) -> MapsReport:
    """The VMAs of process ``pid`` (only those of ``kinds`` when given)."""
    for kind in kinds:
        if kind not in KINDS:
            raise BadInput(
                f"unknown kind {kind!r}; choose from {', '.join(KINDS)}",
                key="errors.report.unknown_kind",
                fields={"value": repr(kind), "choices": ", ".join(KINDS)},
            )
    process = read_process(pid)
    vmas = [] if process.kernel_thread else read_maps(process.pid, smaps=smaps)
    try:
        after = read_process(process.pid) if vmas else process
    except NoSuchProcess:
        after = process  # it exited after its maps were read: the figures read stand
    shown = [v for v in vmas if v.kind in kinds] if kinds else vmas
    return MapsReport(
        pid=process.pid,
        comm=process.comm,
        kernel_thread=process.kernel_thread,
        zombie=process.state == "Z",
        ps_vsz=after.vsz,
        totals=total_vmas(shown),
        kinds=tuple(totals_by_kind(shown)),
        vmas=tuple(shown),
        cmdline=read_cmdline(process.pid),
        shared=sum((v.shared_clean or 0) + (v.shared_dirty or 0) for v in shown),
        thp=sum(v.anon_huge_pages or 0 for v in shown),
        hugetlb=sum((v.shared_hugetlb or 0) + (v.private_hugetlb or 0) for v in shown),
        threads=process.threads,
    )


def processes_to_read() -> int:
    """How many PIDs :func:`build_all` will visit: the total of a progress bar."""
    return len(list_pids())


def build_all(on_process: Callable[[], None] | None = None) -> AllMapsReport:
    """Totals for every process (maps + smaps_rollup); ``on_process`` is called after each PID."""
    result = read_all_maps(on_process=on_process)
    return AllMapsReport(tuple(result.processes), result.skipped, result.denied, os.geteuid() == 0)
