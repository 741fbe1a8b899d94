"""reports.maps: a process's VMAs with the sums and facts the view shows, against /proc read here."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from kernlab.errors import BadInput
from kernlab.reports import maps


@pytest.fixture
def stopped():
    proc = subprocess.Popen(["[sleeper]", "600"], executable=shutil.which("sleep"))
    # Popen returns when exec has begun; the new arguments are in place a moment later.
    deadline = time.monotonic() + 5
    while not Path(f"/proc/{proc.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGSTOP)
    yield proc.pid
    proc.kill()
    proc.wait()


def _smaps_sums(pid: int, keys: tuple[str, ...]) -> int:
    total = 0
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in keys:
            total += int(rest.split()[0])
    return total


def test_vmas_cmdline_and_sums_as_proc_says(stopped):
    report = maps.build(stopped)
    ranges = [line.split()[0] for line in Path(f"/proc/{stopped}/maps").read_text().splitlines()]
    assert [f"{v.start:x}-{v.end:x}" for v in report.vmas] == ranges
    assert report.cmdline == "[sleeper] 600"
    assert report.shared == _smaps_sums(stopped, ("Shared_Clean", "Shared_Dirty"))
    assert report.thp == _smaps_sums(stopped, ("AnonHugePages",))
    assert report.ps_vsz == report.totals.vsz
    assert (report.comm, report.kernel_thread, report.zombie) == ("sleep", False, False)


def test_kinds_filter_and_refuse_unknown_kinds(stopped):
    report = maps.build(stopped, kinds=["stack"])
    assert [v.name for v in report.vmas] == ["[stack]"]
    assert [k.kind for k in report.kinds] == ["stack"] and report.totals.count == 1
    with pytest.raises(BadInput):
        maps.build(stopped, kinds=["nonsense"])


def test_kernel_thread_has_no_vmas_and_no_cmdline():
    report = maps.build(2)
    assert report.kernel_thread and report.vmas == () and report.cmdline == ""


def test_all_counts_this_process_and_says_whether_root():
    calls = []
    report = maps.build_all(on_process=lambda: calls.append(1))
    assert report.as_root == (os.geteuid() == 0)
    assert os.getpid() in {p.pid for p in report.processes}
    assert len(calls) >= len(report.processes) + report.skipped + report.denied
