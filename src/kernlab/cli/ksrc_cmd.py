"""`kernlab ksrc`: navigate a kernel source tree (system calls, operations tables, symbols).

Six subcommands, each only its options, one build and one emit: about 190 lines in all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click

from kernlab.cli.common import Output, examples, output_options

TREE_OPTION = click.option(
    "--tree",
    "tree",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The kernel source tree, or any folder in it (default: the current folder).",
)
Progress = Callable[[int, int], None]
R = TypeVar("R")

EMPTY_ANSWER = 8
"""Exit status of a query that found nothing (grep exits 1 then; kernlab's 1 is a failure)."""


@click.group(
    "ksrc",
    epilog=examples(
        "kernlab ksrc --tree /usr/src/linux syscall rename   SYSCALL_DEFINE2(rename, …) and where",
        "kernlab ksrc ops ext4_rename2                      ext4_dir_inode_operations.rename",
        "kernlab ksrc def task_struct                       where a symbol is defined (ctags)",
        "kernlab ksrc refs do_renameat2                     where it is used (cscope)",
        "kernlab ksrc info                                  tree version beside uname -r",
    ),
)
@TREE_OPTION
@click.pass_context
def ksrc(ctx: click.Context, tree: Path | None) -> None:
    """Navigate a kernel source tree with an index built once and kept in the cache.

    Run it anywhere inside the tree: its top is the nearest folder above whose Makefile sets
    VERSION and PATCHLEVEL. The first query indexes every .c, .h and .S file (about a minute for
    a full tree on two cores, with a progress bar); later queries read the index, parsing again
    only the files added or changed since. A query that finds nothing exits with status 8 (grep's "no match").
    """
    ctx.obj = tree


def _run(
    ctx: click.Context,
    tree: Path | None,
    out: Output,
    build: Callable[[Path | None, Progress], R],
    view: Callable[[R, Output], None],
    found: Callable[[R], bool] | None = None,
) -> None:
    """Build a report on the tree (the subcommand's --tree, else the group's) and print it.

    An index build reports the files done; the bar shows on stderr, on a terminal, after a second.
    An empty answer (``found`` false) still prints, then exits with EMPTY_ANSWER, as grep does.
    """
    from kernlab.render.progress import progress
    from kernlab.reports.ksrc import index_format

    where = tree if tree is not None else ctx.obj
    cached, current = index_format(where)
    if cached is None:
        label = "Indexing the source tree"
    elif cached != current:  # said once: the rebuilt index is current from then on
        label = f"Indexing the source tree again: its index has format {cached}, this kernlab reads {current}"
    else:
        label = "Updating the source index (only the files changed)"
    with progress(label) as bar:
        report = build(where, lambda n, total: bar.update(completed=n, total=total))
    out.emit(report, view)
    if found is not None and not found(report):
        sys.exit(EMPTY_ANSWER)  # not ctx.exit: click's non-standalone main would return the code


class _Answer(Protocol):
    @property
    def found(self) -> bool: ...


def _found(report: _Answer) -> bool:
    return report.found


def _subcommand(name: str, epilog: list[str], *params: Callable[[Any], Any]) -> Callable[..., click.Command]:
    """A ksrc subcommand taking ``params`` (top to bottom), --tree, --json and --quiet."""

    def decorate(func: Callable[..., None]) -> click.Command:
        wrapped = TREE_OPTION(output_options(click.pass_context(func)))
        for param in reversed(params):
            wrapped = param(wrapped)
        return ksrc.command(name, epilog=examples(*epilog))(wrapped)

    return decorate


@_subcommand(
    "syscall", ["kernlab ksrc syscall rename", "kernlab ksrc syscall openat --json"], click.argument("name")
)
def syscall_cmd(ctx: click.Context, name: str, tree: Path | None, out: Output) -> None:
    """Every SYSCALL_DEFINEn / COMPAT_SYSCALL_DEFINEn of NAME, and whether this kernel has it."""
    from kernlab.render.views import ksrc as view
    from kernlab.reports import ksrc as reports

    _run(ctx, tree, out, lambda t, step: reports.build_syscall(t, name, step), view.show_syscall, _found)


@_subcommand(
    "ops",
    ["kernlab ksrc ops ext4_rename2", "kernlab ksrc ops ext4_file_open --json"],
    click.argument("function"),
)
def ops_cmd(ctx: click.Context, function: str, tree: Path | None, out: Output) -> None:
    """The operations tables that bind FUNCTION (`.field = FUNCTION` in an initialised table)."""
    from kernlab.render.views import ksrc as view
    from kernlab.reports import ksrc as reports

    _run(ctx, tree, out, lambda t, step: reports.build_ops(t, function, step), view.show_ops, _found)


@_subcommand(
    "def", ["kernlab ksrc def ext4_rename2", "kernlab ksrc def inode_operations"], click.argument("symbol")
)
def def_cmd(ctx: click.Context, symbol: str, tree: Path | None, out: Output) -> None:
    """Where SYMBOL is defined: function, struct/union/enum, typedef, variable or macro."""
    from kernlab.render.views import ksrc as view
    from kernlab.reports import ksrc as reports

    _run(ctx, tree, out, lambda t, step: reports.build_def(t, symbol, step), view.show_def, _found)


@_subcommand(
    "refs",
    ["kernlab ksrc refs do_renameat2", "kernlab ksrc refs ext4_rename2 --json"],
    click.argument("symbol"),
    click.option("--limit", type=int, default=0, help="Stop after this many lines (0: all)."),
)
def refs_cmd(ctx: click.Context, symbol: str, limit: int, tree: Path | None, out: Output) -> None:
    """Every line of code that uses SYMBOL (comments and strings are not code), like cscope."""
    from kernlab.render.views import ksrc as view
    from kernlab.reports import ksrc as reports

    _run(
        ctx,
        tree,
        out,
        lambda t, step: reports.build_refs(t, symbol, step, limit=limit),
        view.show_refs,
        _found,
    )


@_subcommand("info", ["kernlab ksrc --tree /usr/src/linux info", "kernlab ksrc info --json"])
def info_cmd(ctx: click.Context, tree: Path | None, out: Output) -> None:
    """The tree's version as `make kernelversion` prints it, beside the running kernel's."""
    from kernlab.render.views import ksrc as view
    from kernlab.reports import ksrc as reports

    out.emit(reports.build_info(tree if tree is not None else ctx.obj), view.show_info)


@_subcommand(
    "index",
    ["kernlab ksrc --tree /usr/src/linux index", "kernlab ksrc index --rebuild"],
    click.option(
        "--rebuild", is_flag=True, help="Build whole again even when the cached index can be updated."
    ),
    click.option("--workers", type=int, default=None, help="Processes to index with (default: one per CPU)."),
)
def index_cmd(ctx: click.Context, rebuild: bool, workers: int | None, tree: Path | None, out: Output) -> None:
    """Build (or check) the tree's index and say where it is kept."""
    from kernlab.render.views import ksrc as view
    from kernlab.reports import ksrc as reports

    def build(where: Path | None, step: Progress) -> reports.IndexReport:
        return reports.build_index(where, rebuild=rebuild, workers=workers, progress=step)

    _run(ctx, tree, out, build, view.show_index)
