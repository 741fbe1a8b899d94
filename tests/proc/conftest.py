"""Fixtures for tests/proc: a process that builds a known address space and then holds still."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import PROGRAMS, CliResult, compile_c


class HeldProcess:
    """A running tests/programs/proc_hold.c, blocked in read(0) until closed."""

    def __init__(self, proc: subprocess.Popen[str], exe: Path, ready: str) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.exe = exe
        fields = ready.split()
        self.bss_address = int(fields[1], 16)
        self.anon_address = int(fields[2], 16)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def proc_hold_builds(tmp_path_factory: pytest.TempPathFactory) -> Callable[[tuple[str, ...]], Path]:
    """tests/programs/proc_hold.c compiled once per set of gcc flags per test session."""
    built: dict[tuple[str, ...], Path] = {}
    folder = tmp_path_factory.mktemp("proc_hold")

    def build(flags: tuple[str, ...]) -> Path:
        if flags not in built:
            name = "proc_hold" + "".join(f.replace("-", "_") for f in flags)
            built[flags] = compile_c(PROGRAMS / "proc_hold.c", folder / name, ["-O0", *flags])
        return built[flags]

    return build


@pytest.fixture
def hold(
    proc_hold_builds: Callable[[tuple[str, ...]], Path], tmp_path: Path
) -> Iterator[Callable[..., HeldProcess]]:
    """Start proc_hold (optionally mapping a data file) and stop it after the test."""
    started: list[HeldProcess] = []

    def start(with_file: bool = True, flags: tuple[str, ...] = ()) -> HeldProcess:
        exe = proc_hold_builds(flags)
        args = [str(exe)]
        if with_file:
            data = tmp_path / "proc_hold.dat"
            data.write_bytes(bytes(range(256)) * 256)
            args.append(str(data))
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.startswith("ready"), ready
        held = HeldProcess(proc, exe, ready)
        started.append(held)
        return held

    yield start
    for held in started:
        held.close()


def as_nobody(argv: list[str]) -> CliResult:
    """Run kernlab's main() in a forked child that dropped root for user nobody (65534).

    Forking after import avoids needing nobody to read the interpreter and source tree.
    """
    read_out, write_out = os.pipe()
    read_err, write_err = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.dup2(write_out, 1)
            os.dup2(write_err, 2)
            # pytest replaced sys.stdout/stderr with its capture objects; write to the pipes.
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            # nobody cannot read root's site-packages: import everything the command needs first.
            for module in (
                "kernlab.cli.main",
                "kernlab.cli.maps_cmd",
                "kernlab.cli.mem_cmd",
                "kernlab.cli.ps_cmd",
                "kernlab.proc.maps",
                "kernlab.proc.process",
                "kernlab.proc.meminfo",
                "kernlab.proc.free",
                "kernlab.render.terminal",
                "rich.console",
                "rich.markup",
                "rich.table",
            ):
                importlib.import_module(module)

            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            from kernlab.cli.main import main

            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write_out)
    os.close(write_err)
    with os.fdopen(read_out) as out, os.fdopen(read_err) as err:
        stdout, stderr = out.read(), err.read()
    _, status = os.waitpid(child, 0)
    return CliResult(os.waitstatus_to_exitcode(status), stdout, stderr)
