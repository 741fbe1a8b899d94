"""Helpers shared by the recorder's tests: skip reasons, tracefs global state, instances."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kernlab.recording import layout
from kernlab.recording.layout import CpuLoss, MapsSnapshot, RecordingMeta, Rusage

TRACEFS = Path("/sys/kernel/tracing")
GLOBAL_FILES = (
    "current_tracer",
    "set_event",
    "tracing_on",
    "set_event_pid",
    "buffer_size_kb",
    "trace_options",
    "uprobe_events",
)


def need_tracing() -> Path:
    """Skip unless this test runs as root with a writable tracefs that has instances."""
    if os.geteuid() != 0:
        pytest.skip("needs root: tracefs instances can only be created by root")
    if not (TRACEFS / "instances").is_dir():
        pytest.skip(f"no tracefs instances at {TRACEFS}/instances (tracefs not mounted?)")
    return TRACEFS


def global_state() -> dict[str, str]:
    """The global tracer settings a recording must never change."""
    state = {}
    for name in GLOBAL_FILES:
        path = TRACEFS / name
        if path.exists():
            state[name] = path.read_text()
    return state


def instances_of(pid: int) -> list[str]:
    return [p.name for p in (TRACEFS / "instances").iterdir() if p.name.startswith(f"kernlab-{pid}-")]


def record_fn_calls(tmp: Path, kernel_depth: int) -> Path:
    """tests/programs/fn_calls.c (nested calls, recursion, libc calls, a second thread) built in
    ``tmp`` and recorded with its functions and kernel paths ``kernel_depth`` deep: the
    recording. Checks that no probe of it is left (other tests' recordings may run beside it)."""
    from tests.conftest import PROGRAMS, compile_c, run_kernlab

    binary = compile_c(PROGRAMS / "fn_calls.c", tmp / "fn_calls", ["-O0", "-lpthread"])
    rec = tmp / "kernlab.data"
    result = run_kernlab(
        "record", "--functions", "-K", str(kernel_depth), "-q", "-d", str(rec), "--", str(binary)
    )
    assert result.code == 0, result.stderr
    assert str(binary) not in (TRACEFS / "uprobe_events").read_text()
    return rec


def sample_meta(**over: object) -> RecordingMeta:
    """A whole meta.json's contents as a recording would have them, ``over`` replacing fields."""
    base = dict(
        format_version=layout.FORMAT_VERSION,
        command=["ls", "-l"],
        root_pid=1234,
        attached=False,
        events=["raw_syscalls:sys_enter"],
        kstack_events=[],
        kernel_release="6.1.0",
        machine="aarch64",
        page_size=4096,
        cpus=2,
        clock="mono",
        buffer_size_kb=1024,
        start_time_ns=10,
        end_time_ns=20,
        wall_start=1.5,
        exit_code=0,
        loss=[CpuLoss(cpu=0, overrun=3, dropped=2, commit_overrun=1), CpuLoss(cpu=1)],
        rusage=Rusage(minflt=5, majflt=1, utime_s=0.1, stime_s=0.2, maxrss_kb=100),
        maps=[MapsSnapshot(pid=1234, when="exec", path="maps/1234.0.exec.maps", minflt=7)],
    )
    base.update(over)
    return RecordingMeta(**base)  # type: ignore[arg-type]
