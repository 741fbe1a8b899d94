"""What `kernlab doctor` found, in one sentence each: the cleanup, and whether recording works;
and the machine section's labels and values in the current language."""

from __future__ import annotations

from kernlab.explain import count, say, text
from kernlab.reports.doctor import DoctorReport, MachineFacts
from kernlab.units import format_bytes

__all__ = ["cleaned_sentence", "machine_fields", "verdict"]


def machine_fields(machine: MachineFacts) -> list[tuple[str, str]]:
    """(label, value) of each machine fact, as `kernlab doctor` prints them before its table."""
    cpus = "-" if machine.cpus_online is None else str(machine.cpus_online)
    if machine.cpus_online is not None:
        cpus = text("doctor.machine.cpus", n=machine.cpus_online, cpus=machine.cpus_usable)
    paging = "-"
    if machine.paging_levels is not None:
        paging = count("doctor.machine.paging", machine.paging_levels, method=machine.paging_method or "-")
    return [
        (text("doctor.view.architecture"), machine.architecture),
        (text("doctor.view.cpu_model"), machine.cpu_model or "-"),
        (text("doctor.view.cpus"), cpus),
        (
            text("doctor.view.memory"),
            "-" if machine.memory_total is None else format_bytes(machine.memory_total),
        ),
        (text("doctor.view.virtual_machine"), _virtual(machine)),
        (text("doctor.view.cpu_features"), " ".join(machine.cpu_features) or "-"),
        (text("doctor.view.cpu_lacks"), " ".join(machine.cpu_features_absent) or "-"),
        (text("doctor.view.paging"), paging),
    ]


def _virtual(machine: MachineFacts) -> str:
    if machine.virtual_machine is None:
        return text("doctor.machine.vm_unknown")
    if not machine.virtual_machine:
        return text("doctor.machine.vm_no")
    if machine.hypervisor is None:
        return text("doctor.machine.vm_unnamed")
    return text(
        "doctor.machine.vm_named", hypervisor=machine.hypervisor, source=machine.hypervisor_source or "-"
    )


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
