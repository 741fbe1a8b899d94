"""Threads and forked children of the command are recorded too (options/event-fork + ptrace)."""

from __future__ import annotations

import re

from kernlab.recording.layout import read_meta
from tests.conftest import PROGRAMS, compile_c, run_kernlab
from tests.recording.rec_rawpages import count_events, event_id
from tests.recording.rec_util import need_tracing


def test_threads_and_children_are_followed(tmp_path):
    need_tracing()
    prog = compile_c(PROGRAMS / "rec_family.c", tmp_path / "rec_family", ["-O2", "-pthread"])
    out = tmp_path / "r"
    result = run_kernlab("record", "-q", "-d", str(out), "--", str(prog), "4", "16")
    assert result.code == 0, result.stderr
    child = int(re.search(r"child=(\d+)", result.stdout).group(1))
    meta = read_meta(out)
    assert meta.lost_events == 0
    root = meta.root_pid
    # the forked child was seen through ptrace, and its maps were saved when it exited
    assert any(p.pid == child and p.ppid == root for p in meta.processes)
    assert [s.when for s in meta.maps if s.pid == child] == ["exit"]
    assert [s.when for s in meta.maps if s.pid == root] == ["exec", "exit"]
    counts = count_events(out, meta.page_size)
    kinds = {event_id(out, "exceptions", "page_fault_user"), event_id(out, "exceptions", "page_fault_kernel")}
    traced = sum(n for (etype, _), n in counts.items() if etype in kinds)
    pids = {pid for (etype, pid), n in counts.items() if etype in kinds}
    assert child in pids and root in pids
    assert len(pids) >= 2 + 1  # the root, at least one of its threads, the child
    # wait4's rusage covers the command, its threads and its reaped child; minflt before exec
    # (the exec snapshot's) was not traced
    exec_snap = next(s for s in meta.maps if s.pid == root and s.when == "exec")
    own = meta.rusage.minflt + meta.rusage.majflt - exec_snap.minflt - exec_snap.majflt
    assert own > 5 * 4096
    assert abs(traced - own) <= own * 0.01, (traced, own)
