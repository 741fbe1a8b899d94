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


def kthread_family(name: str) -> str:
    """The family of a kernel thread named ``name`` ("other" when no pattern matches)."""
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
        family = kthread_family(process.comm)
        families.setdefault(family, KthreadFamily(family)).threads.append(process)
    return sorted(families.values(), key=lambda f: (-f.count, f.family))


def kworker_kinds(names: Iterable[str]) -> dict[str, int]:
    """kworker names split by pool kind: per-CPU, high-priority per-CPU, unbound, rescuer."""
    counts = {"per_cpu": 0, "highpri": 0, "unbound": 0, "rescuer": 0}
    for name in names:
        pool = name.split("/", 1)[1] if "/" in name else name
        if pool.startswith("R-"):
            counts["rescuer"] += 1
        elif pool.startswith("u"):
            counts["unbound"] += 1
        elif "H" in pool.split("-", 1)[0]:
            counts["highpri"] += 1
        else:
            counts["per_cpu"] += 1
    return counts
