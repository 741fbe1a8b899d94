"""`kernlab ps` against ps(1): figures of held-still processes, kernel threads, sorting, filters."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kernlab.catalog import has
from kernlab.explain.ps import family_role
from kernlab.proc.kthreads import kthread_family
from kernlab.proc.process import PF_KTHREAD, parse_stat, read_process
from kernlab.reports.ps import KthreadFamilyRow
from tests.conftest import assert_clean_error, need_tool, run_kernlab


def _ps_rows(*args: str) -> list[list[str]]:
    need_tool("ps")
    out = subprocess.run(["ps", *args], capture_output=True, text=True, check=True).stdout
    return [line.split(None, 8) for line in out.splitlines() if line.strip()]


def test_held_processes_equal_ps(hold):
    held = [hold(), hold(with_file=False)]
    pids = ",".join(str(h.pid) for h in held)
    expected = {
        int(r[0]): r
        for r in _ps_rows("-o", "pid=,ppid=,s=,vsz=,rss=,min_flt=,maj_flt=,nlwp=,comm=", "-p", pids)
    }
    data = run_kernlab("ps", "--pid", pids, "--json").json()
    assert data["count"] == 2
    for p in data["processes"]:
        pid, ppid, state, vsz, rss, min_flt, maj_flt, nlwp, comm = expected[p["pid"]]
        assert (p["ppid"], p["vsz"], p["rss"]) == (int(ppid), int(vsz), int(rss))
        assert (p["min_flt"], p["maj_flt"], p["threads"]) == (int(min_flt), int(maj_flt), int(nlwp))
        assert (p["state"], p["comm"], p["kernel_thread"]) == (state, comm.strip(), False)
        assert (
            p["user"]
            == subprocess.run(["ps", "-o", "user=", "-p", pid], capture_output=True, text=True).stdout.strip()
        )


def test_vsz_rss_equal_status_file(hold):
    held = hold()
    info = read_process(held.pid)
    status = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{held.pid}/status").read_text().splitlines()
        if ":" in line
    )
    assert info.vsz == int(status["VmSize"].split()[0])
    assert info.rss == int(status["VmRSS"].split()[0])


def test_kernel_threads_are_kthreadd_and_its_children():
    data = run_kernlab("ps", "--json").json()
    rows = _ps_rows("-eo", "pid=,ppid=,comm=")
    ps_pids = {int(r[0]) for r in rows}
    ps_kthreads = {int(r[0]) for r in rows if r[0] == "2" or r[1] == "2"}
    ours = {p["pid"]: p for p in data["processes"]}
    both = ps_pids & set(ours)
    assert len(both) > 10
    assert {pid for pid in both if ours[pid]["kernel_thread"]} == ps_kthreads & both
    names = {int(r[0]): r[2] for r in rows}
    for pid in both:
        p = ours[pid]
        if p["kernel_thread"]:
            assert p["vsz"] == 0 and p["rss"] == 0
            # A kworker's name changes with the work it runs; compare the stable part.
            assert p["comm"].split("-")[0] == names[pid].split("-")[0]


def _comms() -> dict[int, str]:
    names = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                # The kernel cuts a name at 15 bytes, inside a character as often as not:
                # kernlab shows such bytes as U+FFFD (its JSON stays UTF-8).
                raw = Path(f"/proc/{entry}/comm").read_bytes().rstrip(b"\n")
                names[int(entry)] = raw.decode("utf-8", "replace")
            except OSError:
                continue
    return names


def test_full_names_from_comm_file():
    # kernlab shows the whole task name (up to 64 chars for kworkers), as /proc/PID/comm does.
    # Names read before and after the run must agree, else the process exec'd or exited meanwhile.
    before = _comms()
    data = run_kernlab("ps", "--json").json()
    after = _comms()
    checked = 0
    for p in data["processes"]:
        pid = p["pid"]
        if before.get(pid) is not None and before.get(pid) == after.get(pid):
            assert p["comm"] == before[pid]
            checked += 1
    assert checked > 5


def test_pf_kthread_flag_from_stat():
    fields = parse_stat(Path("/proc/2/stat").read_text())
    assert fields.flags & PF_KTHREAD
    assert read_process(2).kernel_thread
    assert not read_process("self").kernel_thread


def test_sort_and_user_filters():
    data = run_kernlab("ps", "--sort=-rss", "--json").json()
    rss = [p["rss"] for p in data["processes"]]
    assert rss == sorted(rss, reverse=True)
    data = run_kernlab("ps", "--sort", "comm,pid", "--json").json()
    keys = [(p["comm"], p["pid"]) for p in data["processes"]]
    assert keys == sorted(keys)
    before = {p["pid"] for p in run_kernlab("ps", "--json").json()["processes"]}
    root = run_kernlab("ps", "--user", "root", "--json").json()
    assert root["count"] > 0 and all(p["uid"] == 0 for p in root["processes"])
    ps_root = {int(r[0]) for r in _ps_rows("-u", "root", "-o", "pid=")}
    after = {p["pid"] for p in run_kernlab("ps", "--json").json()["processes"]}
    # Only processes alive through all runs can be compared: others came or went meanwhile.
    stable = before & after
    assert {p["pid"] for p in root["processes"]} & stable == ps_root & stable


def test_no_kthreads_option():
    data = run_kernlab("ps", "--no-kthreads", "--json").json()
    assert data["kernel_threads"] == 0 and data["count"] > 0


def test_kthreads_grouped_by_family():
    data = run_kernlab("ps", "--kthreads", "--json").json()
    listing = run_kernlab("ps", "--json").json()
    kthreads = sum(p["kernel_thread"] for p in listing["processes"])
    assert abs(data["count"] - kthreads) <= 10  # kworkers come and go between the two runs
    for family in data["families"]:
        assert family["count"] == len(family["names"])
        assert all(kthread_family(name) == family["family"] for name in family["names"])
        # The role is a sentence, so it is not in the JSON: the family key names it.
        row = KthreadFamilyRow(family["family"], family["count"], family["per_cpu"], tuple(family["names"]))
        assert family_role(row)
        assert has(f"ps.kthread_family.{family['family']}")
    assert any(f["family"] == "kworker" for f in data["families"])
    result = run_kernlab("ps", "--kthreads")
    assert result.code == 0 and "ksoftirqd" in result.stdout


def test_human_output_has_the_vsz_rss_sentence(hold):
    hold()
    result = run_kernlab("ps")
    assert result.code == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert "VSZ is what a process allocated, RSS what it touched" in flat
    assert "kernel threads" in flat
    assert result.stdout.splitlines()[0].split() == [
        "PID",
        "PPID",
        "USER",
        "S",
        "VSZ",
        "RSS",
        "MINFLT",
        "MAJFLT",
        "THR",
        "K",
        "COMMAND",
    ]
    assert "VmSize" in " ".join(run_kernlab("ps", "--explain").stdout.split())


def _unused_pid() -> int:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    return next(pid for pid in range(pid_max - 1, 1, -1) if not os.path.exists(f"/proc/{pid}"))


def test_bad_input():
    pid = _unused_pid()
    result = run_kernlab("ps", "--pid", str(pid))
    assert_clean_error(result, code=4)
    assert str(pid) in result.stderr
    assert_clean_error(run_kernlab("ps", "--pid", "abc"), code=3)
    assert_clean_error(run_kernlab("ps", "--sort", "nonsense"), code=3)
    assert_clean_error(run_kernlab("ps", "--user", "no-such-user-kernlab"), code=3)
    some = run_kernlab("ps", "--pid", f"1,{pid}", "--json").json()
    assert some["missing"] == [pid]


@pytest.mark.parametrize("pid", ["self"])
def test_self_is_the_kernlab_process(pid):
    data = run_kernlab("ps", "--pid", pid, "--json").json()
    assert data["count"] == 1 and data["processes"][0]["comm"].startswith("python")


def test_name_with_parentheses_and_spaces(tmp_path):
    # comm may hold ") (" and spaces: stat must be split at the last ')'.
    weird = tmp_path / "a) (b c"
    weird.symlink_to("/bin/sleep")
    proc = subprocess.Popen([str(weird), "30"])
    try:
        info = read_process(proc.pid)
        assert info.comm == Path(f"/proc/{proc.pid}/comm").read_text().rstrip("\n")
        assert info.comm.startswith("a) (b")
        assert info.ppid == os.getpid() and info.state in "RSD"
    finally:
        proc.kill()
        proc.wait()
