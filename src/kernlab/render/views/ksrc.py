"""`kernlab ksrc` for a person: one table or field list per subcommand, then its sentences."""

from __future__ import annotations

from kernlab.explain import ksrc as explain
from kernlab.render.output import Output
from kernlab.render.terminal import print_fields, print_line, print_table
from kernlab.reports.ksrc import DefReport, IndexReport, InfoReport, OpsReport, RefsReport, SyscallReport

__all__ = ["show_def", "show_index", "show_info", "show_ops", "show_refs", "show_syscall"]

_KALLSYMS = {True: "present", False: "absent", None: "unknown (kallsyms unreadable)"}
_EVENT = {True: "present", False: "absent", None: "unknown (no tracefs)"}


def show_syscall(report: SyscallReport, out: Output) -> None:
    print_table(
        ["file:line", "definition"],
        [(f"{d.file}:{d.line}", d.signature) for d in report.definitions],
        title=f"System call {report.name} in {report.tree}",
    )
    run = report.running
    symbol, event = _KALLSYMS[run.in_kallsyms], _EVENT[run.event_exists]
    print_line(f"running kernel {run.release}: {run.entry_symbol} {symbol}; {run.tracefs_event} {event}")
    out.sentences(explain.syscall_sentences(report))


def show_ops(report: OpsReport, out: Output) -> None:
    print_table(
        ["binding", "table type", "file:line"],
        [
            (f"{b.table}.{b.field} = {b.function}", b.table_type, f"{b.file}:{b.line}")
            for b in report.bindings
        ],
        title=f"Tables binding {report.function}",
    )
    out.sentences(explain.ops_sentences(report))


def show_def(report: DefReport, out: Output) -> None:
    print_table(
        ["kind", "file:line", "text"],
        [(d.kind, f"{d.file}:{d.line}", d.text) for d in report.definitions],
        title=f"Definitions of {report.symbol}",
    )
    out.sentences(explain.def_sentences(report))


def show_refs(report: RefsReport, out: Output) -> None:
    print_table(
        ["file:line", "code"],
        [(f"{r.file}:{r.line}", r.text) for r in report.references],
        title=f"Uses of {report.symbol}",
    )
    out.sentences(explain.refs_sentences(report))


def show_info(report: InfoReport, out: Output) -> None:
    print_fields(
        [
            ("tree", report.tree),
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
            ("tree", report.tree),
            ("index", report.location),
            ("files", f"{report.files:,}"),
            ("source", f"{report.source_bytes / 1e6:,.0f} MB"),
            ("build time", f"{report.build_seconds:.1f} s ({report.workers} workers)"),
        ]
    )
    out.sentence(explain.index_note(report))
