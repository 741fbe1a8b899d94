"""Fault analysis on a program whose faults are known by construction, checked against the
kernel's own counters (/proc/PID/stat minflt) and the binary's symbol table (nm)."""

from __future__ import annotations

import os
import subprocess

import pytest

from kernlab.recording.reader import open_recording
from kernlab.reports.recording.fault_stats import fault_statistics
from kernlab.reports.recording.tasks import read_tasks
from tests.conftest import need_tool, run_kernlab
from tests.reports.recording.capture import capture, tracefs_or_skip

PAGES = 3000
EVENTS = [
    "exceptions/page_fault_user",
    "exceptions/page_fault_kernel",
    "raw_syscalls/sys_enter",
    "raw_syscalls/sys_exit",
    "sched/sched_process_exec",
    "sched/sched_process_exit",
]


@pytest.fixture(scope="module")
def touch_rec(tmp_path_factory):
    tracefs_or_skip()
    from tests.conftest import PROGRAMS, compile_c

    base = tmp_path_factory.mktemp("faults")
    exe = compile_c(PROGRAMS / "rep_touch.c", base / "rep_touch", ["-O1", "-g"])
    cap = capture(base / "rec", [str(exe), str(PAGES)], EVENTS, snapshot_on_stdin=True)
    return cap, exe


def test_first_touch_faults_are_counted_and_classified(touch_rec):
    cap, exe = touch_rec
    rec = open_recording(cap.root)
    report = fault_statistics(rec, read_tasks(rec))
    # perf counts the same faults (PERF_COUNT_SW_PAGE_FAULTS in do_user_addr_fault) from exec on;
    # a second run differs only by a few faults (ASLR moves what shares a page)
    perf = subprocess.run(
        [need_tool("perf"), "stat", "-x,", "-e", "page-faults", str(exe), str(PAGES)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    counted = int(next(line for line in perf.splitlines() if ",page-faults," in line).split(",")[0])
    assert abs(report.total - counted) <= 5 + counted // 100, (report.total, counted)
    anon = {r.label: r.count for r in report.by_vma}["anon-mmap"]
    assert anon >= PAGES
    assert report.first_anon_writes >= PAGES
    # the instruction that faults most is the store in touch_pages, as nm places it
    nm = subprocess.run([need_tool("nm"), str(exe)], capture_output=True, text=True, check=True).stdout
    assert "touch_pages" in nm
    best = report.top_ips[0]
    assert best.count >= PAGES
    assert ":touch_pages+0x" in best.location
    assert best.vma_kind == "binary-text"


def test_faults_cli_filters_by_area(touch_rec):
    cap, _ = touch_rec
    result = run_kernlab("faults", "-d", str(cap.root), "--vma", "anon-mmap", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["total_faults"] >= PAGES
    assert {line["vma_kind"] for line in doc["lines"]} == {"anon-mmap"}
    assert all(line["where"].endswith(tuple("0123456789abcdef")) for line in doc["lines"])


def test_report_json_and_sentences(touch_rec):
    cap, _ = touch_rec
    result = run_kernlab("report", "-d", str(cap.root), "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["faults"]["first_anon_writes"] >= PAGES
    assert doc["faults"]["major"]["method"] == "counter"
    human = run_kernlab("report", "-d", str(cap.root))
    assert human.code == 0
    assert "first writes to an anonymous mapping" in human.stdout
    assert "No events were lost" in human.stdout


@pytest.mark.parametrize("mode", ["random", "readahead"])
def test_major_faults_match_the_kernels_counter(tmp_path, build_c, mode):
    """A file dropped from the page cache, then read through a mapping: the faults kernlab calls
    major (their page inserted into the page cache during the fault) must be exactly the
    kernel's maj_flt for the process (/proc/PID/stat at the end)."""
    tracefs_or_skip()
    exe = build_c("rep_filemap", ["-O1"])
    data = tmp_path / "data.bin"
    with open(data, "wb") as fh:
        fh.write(os.urandom(512 * 4096))
        fh.flush()
        os.fsync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    events = [*EVENTS, "filemap/mm_filemap_add_to_page_cache", "filemap/mm_filemap_fault"]
    args = [str(exe), str(data)] + (["random"] if mode == "random" else [])
    cap = capture(tmp_path / "rec", args, events, snapshot_on_stdin=True, keep_text=False)
    rec = open_recording(cap.root)
    report = fault_statistics(rec, read_tasks(rec))
    stat_majflt = rec.meta.maps[0].majflt
    assert report.major.method == "page-cache"
    assert stat_majflt > 0
    if mode == "random":
        assert stat_majflt >= 512  # one per page without readahead
    assert report.major.count == stat_majflt


def test_faults_lines_mark_major_ones(tmp_path, build_c):
    tracefs_or_skip()
    exe = build_c("rep_filemap", ["-O1"])
    data = tmp_path / "data.bin"
    with open(data, "wb") as fh:
        fh.write(os.urandom(64 * 4096))
        fh.flush()
        os.fsync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    events = [*EVENTS, "filemap/mm_filemap_add_to_page_cache"]
    cap = capture(
        tmp_path / "rec", [str(exe), str(data), "random"], events, snapshot_on_stdin=True, keep_text=False
    )
    doc = run_kernlab("faults", "-d", str(cap.root), "--vma", "file-mmap", "--json").json()
    majors = [ln for ln in doc["lines"] if ln["major"]]
    assert len(majors) == rec_majflt(cap.root) >= 64
    assert all(ln["vma"] == str(data) for ln in majors)
    text = run_kernlab("faults", "-d", str(cap.root), "--vma", "file-mmap")
    assert text.stdout.count(" major ") == len(majors)


def rec_majflt(root) -> int:
    return open_recording(root).meta.maps[0].majflt
