"""What `kernlab mem`'s figures mean."""

from __future__ import annotations

from kernlab.catalog import has
from kernlab.explain import count, say
from kernlab.reports.mem import MemReport
from kernlab.units import percent

__all__ = ["COLUMN_KEYS", "column_source", "field_meaning", "free_sentences", "meminfo_sentence"]

COLUMN_KEYS = ("total", "used", "free", "shared", "buffers", "cache", "buff_cache", "available", "swap")


def free_sentences(report: MemReport) -> list[str]:
    """The identity between free's columns, what available means, and swap."""
    f = report.free
    out: list[str] = []
    if f.counted_twice == 0:
        out.append(
            say("mem.free.identity_exact", used=f.used, free=f.free, buff_cache=f.buff_cache, total=f.total)
        )
    else:
        total = f.used + f.free + f.buff_cache
        out.append(
            say(
                "mem.free.identity",
                used=f.used,
                free=f.free,
                buff_cache=f.buff_cache,
                sum=total,
                total=f.total,
                twice=f.counted_twice,
            )
        )
        out.append(
            say(
                "mem.free.classic",
                total=f.total,
                free=f.free,
                buff_cache=f.buff_cache,
                classic=f.used_classic,
            )
        )
    out.append(say("mem.free.available", available=f.available, pct=percent(f.available, f.total)))
    if f.available_estimated:
        out.append(say("mem.free.available_estimated"))
    if f.swap_total == 0:
        out.append(say("mem.free.swap_none"))
    else:
        out.append(
            say(
                "mem.free.swap_used",
                used=f.swap_used,
                total=f.swap_total,
                pct=percent(f.swap_used, f.swap_total),
            )
        )
    return out


def column_source(key: str) -> str:
    """Which /proc/meminfo fields a free column is computed from (``key`` from COLUMN_KEYS)."""
    return say(f"mem.explain.{key}")


def field_meaning(name: str) -> str:
    """What one /proc/meminfo field holds (a fixed phrase when kernlab does not know it)."""
    key = f"mem.meminfo.field.{name}"
    return say(key) if has(key) else say("mem.meminfo.unknown")


def is_described(name: str) -> bool:
    return has(f"mem.meminfo.field.{name}")


def meminfo_sentence(report: MemReport) -> str:
    f = report.free
    return say(
        "mem.meminfo.summary",
        fields=count("mem.n.field", len(report.meminfo or ())),
        source=report.source,
        total=f.total,
        free_pct=percent(f.free, f.total),
        cache_pct=percent(report._cached, f.total),
    )
