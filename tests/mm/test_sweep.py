"""`kernlab pagecache` on file names a sweep found printed badly, checked against fincore."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import assert_clean_error, need_tool, run_kernlab


def _fincore_names(*paths: Path) -> list[str]:
    need_tool("fincore")
    out = subprocess.run(
        ["fincore", "--noheadings", "--raw", "--output", "FILE", *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def test_a_newline_in_a_file_name_is_escaped_as_fincore_escapes_it(tmp_path):
    odd = tmp_path / "new\nline"
    odd.write_bytes(b"x" * 5000)
    plain = tmp_path / "plain"
    plain.write_bytes(b"y")
    (shown, _) = _fincore_names(odd, plain)
    assert "\n" not in shown and shown.endswith("new\\x0aline")
    result = run_kernlab("pagecache", str(odd), str(plain))
    assert result.code == 0, result.stderr
    table = result.stdout.split("\n\n")[1].splitlines()  # the first table, after its title
    rows = [line for line in table if line.strip().startswith(str(tmp_path))]
    assert len(rows) == 2  # one row per file: the name did not break its row in two
    assert rows[0].split()[0] == shown
    sentences = [line for line in result.stdout.splitlines() if line.startswith("→")]
    assert any(shown in line for line in sentences)
    # JSON keeps the name itself, for a program to open.
    document = run_kernlab("pagecache", "--json", str(odd)).json()
    assert document["files"][0]["residency"]["file"]["path"] == str(odd)  # type: ignore[index]


def test_errors_about_such_a_name_stay_one_line(tmp_path):
    missing = tmp_path / "no\nsuch"
    assert_clean_error(run_kernlab("pagecache", str(missing)), 3)
    fifo = tmp_path / "fi\nfo"
    os.mkfifo(fifo)
    result = run_kernlab("pagecache", str(fifo))
    assert_clean_error(result, 3)
    assert "fi\\x0afo" in result.stderr
