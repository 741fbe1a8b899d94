# ruff: noqa: E501  (golden text: lines as long as the view prints them)
"""views.recording_text: what every view of a recording says first (cut short, damaged, events
lost) and the one-event-per-line listing, printed in-process and compared with golden text.

Also the Korean checks the other recording and lab views share (test_view_labs, test_view_record,
test_view_sql): :func:`korean` records every key Korean lacks (said in English instead), and
:func:`assert_korean` finds no catalog key and no fixed English words of a topic's sentences
(the fragments between their fields, as tests/cli/test_lab_cli.py finds them for lab.toml).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from kernlab import catalog, explain
from kernlab.recording.reader import FileDamage
from kernlab.recording.state import Completeness
from kernlab.render.output import Output
from kernlab.render.views import recording_text as view
from kernlab.reports.recording.loss import Loss
from tests.render.test_views_ko import HANGUL

# --------------------------------------------------------------------------- shared Korean checks


@contextmanager
def korean() -> Iterator[list[str]]:
    """Korean while the block runs; yields the keys said that Korean's catalog lacks."""
    missed: list[str] = []
    real = catalog.topic_sentences

    class Watched(dict):
        def get(self, key, default=None):  # the lookup catalog.say makes before falling back
            if key not in self:
                missed.append(key)
            return super().get(key, default)

    def watched(lang: str, topic: str) -> dict[str, str]:
        table = real(lang, topic)
        return Watched(table) if lang == "ko" else table

    catalog.topic_sentences = watched  # type: ignore[assignment]
    explain.set_language("ko")
    try:
        yield missed
    finally:
        catalog.topic_sentences = real  # type: ignore[assignment]
        explain.set_language("en")


def english_fragments(*topics: str) -> list[str]:
    """The fixed words of every English sentence of ``topics`` (the text between its fields, longer
    than 12 characters) that no Korean sentence of the topic holds too."""
    out: list[str] = []
    for topic in topics:
        korean_texts = list(catalog.topic_sentences("ko", topic).values())
        for template in catalog.topic_sentences("en", topic).values():
            for part in re.split(r"\{[^}]*\}", template):
                part = part.strip()
                if len(part) > 12 and not any(part in k for k in korean_texts):
                    out.append(part)
    assert out, topics
    return out


def assert_korean(out: str, missed: list[str], *topics: str) -> None:
    """Korean text, no key Korean lacks, no catalog key printed as it is, no English sentence."""
    assert HANGUL.search(out), out
    assert not missed, f"said in English, Korean has no {missed}"
    keys = [key for key in catalog.sentences("en") if key in out]
    assert not keys, f"catalog keys printed as they are: {keys}"
    english = [f for f in english_fragments(*topics) if f in out]
    assert not english, f"English sentences in the Korean output: {english}"


# --------------------------------------------------------------------------- the reports

KILLED = Completeness(
    complete=False,
    cause="killed",
    detail="",
    recorder_pid=31337,
    stats_saved=False,
    wall_start=1_700_000_000.0,
    wall_end=0.0,
    first_ts=1_000_000_000,
    last_ts=3_250_000_000,
)
DISK_FULL = Completeness(False, "disk_full", "No space left on device", 31337, False, 1_700_000_000.0, 0.0)
WHOLE = Completeness(
    True, None, "", 31337, True, 1_700_000_000.0, 1_700_000_002.5, 1_000_000_000, 3_500_000_000
)
DAMAGE = [
    FileDamage(
        "cpus/cpu0.raw",
        pages=8,
        damaged_pages=1,
        damaged_offsets=[8192],
        torn_bytes=0,
        unknown_records=0,
        size=32_768,
    ),
    FileDamage("cpus/cpu1.raw", 64, 3, [4096, 8192, 12288], torn_bytes=1000, unknown_records=1, size=263_144),
    FileDamage("cpus/cpu3.raw", 0, 0, [], 0, 0, missing=True),
    FileDamage("cpus/cpu4.raw", 0, 0, [], torn_bytes=100, unknown_records=0, size=100),
    FileDamage("cpus/cpu5.raw", 1, 1, [0], 0, 0, size=4096),
]
# Many records of unknown events in one file (the plural of report.damage.unknown).
UNKNOWN_MANY = FileDamage("cpus/cpu2.raw", 2, 0, [], 0, unknown_records=5, size=8192)
LINES = [
    "    0.000000 [001]    4242 ls  openat(dfd=AT_FDCWD) = 3",
    "    0.000125 [001]    4242 ls  close(fd=3) = 0",
]


def _listing(loss: Loss, out: Output | None = None, lines: list[str] = LINES) -> bool:
    return view.print_event_lines(loss, lines, str.rstrip, out or Output())


GOLDEN_TRUTH = """\
→ This recording was CUT SHORT: kernlab record (pid 31337) ended without finishing it, so it was killed (SIGKILL, the OOM killer) or crashed.
→ It covers 2.250 s of events from its first record on; whatever happened after its last record is missing, so every count below covers only that span.
→ This recording is DAMAGED: parts of its raw pages could not be read (listed next); every count below covers only what could be read.
→ cpus/cpu0.raw: 1 page could not be read and was skipped (at byte 8,192); the rest of the file was read.
→ cpus/cpu1.raw: 3 pages could not be read and were skipped (the first at byte 4,096); the rest of the file was read.
→ cpus/cpu1.raw ends in a torn page: it was cut 1,000 bytes into the page that starts at byte 262,144, and that part of a page was skipped.
→ cpus/cpu1.raw: 1 record has an event id this recording has no format for (garbage that looks like events); left out.
→ cpus/cpu3.raw is missing: the events of that CPU's buffer are not in this recording.
→ cpus/cpu4.raw is not a ring-buffer stream: there is no valid page in its 100 bytes, so the whole file was skipped.
→ cpus/cpu5.raw is not a ring-buffer stream: there is no valid page in its 4,096 bytes, so the whole file was skipped.
"""

GOLDEN_TRUTH_EMPTY = """\
→ This recording was CUT SHORT: the disk holding it filled up (No space left on device), so kernlab stopped tracing at once and kept what fit.
→ It holds no event that could be read: everything that happened is missing.
"""

LISTED = """\
    0.000000 [001]    4242 ls  openat(dfd=AT_FDCWD) = 3
    0.000125 [001]    4242 ls  close(fd=3) = 0
"""

GOLDEN_LOST_ONE = (
    "→ 1 event was LOST (0.1% of 1,000 written): every count below is a lower bound; record again with a bigger buffer (--buffer-size).\n"
    + LISTED
)
GOLDEN_LOST_MANY = (
    "→ 2,500 events were LOST (0.2% of 1,000,000 written): every count below is a lower bound; record again with a bigger buffer (--buffer-size).\n"
    + LISTED
)
UNKNOWN_CUT = "→ How many events were lost is unknown: the recording was cut short before kernlab saved the per-CPU statistics (overrun, dropped), so no figure proves that none were.\n"
UNKNOWN_DAMAGED = "→ How many events were lost is not fully known: besides what the per-CPU statistics count as lost (0), the events on the pages that could not be read are missing.\n"
DAMAGED_FIRST = (
    "→ This recording is DAMAGED: parts of its raw pages could not be read (listed next); every count below covers only what could be read.\n"
    "→ cpus/cpu0.raw: 1 page could not be read and was skipped (at byte 8,192); the rest of the file was read.\n"
)

GOLDEN_TRUTH_KO = """\
→ 이 기록은 도중에 끊겼습니다: kernlab record(pid 31337)가 기록을 마치지 못하고 끝났습니다. 강제로 종료되었거나(SIGKILL, OOM killer) 비정상 종료된 것입니다.
→ 첫 레코드부터 2.250초 동안의 이벤트를 담고 있습니다. 마지막 레코드 뒤에 일어난 일은 빠져 있으므로 아래의 모든 숫자는 그 구간만의 것입니다.
→ 이 기록은 손상되었습니다: 원시 페이지의 일부를 읽을 수 없었습니다(바로 아래에 나열합니다). 아래의 모든 숫자는 읽을 수 있었던 부분만의 것입니다.
→ cpus/cpu0.raw: 페이지 1개를 읽을 수 없어 건너뛰었습니다(바이트 8,192 위치). 파일의 나머지는 읽었습니다.
→ cpus/cpu1.raw: 페이지 3개를 읽을 수 없어 건너뛰었습니다(첫 번째는 바이트 4,096 위치). 파일의 나머지는 읽었습니다.
→ cpus/cpu1.raw는 찢어진 페이지로 끝납니다: 바이트 262,144에서 시작하는 페이지가 1,000바이트에서 잘려 있어, 그 조각을 건너뛰었습니다.
→ cpus/cpu1.raw: 레코드 1개가 이 기록에 형식이 없는 이벤트 id를 가지고 있어(이벤트처럼 보이는 쓰레기) 빼 두었습니다.
→ cpus/cpu3.raw가 없습니다: 그 CPU 버퍼의 이벤트는 이 기록에 없습니다.
→ cpus/cpu4.raw는 링 버퍼 스트림이 아닙니다: 100바이트 안에 올바른 페이지가 하나도 없어 파일 전체를 건너뛰었습니다.
→ cpus/cpu5.raw는 링 버퍼 스트림이 아닙니다: 4,096바이트 안에 올바른 페이지가 하나도 없어 파일 전체를 건너뛰었습니다.
"""


def test_truth_of_a_recording_cut_short_and_damaged(capsys):
    view.show_truth(KILLED, DAMAGE)
    assert capsys.readouterr().out == GOLDEN_TRUTH


def test_truth_of_a_recording_cut_short_before_any_event(capsys):
    view.show_truth(DISK_FULL, [])
    assert capsys.readouterr().out == GOLDEN_TRUTH_EMPTY


def test_a_whole_recording_says_nothing_first(capsys):
    view.show_truth(None, [])
    view.show_truth(WHOLE, [])
    assert capsys.readouterr().out == ""


def test_listing_of_a_whole_recording_is_the_lines_alone(capsys):
    assert _listing(Loss(0, 1000, WHOLE)) is True
    assert capsys.readouterr().out == LISTED
    assert _listing(Loss(0, 0)) is True  # built by hand: nothing known, nothing said
    assert capsys.readouterr().out == LISTED


def test_listing_says_one_and_many_lost_events_first(capsys):
    _listing(Loss(1, 1000, WHOLE))
    assert capsys.readouterr().out == GOLDEN_LOST_ONE
    _listing(Loss(2500, 1_000_000, WHOLE))
    assert capsys.readouterr().out == GOLDEN_LOST_MANY


def test_listing_of_a_recording_cut_short_says_the_loss_is_unknown(capsys):
    _listing(Loss(0, 1000, KILLED))
    assert (
        capsys.readouterr().out == GOLDEN_TRUTH.split("→ This recording is DAMAGED")[0] + UNKNOWN_CUT + LISTED
    )


def test_listing_of_a_damaged_recording(capsys):
    # No event counted lost: the damaged pages make the figure unknown.
    _listing(Loss(0, 1000, WHOLE, DAMAGE[:1]))
    assert capsys.readouterr().out == DAMAGED_FIRST + UNKNOWN_DAMAGED + LISTED
    # Events counted lost: that warning, and not the unknown one besides.
    _listing(Loss(7, 1000, WHOLE, DAMAGE[:1]))
    assert capsys.readouterr().out == (
        DAMAGED_FIRST
        + "→ 7 events were LOST (0.7% of 1,000 written): every count below is a lower bound; record again with a bigger buffer (--buffer-size).\n"
        + LISTED
    )


def test_quiet_keeps_the_truth_and_drops_the_loss_sentences(capsys):
    # Cut short and damaged are warnings (kept); the loss sentences are sentences (left out).
    _listing(Loss(3, 1000, KILLED, DAMAGE), Output(quiet=True))
    assert capsys.readouterr().out == GOLDEN_TRUTH + LISTED


def test_no_lines_returns_false_and_prints_nothing(capsys):
    assert _listing(Loss(0, 1000, WHOLE), lines=[]) is False
    assert capsys.readouterr().out == ""


def test_long_listings_are_printed_whole_across_chunks(capsys):
    lines = [f"line {i}" for i in range(2 * view.CHUNK + 1)]
    assert view.print_event_lines(Loss(0, 1000, WHOLE), lines, str, Output()) is True
    assert capsys.readouterr().out == "\n".join(lines) + "\n"


def test_the_truth_in_korean(capsys):
    with korean() as missed:
        view.show_truth(KILLED, [*DAMAGE, UNKNOWN_MANY])
        _listing(Loss(2500, 1_000_000, WHOLE, DAMAGE[:1]))
        _listing(Loss(0, 1000, WHOLE, DAMAGE[:1]))
        _listing(Loss(0, 1000, DISK_FULL))
    out = capsys.readouterr().out
    assert out.startswith(GOLDEN_TRUTH_KO)
    # The recorder's own error (strerror) is data, kept as it was noted.
    assert_korean(out.replace("No space left on device", ""), missed, "report")


def test_many_unknown_records_take_a_plural_verb(capsys):
    view.show_truth(None, [UNKNOWN_MANY])
    out = capsys.readouterr().out
    assert "5 records have an event id" in out
    assert "was left out" not in out
