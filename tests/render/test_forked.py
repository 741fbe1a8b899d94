"""render.forked: a child's text comes after everything the parent wrote before finish(), a
failed child leaves its part to the parent, and no child outlives a parent that stops early
(an error, a closed pipe, SIGKILL)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

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
        child = forked.start(lambda: lambda word: (b"three\\n" + word + b"\\n", b"counted 2"))
        print("two")
        result = child.finish(b"four")
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
        child = forked.start(lambda: lambda word: (b"never\\n", b""))
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
                child = forked.start(lambda: lambda word: (b"x" * 10_000_000, b""))
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
            return lambda word: (b"late\\n", b"")
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
    assert forked.start(lambda: lambda word: (b"text", b"")) is None  # capsys: an in-memory stream


def test_spare_cpus_counts_idle_cpus():
    cpus = len(os.sched_getaffinity(0))
    assert 0 <= forked.spare_cpus() <= cpus - 1


@pytest.mark.parametrize("count", [0, 1, 2, 3, 50, 400])
def test_two_ends_meet_without_a_gap(count):
    """A parent taking jobs from the front and a forked child from the back, at uneven
    speeds: every job is done, the parent's are 0..reached-1, the child did every job from
    reached on (it may have done one of the parent's too, never more)."""
    for seed in range(6):
        meeting = forked.Meeting(count)
        rng = random.Random(seed * 1000 + count)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its jobs, with pauses, then their numbers
            os.close(read_end)
            done = []
            for j in meeting.back():
                done.append(j)
                time.sleep(rng.random() * 0.002)
            os.write(write_end, json.dumps(done).encode())
            os._exit(0)
        os.close(write_end)
        mine = []
        for i in meeting.front():
            mine.append(i)
            time.sleep(rng.random() * 0.002)
        theirs = json.loads(os.read(read_end, 1 << 20) or b"[]")
        os.close(read_end)
        os.waitpid(pid, 0)
        assert mine == list(range(meeting.reached))
        assert set(range(meeting.reached, count)) <= set(theirs)
        assert len(set(mine) & set(theirs)) <= 1
        assert sorted(theirs, reverse=True) == theirs


def test_a_parent_interrupted_while_the_child_writes_stops_it():
    """An exception in finish() (here a signal's, as Ctrl-C's would be) kills the child: it
    writes nothing after the parent has gone."""
    done = _run(
        """
        import signal
        def slow(word):
            time.sleep(2)
            return b"after the parent\\n", b""
        child = forked.start(lambda: slow)
        print("parent", flush=True)
        def stop(signum, frame):
            raise KeyboardInterrupt
        signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        try:
            child.finish()
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
        print(child.done, file=sys.stderr)
        time.sleep(2.5)  # the child's write would have come by now
        """
    )
    assert done.stdout == "parent\n"
    assert done.stderr == "interrupted\nTrue\n"
