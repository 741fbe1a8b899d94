"""views.report: a report of fixed figures printed as `kernlab report` prints it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kernlab import catalog
from kernlab.mm.fault_codes import decode_error_code
from kernlab.recording.layout import CpuLoss
from kernlab.recording.reader import LossSummary
from kernlab.render.output import Output
from kernlab.render.views import report as view
from kernlab.reports.recording.fault_stats import (
    CodeRow,
    CountRow,
    FaultStatistics,
    IpRow,
    MajorFaults,
    ProcessFaults,
    StackRow,
)
from kernlab.reports.recording.syscall_stats import (
    ProcessSyscalls,
    SyscallStat,
    SyscallStatistics,
    SyscallSummary,
)
from kernlab.reports.report import FaultCounterCheck, RecordingReport, RecordingSummary


def _report() -> RecordingReport:
    summary = RecordingSummary(
        directory="kernlab.data",
        command=["ls", "-la", "/usr"],
        root_pid=4242,
        kernel_release="6.1.0",
        machine="x86_64",
        clock="local",
        cpus=2,
        pages=3,
        events_total=120,
        duration_ns=25_000_000,
        event_counts={
            "raw_syscalls:sys_enter": 50,
            "raw_syscalls:sys_exit": 50,
            "exceptions:page_fault_user": 20,
        },
    )
    loss = LossSummary([CpuLoss(0, entries=60), CpuLoss(1, entries=60)], 0, 0, 0, 0)
    rows = [
        SyscallStat(59, "execve", 1, 0, 20_000_000, 20_000_000, 1, {}, 80.0),
        SyscallStat(257, "openat", 48, 12, 5_000_000, 400_000, 48, {"ENOENT": 12}, 20.0),
        SyscallStat(231, "exit_group", 0, 0, 0, 0, 0, {}, 0.0, unfinished=1),
    ]
    combined = SyscallSummary(rows, 49, 12, 25_000_000, 1, 0)
    syscalls = SyscallStatistics(combined, [ProcessSyscalls(4242, "ls", [4242], combined)], "x86_64", 50, 50)
    faults = FaultStatistics(
        total=20,
        user=20,
        kernel=0,
        arch="x86_64",
        per_process=[ProcessFaults(4242, "ls", 20, 0, 22, 0, [4242])],
        by_vma=[CountRow("heap", 15, 75.0), CountRow("shared-lib", 5, 25.0)],
        by_code=[
            CodeRow(6, decode_error_code(6), ["W", "U"], 15, 75.0),
            CodeRow(4, decode_error_code(4), ["U"], 5, 25.0),
        ],
        first_anon_writes=15,
        major=MajorFaults(0, "counter", None),
        top_ips=[IpRow(0x7F0000001234, "libc.so.6:memset+0x14", "shared-lib", 15, 75.0, 4242)],
        unmapped=0,
        rusage_minflt=22,
        rusage_majflt=0,
        top_kernel_stacks=[StackRow(["handle_mm_fault", "exc_page_fault"], 20, 100.0)],
        faults_before_exec=2,
    )
    check = FaultCounterCheck(22, 0, 20, 2, 20, 0, 0.0)
    return RecordingReport(summary, loss, syscalls, faults, check)


GOLDEN = Path(__file__).with_name("view_report.golden.txt")


def test_view_prints_every_section(capsys):
    view.show(_report(), Output())
    assert capsys.readouterr().out == GOLDEN.read_text(encoding="utf-8")


def test_view_quiet_keeps_the_tables_only(capsys):
    view.show(_report(), Output(quiet=True))
    out = capsys.readouterr().out
    assert "→" not in out and "libc.so.6:memset+0x14" in out and "handle_mm_fault ← exc_page_fault" in out


def test_error_codes_and_sentences_follow_the_language_at_render_time(capsys):
    report = _report()
    catalog.set_language("ko")
    try:
        view.show(report, Output())
    finally:
        catalog.set_language("en")
    out = capsys.readouterr().out
    assert "사용자 모드의 메모리에 없는 페이지에 대한 쓰기" in out
    assert "user write to a not-present page" not in out and "No events were lost" not in out


def test_empty_sections_say_so(capsys):
    bare = _report()
    empty = SyscallStatistics(SyscallSummary([], 0, 0, 0, 0, 0), [], "x86_64", 0, 0)
    no_faults = replace(bare.faults, total=0) if bare.faults else None
    view.show(replace(bare, syscalls=empty, faults=no_faults, fault_counter_check=None), Output())
    out = capsys.readouterr().out
    assert "→ No system calls were recorded" in out
    assert "→ No page faults were recorded" in out
    assert "per process" not in out


def test_seconds_are_labelled_for_the_time_they_hold(capsys):
    """Wall time is strace -c -w's; CPU time (sched_switch subtracted) is plain strace -c's."""
    bare = _report()
    assert bare.syscalls is not None
    view.show(bare, Output())
    wall = capsys.readouterr().out
    assert "System calls (like strace -c -w: wall time)" in wall and "(like strace -c)" not in wall
    view.show(replace(bare, syscalls=replace(bare.syscalls, time="cpu", time_asked="cpu")), Output())
    cpu = capsys.readouterr().out
    assert (
        "System calls (like strace -c: CPU time)" in cpu
        and "less the time the thread was switched out" in cpu
    )
    view.show(replace(bare, syscalls=replace(bare.syscalls, time="wall", time_asked="cpu")), Output())
    assert "needs sched:sched_switch events" in capsys.readouterr().out
