"""What the recorder saves besides events: build-ids, mapped executables, maps snapshots."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from kernlab.recording.snapshot import executable_paths, read_build_id, take_maps_snapshot
from tests.conftest import compile_c, need_tool

HELLO = '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n'


def _readelf_build_id(path) -> str:
    notes = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True).stdout
    match = re.search(r"Build ID: ([0-9a-f]+)", notes)
    return match.group(1) if match else ""


@pytest.mark.parametrize(
    "flags",
    [
        ["-Wl,--build-id=sha1"],
        ["-m32", "-Wl,--build-id=md5"],
        ["-Wl,--build-id=none"],
        ["-static", "-Wl,--build-id"],
    ],
)
def test_build_id_matches_readelf(tmp_path, flags):
    need_tool("readelf")
    try:
        prog = compile_c(HELLO, tmp_path / "prog", flags)
    except RuntimeError as exc:
        pytest.skip(f"cannot build with {flags}: {exc}")
    assert read_build_id(str(prog)) == _readelf_build_id(prog)


def test_build_id_of_non_elf_and_missing(tmp_path):
    (tmp_path / "text").write_text("#!/bin/sh\n")
    (tmp_path / "short").write_bytes(b"\x7fELF")
    assert read_build_id(str(tmp_path / "text")) == ""
    assert read_build_id(str(tmp_path / "short")) == ""
    assert read_build_id(str(tmp_path / "missing")) == ""
    assert read_build_id(str(tmp_path)) == ""


def test_executable_paths_match_pmap():
    pmap = need_tool("pmap")
    pid = os.getpid()
    with open(f"/proc/{pid}/maps") as fh:
        ours = executable_paths(fh.read())
    out = subprocess.run([pmap, "-X", str(pid)], capture_output=True, text=True).stdout
    # pmap -X: Address Perm Offset Device Inode ... Mapping (file mappings show the base name)
    expected = set()
    for line in out.splitlines()[2:]:
        parts = line.split()
        if (
            len(parts) > 6
            and re.fullmatch(r"[r-][w-][x-][ps]", parts[1])
            and parts[1][2] == "x"
            and parts[4] != "0"
        ):
            expected.add(parts[-1])
    assert {os.path.basename(p) for p in ours} == expected
    assert len(ours) == len(set(ours))


def test_snapshot_of_self(tmp_path):
    snap = take_maps_snapshot(tmp_path, os.getpid(), 0, "attach")
    assert snap is not None
    saved = (tmp_path / snap.path).read_text()
    assert "[stack]" in saved
    with open(f"/proc/{os.getpid()}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    assert snap.minflt <= int(fields[7])
    assert take_maps_snapshot(tmp_path, 999_999_999, 1, "exit") is None
