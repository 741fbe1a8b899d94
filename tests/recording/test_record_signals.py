"""Ctrl-C, SIGTERM and SIGKILL during a recording: nothing is left behind, globals untouched."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernlab.recording.layout import read_meta
from tests.conftest import run_kernlab
from tests.recording.rec_util import TRACEFS, global_state, instances_of, need_tracing


def _start_recording(out: Path, new_session: bool = False) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "record", "-q", "-d", str(out), "--", "sleep", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )
    # Armed when the instance exists and the command (sleep) has been exec'd as its child.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        try:
            kids = children.read_text().split()
        except OSError:
            kids = []
        comms = []
        for kid in kids:
            with contextlib.suppress(OSError):
                comms.append(Path(f"/proc/{kid}/comm").read_text().strip())
        if instances_of(proc.pid) and "sleep" in comms:
            return proc
        if proc.poll() is not None:
            pytest.fail(f"kernlab record ended early: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the recording never started")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_ends_recording_cleanly(tmp_path, sig, code):
    need_tracing()
    before = global_state()
    out = tmp_path / "rec"
    proc = _start_recording(out)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert "Traceback" not in stderr
    # the signal is passed to the command, which dies of it: kernlab returns 128+signal
    assert proc.returncode == code, stderr
    assert instances_of(proc.pid) == []
    assert global_state() == before
    meta = read_meta(out)
    assert meta.exit_code == code
    assert [s.when for s in meta.maps] == ["exec", "exit"]


def _child_named(pid: int, comm: str) -> int:
    for kid in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(OSError):
            if Path(f"/proc/{kid}/comm").read_text().strip() == comm:
                return int(kid)
    raise AssertionError(f"no child {comm!r} of {pid}")


def test_sigkill_leaves_an_instance_the_next_run_removes(tmp_path):
    need_tracing()
    before = global_state()
    proc = _start_recording(tmp_path / "killed")
    # The command, not the kernel-tables copier (also a child of kernlab's main thread).
    command_pid = _child_named(proc.pid, "sleep")
    proc.kill()
    proc.wait(timeout=30)
    # Looked at at once: any other kernlab run on this machine removes instances of dead owners.
    left = instances_of(proc.pid)
    # the orphaned command still holds our pipes; it is not kernlab's any more, stop it here
    os.kill(command_pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert left, "SIGKILL cannot clean up: the instance should still be there"
    result = run_kernlab("record", "-q", "-d", str(tmp_path / "next"), "--", "true")
    assert result.code == 0, result.stderr
    assert all(not (TRACEFS / "instances" / name).exists() for name in left)
    assert global_state() == before


def test_ctrl_c_with_the_whole_process_group(tmp_path):
    """A terminal sends SIGINT to kernlab and the command together; the command gets it once."""
    need_tracing()
    before = global_state()
    out = tmp_path / "rec"
    proc = _start_recording(out, new_session=True)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert instances_of(proc.pid) == []
    assert global_state() == before


SIGNAL_WHILE_ARMING = """
import os, signal, sys
from pathlib import Path
from kernlab.recording.recorder import RecordOptions, RecordingInterrupted, record
print("pid", os.getpid())
try:
    record(RecordOptions(output=Path(sys.argv[1]), command=["sleep", "30"]),
           on_phase=lambda phase: os.kill(os.getpid(), signal.SIGTERM))
except RecordingInterrupted as exc:
    print("interrupted", exc.exit_code)
"""


def test_signal_during_set_up_cleans_up(tmp_path):
    need_tracing()
    before = global_state()
    proc = subprocess.run(
        [sys.executable, "-c", SIGNAL_WHILE_ARMING, str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = proc.stdout.split("\n")
    assert lines[1] == "interrupted 143", (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    owner = int(lines[0].split()[1])
    assert instances_of(owner) == []
    assert global_state() == before
    # the held-back command never ran: no exec snapshot, meta still the one written at arming
    assert not list((tmp_path / "r" / "maps").iterdir())


HOLD_THEN_WAIT = """
import sys, time
from pathlib import Path
from kernlab.recording.kernel_tables import TablesCopier
from kernlab.recording.spawn import spawn_held
directory = Path(sys.argv[1])
child = spawn_held("/usr/bin/touch", ["touch", sys.argv[2]], directory)
assert child is not None and child.held is not None
TablesCopier(Path("/sys/kernel/tracing"), directory, []).start(guard=(child.pid, child.held.fifo))
print(child.pid, flush=True)
time.sleep(60)
"""


def test_sigkill_before_release_kills_the_held_command(tmp_path):
    """kernlab SIGKILLed while the command is held before execve: the command never runs.

    The held child waits in open() of a FIFO that only kernlab would open; the kernel-tables
    copier notices kernlab is gone and kills it, so nothing is left blocked forever.
    """
    need_tracing()
    marker = tmp_path / "ran"
    owner = subprocess.Popen(
        [sys.executable, "-c", HOLD_THEN_WAIT, str(tmp_path), str(marker)], stdout=subprocess.PIPE, text=True
    )
    held = int(owner.stdout.readline())
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 5
    state = "?"
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{held}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            state = "gone"
        if state in ("Z", "X", "gone"):
            break
        time.sleep(0.02)
    assert state in ("Z", "X", "gone"), state
    assert not marker.exists()
    assert not (tmp_path / ".kernlab-go").exists()
