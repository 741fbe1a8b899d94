"""views.report: an empty system-call or fault section says why — pages that could not be read,
a recording cut short, lost events — and "none was made" only when the recording is whole and
lost nothing (never "the events were not enabled": they were, or there would be no section).

From fixed figures for each cause, and on a real recording whose raw pages were then torn.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kernlab.recording.layout import CpuLoss
from kernlab.recording.reader import FileDamage, LossSummary
from kernlab.recording.state import Completeness
from kernlab.render.output import Output
from kernlab.render.views import report as view
from kernlab.reports.recording.syscall_stats import SyscallStatistics, SyscallSummary
from kernlab.reports.report import RecordingReport
from tests.conftest import run_kernlab
from tests.render.test_view_report import _report

WHOLE = LossSummary([CpuLoss(0, entries=60)], 0, 0, 0, 0)
DAMAGED = replace(WHOLE, damage=[FileDamage("cpus/cpu0.raw", 1, 0, [], 100, 0, 100)])
CUT = replace(WHOLE, completeness=Completeness(False, "killed", "", 4242, False, 0.0, 0.0))
LOST = LossSummary([CpuLoss(0, entries=60, overrun=40)], 40, 0, 0, 0)


def _empty(loss: LossSummary) -> RecordingReport:
    bare = _report()
    assert bare.faults is not None
    return replace(
        bare,
        loss=loss,
        syscalls=SyscallStatistics(SyscallSummary([], 0, 0, 0, 0, 0), [], "x86_64", 0, 0),
        faults=replace(bare.faults, total=0),
        fault_counter_check=None,
    )


@pytest.mark.parametrize(
    ("loss", "syscalls", "faults"),
    [
        (
            DAMAGED,
            "→ No system call could be read: the pages that could not be read",
            "→ No page fault could be read",
        ),
        (
            CUT,
            "→ No system call was read: the recording was cut short",
            "→ No page fault was read: the recording was cut short",
        ),
        (
            LOST,
            "→ No system call was read, but 40 events were lost (see Lost events)",
            "→ No page fault was read, but 40 events were lost (see Lost events)",
        ),
        (
            WHOLE,
            "→ No system calls were recorded: the raw_syscalls events were enabled and none was lost",
            "→ No page faults were recorded",
        ),
    ],
    ids=["damaged", "cut", "lost", "whole"],
)
def test_an_empty_section_says_why(capsys, loss, syscalls, faults):
    view.show(_empty(loss), Output())
    out = capsys.readouterr().out
    assert syscalls in out and faults in out
    assert "were not enabled, or the command made none" not in out


def test_one_lost_event_is_said_in_the_singular(capsys):
    one = LossSummary([CpuLoss(0, entries=60, overrun=1)], 1, 0, 0, 0)
    view.show(_empty(one), Output())
    assert "but 1 event was lost (see Lost events)" in capsys.readouterr().out


def test_a_torn_recording_says_the_calls_could_not_be_read(tmp_path: Path):
    """A real recording of `true`, its raw pages torn to 100 bytes: nothing can be read, and the
    report says the pages may have held the calls instead of "not enabled"."""
    from tests.recording.rec_util import need_tracing

    need_tracing()
    rec = tmp_path / "rec"
    result = run_kernlab("record", "-q", "-d", str(rec), "--", "true")
    assert result.code == 0, result.stderr
    whole = run_kernlab("report", "-d", str(rec))
    assert "No system call could be read" not in whole.stdout and "execve" in whole.stdout
    torn = tmp_path / "torn"
    shutil.copytree(rec, torn)
    for raw in (torn / "cpus").glob("cpu*.raw"):
        raw.write_bytes(raw.read_bytes()[:100])
    result = run_kernlab("report", "-d", str(torn))
    assert result.code == 0, result.stderr
    assert "This recording is DAMAGED" in result.stdout
    assert "→ No system call could be read" in result.stdout
    assert "→ No page fault could be read" in result.stdout
    assert "not enabled" not in result.stdout
