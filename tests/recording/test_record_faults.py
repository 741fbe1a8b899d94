"""A real recording of a program touching 256 MiB: every page fault is in the raw pages."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from kernlab.recording.layout import read_meta
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_rawpages import count_events, event_id
from tests.recording.rec_util import need_tracing


@pytest.fixture(scope="module")
def touch_recording(tmp_path_factory):
    need_tracing()
    tmp = tmp_path_factory.mktemp("touch")
    need_tool("gcc")
    from tests.conftest import PROGRAMS, compile_c

    prog = compile_c(PROGRAMS / "rec_touch.c", tmp / "rec_touch", ["-O2"])
    out = tmp / "kernlab.data"
    result = run_kernlab("record", "-q", "-d", str(out), "--", str(prog), "256")
    return prog, out, result


def test_faults_match_getrusage_within_one_percent(touch_recording):
    _, out, result = touch_recording
    assert result.code == 0, result.stderr
    # The program prints its own getrusage counters at the end (stdout passes through).
    own = re.search(r"minflt=(\d+) majflt=(\d+) pages=(\d+)", result.stdout)
    assert own, result.stdout
    meta = read_meta(out)
    assert meta.lost_events == 0
    counts = count_events(out, meta.page_size)
    pid = meta.root_pid
    traced = sum(
        counts[(event_id(out, "exceptions", name), pid)] for name in ("page_fault_user", "page_fault_kernel")
    )
    # minflt is not reset by exec: faults of the forked child before exec happened before
    # tracing started, and the exec snapshot holds that baseline.
    exec_snap = next(s for s in meta.maps if s.pid == pid and s.when == "exec")
    own_faults = int(own.group(1)) + int(own.group(2)) - exec_snap.minflt - exec_snap.majflt
    assert int(own.group(3)) <= own_faults
    assert abs(traced - own_faults) <= own_faults * 0.01, (traced, own_faults)
    # wait4's rusage of the command agrees with what the program saw itself (a few exit faults).
    assert meta.rusage is not None
    assert 0 <= meta.rusage.minflt - int(own.group(1)) < 100


def test_meta_describes_the_run(touch_recording):
    prog, out, _ = touch_recording
    meta = read_meta(out)
    assert meta.exit_code == 0
    assert meta.command == [str(prog), "256"]
    assert "raw_syscalls:sys_enter" in meta.events and "exceptions:page_fault_user" in meta.events
    assert (
        meta.kernel_release == subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
    )
    whens = [s.when for s in meta.maps if s.pid == meta.root_pid]
    assert whens == ["exec", "exit"]
    exit_maps = (out / next(s.path for s in meta.maps if s.when == "exit")).read_text()
    assert str(prog) in exit_maps
    # each event format file the pages need is there, with the instance's header_page
    assert (out / "header_page").read_text().startswith("\tfield: u64 timestamp")
    for event in meta.events:
        system, name = event.split(":")
        assert (out / "formats" / system / name / "format").is_file()


def test_build_ids_match_readelf(touch_recording):
    need_tool("readelf")
    prog, out, _ = touch_recording
    meta = read_meta(out)
    by_path = {b.path: b.build_id for b in meta.binaries}
    assert str(prog) in by_path
    for path in list(by_path)[:4]:
        notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
        match = re.search(r"Build ID: ([0-9a-f]+)", notes)
        assert by_path[path] == (match.group(1) if match else ""), path


def test_kallsyms_part_names_kernel_code(touch_recording):
    _, out, _ = touch_recording
    saved = (out / "kallsyms").read_text().splitlines()
    assert saved
    live = {}
    with open("/proc/kallsyms") as fh:
        for line in fh:
            parts = line.split()
            if parts[2] == "handle_mm_fault":
                live[parts[2]] = parts[0]
    ours = [ln.split() for ln in saved if ln.split()[2] == "handle_mm_fault"]
    assert ours and ours[0][0] == live["handle_mm_fault"]
    assert all(ln.split()[1] in "tTwW" for ln in saved[:1000])


@pytest.mark.slow
def test_one_gib_first_touch_loses_nothing(tmp_path):
    """The default buffers hold a 1 GiB first touch (262,144 faults) with nothing lost."""
    need_tracing()
    with open("/proc/meminfo") as fh:
        available_kb = next(int(line.split()[1]) for line in fh if line.startswith("MemAvailable:"))
    if available_kb < 3 * 1024 * 1024:
        pytest.skip(f"needs 3 GiB of MemAvailable, this machine has {available_kb // 1024} MiB")
    from tests.conftest import PROGRAMS, compile_c

    prog = compile_c(PROGRAMS / "rec_touch.c", tmp_path / "rec_touch", ["-O2"])
    out = tmp_path / "r"
    result = run_kernlab("record", "-q", "-d", str(out), "--", str(prog), "1024")
    assert result.code == 0, result.stderr
    meta = read_meta(out)
    assert meta.lost_events == 0
    faults = count_events(out, meta.page_size)[
        (event_id(out, "exceptions", "page_fault_user"), meta.root_pid)
    ]
    pages = int(re.search(r"pages=(\d+)", result.stdout).group(1))
    assert pages <= faults <= pages * 1.01


def test_report_accounts_for_the_forked_childs_faults(tmp_path):
    """A small program (4 MiB): getrusage - the child's pre-execve faults = the traced total.

    The fork's own copy-on-write faults (~200 of kernlab's Python) are counted by the command's
    getrusage; the report tells them apart (meta.pre_exec_faults + root faults traced before
    execve), so even a program with a few thousand faults adds up within 1%. The kernel also
    counts, in getrusage only, the faults get_user_pages() takes for execve's argument pages
    (not CPU exceptions, so no page_fault event): at most a couple per exec.
    """
    need_tracing()
    need_tool("gcc")
    from tests.conftest import PROGRAMS, compile_c

    prog = compile_c(PROGRAMS / "rec_touch.c", tmp_path / "rec_touch", ["-O2"])
    result = run_kernlab("record", "--report", "--json", "-d", str(tmp_path / "r"), "--", str(prog), "4")
    assert result.code == 0, result.stderr
    own = re.search(r"minflt=(\d+) majflt=(\d+) pages=(\d+)", result.stdout)
    assert own, result.stdout
    doc = json.loads(result.stdout[result.stdout.index("{") :])
    faults = doc["faults"]
    assert doc["loss"]["total"] == 0
    before = faults["faults_before_exec"]
    meta = read_meta(tmp_path / "r")
    assert meta.pre_exec_faults is not None and before >= sum(meta.pre_exec_faults) > 0
    from_rusage = faults["rusage_minflt"] + faults["rusage_majflt"] - before
    assert abs(faults["total"] - from_rusage) <= max(2, from_rusage * 0.01), (faults, before)
    # the program's own count, printed just before it returns, tells the same
    from_program = int(own.group(1)) + int(own.group(2)) - before
    assert int(own.group(3)) <= from_program
    assert abs(faults["total"] - from_program) <= max(3, from_program * 0.01), (faults, from_program)
