"""What `kernlab doctor` found, in one sentence each: the cleanup, and whether recording works."""

from __future__ import annotations

from kernlab.explain import count, say
from kernlab.reports.doctor import DoctorReport

__all__ = ["cleaned_sentence", "verdict"]


def cleaned_sentence(report: DoctorReport) -> str | None:
    """How much a --clean removed (None without --clean)."""
    if report.cleaned is None:
        return None
    return say(
        "doctor.cleaned",
        instances=count("doctor.n.instance", len(report.cleaned.instances)),
        uprobes=count("doctor.n.uprobe", len(report.cleaned.uprobes)),
    )


def verdict(report: DoctorReport) -> str:
    """Whether recording works, and which features answered no."""
    total = len(report.capabilities)
    missing = report.missing
    if not report.can_record:
        return say("doctor.cannot_record", reason=report.reason)
    if missing:
        return count(
            "doctor.can_record",
            len(missing),
            ok=total - len(missing),
            features=count("doctor.n.feature", total),
            missing=", ".join(missing),
        )
    return count("doctor.can_record_all", total)
