"""`kernlab ps`: processes from /proc/PID/stat and status, or kernel threads grouped by family."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kernlab.errors import NoSuchProcess
from kernlab.proc.errors import resolve_pid
from kernlab.proc.kthreads import KworkerName, group_kthreads, kworker_kinds, parse_kworker
from kernlab.proc.process import ProcessInfo, iter_processes, resolve_user, sort_processes

__all__ = ["COLUMNS", "KthreadFamilyRow", "KthreadsReport", "PsReport", "build", "build_kthreads", "pid_list"]

COLUMNS = ("PID", "PPID", "USER", "S", "VSZ", "RSS", "MINFLT", "MAJFLT", "THR", "K", "COMMAND")
"""ps's columns; explain.ps.COLUMN_KEYS names the /proc source of each, in this order."""


@dataclass(frozen=True)
class PsReport:
    """The processes asked for, sorted; ``missing`` are PIDs asked for that do not exist."""

    count: int
    kernel_threads: int
    missing: tuple[int, ...]
    processes: tuple[ProcessInfo, ...]


@dataclass(frozen=True)
class KthreadFamilyRow:
    """Kernel threads that share a name pattern, hence a job (``family`` keys its role)."""

    family: str
    count: int
    per_cpu: int  # bound to one CPU (name ends in /N, or kworker/N:M)
    names: tuple[str, ...]


@dataclass(frozen=True)
class KthreadsReport:
    """Kernel threads by family, largest first, and the kworkers by pool kind."""

    count: int
    families: tuple[KthreadFamilyRow, ...]
    # per_cpu, highpri, unbound, rescuer, dying, unknown, running; empty without kworkers
    kworker_pools: dict[str, int]
    kworkers: tuple[KworkerName, ...] = ()  # each kworker's name taken apart (pool, CPU, wq)


def pid_list(values: Sequence[str]) -> list[int]:
    """PIDs from ``--pid`` values, each a PID, ``self`` or a comma-separated list of them."""
    return [resolve_pid(part) for value in values for part in value.split(",") if part.strip()]


def _select(pids: Sequence[int] | None, user: str | None) -> tuple[list[ProcessInfo], list[int]]:
    processes = list(iter_processes(pids))
    missing = sorted(set(pids or []) - {p.pid for p in processes})
    if pids and missing and len(pids) == 1:
        raise NoSuchProcess(missing[0])
    if user is not None:
        uid = resolve_user(user)
        processes = [p for p in processes if p.uid == uid]
    return processes, missing


def build(
    pids: Sequence[int] | None = None,
    *,
    user: str | None = None,
    sort: str = "pid",
    with_kthreads: bool = True,
) -> PsReport:
    """Processes (all, or ``pids``; of ``user`` only) sorted like ``ps --sort``."""
    processes, missing = _select(pids, user)
    if not with_kthreads:
        processes = [p for p in processes if not p.kernel_thread]
    processes = sort_processes(processes, sort)
    return PsReport(
        count=len(processes),
        kernel_threads=sum(p.kernel_thread for p in processes),
        missing=tuple(missing),
        processes=tuple(processes),
    )


def build_kthreads(pids: Sequence[int] | None = None, *, user: str | None = None) -> KthreadsReport:
    """Kernel threads (among ``pids`` when given) grouped by family."""
    processes, _ = _select(pids, user)
    families = group_kthreads(processes)
    kworkers = next((f for f in families if f.family == "kworker"), None)
    return KthreadsReport(
        count=sum(f.count for f in families),
        families=tuple(KthreadFamilyRow(f.family, f.count, f.per_cpu, tuple(f.names)) for f in families),
        kworker_pools=kworker_kinds(kworkers.names) if kworkers else {},
        kworkers=tuple(parse_kworker(t.comm, t.workqueue_worker) for t in kworkers.threads)
        if kworkers
        else (),
    )
