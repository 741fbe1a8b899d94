"""`kernlab doctor` for a person: one line per feature probed, then the verdict on recording."""

from __future__ import annotations

from kernlab.explain import doctor as explain
from kernlab.render.output import Output
from kernlab.render.terminal import print_fields, print_table
from kernlab.reports.doctor import DoctorReport

__all__ = ["show"]


def show(report: DoctorReport, out: Output) -> None:
    print_fields(
        [("kernel", report.kernel_release), ("user id", report.euid), ("tracefs", report.tracefs or "-")],
        title="kernlab doctor",
    )
    rows = [
        (cap.area, cap.name, "yes" if cap.ok else "NO", cap.detail, "; ".join(cap.enables))
        for cap in report.capabilities
    ]
    print_table(["area", "feature", "works", "found by trying", "enables"], rows)
    cleaned = explain.cleaned_sentence(report)
    if cleaned is not None:
        out.sentence(cleaned)
    out.sentence(explain.verdict(report))
