"""What a page fault's error code says, and what `kernlab faults`' listing shows, in words."""

from __future__ import annotations

from kernlab.catalog import has, say
from kernlab.explain import count
from kernlab.mm.fault_codes import FaultBit, FaultCode
from kernlab.reports.faults import FaultsReport

__all__ = [
    "SIGNAL_NAMES",
    "bit_word",
    "cause_sentences",
    "cause_word",
    "code_meaning",
    "code_summary",
    "code_words",
    "listing_sentence",
    "no_lines",
    "signal_word",
]

SIGNAL_NAMES: dict[int, str] = {7: "SIGBUS", 11: "SIGSEGV"}
"""The signals a fault can raise (asm-generic numbers: x86, arm64, riscv)."""


def bit_word(bit: FaultBit) -> str:
    """What one bit's value says: "write", "not-present", "translation fault at level 3"."""
    return say(bit.key, bits=f"{bit.mask:#x}", level=bit.level)


def code_words(code: FaultCode) -> list[str]:
    """The words of every decoded bit, in the order of the bits."""
    return [bit_word(bit) for bit in code.bits]


def code_summary(code: FaultCode) -> str:
    """ "user write to a not-present page": who accessed, how, and why it faulted."""
    who = say("faults.who.user" if code.user else "faults.who.kernel")
    if code.instruction:
        access = say("faults.access.fetch")
    else:
        access = say("faults.access.write" if code.write else "faults.access.read")
    target = say("faults.target.protection" if code.present else "faults.target.not_present")
    return say("faults.summary", who=who, access=access, target=target)


def code_meaning(code: int, decoded: FaultCode | None) -> str:
    """The summary, or the number itself on an architecture kernlab does not decode."""
    return code_summary(decoded) if decoded is not None else f"{code:#x}"


def listing_sentence(report: FaultsReport) -> str:
    return say(
        "report.lines.faults",
        shown=count("faults.n.fault", report.total_faults),
        first=count("report.n.first_write", report.first_anon_writes),
        file=report.file_backed,
        kernel=report.kernel_mode,
    )


def no_lines() -> str:
    return say("report.lines.faults_none")


def cause_word(key: str) -> str:
    """What the kernel did with a fault (a ``faults.cause.*`` key of the report, or its last part).

    A fault whose area is not known at that moment has no cause to name: said as such.
    """
    full = key if "." in key else f"faults.cause.{key}"
    return say(full) if has(full) else say("faults.cause.unknown")


def signal_word(sig: int) -> str:
    """ "SIGSEGV delivered"."""
    return say("faults.listing.signal", signal=SIGNAL_NAMES.get(sig, f"signal {sig}"))


def cause_sentences(causes: dict[str, int], signal_events: bool = True) -> list[str]:
    """One sentence per cause the faults had ("2 faults: copy-on-write ..."), and, when some
    fault was in no VMA and the recording has no signal events, that delivery is unknown."""
    out = [
        say("faults.listing.cause_count", faults=count("faults.n.fault", n), what=cause_word(key))
        for key, n in causes.items()
    ]
    if not signal_events and causes.get("faults.cause.no_vma"):
        out.append(say("faults.listing.signals_unknown"))
    return out
