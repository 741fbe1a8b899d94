"""views.syscalls: a listing of fixed calls printed as strace -f -T prints them, with its sentences."""

from __future__ import annotations

from kernlab import catalog
from kernlab.render.output import Output
from kernlab.render.views import syscalls as view
from kernlab.reports.recording.loss import Loss
from kernlab.reports.syscalls import PathStringsSummary, SyscallLine, SyscallsReport

CAPTURED = PathStringsSummary("captured", "", "", 0, 0, 0)


def _report(lost: int = 0, live: bool = False, strings: PathStringsSummary = CAPTURED) -> SyscallsReport:
    lines = [
        SyscallLine(
            0.0,
            1,
            4242,
            "ls",
            "openat",
            257,
            [0xFFFFFF9C, 0x7FFD0000, 0x80000, 0],
            "dfd=AT_FDCWD",
            3,
            None,
            2500,
            {},
        ),
        SyscallLine(
            0.000125, 1, 4242, "ls", "openat", 257, [0, 0, 0, 0], "dfd=AT_FDCWD", -2, "ENOENT", 1500, {}
        ),
        SyscallLine(0.5, 0, 4242, "ls", "mmap", 9, [0] * 6, "addr=NULL", 0x7F0012340000, None, 4000, {}),
        SyscallLine(0.75, 0, 4242, "ls", "exit_group", 231, [0], "error_code=0", None, None, None, {}),
    ]
    return SyscallsReport(lines, 4, 1, live, Loss(lost, 1000), strings)


GOLDEN = """\
    0.000000 [001]    4242 ls              openat(dfd=AT_FDCWD) = 3 <0.000003>
    0.000125 [001]    4242 ls              openat(dfd=AT_FDCWD) = -1 ENOENT <0.000002>
    0.500000 [000]    4242 ls              mmap(addr=NULL) = 0x7f0012340000 <0.000004>
    0.750000 [000]    4242 ls              exit_group(error_code=0) = ?
→ 4 calls shown, 1 failed; the slowest was mmap in thread 4242 (4.0 µs).
"""


def test_view_prints_strace_lines_and_the_sentence(capsys):
    view.show(_report(), Output())
    assert capsys.readouterr().out == GOLDEN


def test_view_says_loss_first_and_live_argument_names_last(capsys):
    view.show(_report(lost=10, live=True), Output())
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("→ 10 events were LOST (1.0% of 1,000 written)")
    assert lines[-1].startswith("→ Argument names came from this machine's tracefs")


def test_view_without_lines_says_so_and_speaks_korean(capsys):
    empty = SyscallsReport([], 0, 0, False, Loss(0, 0), CAPTURED)
    view.show(empty, Output())
    assert capsys.readouterr().out == "→ No system call matches these filters.\n"
    catalog.set_language("ko")
    try:
        view.show(empty, Output())
    finally:
        catalog.set_language("en")
    out = capsys.readouterr().out
    assert out.startswith("→ ") and "No system call" not in out


def test_missing_strings_get_one_note_saying_why(capsys):
    refused = PathStringsSummary("refused", "BPF_MAP_CREATE", "EPERM", 0, 3, 0)
    view.show(_report(strings=refused), Output())
    out = capsys.readouterr().out
    assert out.count("File names show as addresses") == 1
    assert "the kernel refused BPF_MAP_CREATE (EPERM)" in out
    view.show(_report(strings=PathStringsSummary("absent", "", "", 0, 3, 0)), Output())
    assert "has no path_strings.json" in capsys.readouterr().out
    view.show(_report(strings=PathStringsSummary("captured", "", "", 5, 1, 2)), Output())
    out = capsys.readouterr().out
    assert "1 call shows a string argument as an address" in out and "2 captured strings were lost" in out
