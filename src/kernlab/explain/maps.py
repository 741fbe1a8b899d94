"""What `kernlab maps`'s figures mean: VSZ, RSS and PSS, where RSS sits, and why a map is empty."""

from __future__ import annotations

from kernlab.explain import count, say
from kernlab.proc.cmdline import printable
from kernlab.reports.maps import AllMapsReport, MapsReport
from kernlab.units import percent

__all__ = [
    "COLUMN_KEYS",
    "all_sentence",
    "column_source",
    "empty_sentence",
    "gap_label",
    "picture_sentence",
    "pmap_note",
    "totals_sentences",
]

COLUMN_KEYS = (
    "range",
    "kbytes",
    "perms",
    "offset",
    "dev",
    "inode",
    "kind",
    "rss",
    "pss",
    "dirty",
    "anon",
    "swap",
    "thp",
    "name",
)


def column_source(key: str) -> str:
    """Which /proc file and field a column comes from (``key`` from COLUMN_KEYS)."""
    return say(f"maps.explain.{key}")


def empty_sentence(report: MapsReport) -> str | None:
    """Why a process has no VMAs to show (kernel thread, zombie, nothing left), or None."""
    comm = printable(report.comm)
    if report.kernel_thread:
        return say("maps.kernel_thread", pid=report.pid, comm=comm)
    if not report.vmas and report.zombie and report.threads > 1:
        return say("maps.zombie_leader", pid=report.pid, comm=comm, threads=report.threads)
    if not report.vmas and report.zombie:
        return say("maps.zombie", pid=report.pid, comm=comm)
    if not report.vmas:
        return say("maps.no_vmas", pid=report.pid, comm=comm)
    return None


def gap_label(*, to_kernel: bool) -> str:
    """What an unmapped stretch of the address space is."""
    return say("maps.gap_to_kernel") if to_kernel else say("maps.gap")


def picture_sentence() -> str:
    return say("maps.picture")


def pmap_note() -> str:
    return say("maps.pmap_note")


def totals_sentences(report: MapsReport) -> list[str]:
    """VSZ against ps, RSS/PSS/dirty, the kinds, where RSS sits, sharing, anon, THP and swap."""
    t = report.totals
    vsz_check = (
        say("maps.vsz_equal", pid=report.pid)
        if t.vsz == report.ps_vsz
        else say("maps.vsz_differs", vsz=report.ps_vsz)
    )
    out: list[str] = []
    if t.rss is None:
        out.append(say("maps.totals_nosmaps", count=t.count, size=t.size, vsz=t.vsz, vsz_check=vsz_check))
    else:
        out.append(
            say(
                "maps.totals",
                count=t.count,
                size=t.size,
                vsz=t.vsz,
                vsz_check=vsz_check,
                rss=t.rss,
                pss=t.pss,
                dirty=t.dirty,
                # hugetlb pages are in RAM although smaps leaves them out of Rss
                untouched=100 - percent(t.rss + report.hugetlb, t.size),
            )
        )
    kinds = report.kinds
    parts = ", ".join(say("maps.kind_part", count=k.count, kind=k.kind) for k in kinds)
    out.append(say("maps.kinds", parts=parts))
    if t.rss:
        ranked = sorted((k for k in kinds if k.rss), key=lambda k: -(k.rss or 0))
        rss_parts = ", ".join(
            say("maps.rss_part", kind=k.kind, pct=percent(k.rss or 0, t.rss)) for k in ranked
        )
        out.append(say("maps.rss_where", parts=rss_parts))
        out.append(say("maps.pss_shared", pss=t.pss, rss=t.rss, shared_pct=percent(report.shared, t.rss)))
        out.append(say("maps.anon", anonymous=t.anonymous))
        if report.thp:
            out.append(say("maps.thp", thp=report.thp))
        if t.swap:
            out.append(say("maps.swap", swap=t.swap))
    if report.hugetlb:
        out.append(say("maps.hugetlb", hugetlb=report.hugetlb))
    return out


def all_sentence(report: AllMapsReport) -> str:
    """How many processes were read, how many skipped or refused, and their RSS and PSS."""
    denied_key = "maps.all_denied_root" if report.as_root else "maps.all_denied"
    denied = say(denied_key, denied=report.denied) if report.denied else ""
    return say(
        "maps.all_summary",
        processes=count("maps.n.process", len(report.processes)),
        skipped=count("maps.n.skipped", report.skipped),
        denied=denied,
        rss=sum(p.totals.rss or 0 for p in report.processes),
        pss=sum(p.totals.pss or 0 for p in report.processes),
    )
