"""`kernlab ldd` for a person: a table of libraries, a tree of who needs whom, or ldd's own lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernlab.elf.ldd import Dependency
from kernlab.explain import text
from kernlab.explain.ldd import ldd_sentence
from kernlab.render import terminal as t
from kernlab.render.output import Output
from kernlab.reports.ldd import LddReport

if TYPE_CHECKING:
    from rich.tree import Tree

__all__ = ["ldd_lines", "show_ldd_style", "show_table", "show_tree"]


def ldd_lines(report: LddReport) -> list[str]:
    """The report as ldd prints it (without load addresses, which only a run can know)."""
    if report.kind == "static":
        return ["not a dynamic executable"]
    if report.kind == "static-pie":
        return ["statically linked"]
    lines = []
    for obj in report.objects:
        if obj.status == "not found":
            lines.append(f"{obj.name} => not found")
        elif obj.status in ("vdso", "interpreter") or obj.name == obj.path:
            lines.append(obj.name)
        else:
            lines.append(f"{obj.name} => {obj.path}")
    return lines


def show_ldd_style(report: LddReport, out: Output) -> None:
    for line in ldd_lines(report):
        # One library per line, never wrapped at the terminal width: scripts read these.
        t.console().print(f"\t{line}".expandtabs(8), markup=False, highlight=False, soft_wrap=True)


def _header(report: LddReport) -> None:
    pairs = [
        (text("ldd.view.file"), report.file),
        (text("ldd.view.class"), f"{report.elf_class} ({report.abi})"),
    ]
    if report.interpreter:
        pairs.append((text("ldd.view.interpreter"), report.interpreter))
    if report.rpath:
        pairs.append(("RPATH", report.rpath))
    if report.runpath:
        pairs.append(("RUNPATH", report.runpath))
    if report.search is not None and report.search.ld_library_path:
        pairs.append(("LD_LIBRARY_PATH", ":".join(report.search.ld_library_path)))
    t.print_fields(pairs)


def show_table(report: LddReport, out: Output) -> None:
    """Each library, the file found for it, the search step that found it and who needed it."""
    _header(report)
    if report.kind != "dynamic":
        t.print_line("")
        out.sentence(ldd_sentence(report))
        return
    rows = []
    for obj in report.objects:
        if obj.status == "vdso":
            rows.append((obj.name, text("ldd.view.in_kernel"), "vDSO", ""))
        elif obj.status == "interpreter":
            rows.append((obj.name, obj.path or "", "PT_INTERP", ""))
        elif obj.status == "not found":
            rows.append((obj.name, text("ldd.view.not_found"), "", obj.needed_by or ""))
        else:
            rows.append((obj.name, obj.path or "", obj.found_via or "", obj.needed_by or ""))
    t.print_table(
        [
            text("ldd.view.library"),
            text("ldd.view.path"),
            text("ldd.view.found_via"),
            text("ldd.view.needed_by"),
        ],
        rows,
    )
    for obj in report.objects:
        if obj.status == "not found" and obj.tried:
            t.print_line(text("ldd.view.tried", name=obj.name, paths=", ".join(obj.tried)))
    out.sentence(ldd_sentence(report))


def show_tree(report: LddReport, out: Output) -> None:
    """Who needs whom: each DT_NEEDED entry under the object that names it."""
    from rich.tree import Tree

    root = Tree(report.file)
    if report.kind != "dynamic":
        t.print_renderable(root)
        out.sentence(ldd_sentence(report))
        return
    children: dict[str, list[Dependency]] = {}
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
                node.add(f"[dim]{text('ldd.view.already_loaded', name=dep.name)}[/dim]")

    add(root, "", set())
    t.print_renderable(root)
    out.sentence(ldd_sentence(report))
