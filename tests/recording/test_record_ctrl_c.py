"""Ctrl-C on a terminal reaches the command once; a SIGINT sent to kernlab alone is passed on."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

from tests.conftest import PROGRAMS, compile_c
from tests.recording.rec_util import need_tracing


def _read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_ctrl_c_on_a_terminal_is_delivered_once(tmp_path):
    need_tracing()
    prog = compile_c(PROGRAMS / "rec_sigcount.c", tmp_path / "rec_sigcount", ["-O2"])
    pid, master = pty.fork()
    if pid == 0:  # in a new session whose controlling terminal is the pty
        os.execv(
            sys.executable,
            [sys.executable, "-m", "kernlab", "record", "-q", "-d", str(tmp_path / "r"), "--", str(prog)],
        )
    try:
        assert b"ready" in _read_until(master, b"ready", 30)
        os.write(master, b"\x03")  # the terminal's interrupt character: SIGINT to the foreground group
        output = _read_until(master, b"sigint=", 30) + _read_until(master, b"\n", 5)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
    assert b"sigint=1" in output, output
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_sigint_to_kernlab_alone_is_passed_on(tmp_path):
    need_tracing()
    prog = compile_c(PROGRAMS / "rec_sigcount.c", tmp_path / "rec_sigcount", ["-O2"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "record", "-q", "-d", str(tmp_path / "r"), "--", str(prog)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # no terminal: only kernlab gets the signal
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert b"sigint=1" in stdout, (stdout, stderr)
    assert proc.returncode == 0, stderr
