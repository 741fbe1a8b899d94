"""Kernel stacks of faults (`record --kstack`) against trace-cmd's reading of the same events,
and the filters of `kernlab syscalls` / `kernlab faults` against strace and the unfiltered data.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter

import pytest

from kernlab.explain.report import ARROW
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import need_tracing
from tests.reports.recording.test_syscall_stats import strace_counts

COMMAND = ["/bin/sh", "-c", "/usr/bin/ls -la /usr; /usr/bin/ls /"]
PROBE = ("trace_event_raw_event_", "perf_trace_", "__traceiter_", "__bpf_trace_")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    need_tracing()
    out = tmp_path_factory.mktemp("kstack") / "rec"
    result = run_kernlab(
        "record", "-q", "-d", str(out), "--kstack", "page_fault_user,page_fault_kernel", "--", *COMMAND
    )
    assert result.code == 0, result.stderr
    return out


def _trace_cmd_stacks(dat) -> list[tuple[str, ...]]:
    """Stacks trace-cmd report prints after each page fault, from the first execve on.

    trace-cmd merges the CPUs by time stamp, so another CPU's event can fall between a fault
    and its stack: a stack belongs to the last event printed for the same CPU, when that was a
    fault of the same task (what the kernel's post-call trigger writes).
    """
    text = subprocess.run(
        [need_tool("trace-cmd"), "report", str(dat)], capture_output=True, text=True, check=True
    ).stdout
    stacks: list[tuple[str, ...]] = []
    started = False
    current: list[str] | None = None
    last_on_cpu: dict[str, tuple[str, bool]] = {}  # cpu -> (pid, was a fault) of its last event
    for line in text.splitlines():
        if line.startswith("=>"):
            if current is not None:
                current.append(line.split()[1])
            continue
        if current is not None:
            while current and current[0].startswith(PROBE):
                current.pop(0)
            stacks.append(tuple(current))
            current = None
        where = re.search(r"-(\d+)\s+\[(\d+)\]", line)
        if not where:
            continue
        pid, cpu = where.groups()
        if not started:
            started = bool(re.search(r" sys_enter:\s+NR 59 ", line))
            last_on_cpu[cpu] = (pid, False)
            continue
        if " kernel_stack:" in line:
            before = last_on_cpu.get(cpu)
            current = [] if before == (pid, True) else None
        is_fault = " page_fault_user:" in line or " page_fault_kernel:" in line
        last_on_cpu[cpu] = (pid, is_fault)
    if current is not None:
        stacks.append(tuple(current))
    return stacks


def test_fault_stacks_match_trace_cmd(recorded, tmp_path):
    dat = tmp_path / "rec.dat"
    assert run_kernlab("dump", "-q", "-d", str(recorded), "--trace-dat", str(dat)).code == 0
    theirs = _trace_cmd_stacks(dat)
    doc = run_kernlab("faults", "-d", str(recorded), "--json").json()
    ours = [tuple(line["kernel_stack"]) for line in doc["lines"]]
    assert all(ours) and len(ours) == doc["total_faults"] > 50
    assert Counter(ours) == Counter(theirs)
    # The human line shows the same chain, and report counts them.
    text = run_kernlab("faults", "-d", str(recorded)).stdout
    assert f"kstack: {ARROW.join(ours[0])}" in text
    report = run_kernlab("report", "-d", str(recorded), "--json").json()
    rows = report["faults"]["top_kernel_stacks"]
    assert rows[0]["count"] == Counter(ours).most_common(1)[0][1]


def test_syscall_filters_match_strace(recorded, tmp_path):
    counts = strace_counts(COMMAND, tmp_path / "strace.txt", stdout=subprocess.PIPE)
    doc = run_kernlab("syscalls", "-d", str(recorded), "-e", "openat", "-e", "mmap", "--json").json()
    names = Counter(line["name"] for line in doc["lines"])
    assert set(names) == {"openat", "mmap"}
    assert names["openat"] == counts["openat"][0] and names["mmap"] == counts["mmap"][0]
    failed = run_kernlab("syscalls", "-d", str(recorded), "-e", "openat", "--failed", "--json").json()
    assert len(failed["lines"]) == counts["openat"][1]
    assert all(line["errno"] for line in failed["lines"])


def test_pid_filters_split_the_listings(recorded):
    every = run_kernlab("syscalls", "-d", str(recorded), "--json").json()["lines"]
    pids = Counter(line["pid"] for line in every)
    assert len(pids) >= 3  # sh and its two ls children
    for pid, n in pids.items():
        mine = run_kernlab("syscalls", "-d", str(recorded), "--pid", str(pid), "--json").json()["lines"]
        assert len(mine) == n and {line["pid"] for line in mine} == {pid}
    faults = run_kernlab("faults", "-d", str(recorded), "--json").json()["lines"]
    fault_pids = Counter(line["pid"] for line in faults)
    pid, n = fault_pids.most_common(1)[0]
    mine = run_kernlab("faults", "-d", str(recorded), "--pid", str(pid), "--json").json()["lines"]
    assert len(mine) == n and {line["pid"] for line in mine} == {pid}


def test_vma_filter_matches_the_report(recorded):
    report = run_kernlab("report", "-d", str(recorded), "--json").json()["faults"]
    by_kind = {row["label"]: row["count"] for row in report["by_vma"]}
    for kind in ("shared-lib", "stack"):
        doc = run_kernlab("faults", "-d", str(recorded), "--vma", kind, "--json").json()
        assert {line["vma_kind"] for line in doc["lines"]} <= {kind}
        assert len(doc["lines"]) == by_kind.get(kind, 0)


def test_unknown_filter_values_are_refused(recorded):
    bad_kind = run_kernlab("faults", "-d", str(recorded), "--vma", "nowhere")
    assert bad_kind.code == 3 and "not an area kind" in bad_kind.stderr
    bad_name = run_kernlab("syscalls", "-d", str(recorded), "-e", "nosuchcall")
    assert bad_name.code == 3 and "nosuchcall" in bad_name.stderr
    assert "Traceback" not in bad_kind.stderr + bad_name.stderr
