"""render.forked: a child's text comes after everything the parent wrote before finish(), a
failed child leaves its part to the parent, and no child outlives a parent that stops early
(an error, a closed pipe, SIGKILL)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from kernlab.render import forked


def _run(body: str, **kwargs) -> subprocess.CompletedProcess[str]:
    script = "import os, sys, time\nfrom kernlab.render import forked\n" + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, **kwargs
    )


def test_child_text_follows_the_parents_and_its_result_comes_back():
    done = _run(
        """
        print("one", flush=True)
        child = forked.start(lambda: (["three\\n", "four\\n"], b"counted 2"))
        print("two")
        result = child.finish()
        print("five")
        print(result.decode(), file=sys.stderr)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "one\ntwo\nthree\nfour\nfive\n"
    assert done.stderr == "counted 2\n"


def test_a_failed_child_writes_nothing_and_says_so():
    done = _run(
        """
        def work():
            raise RuntimeError("broken part")
        child = forked.start(work)
        print("parent")
        print(child.finish(), file=sys.stderr)
        """
    )
    assert done.returncode == 0
    assert done.stdout == "parent\n"
    assert done.stderr == "None\n"  # no traceback from the child either


def test_cancel_kills_the_child_before_it_writes():
    done = _run(
        """
        child = forked.start(lambda: (["never\\n"], b""))
        time.sleep(0.2)
        child.cancel()
        print("parent only")
        try:
            os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            print("reaped", file=sys.stderr)
        """
    )
    assert done.stdout == "parent only\n"
    assert done.stderr == "reaped\n"


def test_a_closed_pipe_reaches_the_parent_as_broken_pipe():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time
                from kernlab.render import forked
                child = forked.start(lambda: (["x" * 100 + "\\n"] * 100_000, b""))
                print("first", flush=True)
                time.sleep(0.5)  # the reader closes its end meanwhile
                try:
                    child.finish()
                except BrokenPipeError:
                    sys.stderr.write("broken pipe\\n")
                    sys.stderr.flush()
                    import os
                    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"first\n"
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b"broken pipe\n"


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_the_child_dies_with_a_killed_parent():
    done = _run(
        """
        import signal
        def work():
            time.sleep(30)
            return ["late\\n"], b""
        child = forked.start(work)
        print(child.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    pid = int(done.stdout)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the child outlived its killed parent"


def test_no_child_without_a_real_standard_output(capsys):
    assert forked.start(lambda: (["text"], b"")) is None  # capsys: an in-memory stream


def test_spare_cpus_counts_idle_cpus():
    cpus = len(os.sched_getaffinity(0))
    assert 0 <= forked.spare_cpus() <= cpus - 1
