"""Finding tracefs and reading its files, checked against findmnt and the files themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernlab.errors import NotSupported, TracingError
from kernlab.tracing.tracefs import available_events, read_text, tracefs_root, try_write, write_text
from tests.conftest import need_tool
from tests.recording.rec_util import need_tracing


def test_root_is_where_findmnt_says():
    need_tracing()
    findmnt = need_tool("findmnt")
    targets = subprocess.run(
        [findmnt, "-n", "-t", "tracefs", "-o", "TARGET"], capture_output=True, text=True
    ).stdout.split()
    if not targets:
        pytest.skip("tracefs is not mounted (findmnt lists none)")
    assert str(tracefs_root()) in targets


def test_available_events_match_the_file():
    root = need_tracing()
    groups = available_events(root)
    lines = (root / "available_events").read_text().split()
    assert sum(len(v) for v in groups.values()) == len(lines)
    system, event = lines[0].split(":")
    assert event in groups[system]


def test_read_missing_file_is_not_supported(tmp_path):
    with pytest.raises(NotSupported):
        read_text(tmp_path / "no-such-file")


def test_refused_write_names_file_and_reason():
    root = need_tracing()
    # current_tracer refuses a tracer name that does not exist (EINVAL), and says so
    with pytest.raises(TracingError) as info:
        write_text(root / "instances", "x")
    assert "instances" in str(info.value)
    err = try_write(root / "available_events", "x")
    assert err is not None and isinstance(err, OSError)


def test_write_then_read_back(tmp_path):
    target = tmp_path / "f"
    target.write_text("")
    write_text(target, "1")
    assert read_text(target) == "1\n"
    write_text(target, "2", append=True)
    assert Path(target).read_text() == "1\n2\n"
    assert os.path.exists(target)


MOUNT_THEN_RECORD = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
# In this private mount namespace only: take tracefs away, as on a system that never mounted it.
if libc.umount2(sys.argv[1].encode(), 0) != 0:
    print("UMOUNT-FAILED", ctypes.get_errno())
    sys.exit(0)
from kernlab.cli.main import main
main(["record", "-q", "--json", "-d", sys.argv[2], "--", "true"])
"""


def test_record_mounts_tracefs_when_it_is_not_mounted(tmp_path):
    need_tracing()
    unshare = need_tool("unshare")
    root = str(tracefs_root())
    proc = subprocess.run(
        [
            unshare,
            "--mount",
            "--propagation",
            "private",
            "--",
            sys.executable,
            "-c",
            MOUNT_THEN_RECORD,
            root,
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0 and "unshare" in proc.stderr:
        pytest.skip(f"cannot make a private mount namespace: {proc.stderr.strip()}")
    if "UMOUNT-FAILED" in proc.stdout:
        pytest.skip(f"cannot unmount tracefs in a private namespace: {proc.stdout.strip()}")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["meta"]["exit_code"] == 0 and doc["meta"]["lost_events"] == 0
