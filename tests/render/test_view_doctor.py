"""views.doctor: a report of fixed probe answers printed in-process, compared with golden text."""

from __future__ import annotations

import dataclasses

from kernlab.render.output import Output
from kernlab.render.views import doctor as view
from kernlab.reports.doctor import DoctorReport
from kernlab.tracing.capabilities import Capability
from kernlab.tracing.instance import StaleCleanup


def _report() -> DoctorReport:
    return DoctorReport(
        euid=0,
        kernel_release="6.1.0-test",
        tracefs="/sys/kernel/tracing",
        capabilities=(
            Capability("tracefs", True, "mounted at /sys/kernel/tracing", ("kernlab record",)),
            Capability(
                "events: syscalls",
                True,
                "enabled raw_syscalls:sys_enter",
                ("record",),
            ),
            Capability(
                "kprobes",
                False,
                "kprobe_events is absent",
                ("kprobe events",),
            ),
            Capability("BTF", True, "/sys/kernel/btf/vmlinux", ("kernlab struct", "BPF CO-RE"), area="files"),
        ),
        can_record=True,
        reason="",
    )


GOLDEN = """\
kernlab doctor
  kernel:  6.1.0-test
  user id: 0
  tracefs: /sys/kernel/tracing

 area      feature            works   found by trying                  enables
 ───────────────────────────────────────────────────────────────────────────────────────────────
 tracing   tracefs            yes     mounted at /sys/kernel/tracing   kernlab record
 tracing   events: syscalls   yes     enabled raw_syscalls:sys_enter   record
 tracing   kprobes            NO      kprobe_events is absent          kprobe events
 files     BTF                yes     /sys/kernel/btf/vmlinux          kernlab struct; BPF CO-RE

→ Recording works here: 3 of 4 features answered yes; 1 did not \
(kprobes), so the features it enables are off.
"""


def test_view_prints_the_golden_text(capsys):
    view.show(_report(), Output())
    assert capsys.readouterr().out == GOLDEN


def test_every_feature_answered_yes(capsys):
    all_yes = dataclasses.replace(_report(), capabilities=_report().capabilities[:2])
    view.show(all_yes, Output())
    assert capsys.readouterr().out.endswith(
        "→ Recording works here, and all 2 probed features answered yes.\n"
    )


def test_cannot_record_and_cleaned(capsys):
    refused = dataclasses.replace(
        _report(),
        tracefs="",
        capabilities=(Capability("tracefs", False, "tracing needs root", ("kernlab record",)),),
        can_record=False,
        reason="tracing needs root",
        cleaned=StaleCleanup(instances=["kernlab-1-2-rec0", "kernlab-3-4-rec0"], uprobes=[], failures=[]),
    )
    view.show(refused, Output())
    out = capsys.readouterr().out
    assert "  tracefs: -\n" in out
    assert out.endswith(
        "→ Removed 2 stale instances and 0 stale uprobes left by kernlab runs that died.\n"
        "→ Recording is impossible here: tracing needs root.\n"
    )


def test_quiet_view_keeps_the_table(capsys):
    view.show(_report(), Output(quiet=True))
    out = capsys.readouterr().out
    assert "→" not in out and "kprobe_events is absent" in out
