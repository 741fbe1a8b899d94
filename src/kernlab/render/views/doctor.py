"""`kernlab doctor` for a person: the machine, one line per feature probed, then the verdict on
recording."""

from __future__ import annotations

from kernlab.explain import doctor as explain
from kernlab.explain import text
from kernlab.render.output import Output
from kernlab.render.terminal import print_fields, print_table
from kernlab.reports.doctor import DoctorReport

__all__ = ["show"]


def show(report: DoctorReport, out: Output) -> None:
    print_fields(
        [
            (text("doctor.view.kernel"), report.kernel_release),
            (text("doctor.view.user_id"), report.euid),
            ("tracefs", report.tracefs or "-"),
        ],
        title="kernlab doctor",
    )
    if report.machine is not None:
        print_fields(explain.machine_fields(report.machine), title=text("doctor.view.machine"))
    yes, no = text("common.view.yes"), text("doctor.view.no")
    rows = [
        (
            explain.area(cap),
            explain.feature_name(cap.name),
            yes if cap.ok else no,
            explain.detail(cap),
            explain.enables(cap),
        )
        for cap in report.capabilities
    ]
    columns = ["area", "feature", "works", "found_by_trying", "enables"]
    print_table([text(f"doctor.view.{c}") for c in columns], rows)
    cleaned = explain.cleaned_sentence(report)
    if cleaned is not None:
        out.sentence(cleaned)
    out.sentence(explain.verdict(report))
