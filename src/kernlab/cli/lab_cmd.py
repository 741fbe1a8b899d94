"""`kernlab lab …`: guided experiments measured live (mmap-vs-read, lazy-alloc, syscall-path).

Over 100 lines because it holds three subcommands, each with its options, its progress line
and its --html page; each is one build and one emit (the labs are kernlab.reports.labs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.render.html.page import Page

R = TypeVar("R")

html_option = click.option(
    "--html",
    "html",
    default=None,
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Also write the lab as one self-contained HTML file (plotly figures, no network needed).",
)


def _write_html(path: str | None, page: Callable[[R], Page], report: R) -> None:
    """Write the page and say where it is (on stderr: stdout stays the lab's, or its JSON)."""
    if not path:
        return
    from kernlab.render.html.report import written_line

    written = page(report).write(path)
    click.echo(written_line(str(written)), err=True)


@click.group(
    "lab",
    epilog=examples(
        "sudo kernlab lab mmap-vs-read              read() against mmap(), cold and warm, traced",
        "kernlab lab mmap-vs-read --size 16M        the same as a user: getrusage and mincore",
        "sudo kernlab lab mmap-vs-read --drop-caches   the seed's echo 3 > drop_caches (global)",
        "kernlab lab lazy-alloc --size 256M         no physical page until the first touch",
        "sudo kernlab lab syscall-path read         libc's wrapper to the file system, live",
        "kernlab lab lazy-alloc --html lazy.html    also as one HTML page with its figures",
    ),
)
def lab() -> None:
    """Guided experiments: each runs small children, measures them live, and says what the
    figures mean (computed from them, in the language asked for)."""


@lab.command(
    "mmap-vs-read",
    epilog=examples(
        "sudo kernlab lab mmap-vs-read",
        "sudo kernlab lab mmap-vs-read /var/log/syslog",
        "kernlab lab mmap-vs-read --size 8M --json",
    ),
)
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--size", default="64M", show_default=True, help="Size of the file kernlab writes (no FILE).")
@click.option(
    "--drop-caches",
    is_flag=True,
    help="Empty the whole machine's page cache (echo 3 > /proc/sys/vm/drop_caches; root) instead of "
    "evicting the one file, and show free before and after.",
)
@click.option("--no-trace", is_flag=True, help="Do not record: getrusage and mincore only.")
@html_option
@output_options
def mmap_vs_read(
    file: str | None, size: str, drop_caches: bool, no_trace: bool, html: str | None, out: Output
) -> None:
    """Read FILE (or a file kernlab writes) with read() and through mmap(), each cold (evicted
    from the page cache) and warm: time, system calls, faults, pages entering the page cache,
    readahead and the kernel path of each run; then hello_mmap's MAP_SHARED write."""
    from kernlab.explain.labs import progress_title
    from kernlab.render.progress import progress
    from kernlab.render.views import labs as view
    from kernlab.reports.labs import mmap_read

    with progress(progress_title("mmap"), total=mmap_read.STAGES) as bar:
        report = mmap_read.build(
            file,
            size=mmap_read.parse_size(size),
            drop_caches_too=drop_caches,
            no_trace=no_trace,
            advance=bar.advance,
        )
    out.emit(report, view.show_mmap)
    if html:
        from kernlab.render.html import labs as pages

        _write_html(html, pages.mmap_page, report)


@lab.command(
    "lazy-alloc", epilog=examples("kernlab lab lazy-alloc", "kernlab lab lazy-alloc --size 64M --json")
)
@click.option("--size", default="256M", show_default=True, help="Size of each region.")
@click.option(
    "--steps", default=4, show_default=True, type=click.IntRange(1, 64), help="Touch in this many steps."
)
@html_option
@output_options
def lazy_alloc(size: str, steps: int, html: str | None, out: Output) -> None:
    """Map a region and malloc() one: VSZ jumps, RSS does not; touch them in steps and watch RSS,
    faults and the pagemap presence strip grow; then the same with transparent huge pages."""
    from kernlab.explain.labs import progress_title
    from kernlab.render.progress import progress
    from kernlab.render.views import labs as view
    from kernlab.reports.labs import lazy_alloc as lazy
    from kernlab.reports.labs.mmap_read import parse_size

    with progress(progress_title("lazy"), total=3 * steps) as bar:
        report = lazy.build(parse_size(size), steps=steps, advance=bar.advance)
    out.emit(report, view.show_lazy)
    if html:
        from kernlab.render.html import labs as pages

        _write_html(html, pages.lazy_page, report)


@lab.command(
    "syscall-path",
    epilog=examples(
        "sudo kernlab lab syscall-path read", "kernlab lab syscall-path rename --no-trace --json"
    ),
)
@click.argument("name")
@click.option("--no-trace", is_flag=True, help="Do not make the call live (no recording).")
@click.option(
    "--tree",
    default=None,
    type=click.Path(file_okay=False),
    help="A kernel source tree (default: /usr/src/linux*, kernlab's extracted one, if indexed).",
)
@html_option
@output_options
def syscall_path(name: str, no_trace: bool, tree: str | None, html: str | None, out: Output) -> None:
    """The path of system call NAME: libc's wrapper, the trap and its registers, the kernel's
    entry and dispatch in kallsyms, one call recorded live with kernel stacks, the file system
    that served it, and the source when a kernel tree is at hand."""
    from kernlab.explain.labs import progress_title
    from kernlab.render.progress import progress
    from kernlab.render.views import labs as view
    from kernlab.reports.labs import syscall_path as reports

    with progress(progress_title("path"), total=reports.STAGES) as bar:
        report = reports.build(
            name, no_trace=no_trace, tree=tree, build_index=tree is not None, advance=bar.advance
        )
    out.emit(report, view.show_path)
    if html:
        from kernlab.render.html import labs as pages

        _write_html(html, pages.path_page, report)
