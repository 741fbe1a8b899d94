"""Recordings of three different commands, shared by the Parquet and SQL tests."""

from __future__ import annotations

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
    """`kernlab sql ARGS` as a user runs it."""
    return run_kernlab("sql", *args)
