"""reports.syscalls: the strace-like listing, filtered, checked against the report's own counts."""

from __future__ import annotations

import pytest

from kernlab.errors import BadInput
from kernlab.reports import report, syscalls
from tests.reports.test_report import recorded  # noqa: F401  (the shared recording)


def test_every_call_is_listed_once(recorded):  # noqa: F811
    listing = syscalls.build(recorded)
    stats = report.build(recorded).syscalls
    assert stats is not None
    assert listing.total_calls == len(listing.lines)
    # each returned call is a line, and so is each one that never returned (exit_group)
    returned = [ln for ln in listing.lines if ln.ret is not None and ln.duration_ns is not None]
    assert len(returned) == stats.combined.calls
    assert listing.errors == sum(1 for ln in listing.lines if ln.errno)
    assert not listing.args_from_live_kernel
    times = [ln.time_s for ln in listing.lines]
    assert times == sorted(times)


def test_filters_keep_only_what_was_asked(recorded):  # noqa: F811
    everything = syscalls.build(recorded)
    openat = syscalls.build(recorded, names={"openat"})
    assert openat.lines and {ln.name for ln in openat.lines} == {"openat"}
    assert len(openat.lines) == sum(1 for ln in everything.lines if ln.name == "openat")
    failed = syscalls.build(recorded, failed_only=True)
    assert failed.lines and all(ln.errno for ln in failed.lines)
    pid = everything.lines[0].pid
    assert all(ln.pid == pid for ln in syscalls.build(recorded, pids={pid}).lines)


def test_unknown_call_name_is_refused(recorded):  # noqa: F811
    with pytest.raises(BadInput, match="no system call named"):
        syscalls.build(recorded, names={"no_such_call"})
