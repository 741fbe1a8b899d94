"""reports.doctor: every probe run in-process, each answer checked against the file or sysctl
that knows it; the verdict on recording and the error `kernlab doctor` exits with."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernlab.errors import NotSupported, PermissionNeeded
from kernlab.reports import doctor
from kernlab.tracing.capabilities import Capability
from tests.recording.rec_util import global_state, instances_of, need_tracing


@pytest.fixture(scope="module")
def probed():
    need_tracing()
    before = global_state()
    report = doctor.build()
    return report, before, global_state()


def test_probes_leave_no_trace(probed):
    _, before, after = probed
    assert before == after
    assert instances_of(os.getpid()) == []


def test_event_groups_are_probed_in_order_against_available_events(probed):
    report, _, _ = probed
    names = [cap.name for cap in report.capabilities]
    groups = [f"events: {g}" for g in doctor.PROBED_GROUPS]
    assert names[:2] == ["tracefs", "tracefs instances"]
    assert names[2 : 2 + len(groups)] == groups
    available = (Path(report.tracefs) / "available_events").read_text().split()
    systems = {e.split(":")[0] for e in available}
    caps = {cap.name: cap for cap in report.capabilities}
    assert caps["events: syscalls"].ok == ("raw_syscalls:sys_enter" in available)
    assert caps["events: kmem"].ok == ("kmem" in systems)
    assert caps["events: syscalls"].enables == ("record (syscalls, default)",)
    assert caps["events: kmem"].enables == ("record -e kmem",)


def test_recording_verdict_follows_the_system_call_events(probed):
    report, _, _ = probed
    syscalls = next(cap for cap in report.capabilities if cap.name == "events: syscalls")
    assert report.can_record == syscalls.ok and (report.reason == "") == syscalls.ok
    assert doctor.recording_refusal(report) is None
    assert report.missing == tuple(cap.name for cap in report.capabilities if not cap.ok)


def test_other_layers_probes_agree_with_the_files(probed):
    report, _, _ = probed
    caps = {cap.name: cap for cap in report.capabilities}
    assert caps["BTF"].ok == Path("/sys/kernel/btf/vmlinux").exists()
    assert caps["/proc/config.gz"].ok == Path("/proc/config.gz").exists()
    scope = Path("/proc/sys/kernel/yama/ptrace_scope")
    assert caps["ptrace"].ok == (not scope.exists() or scope.read_text().strip() != "3")
    assert caps["pagemap PFNs"].ok  # root sees frame numbers
    assert caps["BPF fentry programs"].area == "bpf"


def test_refusal_is_a_permission_error_only_for_a_user_who_is_not_root():
    refused = doctor.DoctorReport(
        euid=1000,
        kernel_release="6.1.0",
        tracefs="",
        capabilities=(Capability("tracefs", False, "tracing needs root"),),
        can_record=False,
        reason="tracing needs root: /sys/kernel/tracing is not readable by this user (run with sudo)",
    )
    error = doctor.recording_refusal(refused)
    assert isinstance(error, PermissionNeeded) and str(error).startswith("recording is impossible: tracing")
    assert isinstance(doctor.recording_refusal(dataclasses.replace(refused, euid=0)), NotSupported)
    no_events = dataclasses.replace(refused, reason="system-call events cannot be enabled: no such events")
    assert isinstance(doctor.recording_refusal(no_events), NotSupported)


def test_tracing_probes_import_neither_recording_nor_source():
    code = (
        "import sys, kernlab.tracing.capabilities\n"
        "print(sorted(m for m in sys.modules if m.startswith(('kernlab.recording', 'kernlab.source'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
