"""cli wiring: every kind of error becomes one stderr line and its own exit code."""

from __future__ import annotations

import errno
import os

import click
import pytest

from kernlab import errors
from kernlab.cli import main as cli_main
from kernlab.fileio import stat_regular_file

CASES = [
    (errors.KernlabError("internal limit"), 1),
    (errors.BadInput("bad.elf: not an ELF file"), 3),
    (errors.NoSuchProcess(999999), 4),
    (errors.PermissionNeeded("tracefs needs root"), 5),
    (errors.NotSupported("no kprobes"), 6),
    (errors.TracingError("instance vanished"), 7),
]


@pytest.mark.parametrize(
    ("error", "code"), CASES, ids=lambda v: type(v).__name__ if not isinstance(v, int) else ""
)
def test_error_becomes_one_line_and_its_code(monkeypatch, capsys, error, code):
    @click.command("boom")
    def boom() -> None:
        raise error

    monkeypatch.setitem(cli_main.COMMANDS, "boom", ("tests.cli.test_exit_codes", "BOOM", "raises"))
    monkeypatch.setattr(cli_main.LazyGroup, "get_command", lambda self, ctx, name: boom)
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["boom"])
    assert exit_info.value.code == code
    err = capsys.readouterr().err
    assert err == f"kernlab: error: {error}\n"


def test_usage_error_is_two(kernlab):
    result = kernlab("elf")
    assert result.code == 2
    assert "Traceback" not in result.stderr


def test_errors_carry_path_pid_and_errno(tmp_path):
    missing = tmp_path / "absent"
    with pytest.raises(errors.BadInput) as info:
        stat_regular_file(str(missing), "an ELF file")
    assert info.value.path == str(missing)
    assert info.value.errno == errno.ENOENT
    assert errors.NoSuchProcess(42).pid == 42


def test_errno_comes_from_the_chained_cause():
    try:
        try:
            os.stat("/proc/self/mem/x")
        except OSError as exc:
            raise errors.BadInput("cannot read") from exc
    except errors.BadInput as error:
        assert error.errno == errno.ENOTDIR


def test_a_closed_pipe_ends_quietly():
    import subprocess
    import sys

    # `kernlab ps | head -1`: the reader goes away after one line.
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "ps"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert err == b""


def test_a_message_path_or_pid_is_what_the_error_is_about(tmp_path):
    """Raised with its path only among the message's fields, an error still says it in .path
    (and a pid field in .pid): a program catching it needs no catalog knowledge."""
    import kernlab

    missing = tmp_path / "no-recording-here"
    with pytest.raises(errors.BadInput) as info:
        kernlab.open_recording(missing)
    assert info.value.path == str(missing)
    error = errors.OSFailure("x stopped", key="errors.report.specimen_stopped", fields={"pid": 7})
    assert error.pid == 7


_OS_ERRORS = {
    "OSError",
    "IOError",
    "FileNotFoundError",
    "FileExistsError",
    "PermissionError",
    "NotADirectoryError",
    "IsADirectoryError",
    "InterruptedError",
    "BlockingIOError",
    "ProcessLookupError",
    "ChildProcessError",
}


def _raise_sites():
    import ast
    from pathlib import Path

    import kernlab

    package = Path(kernlab.__file__).parent
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        yield path.relative_to(package), tree


def test_errors_raised_while_handling_an_os_error_keep_it_as_their_cause():
    """``raise … from None`` inside ``except OSError`` drops the errno a program may need."""
    import ast

    found = []
    for rel, tree in _raise_sites():
        for handler in ast.walk(tree):
            if not isinstance(handler, ast.ExceptHandler) or handler.type is None:
                continue
            types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            names = {t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in types}
            if not names & _OS_ERRORS:
                continue
            for node in ast.walk(handler):
                if not isinstance(node, ast.Raise):
                    continue
                if isinstance(node.cause, ast.Constant) and node.cause.value is None:
                    found.append(f"{rel}:{node.lineno}")
    assert not found, found


def test_no_error_is_raised_as_the_bare_base_class():
    """Each error says what kind it is (BadInput, OSFailure, TracingError, ...): the exit code
    and a program's except clauses follow from it."""
    import ast

    found = []
    for rel, tree in _raise_sites():
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name == "KernlabError":
                    found.append(f"{rel}:{node.lineno}")
    assert not found, found
