"""What a page fault's error code says, and what `kernlab faults`' listing shows, in words."""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.mm.fault_codes import FaultBit, FaultCode
from kernlab.reports.faults import FaultsReport

__all__ = ["bit_word", "code_meaning", "code_summary", "code_words", "listing_sentence", "no_lines"]


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
        shown=report.total_faults,
        first=report.first_anon_writes,
        file=report.file_backed,
        kernel=report.kernel_mode,
    )


def no_lines() -> str:
    return say("report.lines.faults_none")
