"""What a `kernlab disasm` listing shows: its size, whom it calls, where it enters the kernel."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.reports.disasm import DisasmReport, FileDisasmReport

__all__ = ["CALLS_SHOWN", "GOT_CALLS_NAMED", "file_sentences", "sentences"]

CALLS_SHOWN = 6
"""Call targets named in the sentence before it ends with an ellipsis."""
GOT_CALLS_NAMED = 3
"""Indirect calls through the GOT said one sentence each; more are said in one sentence."""


def _names(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(names[:CALLS_SHOWN]) + (" …" if len(names) > CALLS_SHOWN else "")


def _counted(key: str, count: int) -> str:
    """``key_none`` for 0 (when the catalog has it), ``key_one`` for 1, ``key`` for more."""
    if count == 0 and key in ("disasm.callees",):
        return say(f"{key}_none")
    if count == 1:
        return say(f"{key}_one")
    return say(key, count=count)


def sentences(report: DisasmReport) -> list[str]:
    what = report.function or f"{report.start:#x}"
    out = [
        say(
            "disasm.summary",
            instructions=_counted("disasm.instructions", len(report.instructions)),
            size=report.size,
            what=what,
            callees=_counted("disasm.callees", len(report.calls)),
        )
    ]
    if report.calls:
        out.append(say("disasm.calls", names=_names(report.calls)))
    if report.plt_calls:
        # Said only when a call really goes to a name@plt stub (not for call *…(%rip)).
        out.append(say("disasm.plt", names=_names(report.plt_calls)))
    if 0 < len(report.got_calls) <= GOT_CALLS_NAMED:
        for call in report.got_calls:
            out.append(say("disasm.got", name=call.name, slot=f"{call.slot:#x}"))
    elif report.got_calls:
        names = [c.name for c in report.got_calls]
        out.append(say("disasm.got_many", count=len(names), names=_names(names)))
    for site in report.syscall_sites:
        out.append(
            say(
                "disasm.syscall",
                name=site.name or say("disasm.unknown_call"),
                number=site.number,
                hex=f"{site.number:#x}",
                arch=site.arch,
                times=say("disasm.once") if site.places == 1 else say("disasm.places", count=site.places),
            )
        )
    if not report.syscall_sites:
        out.append(say("disasm.no_syscall"))
    return out


def file_sentences(report: FileDisasmReport) -> list[str]:
    """After a whole file's listing: how much code, and the system calls it makes directly."""
    tally = report.tally
    out = [
        say(
            "disasm.file_summary",
            instructions=_counted("disasm.instructions", tally.instructions),
            size=report.size,
            sections=", ".join(s.name for s in report.sections),
        )
    ]
    traps = sum(tally.syscalls.values())
    if traps:
        ranked = sorted(tally.syscalls.items(), key=lambda kv: (-kv[1], kv[0]))
        names = [f"{name} ×{count}" if count > 1 else name for name, count in ranked]
        out.append(
            say(
                "disasm.file_syscalls" if traps > 1 else "disasm.file_syscalls_one",
                count=traps,
                names=_names(names),
            )
        )
    else:
        out.append(say("disasm.file_no_syscalls"))
    return out
