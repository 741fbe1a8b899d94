"""A lab shows its progress line while it runs, on a terminal only: `kernlab lab lazy-alloc` with
stderr on a pseudo-terminal draws it there (stdout, piped, keeps only the lab); piped, the same
command draws nothing at all. KERNLAB_PROGRESS_DELAY brings the bar's one-second wait down, so
a fast machine still shows it."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

from kernlab import catalog
from tests.conftest import run_kernlab

ARGS = ["lab", "lazy-alloc", "--size", "64M"]
ENV = {"KERNLAB_PROGRESS_DELAY": "0.05"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TITLE = catalog.sentences("en")["lab.progress.lazy"]


def _run_on_a_terminal(args: list[str], timeout: float = 300) -> tuple[int, str, str]:
    """kernlab with stderr on a pseudo-terminal and stdout on a pipe: (status, stdout, terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernlab", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **ENV, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout = proc.stdout.read() if proc.stdout else b""
    status = proc.wait(timeout=30)
    return status, stdout.decode(errors="replace"), ANSI.sub("", seen.decode(errors="replace"))


def test_lab_shows_its_progress_on_a_terminal():
    status, stdout, terminal = _run_on_a_terminal(ARGS)
    assert status == 0, terminal
    assert TITLE in terminal, terminal[-500:]
    # The line: the title, the bar, the steps done (of 3 regions × 4 steps), the time elapsed.
    done = [int(n) for n in re.findall(re.escape(TITLE) + r".*? (\d+) +\d+:\d\d:\d\d", terminal)]
    assert done and all(0 <= n <= 12 for n in done), terminal[-500:]
    assert TITLE not in stdout and "VSZ" in stdout  # the lab itself, clean, on stdout


def test_piped_lab_shows_no_progress():
    result = run_kernlab(*ARGS, env=ENV)
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    assert TITLE not in result.stdout and "VSZ" in result.stdout
