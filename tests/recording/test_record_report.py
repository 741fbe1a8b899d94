"""kernlab record --report: the recording, then its report, from one process.

The report must be exactly what `kernlab report` prints for the same directory afterwards, the
command's output and exit status must pass through as without --report, and the instance
(removed by a background thread while the report is decoded) must be gone on every exit path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import run_kernlab
from tests.recording.rec_util import global_state, need_tracing


def test_report_equals_a_separate_report_run(tmp_path):
    need_tracing()
    data = tmp_path / "r"
    together = run_kernlab("record", "--report", "--json", "-d", str(data), "--", "ls", "-la", "/usr")
    assert together.code == 0, together.stderr
    # stdout holds ls's listing, then the report document
    listing, _, document = together.stdout.partition("\n{")
    assert "bin" in listing
    combined = json.loads("{" + document)
    separate = run_kernlab("report", "-d", str(data), "--json")
    assert separate.code == 0, separate.stderr
    assert combined == json.loads(separate.stdout)
    assert combined["syscalls"]["combined"]["calls"] > 0
    assert combined["loss"]["total"] == 0


def test_human_report_and_exit_status(tmp_path):
    need_tracing()
    result = run_kernlab(
        "record", "--report", "-d", str(tmp_path / "r"), "--", "sh", "-c", "echo hello; exit 3"
    )
    assert result.code == 3, result.stderr
    assert result.stdout.startswith("hello\n")
    assert "System calls (like strace -c -w: wall time)" in result.stdout
    assert "Lost events" in result.stdout
    assert "Traceback" not in result.stderr


def test_instance_is_gone_and_global_state_untouched(tmp_path):
    need_tracing()
    before = global_state()
    result = run_kernlab("record", "--report", "-q", "-d", str(tmp_path / "r"), "--", "true")
    assert result.code == 0, result.stderr
    assert global_state() == before
    leftovers = [p for p in os.listdir("/sys/kernel/tracing/instances") if p.startswith("kernlab-")]
    # other kernlab runs (parallel tests) may own instances; none may belong to a finished run
    for name in leftovers:
        if not name.split("-")[1].isdigit():
            continue  # a test's own capture instance (kernlab-test-PID-N), not a run's
        owner = int(name.split("-")[1])
        assert os.path.exists(f"/proc/{owner}"), f"{name} outlived its kernlab process"


LIBRARY_RUN = """
import sys
from pathlib import Path
from kernlab.recording.recorder import RecordOptions, record
result = record(RecordOptions(output=Path(sys.argv[1]), command=["true"]), background_removal=True)
print(result.meta.instance, flush=True)
try:
    if sys.argv[2] == "raise":
        raise RuntimeError("the caller failed before finish_cleanup()")
    if sys.argv[2] == "signal":
        import os, signal, time
        os.kill(os.getpid(), signal.SIGTERM)  # while the report would be decoded
        time.sleep(5)
        print("the signal was ignored")
finally:
    if sys.argv[2] != "raise":
        result.finish_cleanup()
"""


def test_background_removal_completes_when_the_caller_fails_or_is_signalled(tmp_path):
    need_tracing()
    for mode in ("join", "raise", "signal"):
        proc = subprocess.run(
            [sys.executable, "-c", LIBRARY_RUN, str(tmp_path / mode), mode],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (proc.returncode == 0) == (mode == "join"), proc.stderr
        if mode == "signal":
            assert "interrupted by SIGTERM" in proc.stderr
            assert "ignored" not in proc.stdout
        name = proc.stdout.strip()
        assert name.startswith("kernlab-")
        assert not os.path.exists(f"/sys/kernel/tracing/instances/{name}")


FORK_FALLBACK = """
import sys
from pathlib import Path
from kernlab.recording import recorder
recorder._spawn_held = lambda *args: None  # as on a system without posix_spawn or FIFOs
result = recorder.record(recorder.RecordOptions(output=Path(sys.argv[1]), command=["/bin/ls", "/"]))
print(result.meta.exit_code, result.meta.pre_exec_faults)
"""


def test_forked_child_fallback_records_and_counts_its_faults(tmp_path):
    """Without posix_spawn/FIFOs kernlab forks a child that waits on a pipe: it still records,
    and its own pre-execve faults (a forked Python process: far more than a held spawn's) are
    noted for the report."""
    need_tracing()
    argv = [sys.executable, "-c", FORK_FALLBACK, str(tmp_path / "r")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    code, minflt, _majflt = proc.stdout.split()[-3:]
    assert code == "0" and int(minflt.strip("[,")) > 20
    report = run_kernlab("report", "-d", str(tmp_path / "r"), "--json")
    faults = json.loads(report.stdout)["faults"]
    own = faults["rusage_minflt"] + faults["rusage_majflt"] - faults["faults_before_exec"]
    assert abs(faults["total"] - own) <= max(2, own // 100)


def test_held_spawn_takes_almost_no_faults_before_execve(tmp_path):
    need_tracing()
    result = run_kernlab("record", "-q", "-d", str(tmp_path / "r"), "--", "/bin/true")
    assert result.code == 0, result.stderr
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["pre_exec_faults"] is not None and sum(meta["pre_exec_faults"]) < 20
    assert not (tmp_path / "r" / ".kernlab-go").exists()
