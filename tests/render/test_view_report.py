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
    SignalCount,
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
        by_vma=[CountRow("heap", 14, 70.0), CountRow("shared-lib", 5, 25.0), CountRow("no-vma", 1, 5.0)],
        by_code=[
            CodeRow(6, decode_error_code(6), ["W", "U"], 12, 60.0),
            CodeRow(4, decode_error_code(4), ["U"], 6, 30.0),
            CodeRow(7, decode_error_code(7), ["P", "W", "U"], 2, 10.0),
        ],
        first_anon_writes=12,
        major=MajorFaults(0, "counter", None),
        top_ips=[IpRow(0x7F0000001234, "libc.so.6:memset+0x14", "shared-lib", 15, 75.0, 4242)],
        unmapped=1,
        rusage_minflt=22,
        rusage_majflt=0,
        top_kernel_stacks=[StackRow(["handle_mm_fault", "exc_page_fault"], 20, 100.0)],
        faults_before_exec=2,
        no_vma=1,
        write_protect=[CountRow("faults.cause.cow", 2, 100.0)],
        signals=[SignalCount(11, 1, 1)],
        signal_events=True,
        address_space_changes=9,
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


def test_address_space_figures_are_said_and_shown(capsys):
    """The timeline's figures: writes to present pages by cause (copy-on-write ...), faults in no
    VMA with the SIGSEGV sent and delivered (a table and sentences), the calls that changed the
    address space; faults of a process with no snapshot said apart from those in no VMA."""
    view.show(_report(), Output())
    out = capsys.readouterr().out
    assert "2 faults were writes to a page already present" in out
    assert "→ 2 faults: copy-on-write: a write to a present page of a private area" in out
    assert "→ 1 fault: no VMA: the kernel sends SIGSEGV." in out
    assert "The kernel sent SIGSEGV to the traced tasks once and delivered it once." in out
    assert "9 calls changed the address space during the run" in out
    table = out[out.index("no VMA and signals") :]
    assert [ln.split() for ln in table.splitlines()[4:7]] == [
        ["faults", "in", "no", "VMA", "1"],
        ["SIGSEGV", "sent", "1"],
        ["SIGSEGV", "delivered", "1"],
    ]
    assert "no maps snapshot" not in out

    bare = _report()
    assert bare.faults is not None
    faults = replace(
        bare.faults, signals=[], signal_events=False, unmapped=3, write_protect=[], address_space_changes=1
    )
    view.show(replace(bare, faults=faults), Output())
    out = capsys.readouterr().out
    assert "whether the kernel delivered SIGSEGV is not known" in out and "SIGSEGV sent" not in out
    assert "2 faults are of processes with no maps snapshot to start from" in out
    assert "1 call changed the address space" in out and "already present" not in out

    catalog.set_language("ko")
    try:
        view.show(_report(), Output())
    finally:
        catalog.set_language("en")
    out = capsys.readouterr().out
    assert "커널이 추적한 태스크에 SIGSEGV를 한 번 보냈고 한 번 전달했습니다." in out
    assert "폴트 2개는 이미 메모리에 있는 페이지에 쓰기였습니다" in out
    assert "폴트 1개: VMA 없음: 커널이 SIGSEGV를 보냅니다." in out
