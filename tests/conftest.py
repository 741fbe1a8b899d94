"""Shared fixtures: running the CLI, compiling small C programs, and capability checks.

Live-kernel tests skip with the exact reason when this machine cannot run them; on the
development machine (root, tracefs, gcc) they all run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

PROGRAMS = Path(__file__).parent / "programs"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


def run_kernlab(
    *args: str,
    timeout: float = 120,
    input: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
) -> CliResult:
    """Run ``python -m kernlab ARGS`` as a separate process, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "kernlab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def kernlab() -> Callable[..., CliResult]:
    return run_kernlab


def assert_clean_error(result: CliResult, code: int | None = None) -> None:
    """One clear line on stderr, a non-zero exit, no traceback."""
    assert result.code != 0, result
    if code is not None:
        assert result.code == code, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kernlab: error:") or lines[0].startswith("Error:"), lines[0]


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return path


def compile_c(source: Path | str, out: Path, flags: Sequence[str] = (), compiler: str = "gcc") -> Path:
    """Compile a C file (a path, or the text of one) with ``flags`` into ``out``."""
    need_tool(compiler)
    if isinstance(source, str) and "\n" in source:
        src = out.with_suffix(".c")
        src.write_text(source)
    else:
        src = Path(source)
    proc = subprocess.run([compiler, *flags, "-o", str(out), str(src)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{compiler} {' '.join(flags)} failed: {proc.stderr}")
    return out


def compile_or_skip(
    source: Path, out: Path, flags: Sequence[str], build: str, libs: Sequence[str] = ()
) -> Path:
    """gcc ``flags`` -o ``out`` ``source`` ``libs``; skip the test when this toolchain cannot
    make that ``build`` (a linker without -z ibtplt, no multilib …)."""
    need_tool("gcc")
    command = ["gcc", *flags, "-o", str(out), str(source), *libs]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"gcc cannot make the {build} build here: {done.stderr.strip()[:200]}")
    return out


@pytest.fixture
def build_c(tmp_path: Path) -> Callable[..., Path]:
    """Compile a program from tests/programs/NAME.c (or C text) into the test's temp dir."""

    def build(
        name_or_text: str, flags: Sequence[str] = (), out_name: str | None = None, compiler: str = "gcc"
    ) -> Path:
        if "\n" in name_or_text:
            out = tmp_path / (out_name or "prog")
            return compile_c(name_or_text, out, flags, compiler)
        out = tmp_path / (out_name or name_or_text)
        return compile_c(PROGRAMS / f"{name_or_text}.c", out, flags, compiler)

    return build


def is_root() -> bool:
    return os.geteuid() == 0


requires_root = pytest.mark.skipif(not is_root(), reason="needs root")


def run_on_a_terminal(
    args: Sequence[str],
    env: dict[str, str],
    columns: int = 100,
    timeout: float = 300,
    *,
    stdout_too: bool = False,
) -> tuple[int, bytes, bytes]:
    """kernlab with stderr (and with ``stdout_too`` stdout) on a pseudo-terminal ``columns``
    wide, stdout otherwise on a pipe: (status, stdout, what the terminal received)."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernlab", *args],
        stdout=slave if stdout_too else subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm"},
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
    return proc.wait(timeout=30), stdout, seen
