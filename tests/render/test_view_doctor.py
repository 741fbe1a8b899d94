"""views.doctor: a report of fixed probe answers printed in-process, compared with golden text."""

from __future__ import annotations

import dataclasses

from kernlab.render.output import Output
from kernlab.render.views import doctor as view
from kernlab.reports.doctor import DoctorReport, MachineFacts
from kernlab.tracing.capabilities import Capability
from kernlab.tracing.instance import StaleCleanup

MACHINE = MachineFacts(
    architecture="x86_64",
    cpu_model="AMD EPYC 9R14",
    cpus_online=4,
    cpus_usable=2,
    memory_total=8 * 1024**3,
    virtual_machine=True,
    hypervisor="KVM",
    hypervisor_source="clocksource kvm-clock",
    cpu_features=("avx2", "avx512f", "pdpe1gb"),
    cpu_features_absent=("la57", "intel_pt", "vmx", "svm"),
    paging_levels=4,
    paging_method="mmap probe above 2^47",
)


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
            Capability(
                "KVM",
                True,
                "a vCPU ran guest code to its hlt",
                ("Firecracker, qemu",),
                area="virtualization",
            ),
        ),
        can_record=True,
        reason="",
        machine=MACHINE,
    )


GOLDEN = """\
kernlab doctor
  kernel:  6.1.0-test
  user id: 0
  tracefs: /sys/kernel/tracing
machine
  architecture:      x86_64
  CPU model:         AMD EPYC 9R14
  CPUs:              4 online, 2 usable by this process
  memory:            8.0 GiB
  virtual machine:   yes: KVM (named by clocksource kvm-clock)
  CPU features:      avx2 avx512f pdpe1gb
  CPU lacks:         la57 intel_pt vmx svm
  page-table levels: 4 levels (mmap probe above 2^47)

 area             feature            works   found by trying                    enables
 ────────────────────────────────────────────────────────────────────────────────────────────────────────
 tracing          tracefs            yes     mounted at /sys/kernel/tracing     kernlab record
 tracing          events: syscalls   yes     enabled raw_syscalls:sys_enter     record
 tracing          kprobes            NO      kprobe_events is absent            kprobe events
 files            BTF                yes     /sys/kernel/btf/vmlinux            kernlab struct; BPF CO-RE
 virtualization   KVM                yes     a vCPU ran guest code to its hlt   Firecracker, qemu

→ Recording works here: 4 of 5 features answered yes; 1 did not \
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


def test_machine_facts_that_are_unknown_or_absent(capsys):
    bare = dataclasses.replace(
        MACHINE,
        cpu_model=None,
        cpus_online=None,
        memory_total=None,
        virtual_machine=None,
        hypervisor=None,
        hypervisor_source=None,
        cpu_features=(),
        cpu_features_absent=(),
        paging_levels=None,
        paging_method=None,
    )
    view.show(dataclasses.replace(_report(), machine=bare), Output())
    out = capsys.readouterr().out
    for line in (
        "  CPU model:         -\n",
        "  CPUs:              -\n",
        "  memory:            -\n",
        "  virtual machine:   unknown\n",
        "  CPU features:      -\n",
        "  page-table levels: -\n",
    ):
        assert line in out, line
    bare_metal = dataclasses.replace(MACHINE, virtual_machine=False, hypervisor=None, hypervisor_source=None)
    view.show(dataclasses.replace(_report(), machine=bare_metal), Output())
    assert "  virtual machine:   no (no hypervisor CPU flag)\n" in capsys.readouterr().out
    unnamed = dataclasses.replace(MACHINE, hypervisor=None, hypervisor_source=None)
    view.show(dataclasses.replace(_report(), machine=unnamed), Output())
    assert "  virtual machine:   yes (the hypervisor does not name itself)\n" in capsys.readouterr().out


def test_report_without_machine_facts_prints_no_machine_section(capsys):
    view.show(dataclasses.replace(_report(), machine=None), Output())
    out = capsys.readouterr().out
    assert "machine\n" not in out and "architecture" not in out and "KVM" in out
