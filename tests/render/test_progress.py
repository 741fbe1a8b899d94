"""render.progress: a bar only on a terminal and only for work that lasts over a second."""

from __future__ import annotations

import io
import time

import pytest

from kernlab.render import progress


@pytest.fixture(autouse=True)
def _enabled(monkeypatch):
    # An in-process CLI test with --json earlier in the session turns bars off for the process.
    monkeypatch.setattr(progress, "_enabled", True)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quick_work_draws_nothing(monkeypatch):
    err = _Tty()
    monkeypatch.setattr("sys.stderr", err)
    with progress.progress("reading a 16 KiB file", total=4) as bar:
        for _ in range(4):
            bar.advance()
        assert getattr(bar, "_bar", None) is None  # no bar was ever started
    assert err.getvalue() == ""


def test_slow_work_gets_a_bar(monkeypatch):
    err = _Tty()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setenv("TERM", "xterm-256color")  # a terminal that can redraw (CI may say dumb)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.05)
    with progress.progress("reading pagemap", total=10) as bar:
        _wait_for_start(bar)
        bar.advance(5)
        # Started by the timer; whether rich then draws depends on the terminal it detects.
        started = getattr(bar, "_bar", None)
        assert started is not None
        assert started.tasks[0].description == "reading pagemap"
        assert started.tasks[0].completed == 5


def test_not_a_terminal_draws_nothing(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    with progress.progress("anything") as bar:
        time.sleep(0.1)
        bar.advance()
    assert err.getvalue() == ""


def test_a_dumb_terminal_gets_plain_lines(monkeypatch):
    err = _Tty()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.05)
    with progress.progress("indexing the tree", total=10) as bar:
        _wait_for_start(bar)
        bar.advance(4)
    assert "indexing the tree: 0 of 10" in err.getvalue()


def _wait_for_start(bar: object, limit_s: float = 10.0) -> None:
    """Until the timer has started the bar (a loaded machine can delay the timer thread)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if getattr(bar, "_bar", None) is not None or getattr(bar, "_plain_console", None) is not None:
            return
        time.sleep(0.02)
