"""`kernlab pagecache FILE…`: which pages of each file are in the page cache (like fincore)."""

from __future__ import annotations

import click

from kernlab.cli.common import Output, examples, output_options, strip_width_option
from kernlab.units import format_bytes as format_size
from kernlab.units import percent_text


@click.command(
    "pagecache",
    epilog=examples(
        "kernlab pagecache /usr/bin/python3          how much of python is cached",
        "kernlab pagecache --evict big.log           drop one file's clean pages",
        "kernlab pagecache --load big.log --json     read it in, show the result as JSON",
        "kernlab pagecache --drop-all /etc/passwd    drop the whole page cache (root)",
    ),
)
@click.argument("files", nargs=-1, required=True, type=str)
@click.option(
    "--evict", "action", flag_value="evict", help="Drop each file's pages (fsync, then FADV_DONTNEED)."
)
@click.option("--load", "action", flag_value="load", help="Read each file so its pages are cached.")
@click.option(
    "--drop-all", "action", flag_value="drop-all", help="Drop every clean page of the whole machine (root)."
)
@strip_width_option
@output_options
def pagecache(files: tuple[str, ...], action: str | None, width: int, out: Output) -> None:
    """Which pages of each FILE are in the page cache: mmap + mincore(2), as fincore does.

    For each file also what stat(1) and df -T tell: inode, size, blocks, device, filesystem
    type and mount point.
    """
    from kernlab.mm.pagecache import examine_files
    from kernlab.render.progress import progress

    with progress("reading page residency") as bar:
        report = examine_files(list(files), action, on_bytes=bar.advance)
    out.emit(report, lambda r, o: _render(r, o, width))


def _render(report, out: Output, width: int) -> None:  # type: ignore[no-untyped-def]
    from rich.markup import escape

    from kernlab.catalog import say
    from kernlab.mm.strip import strip_fractions, strip_text
    from kernlab.render.terminal import print_heading, print_line, print_table

    acted = report.action is not None
    columns = ["FILE", "SIZE", "PAGES", "RESIDENT", "RES", "%"] + (["BEFORE"] if acted else [])
    rows = []
    for f in report.files:
        r = f.residency
        row = [
            escape(r.file.path),
            r.file.size,
            r.pages,
            r.resident_pages,
            format_size(r.resident_bytes),
            percent_text(r.resident_pages, r.pages),
        ]
        rows.append(row + ([f.before_resident_pages] if acted else []))
    if len(report.files) > 1:
        rows.append(
            [
                "total",
                report.total_size,
                report.total_pages,
                report.total_resident_pages,
                format_size(report.total_resident_bytes),
                percent_text(report.total_resident_pages, report.total_pages),
            ]
            + ([""] if acted else [])
        )
    print_table(columns, rows, title="Page cache", right=columns[1:])

    print_table(
        ["FILE", "INODE", "BLOCKS", "DEVICE", "TYPE", "MOUNTED ON", "SOURCE"],
        [
            [
                escape(f.residency.file.path),
                f.residency.file.inode,
                f.residency.file.blocks,
                f.residency.file.device,
                f.residency.file.fstype or "?",
                escape(f.residency.file.mount_point or "?"),
                escape(f.residency.file.mount_source or "?"),
            ]
            for f in report.files
        ],
        title="stat and df -T",
        right=["INODE", "BLOCKS"],
    )
    print_heading(f"Residency (each cell ≈ 1/{width} of the file; █ all cached, ▒ some, · none)")
    name_width = max(len(f.residency.file.path) for f in report.files)
    for f in report.files:
        r = f.residency
        strip = strip_text(strip_fractions(r.resident_ranges, r.pages, width)) or "(empty)"
        if name_width + 2 + width <= 80:
            print_line(f"{r.file.path:<{name_width}}  {strip}")
        else:  # a long name gets its own line so the strip is not wrapped
            print_line(r.file.path)
            print_line(f"  {strip}")

    for f in report.files:
        for sentence in _file_sentences(f, report.action, say):
            out.sentence(escape(sentence))
    if len(report.files) > 1:
        out.sentence(
            say(
                "pagecache.total",
                resident=f"{report.total_resident_pages:,}",
                pages=f"{report.total_pages:,}",
                percent=percent_text(report.total_resident_pages, report.total_pages),
                count=len(report.files),
                cached=format_size(report.total_resident_bytes),
            )
        )


def _file_sentences(f, action: str | None, say) -> list[str]:  # type: ignore[no-untyped-def]
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
    if action == "evict":
        out.append(
            say("pagecache.evicted", name=name, before=f.before_resident_pages, after=r.resident_pages)
        )
        if r.resident_pages:
            out.append(say("pagecache.evict_kept", name=name, after=r.resident_pages))
    elif action == "load":
        out.append(say("pagecache.loaded", name=name, before=f.before_resident_pages, after=r.resident_pages))
    elif action == "drop-all":
        out.append(
            say("pagecache.dropped", name=name, before=f.before_resident_pages, after=r.resident_pages)
        )
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
                size=format_size(ident.size),
                allocated=format_size(ident.allocated_bytes),
            )
        )
    return out
