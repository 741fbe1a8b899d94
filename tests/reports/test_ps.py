"""reports.ps: processes and kernel-thread families, checked against /proc read here directly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from kernlab.errors import NoSuchProcess
from kernlab.proc.kthreads import kthread_family
from kernlab.reports import ps
from tests.mm.procs import unused_pid


@pytest.fixture
def stopped_pid():
    proc = subprocess.Popen(["sleep", "600"])
    # Popen returns when exec has begun; the new name and memory are in place a moment later.
    deadline = time.monotonic() + 5
    while Path(f"/proc/{proc.pid}/comm").read_text().strip() != "sleep" and time.monotonic() < deadline:
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGSTOP)
    while _status(proc.pid, "State") != "T" and time.monotonic() < deadline:  # the stop lands later
        time.sleep(0.001)
    yield proc.pid
    proc.kill()
    proc.wait()


def _status(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split()[1]
    raise KeyError(key)


def test_one_process_as_proc_status_says(stopped_pid):
    report = ps.build([stopped_pid])
    (process,) = report.processes
    assert (report.count, report.kernel_threads, report.missing) == (1, 0, ())
    assert process.pid == stopped_pid and process.comm == "sleep" and process.state == "T"
    assert process.vsz == int(_status(stopped_pid, "VmSize"))
    assert process.ppid == os.getpid()


def test_missing_pids_are_listed_or_refused(stopped_pid):
    gone = unused_pid()
    report = ps.build([stopped_pid, gone])
    assert [p.pid for p in report.processes] == [stopped_pid] and report.missing == (gone,)
    with pytest.raises(NoSuchProcess):
        ps.build([gone])


def test_pid_list_takes_commas_and_self():
    assert ps.pid_list(["1,self", "2"]) == [1, os.getpid(), 2]


def test_sorted_and_without_kernel_threads():
    report = ps.build(sort="-rss", with_kthreads=False)
    assert report.kernel_threads == 0 and report.count == len(report.processes) > 0
    assert [p.rss for p in report.processes] == sorted((p.rss for p in report.processes), reverse=True)


def test_kthreadd_is_its_own_family():
    report = ps.build_kthreads([2])
    assert Path("/proc/2/comm").read_text().strip() == "kthreadd"
    assert [(f.family, f.count, f.names) for f in report.families] == [("kthreadd", 1, ("kthreadd",))]
    assert report.kworker_pools == {}


def test_every_kernel_thread_in_its_family():
    report = ps.build_kthreads()
    assert report.count == sum(f.count for f in report.families) > 0
    for family in report.families:
        assert family.count == len(family.names)
        assert all(kthread_family(name) == family.family for name in family.names)
    kworkers = next(f for f in report.families if f.family == "kworker")
    assert sum(report.kworker_pools.values()) == kworkers.count


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def test_live_kworkers_classified_as_the_kernel_names_them():
    """Each live kworker is of a kind, and the kind agrees with what the kernel says of the thread:
    PF_WQ_WORKER set (stat field 9), a per-CPU worker bound to the CPU its name gives
    (Cpus_allowed_list), a high-priority one at nice -20 and a normal per-CPU one at nice 0
    (stat field 19; HIGHPRI_NICE_LEVEL in kernel/workqueue.c)."""
    from kernlab.proc.process import PF_WQ_WORKER

    report = ps.build_kthreads()
    assert report.kworkers, "this kernel runs no kworker"
    checked = 0
    for worker in report.kworkers:
        assert worker.kind != "unknown", worker.name
        pid = next(
            (int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _comm(p) == worker.name),
            None,
        )
        if pid is None:  # the worker renamed itself (it ran other work) or exited meanwhile
            continue
        try:
            fields = _stat_fields(pid)
            allowed = _status(pid, "Cpus_allowed_list")
        except (FileNotFoundError, ProcessLookupError):
            continue
        assert int(fields[6]) & PF_WQ_WORKER, worker.name
        if worker.kind in ("per_cpu", "highpri"):
            assert allowed == str(worker.cpu), (worker.name, allowed)
            assert int(fields[16]) == (-20 if worker.kind == "highpri" else 0), worker.name
            checked += 1
    assert checked > 0
    counts = report.kworker_pools
    assert sum(counts[k] for k in ("per_cpu", "highpri", "unbound", "rescuer", "dying", "unknown")) == len(
        report.kworkers
    )


def _comm(path: Path) -> str | None:
    try:
        return (path / "comm").read_text().strip()
    except OSError:
        return None


@pytest.mark.parametrize(
    ("name", "kind", "cpu", "pool", "desc", "running", "workqueue"),
    [
        ("kworker/3:1", "per_cpu", 3, None, None, None, None),
        ("kworker/0:2H-kblockd", "highpri", 0, None, "kblockd", False, None),
        ("kworker/u8:4+flush-8:0", "unbound", None, 8, "flush-8:0", True, None),
        ("kworker/R-ext4-rsv-conversion", "rescuer", None, None, None, None, "ext4-rsv-conversion"),
        ("kworker/R-kblockd+kblockd", "rescuer", None, None, "kblockd", True, "kblockd"),
        ("kworker/dying", "dying", None, None, None, None, None),
    ],
)
def test_kworker_names_taken_apart(name, kind, cpu, pool, desc, running, workqueue):
    from kernlab.proc.kthreads import parse_kworker

    parsed = parse_kworker(name)
    assert (parsed.kind, parsed.cpu, parsed.pool, parsed.desc, parsed.running, parsed.workqueue) == (
        kind,
        cpu,
        pool,
        desc,
        running,
        workqueue,
    )


def test_pre_6_10_rescuer_is_a_kworker_by_its_flag():
    # Linux 6.1 named a rescuer "%s" wq->name; PF_WQ_WORKER still marks it a workqueue worker.
    assert kthread_family("kblockd", wq_worker=True) == "kworker"
    assert kthread_family("kblockd") == "other"


def test_rescuer_sentence_says_rescuer_not_running_work():
    from kernlab.explain import ps as explain

    text = " ".join(explain.kworker_sentences({"rescuer": 2, "per_cpu": 0, "running": 0}))
    assert "WQ_MEM_RECLAIM" in text and "memory pressure" in text
    assert "-WQ that of the last one it ran" in text
    assert "high-priority pool" not in text  # kinds absent are not explained
