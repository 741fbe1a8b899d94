"""No name, number or symbol is ever cut or split: on a terminal narrower than a table, off a
terminal, and in a table's title."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import sys
import termios

import pytest

from kernlab.render import terminal

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _run_in_terminal(argv: list[str], columns: int) -> str:
    """What ``argv`` prints on a terminal ``columns`` wide (a pseudo-terminal)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdout is the terminal
        os.environ["COLUMNS"] = str(columns)
        os.environ["LINES"] = "50"
        os.execvp(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


@pytest.mark.parametrize("columns", [60, 80])
def test_program_headers_on_a_narrow_terminal_keep_every_token(columns):
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf is not installed")
    text = _run_in_terminal([sys.executable, "-m", "kernlab", "elf", "/bin/ls", "-l"], columns)
    assert "…" not in text
    assert "PhysAddr" in text
    import subprocess

    listing = subprocess.run([readelf, "-lW", "/bin/ls"], capture_output=True, text=True, check=True).stdout
    # Every segment type readelf names is printed whole (GNU_STACK, GNU_EH_FRAME, ...).
    types = {line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line.split()}
    types = {t for t in types if t.isupper() and t.replace("_", "").isalnum()}
    assert types and all(t in text for t in types), types - {t for t in types if t in text}


def test_a_table_prints_at_natural_width_off_a_terminal(capsys):
    name = "a_symbol_name_far_longer_than_any_terminal_" * 3
    terminal.print_table(["name", "meaning"], [(name, "words that could wrap " * 8)])
    out = capsys.readouterr().out
    assert name in out and "…" not in out


def test_a_title_wider_than_its_table_stays_on_one_line(capsys):
    title = "definitions of a_very_long_symbol_name_that_is_not_here_at_all_really_not"
    terminal.print_table(["file", "line"], [], title=title)
    out = capsys.readouterr().out
    assert title in out.splitlines()[0] or any(line.strip() == title for line in out.splitlines())
