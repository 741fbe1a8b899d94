"""Faults attributed to the VMA that existed at their moment (reports/recording/address_space.py),
checked against /proc/self/maps read by the program itself just before each access, against
the address mmap returned, and against the recorder's exit snapshot of /proc/PID/maps."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from kernlab.mm.fault_codes import CAUSE_COW, CAUSE_SHARED
from kernlab.recording.reader import open_recording
from kernlab.reports import faults, report
from kernlab.reports.faults import CAUSE_NO_VMA
from kernlab.reports.recording.address_space import NO_VMA, address_spaces
from kernlab.reports.recording.tasks import read_tasks
from tests.conftest import PROGRAMS, compile_c, run_kernlab
from tests.recording.rec_util import need_tracing

LINE = re.compile(r"^(\w+) (0x[0-9a-f]+) (?:([0-9a-f]+)-([0-9a-f]+) (\S{4}) .*|-)$")


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    need_tracing()
    base = tmp_path_factory.mktemp("timeline")
    return compile_c(PROGRAMS / "flt_timeline.c", base / "flt_timeline", ["-O1", "-g"])


def _record(
    tmp_path: Path, *argv: str, options: tuple[str, ...] = ()
) -> tuple[Path, list[tuple[str, int, int, int, str]], int]:
    """Record argv; the program's lines "what ADDR lo-hi perms ..." (lo = hi = 0 for "-")."""
    out = tmp_path / "rec"
    result = run_kernlab("record", *options, "-q", "-d", str(out), "--", *argv)
    seen = []
    for line in result.stdout.splitlines():
        m = LINE.match(line)
        if m:
            lo, hi = (int(m[3], 16), int(m[4], 16)) if m[3] else (0, 0)
            seen.append((m[1], int(m[2], 16), lo, hi, m[5] or ""))
    assert seen, result
    return out, seen, result.code


def _final_state_is_the_exit_snapshot(directory: Path) -> None:
    """The timeline replayed from the exec snapshot ends where /proc/PID/maps was at exit."""
    rec = open_recording(directory)
    spaces = address_spaces(rec, read_tasks(rec))
    checked = 0
    for pid, timeline in spaces.timelines.items():
        if not timeline.end_snapshot or timeline.bases[-1] != 0:
            continue
        final = [(v.start, v.end, v.perms, v.offset, v.path) for v in spaces.state_vmas(pid, 1 << 63)]
        snap = [(v.start, v.end, v.perms, v.offset, v.path) for v in timeline.end_snapshot]
        assert final == snap, pid
        checked += 1
    assert checked


@pytest.mark.parametrize("options", [(), ("--functions",)], ids=["plain", "functions"])
def test_mmap_munmap_loop_faults_are_all_in_anonymous_mappings(program, tmp_path, options):
    """With --functions the recording may take its system calls from the per-call syscalls:*
    events (where uretprobe is a system call); they are folded into raw_syscalls records that
    the address-space replay must find as well."""
    rounds = 16
    out, seen, code = _record(tmp_path, str(program), "loop", str(rounds), options=options)
    assert code == 0
    maps = [(lo, hi, perms) for what, _a, lo, hi, perms in seen if what == "map"]
    assert len(maps) == rounds
    listing = faults.build(out)
    # main's writes (the same addresses may have held an earlier mapping: ld.so's cache file)
    mine = [
        ln
        for ln in listing.lines
        if any(lo <= ln.address < hi for lo, hi, _p in maps) and ln.where.startswith("flt_timeline:main")
    ]
    # 9 pages written per round, each a first write in an area that was unmapped before exit
    assert len(mine) == rounds * 9
    assert {ln.vma_kind for ln in mine} == {"anon-mmap"}
    assert {ln.perms for ln in mine} == {perms for _lo, _hi, perms in maps} == {"rw-p"}
    assert not [ln for ln in listing.lines if ln.vma_kind in ("unknown", NO_VMA)]
    stats = report.build(out).faults
    assert stats is not None
    assert stats.unmapped == 0 and stats.no_vma == 0
    kinds = {row.label: row.count for row in stats.by_vma}
    assert kinds.get("anon-mmap", 0) >= rounds * 9
    assert kinds == dict(Counter(ln.vma_kind for ln in listing.lines))
    _final_state_is_the_exit_snapshot(out)


def test_seed_hello_mmap_fault_is_on_its_file_mapping(tmp_path):
    need_tracing()
    exe = compile_c(PROGRAMS / "flt_hello_mmap.c", tmp_path / "hello_mmap", ["-O1"])
    data = tmp_path / "mmap_test.txt"
    data.write_text("111111122222333344456\n")
    out = tmp_path / "rec"
    result = run_kernlab("record", "-q", "-d", str(out), "--", str(exe), str(data))
    assert result.code == 0, result
    printed = int(re.search(r"mmap (0x[0-9a-f]+)", result.stderr)[1], 16)
    listing = faults.build(out, vma_kinds={"file-mmap"})
    here = [ln for ln in listing.lines if printed <= ln.address < printed + 4096]
    assert here, [(hex(ln.address), ln.vma) for ln in listing.lines]
    assert {ln.perms for ln in here} == {"rw-s"}
    assert all(ln.vma is not None and ln.vma.endswith("mmap_test.txt") for ln in here)
    # memset on the page printf read: a write to a clean page of a shared file mapping
    writes = [ln for ln in here if ln.error_code & 3 == 3]
    assert writes and {ln.cause for ln in writes} == {CAUSE_SHARED}
    assert data.read_bytes()[:16] == b"\0" * 16


def test_write_to_0x1000_is_no_vma_and_sigsegv(program, tmp_path):
    out, seen, code = _record(tmp_path, str(program), "segv")
    assert code == 128 + 11
    assert seen == [("touch", 0x1000, 0, 0, "")]  # the program's own maps: nothing holds 0x1000
    listing = faults.build(out)
    bad = [ln for ln in listing.lines if ln.address == 0x1000]
    assert len(bad) == 1
    assert (bad[0].vma_kind, bad[0].cause, bad[0].signal) == (NO_VMA, CAUSE_NO_VMA, 11)
    assert faults.build(out, vma_kinds={NO_VMA}).lines == bad
    stats = report.build(out).faults
    assert stats is not None and stats.no_vma == 1
    assert [(s.signal, s.delivered >= 1) for s in stats.signals] == [(11, True)]


def test_fork_then_write_is_copy_on_write(program, tmp_path):
    out, seen, code = _record(tmp_path, str(program), "cow")
    assert code == 0
    ((_what, addr, lo, hi, perms),) = seen
    assert perms == "rw-p"
    listing = faults.build(out)
    assert lo <= addr < hi
    # the child's writes to the 4 pages it shares with its parent since fork
    child = [
        ln
        for ln in listing.lines
        if addr <= ln.address < addr + 4 * 4096 and ln.error_code == 0x7 and "main" in ln.where
    ]
    assert len({ln.address >> 12 for ln in child}) == 4
    assert len({ln.pid for ln in child}) == 1 and child[0].pid != open_recording(out).meta.root_pid
    assert {ln.cause for ln in child} == {CAUSE_COW}
    assert {ln.perms for ln in child} == {perms}
    assert {ln.vma_kind for ln in child} == {"anon-mmap"}
    stats = report.build(out).faults
    assert stats is not None
    cow = {row.label: row.count for row in stats.write_protect}
    assert cow.get(CAUSE_COW) == sum(1 for ln in listing.lines if ln.cause == CAUSE_COW)


def test_write_to_a_shared_file_mapping_is_write_notify(program, tmp_path):
    data = tmp_path / "shared.dat"
    out, seen, code = _record(tmp_path, str(program), "shared", str(data))
    assert code == 0
    ((_what, _addr, lo, hi, perms),) = seen
    assert perms == "rw-s"
    listing = faults.build(out)
    here = [ln for ln in listing.lines if lo <= ln.address < hi]
    writes = [ln for ln in here if ln.error_code == 0x7]
    assert len(writes) == 4
    assert {ln.cause for ln in writes} == {CAUSE_SHARED}
    assert {(ln.vma_kind, ln.vma, ln.perms) for ln in here} == {("file-mmap", str(data), "rw-s")}
    stats = report.build(out).faults
    assert stats is not None
    assert {row.label: row.count for row in stats.write_protect}.get(CAUSE_SHARED) == 4
    _final_state_is_the_exit_snapshot(out)
