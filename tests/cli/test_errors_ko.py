"""Errors a learner meets, said in the language asked for, with the same exit code in both.

Each case runs the real CLI on a bad input the way a user would: a missing file, a file that is
not ELF, a PID that has exited, an address no 64-bit machine has, a kernel thread given to vtop,
a system call or errno the tables do not hold, and a process the kernel refuses to let us read
(root without capabilities, made with setpriv, reading another user's process). Under
``--lang ko`` the one stderr line is Korean (Hangul, and no run of English words outside names,
paths and code); under ``--lang en`` the same line is English; the exit code is the one
docs/CLI.md gives that kind of error, in both languages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernlab.errors import BadInput, NoSuchProcess, PermissionNeeded
from tests.conftest import CliResult, run_kernlab

HANGUL = re.compile(r"[가-힣]")
# A token that is a name, path, number or code rather than a word of a sentence.
NOT_A_WORD = re.compile(r"[^A-Za-z]")


def english_runs(line: str) -> list[str]:
    """Runs of three or more plain English words ("not an ELF", "no such file")."""
    line = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", " \x00 ", line)  # quoted values are data
    runs: list[str] = []
    # Punctuation and Hangul end a run: "(Permission denied: ptrace …)" holds no three-word run.
    for clause in re.split(r"[,;:.()]|[가-힣]+", line):
        current: list[str] = []
        for token in [*clause.split(), ""]:
            if token and not NOT_A_WORD.search(token):
                current.append(token)
                continue
            if len(current) >= 3:
                runs.append(" ".join(current))
            current = []
    return runs


def test_english_runs_finds_fragments_and_spares_names():
    assert english_runs("/x: not an ELF file") == ["not an ELF file"]
    assert english_runs("kernlab: 오류: /usr/lib/x.so: 그런 파일이 없습니다") == []
    assert english_runs("kernlab: 오류: the top level에서") == ["the top level"]


def _error_line(result: CliResult) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _check(args: list[str], code: int, english: str) -> None:
    """Korean line under --lang ko, ``english`` in the English one, ``code`` in both."""
    ko = run_kernlab("--lang", "ko", *args)
    en = run_kernlab("--lang", "en", *args)
    assert ko.code == code, ko
    assert en.code == code, en
    ko_line, en_line = _error_line(ko), _error_line(en)
    assert ko_line.startswith("kernlab: 오류: "), ko_line
    assert HANGUL.search(ko_line.removeprefix("kernlab: 오류: ")), ko_line
    assert english_runs(ko_line) == [], ko_line
    assert en_line.startswith("kernlab: error: "), en_line
    assert english in en_line, en_line
    assert not HANGUL.search(en_line), en_line


@pytest.fixture(scope="module")
def not_elf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("errors") / "notes.txt"
    path.write_text("plain text, no ELF magic\n")
    return path


@pytest.fixture(scope="module")
def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    if Path(f"/proc/{proc.pid}").exists():  # reused at once: very unlikely, but then not dead
        pytest.skip(f"PID {proc.pid} was reused before the test could use it")
    return proc.pid


def test_missing_file(tmp_path):
    _check(["elf", str(tmp_path / "missing")], BadInput.exit_code, "no such file")


def test_not_an_elf_file(not_elf):
    _check(["elf", str(not_elf)], BadInput.exit_code, "not an ELF file")


def test_directory_given_for_an_elf_file(tmp_path):
    _check(["elf", str(tmp_path)], BadInput.exit_code, "is a directory")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    _check(["elf", str(empty)], BadInput.exit_code, "is empty")


def test_dead_pid(dead_pid):
    _check(["maps", str(dead_pid)], NoSuchProcess.exit_code, f"no process with PID {dead_pid}")
    _check(["vtop", str(dead_pid), "0x1000"], NoSuchProcess.exit_code, f"no process with PID {dead_pid}")


def test_address_beyond_64_bits():
    _check(["vtop", "self", "0x1ffffffffffffffff"], BadInput.exit_code, "is not a 64-bit address")


def test_vtop_of_a_kernel_thread():
    # PID 2 is kthreadd on every Linux since 2.6.27: no mm, so no address to follow.
    comm = Path("/proc/2/comm").read_text().strip()
    if comm != "kthreadd":
        pytest.skip(f"PID 2 is {comm} here, not kthreadd")
    _check(["vtop", "2", "0x1000"], BadInput.exit_code, "is a kernel thread")


def test_vma_number_past_the_last():
    vmas = len(Path("/proc/self/maps").read_text().splitlines())
    # The child's maps differ from ours, but never by a million areas.
    _check(["vtop", "self", "--vma", str(vmas + 1_000_000)], BadInput.exit_code, "has no VMA")


def test_errno_and_syscall_the_tables_lack():
    _check(["syscall", "--errno", "ENOTANERROR"], BadInput.exit_code, "no error named")
    _check(["syscall", "--errno", "100000"], BadInput.exit_code, "no error number 100000")


def test_bad_sort_key_of_ps():
    _check(["ps", "--sort", "nosuchkey"], BadInput.exit_code, "cannot sort by")


@pytest.fixture
def other_users_process() -> Iterator[int]:
    """A process of user nobody, which root without CAP_SYS_PTRACE may not read."""
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv (util-linux) to make a process of another user")
    proc = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_permission_needed_without_capabilities(other_users_process):
    """root whose capabilities are all dropped (setpriv empties the bounding set) reads another
    user's /proc/PID/smaps: the ptrace access check refuses it, as it refuses any non-root."""
    pid = other_users_process
    prefix = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", sys.executable, "-m", "kernlab"]
    results = {
        lang: subprocess.run([*prefix, "--lang", lang, "maps", str(pid)], capture_output=True, text=True)
        for lang in ("ko", "en")
    }
    for result in results.values():
        assert result.returncode == PermissionNeeded.exit_code, result
    ko_line = _error_line(CliResult(0, "", results["ko"].stderr))
    en_line = _error_line(CliResult(0, "", results["en"].stderr))
    assert ko_line.startswith("kernlab: 오류: ") and HANGUL.search(ko_line), ko_line
    assert english_runs(ko_line) == [], ko_line
    assert f"/proc/{pid}/" in ko_line and f"/proc/{pid}/" in en_line
    assert en_line.startswith("kernlab: error: ") and "ptrace access check" in en_line, en_line
