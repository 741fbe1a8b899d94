"""A lab shows its progress line while it runs, on a terminal only: `kernlab lab lazy-alloc` with
stderr on a pseudo-terminal draws it there (stdout, piped, keeps only the lab); piped, the same
command draws nothing at all. KERNLAB_PROGRESS_DELAY brings the bar's one-second wait down, so
a fast machine still shows it."""

from __future__ import annotations

import re

from kernlab import catalog
from tests.conftest import run_kernlab, run_on_a_terminal

ARGS = ["lab", "lazy-alloc", "--size", "64M"]
ENV = {"KERNLAB_PROGRESS_DELAY": "0.05"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TITLE = catalog.sentences("en")["lab.progress.lazy"]


def _run_on_a_terminal(args: list[str]) -> tuple[int, str, str]:
    """(status, stdout, terminal) as text, the terminal without its escape sequences."""
    status, stdout, seen = run_on_a_terminal(args, ENV, columns=120)
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
