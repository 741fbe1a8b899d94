"""`kernlab ksrc` for a person: one table or field list per subcommand, then its sentences."""

from __future__ import annotations

from kernlab.explain import ksrc as explain
from kernlab.explain import text
from kernlab.render.output import Output
from kernlab.render.terminal import print_fields, print_line, print_table
from kernlab.reports.ksrc import DefReport, IndexReport, InfoReport, OpsReport, RefsReport, SyscallReport

__all__ = ["show_def", "show_index", "show_info", "show_ops", "show_refs", "show_syscall"]

_KALLSYMS = {True: "present", False: "absent", None: "kallsyms_unknown"}
_EVENT = {True: "present", False: "absent", None: "event_unknown"}


def _last_changes(report: SyscallReport | OpsReport | DefReport | RefsReport) -> None:
    """In a git checkout: one line per file of the answer, its last commit (git log -1 -- FILE)."""
    for commit in report.last_commits:
        print_line(f"{commit.file}  {explain.last_change(commit)}")


def show_syscall(report: SyscallReport, out: Output) -> None:
    print_table(
        [text("ksrc.view.file_line"), text("ksrc.view.definition")],
        [(f"{d.file}:{d.line}", d.signature) for d in report.definitions],
        title=text("ksrc.view.syscall_title", name=report.name, tree=report.tree),
    )
    run = report.running
    symbol = text(f"ksrc.view.{_KALLSYMS[run.in_kallsyms]}")
    event = text(f"ksrc.view.{_EVENT[run.event_exists]}")
    print_line(
        text(
            "ksrc.view.running",
            release=run.release,
            symbol=run.entry_symbol,
            symbol_state=symbol,
            event=run.tracefs_event,
            event_state=event,
        )
    )
    _last_changes(report)
    out.sentences(explain.syscall_sentences(report))


def show_ops(report: OpsReport, out: Output) -> None:
    print_table(
        [text("ksrc.view.binding"), text("ksrc.view.table_type"), text("ksrc.view.file_line")],
        [
            (f"{b.table}.{b.field} = {b.function}", b.table_type, f"{b.file}:{b.line}")
            for b in report.bindings
        ],
        title=text("ksrc.view.ops_title", function=report.function),
    )
    _last_changes(report)
    out.sentences(explain.ops_sentences(report))


def show_def(report: DefReport, out: Output) -> None:
    # The kind (function, macro, struct …) is the index's keyword, also in --json.
    print_table(
        [text("ksrc.view.kind"), text("ksrc.view.file_line"), text("ksrc.view.text")],
        [(d.kind, f"{d.file}:{d.line}", d.text) for d in report.definitions],
        title=text("ksrc.view.def_title", symbol=report.symbol),
    )
    _last_changes(report)
    out.sentences(explain.def_sentences(report))


def show_refs(report: RefsReport, out: Output) -> None:
    print_table(
        [text("ksrc.view.file_line"), text("ksrc.view.code")],
        [(f"{r.file}:{r.line}", r.text) for r in report.references],
        title=text("ksrc.view.refs_title", symbol=report.symbol),
    )
    _last_changes(report)
    out.sentences(explain.refs_sentences(report))


def show_info(report: InfoReport, out: Output) -> None:
    # VERSION … NAME are the variables of the tree's top Makefile, kernelversion its target:
    # named as the Makefile names them.
    print_fields(
        [
            (text("ksrc.view.tree"), report.tree),
            ("VERSION", report.version),
            ("PATCHLEVEL", report.patchlevel),
            ("SUBLEVEL", report.sublevel),
            ("EXTRAVERSION", report.extraversion),
            ("NAME", report.name),
            ("kernelversion", report.kernelversion),
            ("uname -r", report.running_release),
        ]
    )
    out.sentences(explain.info_sentences(report))


def show_index(report: IndexReport, out: Output) -> None:
    print_fields(
        [
            (text("ksrc.view.tree"), report.tree),
            (text("ksrc.view.index"), report.location),
            (text("ksrc.view.files"), f"{report.files:,}"),
            (text("ksrc.view.source"), f"{report.source_bytes / 1e6:,.0f} MB"),
            (
                text("ksrc.view.build_time"),
                explain.build_time_text(report),
            ),
        ]
    )
    out.sentence(explain.index_note(report))
