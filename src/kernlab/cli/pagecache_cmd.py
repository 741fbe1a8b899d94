"""`kernlab pagecache FILE…`: which pages of each file are in the page cache (like fincore)."""

from __future__ import annotations

import click

from kernlab.cli.common import Output, examples, output_options, strip_width_option


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
    from kernlab.render.progress import progress
    from kernlab.render.views import pagecache as view
    from kernlab.reports import pagecache as reports

    with progress("reading page residency") as bar:
        report = reports.build(files, action, on_bytes=bar.advance)
    out.emit(report, lambda r, o: view.show(r, o, width=width))
