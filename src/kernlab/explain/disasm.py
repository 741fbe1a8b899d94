"""What a `kernlab disasm` listing shows: its size, whom it calls, where it enters the kernel."""

from __future__ import annotations

from kernlab.explain import count, say
from kernlab.reports.disasm import DisasmReport, FileDisasmReport, is_call

__all__ = ["CALLS_SHOWN", "GOT_CALLS_NAMED", "file_sentences", "sentences"]

CALLS_SHOWN = 6
"""Call targets named in the sentence before it ends with an ellipsis."""
GOT_CALLS_NAMED = 3
"""Indirect calls through the GOT said one sentence each; more are said in one sentence."""


def _names(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(names[:CALLS_SHOWN]) + (" …" if len(names) > CALLS_SHOWN else "")


def sentences(report: DisasmReport) -> list[str]:
    what = report.function or f"{report.start:#x}"
    out = [
        say(
            "disasm.summary",
            instructions=count("disasm.n.instruction", len(report.instructions)),
            size=report.size,
            what=what,
            callees=count("disasm.n.callee", len(report.calls)),
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
                times=count("disasm.n.place", site.places),
            )
        )
    if report.kernel_symbols is not None:
        # Imported here: explain.kernel pulls in the page-table readers (a tenth of a whole
        # file's listing time) that only a kernel image's sentences need.
        from kernlab.explain.kernel import image_symbol_sentences

        # Kernel code: it is the kernel, so "it reaches the kernel" would be wrong; say where
        # its names come from and what the call at its entry is.
        # The hook is the first instruction, or the second after an endbr64 (IBT kernels).
        entry = report.instructions[:2]
        if any(i.target_name == "__fentry__" and is_call(i) for i in entry):
            out.append(say("disasm.fentry", what=what))
        out.extend(image_symbol_sentences(report.kernel_symbols))
    elif not report.syscall_sites:
        out.append(say("disasm.no_syscall"))
    return out


def file_sentences(report: FileDisasmReport) -> list[str]:
    """After a whole file's listing: how much code, and the system calls it makes directly."""
    tally = report.tally
    out = [
        say(
            "disasm.file_summary",
            instructions=count("disasm.n.instruction", tally.instructions),
            size=report.size,
            sections=", ".join(s.name for s in report.sections),
        )
    ]
    traps = sum(tally.syscalls.values())
    if traps:
        ranked = sorted(tally.syscalls.items(), key=lambda kv: (-kv[1], kv[0]))
        names = [f"{name} ×{times}" if times > 1 else name for name, times in ranked]
        out.append(count("disasm.file_syscalls", traps, names=_names(names)))
    elif report.kernel_symbols is None:
        out.append(say("disasm.file_no_syscalls"))
    if report.kernel_symbols is not None:
        from kernlab.explain.kernel import image_symbol_sentences  # as in sentences()

        out.extend(image_symbol_sentences(report.kernel_symbols))
    return out
