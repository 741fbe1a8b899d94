"""No name, number or symbol is ever cut or split: on a terminal narrower than a table, off a
terminal, and in a table's title."""

from __future__ import annotations

import re
import shutil

import pytest

from kernlab.render import terminal
from tests.conftest import run_on_a_terminal

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.mark.parametrize("columns", [60, 80])
def test_program_headers_on_a_narrow_terminal_keep_every_token(columns):
    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf is not installed")
    status, _, seen = run_on_a_terminal(["elf", "/bin/ls", "-l"], {}, columns, stdout_too=True)
    assert status == 0
    text = ANSI.sub("", seen.decode("utf-8", "replace"))
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
