"""What `kernlab ksrc`'s answers mean, in sentences."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.explain import count
from kernlab.reports.ksrc import DefReport, InfoReport, LastCommit, OpsReport, RefsReport, SyscallReport
from kernlab.source.ksrc.index import IndexInfo

__all__ = [
    "build_time_text",
    "def_sentences",
    "index_note",
    "info_sentences",
    "last_change",
    "ops_sentences",
    "refs_sentences",
    "syscall_sentences",
]


def build_time_text(info: IndexInfo) -> str:
    """How long the index took to build, and with how many worker processes."""
    return say(
        "ksrc.view.build_time_value",
        seconds=f"{info.build_seconds:.1f}",
        workers=count("ksrc.view.n.worker", info.workers),
    )


def last_change(commit: LastCommit) -> str:
    """``last change: <short hash> <date> <author>: <subject>`` of one file of an answer."""
    return say(
        "ksrc.view.last_change",
        commit=commit.commit[:12],
        date=commit.date[:10],
        author=commit.author,
        subject=commit.subject,
    )


def index_note(info: IndexInfo) -> str:
    """Whether the answer came from an index built just now, brought up to date, or as cached."""
    if info.updated:
        return say(
            "ksrc.index_updated",
            seconds=round(info.update_seconds, 2),
            reparsed=count("ksrc.updated.reparsed", info.reparsed_files),
            removed=count("ksrc.updated.removed", info.removed_files),
            files=info.files,
        )
    if info.built_now:
        return say(
            "ksrc.index_built",
            files=info.files,
            megabytes=round(info.source_bytes / 1e6),
            seconds=round(info.build_seconds, 1),
            workers=info.workers,
        )
    return say("ksrc.index_reused", files=info.files)


def syscall_sentences(report: SyscallReport) -> list[str]:
    out: list[str] = []
    first = report.native
    if first is None:
        out.append(say("ksrc.syscall_none", name=report.name))
    else:
        out.append(
            say(
                "ksrc.syscall_found",
                name=report.name,
                count=len(report.definitions),
                macro=first.macro,
                arguments=first.arguments,
                where=f"{first.file}:{first.line}",
            )
        )
    run = report.running
    if run.in_kallsyms and run.event_exists:
        out.append(say("ksrc.syscall_running_both", symbol=run.entry_symbol, event=run.tracefs_event))
    elif run.in_kallsyms is False:
        out.append(say("ksrc.syscall_running_absent", symbol=run.entry_symbol, release=run.release))
    out.append(index_note(report.index))
    return out


def ops_sentences(report: OpsReport) -> list[str]:
    if not report.bindings:
        # A name that occurs nowhere is not "called directly": say it is not in this tree at all.
        key = "ksrc.ops_nowhere" if report.nowhere else "ksrc.ops_none"
        return [say(key, function=report.function), index_note(report.index)]
    b = report.bindings[0]
    defined = f"{report.definitions[0].file}:{report.definitions[0].line}" if report.definitions else "?"
    found = say(
        "ksrc.ops_found",
        function=report.function,
        count=len(report.bindings),
        table=b.table,
        field=b.field,
        type=b.table_type,
        defined=defined,
    )
    return [found, index_note(report.index)]


def def_sentences(report: DefReport) -> list[str]:
    if not report.definitions:
        key = "ksrc.def_nowhere" if report.used_in_files == 0 else "ksrc.def_none"
        return [say(key, symbol=report.symbol), index_note(report.index)]
    kinds = ", ".join(f"{n} {kind}" for kind, n in report.kinds)
    found = say(
        "ksrc.def_found", symbol=report.symbol, count=len(report.definitions), kinds=kinds, files=report.files
    )
    return [found, index_note(report.index)]


def refs_sentences(report: RefsReport) -> list[str]:
    if report.references:
        files = len({r.file for r in report.references})
        out = [say("ksrc.refs_found", symbol=report.symbol, lines=len(report.references), files=files)]
    else:
        out = [say("ksrc.refs_none", symbol=report.symbol)]
    if report.index is not None:
        out.append(index_note(report.index))
    return out


def info_sentences(report: InfoReport) -> list[str]:
    key = "ksrc.info_same" if report.same_base else "ksrc.info_differs"
    return [say(key, tree=report.kernelversion, running=report.running_release)]
