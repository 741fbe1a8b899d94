"""A recording tells the truth about itself: complete or cut short and why (a full disk, a killed
recorder), torn or garbage pages said with the file and the byte offset, one recorder per
directory, and exports written whole or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernlab.recording import layout
from kernlab.recording.reader import open_recording
from kernlab.recording.state import read_state
from kernlab.tracing.instance import clean_stale
from tests.conftest import PROGRAMS, compile_c, run_kernlab
from tests.recording.rec_util import TRACEFS, instances_of, need_tracing


@pytest.fixture(scope="module")
def touch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_c(PROGRAMS / "rec_touch.c", tmp_path_factory.mktemp("prog") / "rec_touch", ["-O2"])


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory, touch: Path) -> Path:
    need_tracing()
    rec = tmp_path_factory.mktemp("rec") / "rec"
    result = run_kernlab("record", "-d", str(rec), "--", str(touch), "8")
    assert result.code == 0, result.stderr
    return rec


def _copy(rec: Path, to: Path) -> Path:
    shutil.copytree(rec, to, symlinks=True)
    return to


def _report(directory: Path, *extra: str) -> tuple[int, str, dict]:
    human = run_kernlab("report", "--no-symbols", *extra, "-d", str(directory))
    doc = run_kernlab("report", "--no-symbols", "--json", "-d", str(directory))
    assert doc.code == human.code, (human.stderr, doc.stderr)
    assert "Traceback" not in human.stderr + doc.stderr
    return human.code, human.stdout, json.loads(doc.stdout)


def test_a_clean_recording_is_complete_with_its_statistics(recording):
    state = read_state(recording)
    assert state is not None and state.state == "complete"
    meta = layout.read_meta(recording)
    # finalised only with the per-CPU statistics: one saved stats file per CPU buffer
    assert meta.loss and all(layout.cpu_stats_path(recording, c.cpu).is_file() for c in meta.loss)
    code, text, doc = _report(recording)
    assert code == 0
    assert doc["loss"]["completeness"]["complete"] is True
    assert doc["loss"]["completeness"]["cause"] is None
    assert "CUT SHORT" not in text and "DAMAGED" not in text
    if meta.lost_events == 0:
        assert "No events were lost" in " ".join(text.split())


def test_a_torn_page_is_said_with_file_and_offset(recording, tmp_path):
    rec = _copy(recording, tmp_path / "torn")
    raw = max(rec.glob("cpus/cpu*.raw"), key=lambda p: p.stat().st_size)
    page = open_recording(recording).page_size
    size = raw.stat().st_size
    assert size >= 2 * page
    cut = size - page // 2  # half of the last page is gone, as a crash or a full disk leaves it
    os.truncate(raw, cut)
    whole = open_recording(recording)
    code, text, doc = _report(rec)
    assert code == 0
    flat = " ".join(text.split())
    assert flat.startswith("→ This recording is DAMAGED")
    torn_at = size - page
    assert f"{raw.relative_to(rec)} ends in a torn page" in flat
    assert f"cut {page // 2:,} bytes into the page that starts at byte {torn_at:,}" in flat
    (damage,) = doc["loss"]["damage"]
    assert damage["file"] == str(raw.relative_to(rec)) and damage["torn_bytes"] == page // 2
    # the rest is still reported: every whole page decodes as before
    cpu = int(raw.stem[3:])
    before = next(c for c in whole.cpu_events() if c.cpu == cpu)
    after = next(c for c in open_recording(rec).cpu_events() if c.cpu == cpu)
    assert after.pages == before.pages - 1 and 0 < len(after) <= len(before)
    assert "No events were lost" not in flat


def test_garbage_is_not_a_ring_buffer_stream(recording, tmp_path):
    rec = _copy(recording, tmp_path / "garbage")
    raw = max(rec.glob("cpus/cpu*.raw"), key=lambda p: p.stat().st_size)
    raw.write_bytes(os.urandom(5000))
    code, text, doc = _report(rec)
    assert code == 0
    flat = " ".join(text.split())
    assert f"{raw.relative_to(rec)} is not a ring-buffer stream" in flat
    assert "5,000 bytes" in flat
    assert "not enabled, or none fired" not in flat.split("Page faults", 1)[-1]
    assert "No events were lost" not in flat
    assert any(d["file"] == str(raw.relative_to(rec)) for d in doc["loss"]["damage"])
    for command in ("faults", "syscalls"):
        listing = run_kernlab(command, "-d", str(rec))
        assert listing.code == 0 and "Traceback" not in listing.stderr
        assert "is not a ring-buffer stream" in " ".join(listing.stdout.split())


def _spawn_record(directory: Path, *command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kernlab", "record", "-d", str(directory), "--", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_recording(directory: Path, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    """Until the recorder has armed tracing (its raw files are open) or failed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = read_state(directory)
        if state is not None and state.state == "recording" and (directory / layout.META).exists():
            return
        if proc.poll() is not None:
            raise AssertionError(f"recorder ended early: {proc.communicate()}")
        time.sleep(0.02)
    raise AssertionError("the recorder never started")


@contextlib.contextmanager
def _reaped(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_a_second_recorder_into_the_same_directory_is_refused(tmp_path, touch):
    need_tracing()
    directory = tmp_path / "shared"
    with _reaped(_spawn_record(directory, "sleep", "2")) as first:
        _wait_recording(directory, first)
        second = run_kernlab("record", "-d", str(directory), "--", "true")
        assert second.code == 3
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "is being recorded into right now" in lines[0], second.stderr
        assert f"pid {first.pid}" in lines[0]
        _out, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
    # the first recording is unharmed: complete, nothing moved aside
    assert not (tmp_path / "shared.old").exists()
    state = read_state(directory)
    assert state is not None and state.state == "complete" and state.pid == first.pid
    code, _text, doc = _report(directory)
    assert code == 0 and doc["loss"]["completeness"]["complete"] is True


def test_a_killed_recorder_leaves_a_recording_that_says_so(tmp_path, touch):
    need_tracing()
    directory = tmp_path / "killed"
    with _reaped(_spawn_record(directory, str(touch), "2048")) as proc:
        _wait_recording(directory, proc)
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    meta = layout.read_meta(directory)
    try:
        code, text, doc = _report(directory)
    finally:
        # the command went on untraced, and the instance stays until the next run cleans it
        with contextlib.suppress(ProcessLookupError):
            os.kill(meta.root_pid, signal.SIGKILL)
        clean_stale(TRACEFS)
    assert not instances_of(proc.pid)
    state = doc["loss"]["completeness"]
    assert code == 0
    assert state["complete"] is False and state["cause"] == "killed"
    assert state["recorder_pid"] == proc.pid and state["stats_saved"] is False
    assert state["last_ts"] > state["first_ts"] > 0
    flat = " ".join(text.split())
    assert flat.startswith(f"→ This recording was CUT SHORT: kernlab record (pid {proc.pid})")
    seconds = (state["last_ts"] - state["first_ts"]) / 1e9
    assert f"It covers {seconds:.3f} s of events" in flat
    assert "No events were lost" not in flat
    assert "How many events were lost is unknown" in flat


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    need_tracing()
    mount = tmp_path / "small"
    mount.mkdir()
    # 12 MiB: room for the recording's tables (kallsyms alone is ~5 MiB) and a few MiB of events,
    # so the disk fills while events are written, whichever the copier or the drain writes first.
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)], capture_output=True
    )
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_cuts_the_recording_short_and_says_why(small_disk, touch):
    directory = small_disk / "rec"
    before = set(os.listdir(TRACEFS / "instances"))
    result = run_kernlab("record", "-d", str(directory), "--", str(touch), "1024", timeout=300)
    assert result.code == 9, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("kernlab: ")]
    assert len(lines) == 1 and "is full" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    # the instance and its probes are gone
    assert set(os.listdir(TRACEFS / "instances")) <= before
    state = read_state(directory)
    assert state is not None and state.state == "cut_short" and state.cause == "disk_full"
    code, text, doc = _report(directory)
    assert code == 0
    flat = " ".join(text.split())
    assert flat.startswith("→ This recording was CUT SHORT: the disk holding it filled up")
    assert "No events were lost" not in flat
    completeness = doc["loss"]["completeness"]
    assert completeness["complete"] is False and completeness["cause"] == "disk_full"
    # What fit stays readable: events were decoded. (Not necessarily fewer faults than pages
    # touched: on a busy machine the ring buffer can hold every fault until the disk fills
    # with what is written after them; the recording is cut short all the same.)
    assert doc["recording"]["events_total"] > 0
    assert 0 < completeness["first_ts"] <= completeness["last_ts"], completeness


def test_an_export_to_a_full_disk_leaves_no_half_file(recording, small_disk):
    # fill the disk but for a few KiB, then ask for a trace.dat bigger than that
    filler = small_disk / "filler"
    with open(filler, "wb") as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 65536)
    os.truncate(filler, filler.stat().st_size - 16384)
    target = small_disk / "out.dat"
    result = run_kernlab("dump", "-d", str(recording), "--trace-dat", str(target))
    assert result.code == 9, result.stderr
    assert "is full" in result.stderr and "Traceback" not in result.stderr
    assert sorted(os.listdir(small_disk)) == ["filler"]  # no out.dat, no temporary file
    text = run_kernlab("dump", "-d", str(recording), "--text", str(small_disk / "out.txt"))
    assert text.code == 9 and sorted(os.listdir(small_disk)) == ["filler"]


def _fill_but(disk: Path, room: int) -> None:
    """Fill ``disk`` but for ``room`` bytes."""
    filler = disk / "filler"
    with open(filler, "wb") as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 65536)
    os.truncate(filler, filler.stat().st_size - room)


def test_an_html_report_to_a_full_disk_leaves_no_half_file(recording, small_disk):
    _fill_but(small_disk, 16384)  # the page embeds plotly.js: megabytes
    target = small_disk / "report.html"
    result = run_kernlab("report", "--no-symbols", "-q", "-d", str(recording), "--html", str(target))
    assert result.code == 9, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kernlab: ") and "is full" in lines[0], result.stderr
    assert "the HTML page was not written" in lines[0]
    assert sorted(os.listdir(small_disk)) == ["filler"]  # no report.html, no temporary file


def _as_killed(rec: Path) -> None:
    """state.json as a recorder killed mid-run leaves it: still ``recording``, nobody holds it."""
    state = json.loads((rec / layout.STATE).read_bytes())
    state.update(state="recording", ended=0.0, cause="", detail="")
    (rec / layout.STATE).write_text(json.dumps(state))


def _tear(rec: Path) -> tuple[Path, int]:
    """Cut the largest raw file half a page into its last page; (the file, the bytes cut off)."""
    raw = max(rec.glob("cpus/cpu*.raw"), key=lambda p: p.stat().st_size)
    page = open_recording(rec).page_size
    os.truncate(raw, raw.stat().st_size - page // 2)
    return raw, page // 2


def test_the_html_report_says_first_that_the_recording_is_cut_short_and_damaged(recording, tmp_path):
    rec = _copy(recording, tmp_path / "killed-torn")
    _as_killed(rec)
    raw, _cut = _tear(rec)
    page = tmp_path / "report.html"
    result = run_kernlab("report", "--no-symbols", "-q", "-d", str(rec), "--html", str(page))
    assert result.code == 0, result.stderr
    html = page.read_text()
    name = str(raw.relative_to(rec))
    cut = html.index('<p class="warning">This recording was CUT SHORT: kernlab record (pid')
    damaged = html.index('<p class="warning">This recording is DAMAGED')
    torn = html.index(f'<p class="warning">{name} ends in a torn page')
    # before the recording's own sentence and every figure, in the order the text report says them
    first_sentence = html.index('<p class="sentence">')
    assert cut < damaged < torn < first_sentence < html.index('<div class="figure">')
    assert "No events were lost" not in html


def _manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text())


def test_dump_parquet_and_sql_say_a_recording_is_not_whole(recording, tmp_path):
    pytest.importorskip("pyarrow")
    pytest.importorskip("duckdb")
    whole = _copy(recording, tmp_path / "whole")
    rec = _copy(recording, tmp_path / "killed-torn")
    _as_killed(rec)
    raw, cut = _tear(rec)
    name = str(raw.relative_to(rec))
    # dump --parquet says it first, as every other export does
    out = tmp_path / "rec.pq"
    result = run_kernlab("dump", "-d", str(rec), "--parquet", str(out))
    assert result.code == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert flat.startswith("→ This recording was CUT SHORT: kernlab record (pid")
    assert "This recording is DAMAGED" in flat and f"{name} ends in a torn page" in flat
    manifest = _manifest(out)
    assert manifest["complete"] is False and manifest["cause"] == "killed"
    (damage,) = manifest["damage"]
    assert damage["file"] == name and damage["torn_bytes"] == cut and damage["missing"] is False
    doc = json.loads(run_kernlab("dump", "-d", str(rec), "--parquet", str(out), "--json").stdout)
    assert doc["completeness"]["complete"] is False and doc["completeness"]["cause"] == "killed"
    assert [d["file"] for d in doc["damage"]] == [name]
    # a whole recording's export says it is whole, and says nothing more
    whole_out = tmp_path / "whole.pq"
    result = run_kernlab("dump", "-d", str(whole), "--parquet", str(whole_out))
    assert result.code == 0 and "CUT SHORT" not in result.stdout and "DAMAGED" not in result.stdout
    manifest = _manifest(whole_out)
    assert manifest["complete"] is True and manifest["cause"] is None and manifest["damage"] == []
    # kernlab sql: one warning line on stderr per input that is not whole, --json or not
    query = "SELECT count(*) AS n FROM faults"
    for extra in ((), ("--json",)):
        result = run_kernlab("sql", *extra, query, str(rec), str(whole), "--parquet", str(out))
        assert result.code == 0, result.stderr
        warnings = result.stderr.strip().splitlines()
        assert len(warnings) == 2, result.stderr
        assert warnings[0].startswith(f"kernlab: warning: {rec} was cut short (kernlab record was killed")
        assert f"{name} could not be read whole" in warnings[0]
        assert warnings[1].startswith(f"kernlab: warning: {out} was cut short")
        if extra:
            doc = json.loads(result.stdout)  # stdout is the JSON alone
            assert doc["incomplete"] == [str(rec), str(out)]
            by_dir = {s["directory"]: s for s in doc["sources"]}
            assert by_dir[str(rec)]["complete"] is False and by_dir[str(rec)]["cause"] == "killed"
            assert by_dir[str(rec)]["damaged_files"] == [name]
            assert by_dir[str(whole)]["complete"] is True and by_dir[str(whole)]["damaged_files"] == []
    # a whole recording (its cached export read as it is) and a whole export: no warning
    result = run_kernlab("sql", query, str(whole), "--parquet", str(whole_out))
    assert result.code == 0 and result.stderr == ""


def test_record_functions_on_a_full_disk_leaves_no_instance_or_probe(small_disk, tmp_path):
    loop = compile_c(PROGRAMS / "fn_loop.c", tmp_path / "fn_loop", ["-O0"])
    directory = small_disk / "rec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "record", "--functions", "-d", str(directory), "--",
         str(loop), "5000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    with _reaped(proc):
        _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 9, err
    lines = [ln for ln in err.splitlines() if ln.startswith("kernlab: ")]
    assert len(lines) == 1 and "is full" in lines[0], err
    assert "Traceback" not in err
    # the main instance and the probes' own (kernlab-<pid>-<start>-fn1) are both gone
    assert not instances_of(proc.pid), instances_of(proc.pid)
    probes = (TRACEFS / "uprobe_events").read_text()
    assert f"kernlab_{proc.pid}_" not in probes, probes
    state = read_state(directory)
    assert state is not None and state.state == "cut_short" and state.cause == "disk_full"


def test_a_recording_whose_machine_stopped_says_so(recording, tmp_path):
    rec = _copy(recording, tmp_path / "rebooted")
    state = json.loads((rec / layout.STATE).read_bytes())
    other = "00000000-0000-4000-8000-000000000000"
    assert state["boot_id"] and state["boot_id"] != other
    state.update(state="recording", ended=0.0, cause="", detail="", boot_id=other)
    (rec / layout.STATE).write_text(json.dumps(state))
    _says_cut_short(
        rec, "machine_stopped", "→ This recording was CUT SHORT: the machine stopped while it was being made"
    )


def _says_cut_short(rec, cause: str, opening: str) -> None:
    """report exits 0, its JSON says not complete for ``cause``, its text opens with ``opening``
    and never claims that no event was lost."""
    code, text, doc = _report(rec)
    assert code == 0
    completeness = doc["loss"]["completeness"]
    assert completeness["complete"] is False and completeness["cause"] == cause
    flat = " ".join(text.split())
    assert flat.startswith(opening)
    assert "No events were lost" not in flat


def test_a_recording_whose_state_file_is_damaged_says_so(recording, tmp_path):
    """state.json there but unreadable: not said as "never finalised, nothing says why", but as
    what it is, and never as complete."""
    rec = _copy(recording, tmp_path / "state-damaged")
    (rec / layout.STATE).write_bytes(b"\x00{not json")
    _says_cut_short(
        rec, "state_damaged", "→ This recording may have been CUT SHORT: its state file (state.json)"
    )


def test_a_recording_still_being_made_says_so(tmp_path):
    need_tracing()
    directory = tmp_path / "ongoing"
    with _reaped(_spawn_record(directory, "sleep", "5")) as proc:
        _wait_recording(directory, proc)
        code, text, doc = _report(directory)
        assert proc.poll() is None, "the recorder ended before the report was made"
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert code == 0
    completeness = doc["loss"]["completeness"]
    assert completeness["complete"] is False and completeness["cause"] == "still_recording"
    assert completeness["recorder_pid"] == proc.pid
    flat = " ".join(text.split())
    assert flat.startswith(f"→ This recording is STILL BEING MADE by kernlab record (pid {proc.pid})")
    assert "No events were lost" not in flat
    # once it ended, the same recording is complete
    code, _text, doc = _report(directory)
    assert code == 0 and doc["loss"]["completeness"]["complete"] is True


def test_bad_pages_in_the_middle_of_a_file_are_said_with_their_count_and_offset(recording, tmp_path):
    rec = _copy(recording, tmp_path / "bad-pages")
    raw = max(rec.glob("cpus/cpu*.raw"), key=lambda p: p.stat().st_size)
    page = open_recording(recording).page_size
    pages = raw.stat().st_size // page
    assert pages >= 6, pages
    first = pages // 2 - 1
    with open(raw, "r+b") as fh:
        for k in (first, first + 1):
            # the commit length (after the page's 8-byte time stamp) far larger than a page
            fh.seek(k * page + 8)
            fh.write((page * 4).to_bytes(8, "little"))
    code, text, doc = _report(rec)
    assert code == 0
    name = str(raw.relative_to(rec))
    flat = " ".join(text.split())
    assert flat.startswith("→ This recording is DAMAGED")
    assert (
        f"{name}: 2 pages could not be read and were skipped (the first at byte {first * page:,}); "
        "the rest of the file was read." in flat
    )
    (damage,) = doc["loss"]["damage"]
    assert damage["file"] == name and damage["damaged_pages"] == 2
    assert damage["damaged_offsets"] == [first * page, (first + 1) * page]
    assert "No events were lost" not in flat
