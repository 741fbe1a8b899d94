"""What `kernlab ps`'s figures mean: VSZ against RSS, faults, kernel threads and their jobs."""

from __future__ import annotations

from kernlab.catalog import has, say
from kernlab.explain import count
from kernlab.proc.cmdline import printable
from kernlab.reports.ps import KthreadFamilyRow, KthreadsReport, PsReport
from kernlab.units import format_kib, percent

__all__ = [
    "COLUMN_KEYS",
    "column_source",
    "family_role",
    "kthreads_sentences",
    "kworker_sentences",
    "ps_sentences",
]

COLUMN_KEYS = (
    "pid",
    "ppid",
    "user",
    "state",
    "vsz",
    "rss",
    "min_flt",
    "maj_flt",
    "threads",
    "kthread",
    "comm",
)
"""The catalog key of each of reports.ps.COLUMNS, in the same order."""


def column_source(key: str) -> str:
    """Which /proc file and field a column comes from (``key`` from COLUMN_KEYS)."""
    return say(f"ps.explain.{key}")


def ps_sentences(report: PsReport) -> list[str]:
    """Missing PIDs, the process with most untouched memory, the most faults, kernel threads."""
    out: list[str] = []
    processes = report.processes
    if report.missing:
        out.append(say("ps.missing", pids=", ".join(str(p) for p in report.missing)))
    if not processes:
        out.append(say("ps.empty"))
        return out
    users = [p for p in processes if not p.kernel_thread and p.vsz > 0]
    if users:
        big = max(users, key=lambda p: p.vsz - p.rss)
        out.append(
            say(
                "ps.vsz_rss",
                comm=printable(big.comm),
                pid=big.pid,
                vsz=format_kib(big.vsz),
                rss=format_kib(big.rss),
                untouched=100 - percent(big.rss, big.vsz),
            )
        )
        faulty = max(users, key=lambda p: p.min_flt)
        out.append(
            say(
                "ps.faults",
                comm=printable(faulty.comm),
                pid=faulty.pid,
                min_flt=faulty.min_flt,
                maj_total=count("ps.n.major_fault", sum(p.maj_flt for p in processes)),
            )
        )
    if report.kernel_threads:
        out.append(count("ps.kthreads", report.kernel_threads, tasks=count("ps.n.task", len(processes))))
    return out


def family_role(family: KthreadFamilyRow) -> str:
    """What the kernel threads of one family do."""
    key = f"ps.kthread_family.{family.family}"
    return say(key if has(key) else "ps.kthread_family.other", count=family.count)


def kthreads_sentences(report: KthreadsReport) -> list[str]:
    """How many kernel threads in how many families, each family's job, and the kworker pools."""
    if not report.families:
        return [say("ps.empty")]
    out = [
        count(
            "ps.kthreads_summary.total",
            sum(f.per_cpu for f in report.families),
            threads=count("ps.n.kthread", report.count),
            families=count("ps.n.family", len(report.families)),
        )
    ]
    out.extend(family_role(f) for f in report.families)
    out.extend(kworker_sentences(report.kworker_pools))
    return out


# The pool kinds explained, in the order they are said; each only when some worker is of it.
_KWORKER_KIND_ORDER = ("per_cpu", "highpri", "unbound", "rescuer", "dying")


def kworker_sentences(pools: dict[str, int]) -> list[str]:
    """How many kworkers of each pool kind, what each kind present is, and what the suffix says."""
    if not pools:
        return []
    out = [say("ps.kthreads_summary.kworker", **{k: pools.get(k, 0) for k in _KWORKER_KIND_ORDER})]
    out.extend(say(f"ps.kworker_kind.{kind}") for kind in _KWORKER_KIND_ORDER if pools.get(kind))
    out.append(say("ps.kworker_kind.suffix", running=pools.get("running", 0)))
    return out
