"""`--json` never depends on `--lang`: byte-identical JSON in English and Korean, every command.

Live figures move between two runs (memory, fault counters), so each command reads something
that holds still: a saved meminfo, a stopped process, a recording made once.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from kernlab.cli.main import COMMANDS
from tests.conftest import run_kernlab
from tests.recording.rec_util import need_tracing

KSRC_TREE = Path(__file__).parents[1] / "source" / "fixtures" / "ksrc_tree"
HELLO = "int main(void) { return 0; }\n"


@pytest.fixture(scope="module")
def stopped_pid():
    """A process that stays stopped while both languages read it."""
    proc = subprocess.Popen(["sleep", "600"])
    os.kill(proc.pid, signal.SIGSTOP)
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    from tests.conftest import compile_c

    out = tmp_path_factory.mktemp("hello") / "hello"
    return compile_c(HELLO, out)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    need_tracing()
    directory = tmp_path_factory.mktemp("rec") / "kernlab.data"
    result = run_kernlab("record", "-d", str(directory), "--", "ls", "-la", "/usr")
    assert result.code == 0, result.stderr
    return directory


def _cases(hello: Path, pid: int, meminfo: Path) -> dict[str, list[str]]:
    return {
        "elf": ["elf", str(hello)],
        "elf -l": ["elf", str(hello), "-l"],
        "elf -S": ["elf", str(hello), "-S"],
        "disasm": ["disasm", str(hello), "main"],
        "ldd": ["ldd", "/bin/mv"],
        "kernel": ["kernel"],
        "syscall": ["syscall", "rename", "--libc"],
        "mem": ["mem", "--meminfo", "--meminfo-file", str(meminfo)],
        "ps": ["ps", "--pid", str(pid)],
        "ps --kthreads": ["ps", "--kthreads", "--pid", "2"],  # kworker names change as they run work
        "maps": ["maps", str(pid), "--no-smaps"],  # PSS moves with other processes' mappings
        "vtop": ["vtop", str(pid), "0x1000"],
        "pagecache": ["pagecache", str(hello)],
        "doctor": ["doctor"],
        "struct": ["struct", "list_head"],
        # --whole-days: a bare date is otherwise "that day at the current time of day" (git), which
        # moves between the two runs.
        "churn": ["churn", "--since", "2000-01-01", "--whole-days"],
        "authors": ["authors"],
        "ksrc": ["ksrc", "--tree", str(KSRC_TREE), "info"],
        "tour": ["tour", "--step", "kernel,syscall"],  # steps whose figures hold still
        "lab": ["lab", "syscall-path", "getpid", "--no-trace"],  # no live call: figures hold still
    }


RECORDING_CASES = {
    "report": ["report"],
    "syscalls": ["syscalls"],
    "faults": ["faults"],
    "dump": ["dump", "--text", "{tmp}/trace.txt"],
}
# A run's summary, --functions recordings and SQL over recordings: compared in their own tests
# (test_graph_cli.py, test_sql_cli.py).
NOT_JSON = {"record", "replay", "graph", "sql"}


def _same_in_both_languages(args: list[str], cwd: Path | None = None) -> None:
    english = run_kernlab("--lang", "en", *args, "--json", cwd=cwd)
    korean = run_kernlab("--lang", "ko", *args, "--json", cwd=cwd)
    assert english.code == korean.code, (english.stderr, korean.stderr)
    assert english.stdout == korean.stdout, args


def test_every_command_is_covered():
    names = {case.split()[0] for case in _cases(Path("x"), 1, Path("m"))}
    covered = names | set(RECORDING_CASES) | NOT_JSON
    assert covered == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(_cases(Path("x"), 1, Path("m"))))
def test_json_is_the_same_in_english_and_korean(name, hello, stopped_pid, tmp_path):
    if name in {"doctor", "kernel"} and os.geteuid() != 0:
        pytest.skip("as non-root some probes depend on timing; checked as root")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(Path("/proc/meminfo").read_text())
    args = _cases(hello, stopped_pid, meminfo)[name]
    repo = Path(__file__).parents[2]
    _same_in_both_languages(args, cwd=repo)


@pytest.mark.parametrize("name", sorted(RECORDING_CASES))
def test_recording_json_is_the_same_in_english_and_korean(name, recording, tmp_path):
    args = [arg.format(tmp=tmp_path) for arg in RECORDING_CASES[name]]
    _same_in_both_languages([*args, "-d", str(recording)])
