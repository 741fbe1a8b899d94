"""What a `kernlab disasm` listing shows: its size, whom it calls, where it enters the kernel."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.reports.disasm import DisasmReport

__all__ = ["CALLS_SHOWN", "sentences"]

CALLS_SHOWN = 6
"""Call targets named in the sentence before it ends with an ellipsis."""


def sentences(report: DisasmReport) -> list[str]:
    what = report.function or f"{report.start:#x}"
    out = [
        say(
            "disasm.summary",
            count=len(report.instructions),
            size=report.size,
            what=what,
            calls=len(report.calls),
        )
    ]
    if report.calls:
        shown = ", ".join(report.calls[:CALLS_SHOWN]) + (" …" if len(report.calls) > CALLS_SHOWN else "")
        out.append(say("disasm.calls", names=shown))
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
