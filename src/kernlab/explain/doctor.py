"""What `kernlab doctor` found, in one sentence each: the cleanup, and whether recording works;
the machine section's labels and values; and each capability's area, what trying it found and
what it enables — all in the current language, from the keys and fields the probes return."""

from __future__ import annotations

import re
from collections.abc import Mapping

from kernlab.explain import count, has, say, text
from kernlab.explain.vtop import paging_phrase
from kernlab.reports.doctor import DoctorReport, MachineFacts
from kernlab.tracing.capabilities import Capability, FieldValue, Phrase
from kernlab.units import format_bytes

__all__ = [
    "area",
    "cleaned_sentence",
    "detail",
    "enables",
    "feature_name",
    "machine_fields",
    "phrase_text",
    "verdict",
]


def phrase_text(phrase: Phrase) -> str:
    """A probe's phrase in the current language.

    Its fields are facts, given as they are, except: a field that is a phrase itself is said the
    same way; a ``strerror`` (the C library's English text for ``errno``) is said as the catalog's
    ``oserror.<ERRNO>`` where it has one; a field named ``<name>_key`` holds a catalog key, said
    as ``{name}`` (the convention of kernlab errors, whose keys and fields a probe passes on). A
    phrase without a key, or one whose key or fields the catalog cannot fill, is its English.
    """
    if not phrase.key:
        return str(phrase)
    try:
        return say(phrase.key, **_said_fields(phrase.fields))
    except (KeyError, IndexError, ValueError):
        return str(phrase) or phrase.key


def _said_fields(fields: Mapping[str, FieldValue]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in fields.items():
        if isinstance(value, Phrase):
            out[name] = phrase_text(value)
        elif name.endswith("_key") and isinstance(value, str):
            out[name.removesuffix("_key")] = say(value)
        else:
            out[name] = value
    errno = fields.get("errno")
    if "strerror" in fields and isinstance(errno, str) and has(f"oserror.{errno}"):
        out["strerror"] = say(f"oserror.{errno}")
    return out


def detail(cap: Capability) -> str:
    """What trying the feature found (the table's "found by trying")."""
    return phrase_text(cap.why)


def enables(cap: Capability) -> str:
    """What the feature enables, "; " between the uses (the table's "enables")."""
    return "; ".join(phrase_text(use) for use in cap.enables)


def area(cap: Capability) -> str:
    """The feature's area (tracing, perf, files, …) in the current language."""
    key = f"doctor.area.{cap.area}"
    return say(key) if has(key) else cap.area


def feature_name(name: str) -> str:
    """A feature's name in the current language (the report and --json keep ``name``)."""
    if name.startswith("events: "):
        return say("doctor.feature.events", group=name.removeprefix("events: "))
    if name.startswith("BPF ") and name.endswith(" programs"):
        return say("doctor.feature.bpf_programs", kind=name.removeprefix("BPF ").removesuffix(" programs"))
    key = "doctor.feature." + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return say(key) if has(key) else name


def machine_fields(machine: MachineFacts) -> list[tuple[str, str]]:
    """(label, value) of each machine fact, as `kernlab doctor` prints them before its table."""
    cpus = "-" if machine.cpus_online is None else str(machine.cpus_online)
    if machine.cpus_online is not None:
        cpus = text("doctor.machine.cpus", n=machine.cpus_online, cpus=machine.cpus_usable)
    paging = "-"
    if machine.paging_levels is not None:
        method = paging_phrase(machine.paging_method) if machine.paging_method else "-"
        paging = count("doctor.machine.paging", machine.paging_levels, method=method)
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
        return say("doctor.cannot_record", reason=phrase_text(report.why_not))
    if missing:
        return count(
            "doctor.can_record",
            len(missing),
            ok=total - len(missing),
            features=count("doctor.n.feature", total),
            missing=", ".join(feature_name(name) for name in missing),
        )
    return count("doctor.can_record_all", total)
