"""Kernel threads grouped into families by name (kworker, ksoftirqd, migration, rcu_*, ...).

A kernel thread is a task with PF_KTHREAD set; it has no user address space, so its VSZ and RSS
are 0. Its name is all that says what it does: kthread_create() names it with a printf pattern
("ksoftirqd/%u", "migration/%u", "kworker/%s" for workqueue pools), so the prefix identifies the
family and a trailing "/N" the CPU it is bound to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from kernlab.proc.process import ProcessInfo

# (pattern on the full name, family). First match wins; the family keys the role sentence in
# catalog ps.toml [kthread_family]. Order matters only where prefixes overlap.
FAMILY_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), family)
    for pattern, family in (
        (r"^kworker/", "kworker"),
        (r"^ksoftirqd/", "ksoftirqd"),
        (r"^migration/", "migration"),
        (r"^cpuhp/", "cpuhp"),
        (r"^idle_inject/", "idle_inject"),
        (r"^(rcu_|rcuo|rcub|rcuc)", "rcu"),
        (r"^kswapd", "kswapd"),
        (r"^kcompactd", "kcompactd"),
        (r"^khugepaged$", "khugepaged"),
        (r"^ksmd$", "ksmd"),
        (r"^kdamond", "kdamond"),
        (r"^oom_reaper$", "oom_reaper"),
        (r"^kthreadd$", "kthreadd"),
        (r"^irq/", "irq"),
        (r"^(watchdogd|watchdog/)", "watchdog"),
        (r"^khungtaskd$", "khungtaskd"),
        (r"^kauditd$", "kauditd"),
        (r"^kdevtmpfs$", "kdevtmpfs"),
        (r"^hwrng$", "hwrng"),
        (r"^pool_workqueue_release$", "pool_workqueue_release"),
        (r"^jbd2/", "jbd2"),
        (r"^scsi_(eh|tmf)_", "scsi"),
        (r"^(nvme|loop|nbd)", "block"),
        (r"^psimon$", "psimon"),
        (r"^kthrotld$", "kthrotld"),
    )
)

_PER_CPU = re.compile(r"/\d+$")


def kthread_family(name: str, wq_worker: bool = False) -> str:
    """The family of a kernel thread named ``name`` ("other" when no pattern matches).

    ``wq_worker`` (PF_WQ_WORKER in its flags) makes it a kworker whatever its name: before
    Linux 6.10 a rescuer was named by its workqueue alone (kernel/workqueue.c of 6.1:
    ``kthread_create(rescuer_thread, rescuer, "%s", wq->name)``), yet it runs with
    PF_WQ_WORKER set (rescuer_thread calls set_pf_worker(true)).
    """
    if wq_worker:
        return "kworker"
    for pattern, family in FAMILY_PATTERNS:
        if pattern.search(name):
            return family
    return "other"


@dataclass
class KthreadFamily:
    """Kernel threads that share a name pattern, hence a job."""

    family: str
    threads: list[ProcessInfo] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.threads)

    @property
    def per_cpu(self) -> int:
        """How many are bound to one CPU (name ends in /N, or kworker/N:M)."""
        return sum(1 for t in self.threads if _PER_CPU.search(t.comm) or _is_per_cpu_kworker(t.comm))

    @property
    def names(self) -> list[str]:
        return [t.comm for t in self.threads]


def _is_per_cpu_kworker(name: str) -> bool:
    # kworker/CPU:ID[H] is bound to CPU; kworker/uPOOL:ID is unbound; kworker/R-WQ a rescuer.
    return bool(re.match(r"^kworker/\d+:", name))


def group_kthreads(processes: Iterable[ProcessInfo]) -> list[KthreadFamily]:
    """Kernel threads among ``processes``, grouped by family, largest family first."""
    families: dict[str, KthreadFamily] = {}
    for process in processes:
        if not process.kernel_thread:
            continue
        family = kthread_family(process.comm, process.workqueue_worker)
        families.setdefault(family, KthreadFamily(family)).threads.append(process)
    return sorted(families.values(), key=lambda f: (-f.count, f.family))


# The names a workqueue worker gets, from kernel/workqueue.c (6.1: create_worker() and
# wq_worker_comm(); 6.10+: format_worker_id()):
#   kworker/%d:%d%s  pool->cpu, worker->id, "H" when pool->attrs->nice < 0 (the per-CPU
#                    high-priority pool, nice -20, HIGHPRI_NICE_LEVEL)
#   kworker/u%d:%d   pool->id, worker->id: an unbound pool, numbered by pool ID, not by CPU
#   kworker/R-%s     wq->name: the rescuer of a WQ_MEM_RECLAIM workqueue (6.10+; before, "%s")
#   kworker/dying    a worker being destroyed (too many idle workers)
# wq_worker_comm() (what /proc/PID/comm shows) then appends worker->desc, the workqueue name or
# set_worker_desc()'s text of the latest work item: "+desc" while it runs, "-desc" after it.
_KWORKER = re.compile(
    r"^kworker/(?:"
    r"(?P<cpu>\d+):(?P<cpu_worker>\d+)(?P<high>H?)"
    r"|u(?P<pool>\d+):(?P<pool_worker>\d+)"
    r"|(?P<dying>dying)"
    r")(?:(?P<sign>[+-])(?P<desc>.*))?$"
)
# A workqueue name may hold "-" itself ("ext4-rsv-conversion"), so a rescuer's name is split
# only where the suffix repeats the workqueue: the desc of a rescued work item is its
# workqueue's name (process_one_work copies pwq->wq->name into worker->desc).
_RESCUER = re.compile(r"^kworker/R-(?P<wq>.+?)(?:(?P<sign>[+-])(?P=wq))?$")

KWORKER_KINDS = ("per_cpu", "highpri", "unbound", "rescuer", "dying", "unknown")


@dataclass(frozen=True)
class KworkerName:
    """What a workqueue worker's name says about it (see the naming table above)."""

    name: str
    kind: str  # one of KWORKER_KINDS
    cpu: int | None  # per-CPU pools: the CPU the worker is bound to
    pool: int | None  # unbound pools: the pool's ID (not a CPU number)
    worker: int | None  # the worker's ID within its pool
    workqueue: str | None  # rescuer: the workqueue it rescues
    desc: str | None  # the workqueue (or set_worker_desc text) of its latest work item
    running: bool | None  # "+desc": runs that work now; "-desc": ran it last; None: no desc


def parse_kworker(name: str, wq_worker: bool = True) -> KworkerName:
    """Classify one workqueue worker by its /proc/PID/comm name.

    A PF_WQ_WORKER thread whose name does not start with "kworker/" is a rescuer named by its
    workqueue alone (kernels before 6.10).
    """
    r = _RESCUER.match(name)
    if r is not None:
        sign = r["sign"]
        desc = r["wq"] if sign else None
        return KworkerName(
            name, "rescuer", None, None, None, r["wq"], desc, None if sign is None else sign == "+"
        )
    m = _KWORKER.match(name)
    if m is None:
        if wq_worker and not name.startswith("kworker/"):
            return KworkerName(name, "rescuer", None, None, None, name, None, None)
        return KworkerName(name, "unknown", None, None, None, None, None, None)
    sign, desc = m["sign"], m["desc"]
    running = None if sign is None else sign == "+"
    if m["cpu"] is not None:
        kind = "highpri" if m["high"] else "per_cpu"
        return KworkerName(name, kind, int(m["cpu"]), None, int(m["cpu_worker"]), None, desc, running)
    if m["pool"] is not None:
        return KworkerName(name, "unbound", None, int(m["pool"]), int(m["pool_worker"]), None, desc, running)
    return KworkerName(name, "dying", None, None, None, None, desc, running)


def kworker_kinds(names: Iterable[str]) -> dict[str, int]:
    """kworker names counted by pool kind (every key of KWORKER_KINDS, "running" too).

    "running" counts the workers whose name ends in "+desc": running a work item now.
    """
    counts = dict.fromkeys((*KWORKER_KINDS, "running"), 0)
    for name in names:
        parsed = parse_kworker(name)
        counts[parsed.kind] += 1
        counts["running"] += parsed.running is True
    return counts
