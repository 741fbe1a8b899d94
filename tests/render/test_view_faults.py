"""views.faults: a listing of fixed faults, one line each, the error code in words of the language
in force when it is printed."""

from __future__ import annotations

from kernlab import catalog
from kernlab.mm.fault_codes import decode_error_code
from kernlab.render.output import Output
from kernlab.render.views import faults as view
from kernlab.reports.faults import FaultLine, FaultsReport
from kernlab.reports.recording.loss import Loss


def _report() -> FaultsReport:
    lines = [
        FaultLine(
            0.001,
            2,
            77,
            "rep_touch",
            "user",
            0x7F00_0000_1000,
            0x5555_0000_1234,
            6,
            "anon-mmap",
            "",
            "rep_touch:touch_pages+0x14",
            False,
        ),
        FaultLine(
            0.002,
            2,
            77,
            "rep_touch",
            "kernel",
            0x7F00_0000_2000,
            0xFFFF_FFFF_8100_0000,
            2,
            "anon-mmap",
            "",
            "clear_user+0x2b",
            None,
            ["clear_user", "do_syscall_64"],
        ),
    ]
    codes = {6: decode_error_code(6), 2: decode_error_code(2)}
    return FaultsReport(lines, 2, 1, 0, 1, Loss(0, 10), "x86_64", codes)


GOLDEN = (
    "    0.001000 [002]      77 rep_touch       user   minor addr=0x7f0000001000 ip=0x555500001234 "
    "code=0x6 (user write to a not-present page) anon-mmap  at rep_touch:touch_pages+0x14\n"
    "    0.002000 [002]      77 rep_touch       kernel       addr=0x7f0000002000 ip=0xffffffff81000000 "
    "code=0x2 (kernel write to a not-present page) anon-mmap  at clear_user+0x2b "
    "kstack: clear_user ← do_syscall_64\n"
    "→ 2 faults shown: 1 first write to anonymous memory, 0 in file-backed areas, 1 taken in kernel mode.\n"
)


def test_view_prints_one_line_per_fault(capsys):
    view.show(_report(), Output())
    assert capsys.readouterr().out == GOLDEN


def test_error_code_words_follow_the_language_at_render_time(capsys):
    report = _report()
    catalog.set_language("ko")
    try:
        view.show(report, Output(quiet=True))
    finally:
        catalog.set_language("en")
    out = capsys.readouterr().out
    assert "(사용자 모드의 메모리에 없는 페이지에 대한 쓰기)" in out
    assert "→" not in out
