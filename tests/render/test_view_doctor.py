# ruff: noqa: E501  (golden text: lines as long as the view prints them)
"""views.doctor: a report of fixed probe answers printed in-process, compared with golden text."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from kernlab import explain
from kernlab.explain import doctor as explain_doctor
from kernlab.render.output import Output
from kernlab.render.views import doctor as view
from kernlab.reports.doctor import DoctorReport, MachineFacts
from kernlab.tracing.capabilities import Capability, Phrase, enabling, phrase
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
    refused = {"errno": "EPERM", "strerror": "Operation not permitted"}
    return DoctorReport(
        euid=0,
        kernel_release="6.1.0-test",
        tracefs="/sys/kernel/tracing",
        capabilities=(
            Capability.found(
                "tracefs",
                True,
                phrase("doctor.detail.mounted", "mounted at {path}", path="/sys/kernel/tracing"),
                (enabling("record"),),
            ),
            Capability.found(
                "events: syscalls",
                True,
                phrase("doctor.detail.events_enabled", "enabled {events}", events="raw_syscalls:sys_enter"),
                (enabling("record_default", group="syscalls"),),
            ),
            Capability.found(
                "kprobes",
                False,
                phrase(
                    "doctor.detail.probe_file_absent",
                    "{file} is absent ({config} off)",
                    file="kprobe_events",
                    config="CONFIG_KPROBE_EVENTS",
                ),
                (enabling("kprobes"),),
            ),
            Capability.found(
                "function tracer",
                False,
                phrase(
                    "doctor.detail.refused_everywhere",
                    "{instance}; at the top level: {top}",
                    instance=phrase("doctor.detail.refused", "refused: {strerror} ({errno})", **refused),
                    top=phrase(
                        "doctor.detail.refused_writing",
                        "refused: {strerror} ({errno}) writing {file}",
                        file="set_ftrace_pid",
                        **refused,
                    ),
                ),
                (enabling("function_calls"),),
            ),
            Capability.found(
                "BTF",
                True,
                phrase("doctor.detail.btf_found", "{path} holds BTF", path="/sys/kernel/btf/vmlinux"),
                (enabling("struct"), enabling("bpf_core")),
                area="files",
            ),
            Capability.found(
                "KVM",
                True,
                phrase(
                    "doctor.detail.kvm_ran",
                    "a vCPU ran guest code to its hlt ({ioctl} exit {exit})",
                    ioctl="KVM_RUN",
                    exit="KVM_EXIT_HLT",
                ),
                (enabling("kvm"),),
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

 area             feature            works   found by trying                                                                                                               enables
 ─────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 tracing          tracefs            yes     mounted at /sys/kernel/tracing                                                                                                kernlab record
 tracing          events: syscalls   yes     enabled raw_syscalls:sys_enter                                                                                                record (syscalls, default)
 tracing          kprobes            NO      kprobe_events is absent (CONFIG_KPROBE_EVENTS off)                                                                            kernel function entry events (kprobes)
 tracing          function tracer    NO      refused: Operation not permitted (EPERM); at the top level: refused: Operation not permitted (EPERM) writing set_ftrace_pid   function call tracing
 files            BTF                yes     /sys/kernel/btf/vmlinux holds BTF                                                                                             kernlab struct (kernel structure layouts); BPF CO-RE
 virtualization   KVM                yes     a vCPU ran guest code to its hlt (KVM_RUN exit KVM_EXIT_HLT)                                                                  hardware-accelerated virtual machines (Firecracker, cloud-hypervisor, qemu)

→ Recording works here: 4 of 6 features answered yes; 2 did not (kprobes, function tracer), so the features they enable are off.
"""

GOLDEN_KO = """\
kernlab doctor
  커널:      6.1.0-test
  사용자 ID:  0
  tracefs: /sys/kernel/tracing
머신
  아키텍처:       x86_64
  CPU 모델:     AMD EPYC 9R14
  CPU 수:      온라인 4개, 이 프로세스가 쓸 수 있는 것 2개
  메모리:        8.0 GiB
  가상 머신:      예: KVM (clocksource kvm-clock에서 확인)
  CPU 기능:     avx2 avx512f pdpe1gb
  CPU에 없는 기능: la57 intel_pt vmx svm
  페이지 테이블 단계: 4단계 (2^47 위로 mmap 시험)

 영역       기능                동작    시도해서 알아낸 것                                                                                             가능해지는 것
 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 트레이싱   tracefs             예      /sys/kernel/tracing에 마운트되어 있습니다                                                                      kernlab record
 트레이싱   이벤트: syscalls    예      raw_syscalls:sys_enter 이벤트를 켰습니다                                                                       record (syscalls, 기본)
 트레이싱   kprobes             안 됨   kprobe_events가 없습니다(CONFIG_KPROBE_EVENTS가 꺼져 있음)                                                     커널 함수 진입 이벤트(kprobes)
 트레이싱   function 트레이서   안 됨   거부됨: 허용되지 않는 작업 (EPERM); 최상위에서는: set_ftrace_pid에 쓰다가 거부됨: 허용되지 않는 작업 (EPERM)   함수 호출 트레이싱
 파일       BTF                 예      /sys/kernel/btf/vmlinux에 BTF가 있습니다                                                                       kernlab struct (커널 구조체 레이아웃); BPF CO-RE
 가상화     KVM                 예      vCPU가 게스트 코드를 hlt까지 실행했습니다(KVM_RUN 종료 KVM_EXIT_HLT)                                           하드웨어 가속 가상 머신(Firecracker, cloud-hypervisor, qemu)

→ 여기서 기록할 수 있습니다. 기능 6개 중 4개가 동작했고 2개(kprobes, function 트레이서)는 동작하지 않아, 그 기능들이 여는 일은 꺼져 있습니다.
"""


def test_view_prints_the_golden_text(capsys):
    view.show(_report(), Output())
    assert capsys.readouterr().out == GOLDEN


def test_view_prints_the_korean_golden_text(korean, capsys):
    # Every cell the probes found and every use is worded by the catalog; an errno keeps its name
    # beside its Korean meaning, and paths, events, files and ioctls are the fields as they are.
    view.show(_report(), Output())
    assert capsys.readouterr().out == GOLDEN_KO


def test_english_details_are_the_catalogs_english(capsys):
    # The detail the JSON keeps in English is the sentence the view says in English.
    for cap in _report().capabilities:
        assert explain_doctor.detail(cap) == cap.detail, cap


def test_a_detail_given_as_text_only_is_printed_as_it_is(korean, capsys):
    bare = dataclasses.replace(_report(), capabilities=(Capability("tracefs", False, "tracing needs root"),))
    view.show(bare, Output())
    assert "tracing needs root" in capsys.readouterr().out


def test_every_feature_answered_yes(capsys):
    all_yes = dataclasses.replace(_report(), capabilities=_report().capabilities[:2])
    view.show(all_yes, Output())
    assert capsys.readouterr().out.endswith(
        "→ Recording works here, and all 2 probed features answered yes.\n"
    )


# The error tracefs_root() raises for a user who is not root, as probe_tracing passes it on.
NEEDS_ROOT = Phrase(
    "errors.tracing_needs_root",
    {"where": "/sys/kernel/tracing"},
    "tracing needs root: /sys/kernel/tracing is not readable by this user (run with sudo)",
)


@pytest.fixture
def korean() -> Iterator[None]:
    explain.set_language("ko")
    yield
    explain.set_language("en")


def test_cannot_record_and_cleaned(capsys):
    refused = dataclasses.replace(
        _report(),
        tracefs="",
        capabilities=(
            Capability.found("tracefs", False, NEEDS_ROOT, (enabling("record"), enabling("every_report"))),
        ),
        can_record=False,
        reason=str(NEEDS_ROOT),
        reason_key=NEEDS_ROOT.key,
        reason_fields=NEEDS_ROOT.fields,
        cleaned=StaleCleanup(instances=["kernlab-1-2-rec0", "kernlab-3-4-rec0"], uprobes=[], failures=[]),
    )
    view.show(refused, Output())
    out = capsys.readouterr().out
    assert "  tracefs: -\n" in out
    assert out.endswith(
        "→ Removed 2 stale instances and 0 stale uprobes left by kernlab runs that died.\n"
        "→ Recording is impossible here: tracing needs root: /sys/kernel/tracing is not readable by "
        "this user (run with sudo).\n"
    )


def test_cannot_record_says_the_reason_in_korean(korean, capsys):
    refused = dataclasses.replace(
        _report(),
        capabilities=(Capability.found("tracefs", False, NEEDS_ROOT, (enabling("record"),)),),
        can_record=False,
        reason=str(NEEDS_ROOT),
        reason_key=NEEDS_ROOT.key,
        reason_fields=NEEDS_ROOT.fields,
    )
    view.show(refused, Output())
    out = capsys.readouterr().out
    assert "→ 여기서는 기록할 수 없습니다: 트레이싱에는 root 권한이 필요합니다: " in out, out
    assert "not readable" not in out and "every report" not in out


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
