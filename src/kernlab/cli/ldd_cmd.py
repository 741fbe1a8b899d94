"""`kernlab ldd FILE`: the shared-library tree ld.so would load, found without running FILE."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.elf.ldd import LddReport


@click.command(
    "ldd",
    epilog=examples(
        "kernlab ldd /bin/mv                 libraries, where each was found, and why",
        "kernlab ldd --tree /usr/bin/perf    who needs whom",
        "kernlab ldd --ldd-style ./prog      the same lines ldd prints, minus addresses",
        "kernlab ldd --json /bin/ls          the whole resolution as JSON",
    ),
)
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--tree", is_flag=True, help="Show who needs whom, as a tree of DT_NEEDED entries.")
@click.option("--ldd-style", is_flag=True, help="Print the lines ldd prints (without load addresses).")
@output_options
def ldd(file: str, tree: bool, ldd_style: bool, out: Output) -> None:
    """The shared libraries FILE needs, resolved the way ld.so does (RPATH, LD_LIBRARY_PATH,
    RUNPATH, /etc/ld.so.cache, default directories), without executing FILE as ldd does.
    LD_LIBRARY_PATH is taken from the environment."""
    from kernlab.elf.ldd import resolve_libraries

    report = resolve_libraries(file, ld_library_path=os.environ.get("LD_LIBRARY_PATH"))
    if ldd_style:
        out.emit(report, _render_ldd_style)
    elif tree:
        out.emit(report, _render_tree)
    else:
        out.emit(report, _render_table)


def _render_ldd_style(report: LddReport, out: Output) -> None:
    from kernlab.elf.ldd import ldd_lines
    from kernlab.render.terminal import console

    for line in ldd_lines(report):
        # One library per line, never wrapped at the terminal width: scripts read these.
        console().print(f"\t{line}".expandtabs(8), markup=False, highlight=False, soft_wrap=True)


def _header(report: LddReport) -> None:
    from kernlab.render.terminal import print_fields

    pairs = [("File", report.file), ("Class", f"{report.elf_class} ({report.abi})")]
    if report.interpreter:
        pairs.append(("Interpreter", report.interpreter))
    if report.rpath:
        pairs.append(("RPATH", report.rpath))
    if report.runpath:
        pairs.append(("RUNPATH", report.runpath))
    if report.search is not None and report.search.ld_library_path:
        pairs.append(("LD_LIBRARY_PATH", ":".join(report.search.ld_library_path)))
    print_fields(pairs)


def _render_table(report: LddReport, out: Output) -> None:
    from kernlab.elf.ldd import ldd_sentence
    from kernlab.render.terminal import print_line, print_table

    _header(report)
    if report.kind != "dynamic":
        print_line("")
        out.sentence(ldd_sentence(report))
        return
    rows = []
    for obj in report.objects:
        if obj.status == "vdso":
            rows.append((obj.name, "(in the kernel, no file)", "vDSO", ""))
        elif obj.status == "interpreter":
            rows.append((obj.name, obj.path or "", "PT_INTERP", ""))
        elif obj.status == "not found":
            rows.append((obj.name, "NOT FOUND", "", obj.needed_by or ""))
        else:
            rows.append((obj.name, obj.path or "", obj.found_via or "", obj.needed_by or ""))
    print_table(["Library", "Path", "Found via", "Needed by"], rows)
    for obj in report.objects:
        if obj.status == "not found" and obj.tried:
            print_line(f"{obj.name}: tried {', '.join(obj.tried)}")
    out.sentence(ldd_sentence(report))


def _render_tree(report: LddReport, out: Output) -> None:
    from rich.tree import Tree

    from kernlab.elf.ldd import ldd_sentence
    from kernlab.render.terminal import console

    root = Tree(report.file)
    if report.kind != "dynamic":
        console().print(root)
        out.sentence(ldd_sentence(report))
        return
    children: dict[str, list] = {}
    for dep in report.dependencies:
        children.setdefault(dep.parent, []).append(dep)

    def add(node: Tree, parent: str, seen: set[str]) -> None:
        for dep in children.get(parent, []):
            if dep.path is None:
                node.add(f"[red]{dep.name} => not found[/red]")
            elif dep.loaded_here and dep.name not in seen:
                seen.add(dep.name)
                branch = node.add(f"{dep.name} => {dep.path}")
                add(branch, dep.name, seen)
            else:
                node.add(f"[dim]{dep.name} (already loaded)[/dim]")

    add(root, "", set())
    console().print(root)
    out.sentence(ldd_sentence(report))
