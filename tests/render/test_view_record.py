# ruff: noqa: E501  (golden text: lines as long as the view prints them)
"""views.record: the summary `kernlab record` prints on stderr, from a report of fixed figures.

The view prints through ``terminal.error_console()``, whose width off a terminal is rich's default
(80, or $COLUMNS) rather than the natural width ``terminal.console()`` uses: the goldens are taken
on a console of natural width (lines right-stripped), and the wrapping itself is checked, as a
known bug, in ``test_off_a_terminal_lines_are_not_folded``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from kernlab.recording.layout import CpuLoss, RecordingMeta, Rusage
from kernlab.recording.notes import note
from kernlab.render import terminal
from kernlab.render.output import Output
from kernlab.render.views import record as view
from kernlab.reports.record import RecordReport
from tests.render.test_view_recording_text import assert_korean, korean

DIRECTORY = Path("kernlab.data")
NOTE = "no exit maps snapshot of pid 4243: it was already gone"


def _meta(**changes: object) -> RecordingMeta:
    fields: dict[str, object] = {
        "format_version": 3,
        "command": ["ls", "-l", "/tmp"],
        "root_pid": 4242,
        "attached": False,
        "events": ["raw_syscalls:sys_enter", "raw_syscalls:sys_exit", "exceptions:page_fault_user"],
        "kstack_events": [],
        "kernel_release": "6.1.0-40-amd64",
        "machine": "x86_64",
        "page_size": 4096,
        "cpus": 2,
        "clock": "local",
        "buffer_size_kb": 4096,
        "start_time_ns": 1_000_000_000,
        "end_time_ns": 1_250_000_000,
        "wall_start": 1_700_000_000.0,
        "exit_code": 0,
        "loss": [
            CpuLoss(0, read=1234, bytes_raw=131_072),
            CpuLoss(1, read=98_765, bytes_raw=4_194_304, overrun=12),
            CpuLoss(0, read=7, bytes_raw=8192, buffer="functions"),
        ],
        "rusage": Rusage(minflt=312, majflt=0, utime_s=0.01, stime_s=0.02, maxrss_kb=4000),
        "notes": [],
    }
    fields.update(changes)
    return RecordingMeta(**fields)  # type: ignore[arg-type]


def _report(**changes: object) -> RecordReport:
    return RecordReport(DIRECTORY, _meta(**changes), 4_333_568, 0.31)


@pytest.fixture
def natural_width(monkeypatch):
    """stderr at natural width and without colour, as terminal.console() is off a terminal."""
    console = Console(stderr=True, highlight=False, width=terminal.NATURAL_WIDTH, color_system=None)
    monkeypatch.setattr(terminal, "error_console", lambda: console)


def _err(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout belongs to the traced command
    return "".join(line.rstrip() + "\n" for line in captured.err.splitlines())


GOLDEN = """\
Recording kernlab.data

              CPU   raw bytes   events read   overrun   dropped   lost
 ──────────────────────────────────────────────────────────────────────
                0     131,072         1,234         0         0      0
                1   4,194,304        98,765        12         0     12
  0 (--functions)       8,192             7         0         0      0

  events: raw_syscalls:sys_enter, raw_syscalls:sys_exit, exceptions:page_fault_user
  buffer: 4096 KiB per CPU, clock local
→ Recorded 100,006 trace events (4.1 MiB) of `ls -l /tmp` into kernlab.data; 12 events were lost on CPU 1 (the ring buffer filled faster than it was drained): record again with a larger --buffer-size.
→ The command's own getrusage counted its page faults: 312 minor and 0 major; `kernlab report` sets the traced faults beside them.
→ The command exited with status 0; kernlab returns the same status.
"""

GOLDEN_KO = """\
기록 kernlab.data

              CPU   원시 바이트   읽은 이벤트   overrun   dropped   lost
 ────────────────────────────────────────────────────────────────────────
                0       131,072         1,234         0         0      0
                1     4,194,304        98,765        12         0     12
  0 (--functions)         8,192             7         0         0      0

  이벤트: raw_syscalls:sys_enter, raw_syscalls:sys_exit, exceptions:page_fault_user
  버퍼: CPU마다 4096 KiB, 클록 local
→ `ls -l /tmp`의 트레이스 이벤트 100,006개(4.1 MiB)를 kernlab.data에 기록했습니다. CPU 1에서 이벤트 12개를 잃었습니다(링 버퍼가 비워지는 속도보다 빨리 찼습니다). 더 큰 --buffer-size로 다시 기록하십시오.
→ 명령 자신의 getrusage는 마이너 폴트 312번, 메이저 폴트 0번을 셌습니다. `kernlab report`가 추적된 폴트를 옆에 놓아 보여 줍니다.
→ 명령의 종료 상태는 0이며, kernlab도 같은 상태를 돌려줍니다.
"""

TABLE_ONE_CPU = """\
Recording kernlab.data

  CPU   raw bytes   events read   overrun   dropped   lost
 ──────────────────────────────────────────────────────────
    0       4,096             5         0         1      1

  events: raw_syscalls:sys_enter, raw_syscalls:sys_exit, exceptions:page_fault_user
  buffer: 4096 KiB per CPU, clock local
"""


def test_summary_of_a_command_with_lost_events(natural_width, capsys):
    view.show(_report(), Output())
    assert _err(capsys) == GOLDEN


def test_summary_in_korean(natural_width, capsys):
    with korean() as missed:
        view.show(_report(), Output())
    out = _err(capsys)
    assert out == GOLDEN_KO
    assert_korean(out, missed, "record")


def test_quiet_keeps_the_table_and_drops_the_sentences(natural_width, capsys):
    view.show(_report(), Output(quiet=True))
    assert _err(capsys) == GOLDEN.split("→")[0]


def test_an_attached_process_that_lost_one_event(natural_width, capsys):
    report = RecordReport(
        DIRECTORY,
        _meta(command=[], attached=True, rusage=None, loss=[CpuLoss(0, read=5, bytes_raw=4096, dropped=1)]),
        4096,
        0.2,
        target="process",
    )
    view.show(report, Output())
    assert _err(capsys) == TABLE_ONE_CPU + (
        "→ Recorded 5 trace events (4.0 KiB) of PID 4242 into kernlab.data; 1 event was lost on CPU 0 (the ring buffer filled faster than it was drained): record again with a larger --buffer-size.\n"
        "→ Process 4242 was recorded for 0.2 s without being stopped: ptrace only pauses it at exec, fork and exit.\n"
    )


def test_the_whole_system_and_a_kernel_thread(natural_width, capsys):
    nothing = [CpuLoss(0, read=0, bytes_raw=0)]
    view.show(
        RecordReport(DIRECTORY, _meta(command=[], rusage=None, loss=nothing), 0, 0.2, target="system"),
        Output(),
    )
    assert _err(capsys).split("\n→ ", 1)[1] == (
        "Recorded 0 trace events (0 B) of the whole system into kernlab.data; no event was lost.\n"
        "→ Every task of the system was recorded for 0.2 s without ptrace, as `cat trace_pipe` shows them; the maps of processes were not snapshotted, so user addresses are not named after files.\n"
    )
    one = [CpuLoss(0, read=1, bytes_raw=4096)]
    kthread = RecordReport(
        DIRECTORY, _meta(command=[], rusage=None, loss=one, exit_code=None), 4096, 0.2, target="kernel_thread"
    )
    view.show(kthread, Output())
    assert _err(capsys).split("\n→ ", 1)[1] == (
        "Recorded 1 trace event (4.0 KiB) of kernel thread 4242 into kernlab.data; no event was lost.\n"
        "→ Kernel thread 4242 was recorded for 0.2 s without ptrace; it has no user address space, so each of its events carries a kernel stack instead.\n"
    )


def test_a_process_without_exit_status_ends_with_the_summary(natural_width, capsys):
    view.show(_report(command=[], rusage=None, exit_code=None), Output())
    sentences = [line for line in _err(capsys).splitlines() if line.startswith("→")]
    assert sentences == [
        "→ Recorded 100,006 trace events (4.1 MiB) of PID 4242 into kernlab.data; 12 events were lost on CPU 1 (the ring buffer filled faster than it was drained): record again with a larger --buffer-size."
    ]


def test_recorder_notes_follow_the_buffer_line(natural_width, capsys):
    view.show(
        _report(notes=[NOTE, "event sched:sched_waking is not available on this kernel"]), Output(quiet=True)
    )
    assert _err(capsys).endswith(
        "  buffer: 4096 KiB per CPU, clock local\n"
        f"  note: {NOTE}\n"
        "  note: event sched:sched_waking is not available on this kernel\n"
    )


def test_kept_previous_is_one_line_even_when_quiet(natural_width, capsys):
    view.show_kept_previous(RecordReport(DIRECTORY, _meta(), 1, 0.1, previous=Path("kernlab.data.old")))
    assert _err(capsys) == "kernlab: The recording that was in kernlab.data was kept as kernlab.data.old.\n"
    view.show_kept_previous(_report())
    assert _err(capsys) == ""
    with korean() as missed:
        view.show_kept_previous(RecordReport(DIRECTORY, _meta(), 1, 0.1, previous=Path("kernlab.data.old")))
    out = _err(capsys)
    assert out == "kernlab: kernlab.data에 있던 기록은 kernlab.data.old로 옮겨 두었습니다.\n"
    assert_korean(out, missed, "record")


def test_off_a_terminal_lines_are_not_folded(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(terminal, "error_console", terminal.error_console.__wrapped__)
    view.show(_report(), Output())
    err = capsys.readouterr().err
    assert "  events: raw_syscalls:sys_enter, raw_syscalls:sys_exit, exceptions:page_fault_user\n" in err
    assert all(line == line.rstrip() for line in err.splitlines())


def _noted_report() -> RecordReport:
    """A report whose notes the recorder made as it does: through RecordingMeta.add_note (the
    watcher's missed snapshot, a missing event), each with its catalog key and English text."""
    meta = _meta()
    meta.add_note(
        note(
            "record.note.snapshot_gone",
            "no {when} maps snapshot of pid {pid}: it was already gone",
            when="exit",
            pid=4243,
        )
    )
    meta.add_note(
        note(
            "record.note.event_missing",
            "event {event} is not available on this kernel",
            event="sched:sched_waking",
        )
    )
    return RecordReport(DIRECTORY, meta, 4_333_568, 0.31)


def test_recorder_notes_in_korean(natural_width, capsys):
    report = _noted_report()
    assert report.meta.notes == [NOTE, "event sched:sched_waking is not available on this kernel"]
    with korean() as missed:
        view.show(report, Output(quiet=True))
    out = _err(capsys)
    assert "no exit maps snapshot" not in out
    assert out.endswith(
        "  버퍼: CPU마다 4096 KiB, 클록 local\n"
        "  참고: pid 4243의 exit maps 스냅숏이 없습니다: 프로세스가 이미 사라졌습니다\n"
        "  참고: 이 커널에는 sched:sched_waking 이벤트가 없습니다\n"
    )
    assert_korean(out, missed, "record")


def test_recorder_notes_with_keys_read_the_same_in_english(natural_width, capsys):
    view.show(_noted_report(), Output(quiet=True))
    assert _err(capsys).endswith(
        "  buffer: 4096 KiB per CPU, clock local\n"
        f"  note: {NOTE}\n"
        "  note: event sched:sched_waking is not available on this kernel\n"
    )


def test_a_note_without_its_key_is_printed_as_written(natural_width, capsys):
    """A recording made before notes had keys (or a note added as text) keeps its English."""
    report = _noted_report()
    report.meta.notes.append("cannot remove probe kernlab_1234/e0: Device or resource busy")
    with korean():
        view.show(report, Output(quiet=True))
    assert _err(capsys).endswith(
        "  참고: 이 커널에는 sched:sched_waking 이벤트가 없습니다\n"
        "  참고: cannot remove probe kernlab_1234/e0: Device or resource busy\n"
    )
