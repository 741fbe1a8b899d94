"""What `kernlab pagecache`'s figures mean: how much of each file is cached, and after what."""

from __future__ import annotations

from kernlab.explain import count, say
from kernlab.proc.cmdline import hex_escaped
from kernlab.reports.pagecache import FileReport, PageCacheReport
from kernlab.units import format_bytes, percent_text

__all__ = ["file_sentences", "total_sentence"]

_ACTION_KEYS = {"evict": "pagecache.evicted", "load": "pagecache.loaded", "drop-all": "pagecache.dropped"}


def file_sentences(f: FileReport, action: str | None) -> list[str]:
    """What happened to one file (with an action), how much of it is cached, and sparseness."""
    r = f.residency
    ident = r.file
    name = hex_escaped(ident.path)  # a name with a newline must not break the sentence
    source = say(
        "pagecache.source",
        device=ident.mount_source or ident.device,
        fstype=ident.fstype or "?",
        mount=ident.mount_point or "?",
    )
    out = []
    if action in _ACTION_KEYS:
        after = count("pagecache.n.resident_page", r.resident_pages)
        out.append(say(_ACTION_KEYS[action], name=name, before=f.before_resident_pages, after=after))
        if action == "evict" and r.resident_pages:
            out.append(count("pagecache.evict_kept", r.resident_pages, name=name))
    # Each sentence's verb agrees with the pages it counts first: explain.count picks the key.
    if r.pages == 0:
        out.append(say("pagecache.file_empty", name=name))
    elif r.resident_pages == r.pages:
        out.append(count("pagecache.file_all", r.pages, name=name))
    elif r.resident_pages == 0:
        out.append(count("pagecache.file_none", r.pages, name=name, source=source))
    else:
        out.append(
            count(
                "pagecache.file_some",
                r.resident_pages,
                name=name,
                pages=count("pagecache.n.page", r.pages),
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
    return count(
        "pagecache.total",
        report.total_resident_pages,
        pages=count("pagecache.n.page", report.total_pages),
        percent=percent_text(report.total_resident_pages, report.total_pages),
        files=count("pagecache.n.file", len(report.files)),
        cached=format_bytes(report.total_resident_bytes),
    )
