"""What `kernlab pagecache`'s figures mean: how much of each file is cached, and after what."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.reports.pagecache import FileReport, PageCacheReport
from kernlab.units import format_bytes, percent_text

__all__ = ["file_sentences", "total_sentence"]

_ACTION_KEYS = {"evict": "pagecache.evicted", "load": "pagecache.loaded", "drop-all": "pagecache.dropped"}


def file_sentences(f: FileReport, action: str | None) -> list[str]:
    """What happened to one file (with an action), how much of it is cached, and sparseness."""
    r = f.residency
    ident = r.file
    name = ident.path
    source = say(
        "pagecache.source",
        device=ident.mount_source or ident.device,
        fstype=ident.fstype or "?",
        mount=ident.mount_point or "?",
    )
    out = []
    if action in _ACTION_KEYS:
        out.append(
            say(_ACTION_KEYS[action], name=name, before=f.before_resident_pages, after=r.resident_pages)
        )
        if action == "evict" and r.resident_pages:
            out.append(say("pagecache.evict_kept", name=name, after=r.resident_pages))
    if r.pages == 0:
        out.append(say("pagecache.file_empty", name=name))
    elif r.resident_pages == r.pages:
        out.append(say("pagecache.file_all", name=name, pages=f"{r.pages:,}"))
    elif r.resident_pages == 0:
        out.append(say("pagecache.file_none", name=name, pages=f"{r.pages:,}", source=source))
    else:
        out.append(
            say(
                "pagecache.file_some",
                name=name,
                pages=f"{r.pages:,}",
                resident=f"{r.resident_pages:,}",
                percent=percent_text(r.resident_pages, r.pages),
                missing=f"{r.pages - r.resident_pages:,}",
                source=source,
            )
        )
    if ident.allocated_bytes < ident.size and ident.size > 0:
        out.append(
            say(
                "pagecache.sparse",
                name=name,
                size=format_bytes(ident.size),
                allocated=format_bytes(ident.allocated_bytes),
            )
        )
    return out


def total_sentence(report: PageCacheReport) -> str:
    return say(
        "pagecache.total",
        resident=f"{report.total_resident_pages:,}",
        pages=f"{report.total_pages:,}",
        percent=percent_text(report.total_resident_pages, report.total_pages),
        count=len(report.files),
        cached=format_bytes(report.total_resident_bytes),
    )
