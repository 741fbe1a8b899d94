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
