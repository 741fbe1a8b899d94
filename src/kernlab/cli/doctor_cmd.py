"""kernlab doctor: what this kernel and user allow, each found by trying it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.tracing.capabilities import DoctorReport

EPILOG = examples(
    "kernlab doctor                 probe tracefs, events, probes, BPF, perf, /proc files",
    "kernlab doctor --json          the same as one JSON document",
    "kernlab doctor --clean         also remove instances left by killed kernlab runs",
)


@click.command("doctor", epilog=EPILOG)
@click.option("--clean", is_flag=True, help="Remove tracefs instances and uprobes left by dead kernlab runs.")
@output_options
def doctor(out: Output, clean: bool) -> None:
    """Try each tracing and memory feature kernlab uses and say what it enables.

    Exits non-zero (with the reason) when recording is impossible.
    """
    from kernlab.errors import NotSupported, PermissionNeeded
    from kernlab.render.progress import progress
    from kernlab.tracing.capabilities import run_doctor

    with progress("probing the kernel"):
        report = run_doctor(clean=clean)
    out.emit(report, _render)
    if not report.can_record:
        if report.euid != 0 and ("root" in report.reason or "permission" in report.reason.lower()):
            raise PermissionNeeded(f"recording is impossible: {report.reason}")
        raise NotSupported(f"recording is impossible: {report.reason}")


def _render(report: DoctorReport, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_fields, print_table

    print_fields(
        [("kernel", report.kernel_release), ("user id", report.euid), ("tracefs", report.tracefs or "-")],
        title="kernlab doctor",
    )
    rows = [
        (cap.area, cap.name, "yes" if cap.ok else "NO", cap.detail, "; ".join(cap.enables))
        for cap in report.capabilities
    ]
    print_table(["area", "feature", "works", "found by trying", "enables"], rows)
    if report.cleaned is not None:
        out.sentence(
            say(
                "doctor.cleaned", instances=len(report.cleaned.instances), uprobes=len(report.cleaned.uprobes)
            )
        )
    total = len(report.capabilities)
    missing = [cap.name for cap in report.capabilities if not cap.ok]
    if not report.can_record:
        out.sentence(say("doctor.cannot_record", reason=report.reason))
    elif missing:
        out.sentence(
            say(
                "doctor.can_record",
                ok=total - len(missing),
                total=total,
                missing_count=len(missing),
                missing=", ".join(missing),
            )
        )
    else:
        out.sentence(say("doctor.can_record_all", total=total))
