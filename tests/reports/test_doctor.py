"""reports.doctor: every probe run in-process, each answer checked against the file, sysctl or
tool that knows it; the machine facts against uname, nproc, free, lscpu and a C program's mmap;
the verdict on recording and the error `kernlab doctor` exits with."""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernlab.errors import NotSupported, PermissionNeeded
from kernlab.kernel.kvm_probe import KvmProbe
from kernlab.kernel.machine import RELEVANT_CPU_FLAGS, count_cpu_list, hypervisor_from_dmi
from kernlab.reports import doctor
from kernlab.tracing.capabilities import Capability, Phrase
from tests.conftest import need_tool
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
    assert caps["events: syscalls"].enables == (
        Phrase("doctor.enables.record_default", {"group": "syscalls"}),
    )
    assert caps["events: kmem"].enables == (Phrase("doctor.enables.record_group", {"group": "kmem"}),)


def test_recording_verdict_follows_the_system_call_events(probed):
    report, _, _ = probed
    syscalls = next(cap for cap in report.capabilities if cap.name == "events: syscalls")
    assert report.can_record == syscalls.ok and (report.reason == "") == syscalls.ok
    assert (report.reason_key == "") == syscalls.ok
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


# ------------------------------------------------------------------------------------------------
# the machine section, each fact against a tool that reads it another way


def _tool(*args: str) -> str:
    need_tool(args[0])
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def _lscpu() -> dict[str, str]:
    out = {}
    for line in _tool("lscpu").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def test_machine_architecture_cpus_and_memory_match_uname_nproc_and_free(probed):
    machine = probed[0].machine
    assert machine.architecture == _tool("uname", "-m").strip()
    assert machine.cpus_usable == int(_tool("nproc").strip())
    processors = subprocess.run(["grep", "-c", "^processor", "/proc/cpuinfo"], capture_output=True, text=True)
    if processors.returncode == 0:  # x86 lists one "processor" block per online CPU
        assert machine.cpus_online == int(processors.stdout)
    assert machine.cpus_online == int(_tool("getconf", "_NPROCESSORS_ONLN").strip())
    mem = next(line.split() for line in _tool("free", "-b").splitlines() if line.startswith("Mem:"))
    assert machine.memory_total == int(mem[1])


def test_machine_cpu_model_features_and_hypervisor_match_lscpu(probed):
    machine = probed[0].machine
    lscpu = _lscpu()
    assert machine.cpu_model == lscpu.get("Model name")
    flags = set(lscpu.get("Flags", "").split())
    if not flags:
        assert machine.cpu_features == () and machine.cpu_features_absent == ()
        return
    assert machine.cpu_features == tuple(f for f in RELEVANT_CPU_FLAGS if f in flags)
    assert machine.cpu_features_absent == tuple(f for f in RELEVANT_CPU_FLAGS if f not in flags)
    assert machine.virtual_machine == ("hypervisor" in flags)
    vendor = lscpu.get("Hypervisor vendor")  # lscpu asks CPUID leaf 0x40000000 itself
    if vendor and machine.hypervisor is not None:
        assert vendor.lower() in machine.hypervisor.lower(), (vendor, machine.hypervisor_source)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the mmap oracle is x86_64's")
def test_machine_paging_levels_match_a_c_programs_high_mmap(probed, build_c):
    # The same oracle as tests/mm/test_mm_paging.py: a C program asks for a page at 2^52.
    out = subprocess.run([str(build_c("mm_highmap"))], capture_output=True, text=True, check=True).stdout
    assert probed[0].machine.paging_levels == (5 if int(out.strip(), 16) >= 1 << 47 else 4)


def test_cpu_lists_and_dmi_names():
    assert count_cpu_list("0-3,8,10-11\n") == 7
    assert count_cpu_list("0") == 1
    assert hypervisor_from_dmi("QEMU", "Standard PC (Q35 + ICH9, 2009)") == "QEMU"
    assert hypervisor_from_dmi("Dell Inc.", "PowerEdge R650") is None
    assert hypervisor_from_dmi(None, "VirtualBox") == "VirtualBox"


# ------------------------------------------------------------------------------------------------
# the new capabilities, each against the same question asked another way


def _caps(report: doctor.DoctorReport) -> dict[str, Capability]:
    return {cap.name: cap for cap in report.capabilities}


def test_kcore_answer_matches_a_plain_read(probed):
    cap = _caps(probed[0])["/proc/kcore"]
    try:
        with open("/proc/kcore", "rb") as fh:
            head = fh.read(18)
    except OSError as exc:
        assert not cap.ok and os.strerror(exc.errno or 0) in cap.detail, cap
        assert cap.detail_fields["errno"] == errno.errorcode[exc.errno or 0], cap
        return
    assert cap.ok == (head[:4] == b"\x7fELF" and head[16] == 4), cap


def test_boot_image_answer_matches_the_files(probed):
    cap = _caps(probed[0])["kernel image in /boot"]
    release = os.uname().release
    present = any(os.path.exists(f"/boot/{kind}-{release}") for kind in ("vmlinuz", "vmlinux"))
    assert cap.ok == present, cap
    if os.path.exists(f"/boot/System.map-{release}"):
        assert cap.detail_fields["map"] == f"System.map-{release}", cap
        assert cap.detail_key in (
            "doctor.detail.boot_image_map",
            "doctor.detail.no_boot_image_map",
            "doctor.detail.no_boot_image_map_others",
        ), cap


def test_boot_image_in_a_directory_of_our_own(tmp_path):
    (tmp_path / "vmlinuz-6.1.0-test").write_bytes(b"MZ" + bytes(600))
    (tmp_path / "vmlinuz-6.12.0-other").write_bytes(b"MZ")
    found = doctor.probe_boot_image(str(tmp_path), "6.1.0-test")
    assert found.ok and found.detail.endswith("no System.map-6.1.0-test"), found
    assert found.detail_key == "doctor.detail.boot_image_no_map"
    assert found.detail_fields == {"path": f"{tmp_path}/vmlinuz-6.1.0-test", "map": "System.map-6.1.0-test"}
    (tmp_path / "System.map-6.1.0-test").write_text("")
    with_map = doctor.probe_boot_image(str(tmp_path), "6.1.0-test")
    assert with_map.detail.endswith("System.map-6.1.0-test present")
    assert with_map.detail_key == "doctor.detail.boot_image_map"
    missing = doctor.probe_boot_image(str(tmp_path), "6.2.0")
    assert not missing.ok
    assert missing.detail == f"no {tmp_path}/vmlinuz-6.2.0; {tmp_path} holds 6.1.0-test, 6.12.0-other"
    assert missing.detail_key == "doctor.detail.no_boot_image_others"
    assert missing.detail_fields == {
        "path": f"{tmp_path}/vmlinuz-6.2.0",
        "map": "System.map-6.2.0",
        "boot": str(tmp_path),
        "others": "6.1.0-test, 6.12.0-other",
    }


def test_intel_pt_answer_matches_sysfs(probed, tmp_path):
    cap = _caps(probed[0])["Intel PT"]
    if not Path(doctor.INTEL_PT_TYPE).exists():
        assert not cap.ok and "no intel_pt PMU" in cap.detail, cap
        assert cap.detail_key == "doctor.detail.no_pmu" and cap.detail_fields["pmu"] == "intel_pt", cap
    else:
        assert "intel_pt" in cap.detail and cap.detail_fields["pmu"] == "intel_pt", cap
    assert not doctor.probe_intel_pt(str(tmp_path / "absent")).ok


def test_lbr_answer_matches_perf_record_b(probed, tmp_path):
    cap = _caps(probed[0])["LBR branch stacks"]
    perf = need_tool("perf")
    if subprocess.run([perf, "--version"], capture_output=True).returncode != 0:
        pytest.skip("perf does not run here")
    run = subprocess.run(
        [perf, "record", "-q", "-b", "-e", "cycles", "-o", str(tmp_path / "perf.data"), "--", "true"],
        capture_output=True,
        text=True,
    )
    assert cap.ok == (run.returncode == 0), (cap, run.stderr)


KVM_CREATE_VM = 0xAE01


def _kvm_create_vm() -> int | None:
    """errno of a bare KVM_CREATE_VM on /dev/kvm (None when a VM was created)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError as exc:
        return exc.errno
    try:
        os.close(fcntl.ioctl(fd, KVM_CREATE_VM, 0))
    except OSError as exc:
        return exc.errno
    finally:
        os.close(fd)
    return None


def test_kvm_answer_matches_a_bare_create_vm(probed):
    caps = _caps(probed[0])
    kvm, msr = caps["KVM"], caps[doctor.KVM_MSR_CHECK]
    assert kvm.area == msr.area == "virtualization"
    if not os.path.exists("/dev/kvm"):
        assert not kvm.ok and "no /dev/kvm" in kvm.detail, kvm
        assert kvm.detail_key == "doctor.detail.kvm_no_device", kvm
        return
    assert kvm.ok == (_kvm_create_vm() is None), kvm
    if not kvm.ok:
        assert not msr.ok


def test_kvm_msr_answer_matches_qemu(probed):
    msr = _caps(probed[0])[doctor.KVM_MSR_CHECK]
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None or _kvm_create_vm() is not None:
        pytest.skip("no qemu-system-x86_64, or no KVM to run it on")
    # qemu sets the vCPU's MSRs before its first run, also when started paused (-S): a refusal
    # stops it at once, otherwise it waits and is stopped by the timeout.
    cmd = [qemu, "-enable-kvm", "-cpu", "host", "-display", "none", "-nodefaults", "-S"]
    cmd += ["-monitor", "none", "-serial", "none"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=3)
    except subprocess.TimeoutExpired:
        assert msr.ok, msr
        return
    refused = "failed to set MSR 0x10a" in run.stderr
    assert msr.ok == (not refused), (msr, run.stderr)
    if refused:
        assert "qemu -enable-kvm fails here" in msr.detail
        assert msr.detail_key.startswith("doctor.detail.kvm_msr_refused"), msr


def test_kvm_details_name_the_failing_step():
    def said(result: tuple[bool, Phrase]) -> tuple[bool, str, str, dict]:
        ok, why = result
        return ok, str(why), why.key.removeprefix("doctor.detail."), dict(why.fields)

    ok, text, key, _ = said(doctor.kvm_detail(KvmProbe(False, "open /dev/kvm", errno.ENOENT)))
    assert not ok and text.startswith("no /dev/kvm") and key == "kvm_no_device"
    assert said(doctor.kvm_detail(KvmProbe(False, "KVM_CREATE_VM", errno.EACCES))) == (
        False,
        "KVM_CREATE_VM refused: Permission denied (EACCES)",
        "step_refused",
        {"step": "KVM_CREATE_VM", "errno": "EACCES", "strerror": "Permission denied"},
    )
    ok, text, key, fields = said(doctor.kvm_detail(KvmProbe(False, "KVM_RUN", None, 12, 2)))
    assert not ok and "exit reason 2" in text and key == "kvm_exit_reason" and fields["reason"] == 2
    ok, text, key, fields = said(doctor.kvm_detail(KvmProbe(False, "KVM_GET_API_VERSION", None, 11)))
    assert not ok and text == "KVM_GET_API_VERSION answered 11, not 12" and fields["version"] == 11
    timed_out = doctor.kvm_detail(KvmProbe(False, "KVM_RUN", errno.ETIME, timeout=5.0))
    assert str(timed_out[1]) == "KVM_RUN gave no answer within 5 s"
    refused = KvmProbe(True, msr_set=False, msr_failed_step="KVM_SET_MSRS", msr_value=0x69)
    assert said(doctor.kvm_detail(refused))[:2] == (
        True,
        "a vCPU ran guest code to its hlt (KVM_RUN exit KVM_EXIT_HLT)",
    )
    assert said(doctor.kvm_msr_detail(refused))[:3] == (
        False,
        "vCPUs run, but setting MSR 0x10a (IA32_ARCH_CAPABILITIES) to 0x69 (what KVM offers) is refused: "
        "qemu -enable-kvm fails here",
        "kvm_msr_refused",
    )
    assert said(doctor.kvm_msr_detail(KvmProbe(False, "KVM_CREATE_VM", errno.EACCES)))[:2] == (
        False,
        "not tried: no vCPU to set it on",
    )
    assert doctor.kvm_msr_detail(KvmProbe(True, msr_set=True, msr_value=0x69))[0]
    not_listed = KvmProbe(True, msr_set=False, msr_failed_step="not a feature MSR")
    assert doctor.kvm_msr_detail(not_listed)[1].key == "doctor.detail.kvm_msr_not_offered"


def test_new_probes_stay_fast():
    import time

    for probe in (doctor.probe_kcore, doctor.probe_boot_image, doctor.probe_lbr, doctor.probe_intel_pt):
        start = time.monotonic()
        probe()
        assert time.monotonic() - start < 0.5, probe.__name__
    start = time.monotonic()
    doctor.probe_kvm_capabilities()
    assert time.monotonic() - start < 0.5


def test_the_refusal_is_said_whole_in_korean():
    """`kernlab --lang ko doctor` where recording is impossible: the error line's reason is
    Korean too (a phrase with its own fields, errno worded by the catalog), not English inside
    a Korean sentence; in English the line is the error's own text."""
    from kernlab import explain
    from kernlab.explain.errors import message
    from kernlab.tracing.capabilities import Phrase, phrase

    why = Phrase(
        "doctor.detail.refused",
        {"errno": "EACCES", "strerror": "Permission denied"},
        "refused: Permission denied (EACCES)",
    )
    reason = phrase(
        "doctor.detail.no_syscall_events", "system-call events cannot be enabled: {reason}", reason=why
    )
    events = Capability("events: syscalls", False, str(why))
    report = doctor.DoctorReport(
        euid=0,
        kernel_release="6.1.0",
        tracefs="/sys/kernel/tracing",
        capabilities=(events,),
        can_record=False,
        reason=str(reason),
        reason_key=reason.key,
        reason_fields=reason.fields,
    )
    error = doctor.recording_refusal(report)
    assert error is not None
    assert message(error) == (
        "recording is impossible: system-call events cannot be enabled: refused: Permission denied (EACCES)"
    )
    explain.set_language("ko")
    try:
        said = message(error)
    finally:
        explain.set_language("en")
    assert "cannot" not in said and "Permission" not in said and "EACCES" in said, said
