"""kernlab doctor: each answer checked against the standard tool or file that knows it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from kernlab import explain
from kernlab.explain import doctor as explain_doctor
from kernlab.tracing.capabilities import Phrase
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import global_state, need_tracing
from tests.recording.test_record_cli import run_as_nobody
from tests.tracing.test_capability_phrases import english_words


@pytest.fixture(scope="module")
def doctor_json():
    need_tracing()
    before = global_state()
    result = run_kernlab("doctor", "--json")
    after = global_state()
    assert result.code == 0, result.stderr
    return {c["name"]: c for c in result.json()["capabilities"]}, result.json(), before, after


def test_doctor_leaves_global_state_alone(doctor_json):
    _, _, before, after = doctor_json
    assert before == after


def test_bpf_program_types_match_bpftool(doctor_json):
    caps, _, _, _ = doctor_json
    bpftool = need_tool("bpftool")
    probe = subprocess.run([bpftool, "-j", "feature", "probe", "kernel"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"bpftool feature probe failed: {probe.stderr.strip()}")
    types = json.loads(probe.stdout)["program_types"]
    for name in ("socket_filter", "kprobe", "tracepoint", "perf_event", "raw_tracepoint"):
        key = f"have_{name}_prog_type"
        assert caps[f"BPF {name} programs"]["ok"] == types[key], name


def test_paranoid_matches_sysctl(doctor_json):
    caps, _, _, _ = doctor_json
    value = (
        subprocess.run(
            ["sysctl", "-n", "kernel.perf_event_paranoid"], capture_output=True, text=True
        ).stdout.strip()
        or Path("/proc/sys/kernel/perf_event_paranoid").read_text().strip()
    )
    assert caps["perf_event_paranoid"]["detail"].startswith(f"{value}:")
    assert caps["perf_event_paranoid"]["detail_fields"]["value"] == int(value)


def test_event_groups_match_available_events(doctor_json):
    caps, _, _, _ = doctor_json
    available = Path("/sys/kernel/tracing/available_events").read_text().split()
    systems = {e.split(":")[0] for e in available}
    assert caps["events: syscalls"]["ok"] == ("raw_syscalls:sys_enter" in available)
    assert caps["events: block"]["ok"] == ("block" in systems)
    assert caps["events: kmem"]["ok"] == ("kmem" in systems)


def test_probe_files_agree_with_the_files(doctor_json):
    caps, report, _, _ = doctor_json
    root = Path(report["tracefs"])
    assert caps["kprobes"]["ok"] is False or (root / "kprobe_events").exists()
    if not (root / "kprobe_events").exists():
        assert "absent" in caps["kprobes"]["detail"]
    assert caps["BTF"]["ok"] == Path("/sys/kernel/btf/vmlinux").exists()
    assert caps["/proc/config.gz"]["ok"] == Path("/proc/config.gz").exists()
    # function tracer: the answer is the one tracefs gives when asked the same way
    tracers = (root / "available_tracers").read_text().split()
    if "function" not in tracers:
        assert caps["function tracer"]["ok"] is False


def test_perf_callchain_matches_perf_record(doctor_json, tmp_path):
    caps, _, _, _ = doctor_json
    perf = need_tool("perf")
    version = subprocess.run([perf, "--version"], capture_output=True, text=True)
    if version.returncode != 0:
        pytest.skip(f"perf does not run here: {version.stderr.strip()[:200]}")
    run = subprocess.run(
        [perf, "record", "-q", "-g", "-e", "cpu-clock", "-o", str(tmp_path / "perf.data"), "--", "true"],
        capture_output=True,
        text=True,
    )
    assert caps["perf sampling + call chains"]["ok"] == (run.returncode == 0), run.stderr


def test_every_capability_says_what_it_enables(doctor_json):
    caps, report, _, _ = doctor_json
    assert report["can_record"] is True and report["reason"] == "" and report["reason_key"] == ""
    for cap in caps.values():
        assert cap["detail"]
        assert isinstance(cap["ok"], bool)
        # What trying found and what it enables, as keys and fields (the JSON is the same in
        # every language; the English detail is kept beside them).
        assert cap["detail_key"] and isinstance(cap["detail_fields"], dict), cap
        assert all(use["key"].startswith("doctor.enables.") for use in cap["enables"]), cap
    assert all(cap["enables"] for name, cap in caps.items() if name != "perf_event_paranoid")
    if caps["kprobes"]["ok"] is False and caps["kprobes"]["detail_key"] == "doctor.detail.probe_file_absent":
        assert caps["kprobes"]["detail_fields"] == {"file": "kprobe_events", "config": "CONFIG_KPROBE_EVENTS"}


def test_json_machine_section_is_plain_keys_and_values(doctor_json):
    caps, report, _, _ = doctor_json
    machine = report["machine"]
    assert set(machine) == {
        "architecture",
        "cpu_model",
        "cpus_online",
        "cpus_usable",
        "memory_total",
        "virtual_machine",
        "hypervisor",
        "hypervisor_source",
        "cpu_features",
        "cpu_features_absent",
        "paging_levels",
        "paging_method",
    }
    assert machine["architecture"] == os.uname().machine
    assert machine["cpus_usable"] == len(os.sched_getaffinity(0))
    memtotal = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal:"))
    assert machine["memory_total"] == int(memtotal.split()[1]) * 1024
    assert all(isinstance(flag, str) for flag in machine["cpu_features"] + machine["cpu_features_absent"])
    for name in ("/proc/kcore", "kernel image in /boot", "LBR branch stacks", "Intel PT", "KVM"):
        assert isinstance(caps[name]["ok"], bool) and caps[name]["detail"], name


def test_human_output_ends_with_a_sentence():
    need_tracing()
    result = run_kernlab("doctor")
    assert result.code == 0, result.stderr
    assert "feature" in result.stdout
    assert f"  architecture:      {os.uname().machine}\n" in result.stdout
    flat = " ".join(result.stdout.split())
    assert re.search(r"Recording works here", flat)


def _phrase(data: dict) -> Phrase:
    """A phrase read back from the JSON (a nested one is an object with a key and fields)."""
    fields = {
        name: _phrase(value) if isinstance(value, dict) else value for name, value in data["fields"].items()
    }
    return Phrase(data["key"], fields)


def test_korean_doctor_prints_no_english_detail_or_use(doctor_json):
    """`kernlab --lang ko doctor`: each cell of "found by trying" and "enables" is the catalog's
    Korean for the key and fields the JSON holds, and no word of it is English (outside fields:
    paths, events, errno names, files, and the tools and kernel features it names)."""
    caps, _, _, _ = doctor_json
    result = run_kernlab("--lang", "ko", "doctor")
    assert result.code == 0, result.stderr
    explain.set_language("ko")
    try:
        for name, cap in caps.items():
            why = Phrase(cap["detail_key"], _phrase({"key": "", "fields": cap["detail_fields"]}).fields)
            detail = explain_doctor.phrase_text(why)
            assert detail in result.stdout, (name, detail)
            assert cap["detail"] not in result.stdout or detail == cap["detail"], (name, cap["detail"])
            assert not english_words(detail, why.fields), (name, detail)
            for use in cap["enables"]:
                said = explain_doctor.phrase_text(_phrase(use))
                assert said in result.stdout, (name, said)
                assert not english_words(said, use["fields"]), (name, said)
    finally:
        explain.set_language("en")
    for english in ("refused:", "works in a private instance", "readable", "function call tracing"):
        assert english not in result.stdout, english


def test_not_root_cannot_record():
    result = run_as_nobody("doctor")
    assert result.returncode == 5, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("kernlab: error: recording is impossible"), result.stderr
    assert "tracefs" in result.stdout


def test_clean_removes_stale_instances():
    root = need_tracing()
    proc = subprocess.Popen(["sleep", "0.01"])
    from kernlab.tracing.instance import process_start_time

    start = process_start_time(proc.pid)
    proc.wait()
    stale = root / "instances" / f"kernlab-{proc.pid}-{start}-rec9"
    stale.mkdir()
    try:
        result = run_kernlab("doctor", "--clean", "--json")
        assert result.code == 0, result.stderr
        assert stale.name in result.json()["cleaned"]["instances"]
        assert not stale.exists()
    finally:
        if stale.exists():
            stale.rmdir()
