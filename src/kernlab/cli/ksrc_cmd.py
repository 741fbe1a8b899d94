"""`kernlab ksrc`: navigate a kernel source tree (system calls, operations tables, symbols)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kernlab.source.ksrc.index import IndexInfo
    from kernlab.source.ksrc.query import DefReport, OpsReport, RefsReport, SyscallReport
    from kernlab.source.ksrc.tree import TreeVersion

TREE_OPTION = click.option(
    "--tree",
    "tree",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The kernel source tree (default: the current folder).",
)


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

    The first query indexes every .c and .h file (about a minute for a full tree on two cores);
    later queries read the index, which is rebuilt when a source file changes.
    """
    ctx.obj = tree


def _tree(ctx: click.Context, tree: Path | None) -> Path | None:
    return tree if tree is not None else ctx.obj


@contextmanager
def _index_progress() -> Iterator:  # type: ignore[type-arg]
    from kernlab.render.progress import progress

    with progress("Indexing the source tree") as bar:
        yield lambda done, total: bar.update(completed=done, total=total)


def _query(
    ctx: click.Context,
    tree: Path | None,
    out: Output,
    render: Callable[[Any, Output], None],
    run: Callable[[Path | None, Callable[[int, int], None]], Any],
) -> None:
    """Run one index query on the tree (building or reusing its index, with a progress bar)
    and print its report."""
    with _index_progress() as step:
        report = run(_tree(ctx, tree), step)
    out.emit(report, render)


def _index_note(info: IndexInfo) -> str:
    from kernlab.catalog import say

    if info.built_now:
        return say(
            "ksrc.index_built",
            files=info.files,
            megabytes=round(info.source_bytes / 1e6),
            seconds=round(info.build_seconds, 1),
            workers=info.workers,
        )
    return say("ksrc.index_reused", files=info.files)


@ksrc.command("syscall", epilog=examples("kernlab ksrc syscall rename", "kernlab ksrc syscall openat --json"))
@click.argument("name")
@TREE_OPTION
@output_options
@click.pass_context
def syscall_cmd(ctx: click.Context, name: str, tree: Path | None, out: Output) -> None:
    """Every SYSCALL_DEFINEn / COMPAT_SYSCALL_DEFINEn of NAME, and whether this kernel has it."""
    from kernlab.source.ksrc.query import find_syscall

    _query(ctx, tree, out, _render_syscall, lambda root, step: find_syscall(root, name, step))


def _render_syscall(report: SyscallReport, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_line, print_table

    print_table(
        ["file:line", "definition"],
        [(f"{d.file}:{d.line}", d.signature) for d in report.definitions],
        title=f"System call {report.name} in {report.tree}",
    )
    run = report.running
    symbol = {True: "present", False: "absent", None: "unknown (kallsyms unreadable)"}[run.in_kallsyms]
    event = {True: "present", False: "absent", None: "unknown (no tracefs)"}[run.event_exists]
    print_line(f"running kernel {run.release}: {run.entry_symbol} {symbol}; {run.tracefs_event} {event}")
    if not report.definitions:
        out.sentence(say("ksrc.syscall_none", name=report.name))
    else:
        native = [d for d in report.definitions if not d.macro.startswith("COMPAT")]
        first = (native or report.definitions)[0]
        out.sentence(
            say(
                "ksrc.syscall_found",
                name=report.name,
                count=len(report.definitions),
                macro=first.macro,
                arguments=first.arguments,
                where=f"{first.file}:{first.line}",
            )
        )
    if run.in_kallsyms and run.event_exists:
        out.sentence(say("ksrc.syscall_running_both", symbol=run.entry_symbol, event=run.tracefs_event))
    elif run.in_kallsyms is False:
        out.sentence(say("ksrc.syscall_running_absent", symbol=run.entry_symbol, release=run.release))
    out.sentence(_index_note(report.index))


@ksrc.command(
    "ops", epilog=examples("kernlab ksrc ops ext4_rename2", "kernlab ksrc ops ext4_file_open --json")
)
@click.argument("function")
@TREE_OPTION
@output_options
@click.pass_context
def ops_cmd(ctx: click.Context, function: str, tree: Path | None, out: Output) -> None:
    """The operations tables that bind FUNCTION (`.field = FUNCTION` in an initialised table)."""
    from kernlab.source.ksrc.query import find_ops

    _query(ctx, tree, out, _render_ops, lambda root, step: find_ops(root, function, step))


def _render_ops(report: OpsReport, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_table

    print_table(
        ["binding", "table type", "file:line"],
        [
            (f"{b.table}.{b.field} = {b.function}", b.table_type, f"{b.file}:{b.line}")
            for b in report.bindings
        ],
        title=f"Tables binding {report.function}",
    )
    if report.bindings:
        b = report.bindings[0]
        defined = f"{report.definitions[0].file}:{report.definitions[0].line}" if report.definitions else "?"
        out.sentence(
            say(
                "ksrc.ops_found",
                function=report.function,
                count=len(report.bindings),
                table=b.table,
                field=b.field,
                type=b.table_type,
                defined=defined,
            )
        )
    else:
        out.sentence(say("ksrc.ops_none", function=report.function))
    out.sentence(_index_note(report.index))


@ksrc.command("def", epilog=examples("kernlab ksrc def ext4_rename2", "kernlab ksrc def inode_operations"))
@click.argument("symbol")
@TREE_OPTION
@output_options
@click.pass_context
def def_cmd(ctx: click.Context, symbol: str, tree: Path | None, out: Output) -> None:
    """Where SYMBOL is defined: function, struct/union/enum, typedef, variable or macro."""
    from kernlab.source.ksrc.query import find_definitions

    _query(ctx, tree, out, _render_def, lambda root, step: find_definitions(root, symbol, step))


def _render_def(report: DefReport, out: Output) -> None:
    from collections import Counter

    from kernlab.catalog import say
    from kernlab.render.terminal import print_table

    print_table(
        ["kind", "file:line", "text"],
        [(d.kind, f"{d.file}:{d.line}", d.text) for d in report.definitions],
        title=f"Definitions of {report.symbol}",
    )
    if report.definitions:
        kinds = Counter(d.kind for d in report.definitions)
        files = len({d.file for d in report.definitions})
        summary = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
        out.sentence(
            say(
                "ksrc.def_found",
                symbol=report.symbol,
                count=len(report.definitions),
                kinds=summary,
                files=files,
            )
        )
    else:
        out.sentence(say("ksrc.def_none", symbol=report.symbol))
    out.sentence(_index_note(report.index))


@ksrc.command(
    "refs", epilog=examples("kernlab ksrc refs do_renameat2", "kernlab ksrc refs ext4_rename2 --json")
)
@click.argument("symbol")
@click.option("--limit", type=int, default=0, help="Stop after this many lines (0: all).")
@TREE_OPTION
@output_options
@click.pass_context
def refs_cmd(ctx: click.Context, symbol: str, limit: int, tree: Path | None, out: Output) -> None:
    """Every line of code that uses SYMBOL (comments and strings are not code), like cscope."""
    from kernlab.source.ksrc.query import find_references

    _query(ctx, tree, out, _render_refs, lambda root, step: find_references(root, symbol, step, limit=limit))


def _render_refs(report: RefsReport, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_table

    print_table(
        ["file:line", "code"],
        [(f"{r.file}:{r.line}", r.text) for r in report.references],
        title=f"Uses of {report.symbol}",
    )
    if report.references:
        files = len({r.file for r in report.references})
        out.sentence(say("ksrc.refs_found", symbol=report.symbol, lines=len(report.references), files=files))
    else:
        out.sentence(say("ksrc.refs_none", symbol=report.symbol))
    if report.index is not None:
        out.sentence(_index_note(report.index))


@ksrc.command("info", epilog=examples("kernlab ksrc --tree /usr/src/linux info", "kernlab ksrc info --json"))
@TREE_OPTION
@output_options
@click.pass_context
def info_cmd(ctx: click.Context, tree: Path | None, out: Output) -> None:
    """The tree's version as `make kernelversion` prints it, beside the running kernel's."""
    from kernlab.source.ksrc.tree import tree_version

    root = _tree(ctx, tree)
    out.emit(tree_version(root if root is not None else Path.cwd()), _render_info)


def _render_info(version: TreeVersion, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_fields

    print_fields(
        [
            ("tree", version.tree),
            ("VERSION", version.version),
            ("PATCHLEVEL", version.patchlevel),
            ("SUBLEVEL", version.sublevel),
            ("EXTRAVERSION", version.extraversion),
            ("NAME", version.name),
            ("kernelversion", version.kernelversion),
            ("uname -r", version.running_release),
        ]
    )
    key = "ksrc.info_same" if version.same_base else "ksrc.info_differs"
    out.sentence(say(key, tree=version.kernelversion, running=version.running_release))


@ksrc.command(
    "index", epilog=examples("kernlab ksrc --tree /usr/src/linux index", "kernlab ksrc index --rebuild")
)
@click.option("--rebuild", is_flag=True, help="Build afresh even when the cached index is current.")
@click.option("--workers", type=int, default=None, help="Processes to index with (default: one per CPU).")
@TREE_OPTION
@output_options
@click.pass_context
def index_cmd(ctx: click.Context, rebuild: bool, workers: int | None, tree: Path | None, out: Output) -> None:
    """Build (or check) the tree's index and say where it is kept."""
    from kernlab.source.ksrc.index import open_index
    from kernlab.source.ksrc.tree import kernel_tree

    root = kernel_tree(_tree(ctx, tree))
    with _index_progress() as step:
        index = open_index(root, rebuild=rebuild, workers=workers, progress=step)
        if index.stale():
            index = open_index(root, rebuild=True, workers=workers, progress=step)
    out.emit(index.info, _render_index)


def _render_index(info: IndexInfo, out: Output) -> None:
    from kernlab.render.terminal import print_fields

    print_fields(
        [
            ("tree", info.tree),
            ("index", info.location),
            ("files", f"{info.files:,}"),
            ("source", f"{info.source_bytes / 1e6:,.0f} MB"),
            ("build time", f"{info.build_seconds:.1f} s ({info.workers} workers)"),
        ]
    )
    out.sentence(_index_note(info))
