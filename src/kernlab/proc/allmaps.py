"""Address-space totals of every process on the machine (``kernlab maps --all``).

For each process kernlab reads /proc/PID/maps (the VMA list: count, sizes, kinds) and
/proc/PID/smaps_rollup (the kernel's own sums of the smaps fields, ``show_smaps_rollup`` in
fs/proc/task_mmu.c). The kernel walks the same page tables as for smaps, but prints ~25 lines per
process instead of ~25 per VMA, so there is far less text to parse; pmap -x has to read the whole smaps
of each PID, and costs a fork and exec per process on top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kernlab.errors import NoSuchProcess, NotSupported, PermissionNeeded
from kernlab.proc.errors import read_proc_text
from kernlab.proc.maps import (
    KindTotals,
    MapsTotals,
    Vma,
    classify_vmas,
    parse_maps,
    read_exe_path,
    total_vmas,
    totals_by_kind,
)
from kernlab.proc.process import ProcessInfo, iter_processes


@dataclass(frozen=True)
class ProcessMaps:
    """One process's VMA totals."""

    pid: int
    comm: str
    totals: MapsTotals
    kinds: list[KindTotals]


@dataclass
class AllMaps:
    """Every readable user address space; kernel threads and processes that exited are counted."""

    processes: list[ProcessMaps] = field(default_factory=list)
    skipped: int = 0  # kernel threads, zombies, and processes that exited while being read
    denied: int = 0  # smaps refused (another user's process without root)


def _rollup_totals(vmas: list[Vma], rollup: dict[str, int]) -> MapsTotals:
    """Totals from the VMA list (count, sizes) and smaps_rollup (page counts), in KiB."""
    plain = total_vmas(vmas)
    return MapsTotals(
        count=plain.count,
        size=plain.size,
        vsz=plain.vsz,
        rss=rollup.get("Rss"),
        pss=rollup.get("Pss"),
        dirty=rollup.get("Shared_Dirty", 0) + rollup.get("Private_Dirty", 0) if "Rss" in rollup else None,
        anonymous=rollup.get("Anonymous"),
        swap=rollup.get("Swap"),
    )


def _parse_rollup(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(":")
        if rest.endswith(" kB"):
            out[key] = int(rest[:-3])
    return out


def read_all_maps(on_process: Callable[[], None] | None = None) -> AllMaps:
    """Totals for every process with an address space; ``on_process`` is called after each PID.

    Per-kind sums carry sizes only (rss/pss None): RSS per kind needs the per-VMA smaps that
    ``kernlab maps PID`` reads.
    """
    result = AllMaps()
    processes: list[ProcessInfo] = list(iter_processes())
    for process in processes:
        if process.kernel_thread:
            result.skipped += 1
        else:
            rollup: dict[str, int] = {}
            try:
                vmas = parse_maps(read_proc_text(process.pid, "maps"))
                rollup = _parse_rollup(read_proc_text(process.pid, "smaps_rollup")) if vmas else {}
            except NoSuchProcess:
                result.skipped += 1
                vmas = None
            except (PermissionNeeded, NotSupported):
                result.denied += 1
                vmas = None
            if vmas is not None:
                if not vmas or not rollup:
                    result.skipped += 1  # zombie, or exited between the two reads
                else:
                    classify_vmas(vmas, read_exe_path(process.pid))
                    kinds = [KindTotals(k.kind, k.count, k.size, None, None) for k in totals_by_kind(vmas)]
                    result.processes.append(
                        ProcessMaps(process.pid, process.comm, _rollup_totals(vmas, rollup), kinds)
                    )
        if on_process is not None:
            on_process()
    return result
