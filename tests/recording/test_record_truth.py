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
    # what fit stays readable: events were decoded, fewer than the 262,144 pages touched
    faults = doc["faults"]["total"] if doc.get("faults") else 0
    assert doc["recording"]["events_total"] > 0 and faults < 262144


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
