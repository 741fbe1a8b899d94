"""Recordings of three different commands, shared by the Parquet and SQL tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import CliResult, run_kernlab
from tests.recording.rec_util import need_tracing

COMMANDS = (["/bin/true"], ["ls", "/"], ["cat", "/etc/passwd"])


def record_three(base: Path) -> list[Path]:
    """Record each of COMMANDS into its own directory under ``base`` (needs root)."""
    need_tracing()
    dirs = []
    for n, argv in enumerate(COMMANDS):
        target = base / f"r{n}"
        result = run_kernlab("record", "-q", "-d", str(target), "--", *argv)
        assert result.code == 0, result.stderr
        dirs.append(target)
    return dirs


def run_sql(*args: str) -> CliResult:
    """`kernlab sql ARGS` as a user runs it (the command module directly until it is listed)."""
    from kernlab.cli.main import COMMANDS as REGISTERED

    if "sql" in REGISTERED:
        return run_kernlab("sql", *args)
    code = (
        "import sys; from kernlab.cli import main as m; "
        "m.COMMANDS['sql'] = ('kernlab.cli.sql_cmd', 'sql', ''); sys.exit(m.main(['sql', *sys.argv[1:]]))"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
