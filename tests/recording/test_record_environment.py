"""The recorded command gets the user's environment, not the one Python made for itself.

Started in the C locale, Python exports LC_CTYPE=C.UTF-8 (PEP 538); a command kernlab starts
must not inherit that, or `ls` opens locale files it does not open under strace from the same
shell (found in a Debian 6.1 guest, whose environment has no LANG).
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import need_tool
from tests.recording.rec_util import need_tracing

BARE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/root"}


def test_python_s_locale_coercion_does_not_reach_the_command(tmp_path):
    need_tracing()
    strace = need_tool("strace")
    rec = tmp_path / "rec"
    subprocess.run(
        [sys.executable, "-m", "kernlab", "record", "-d", str(rec), "--", "ls", "-la", "/usr"],
        env=BARE_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
        timeout=120,
    )
    subprocess.run(
        [strace, "-f", "-c", "-o", str(tmp_path / "strace.txt"), "ls", "-la", "/usr"],
        env=BARE_ENV,
        stdout=subprocess.DEVNULL,
        check=True,
        timeout=120,
    )
    expected = {}
    for line in (tmp_path / "strace.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
            expected[parts[-1]] = int(parts[3])
    report = subprocess.run(
        [sys.executable, "-m", "kernlab", "report", "-d", str(rec), "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows = json.loads(report.stdout)["syscalls"]["combined"]["rows"]
    got = {r["name"]: r["calls"] for r in rows if r["calls"]}
    assert got["openat"] == expected["openat"]
