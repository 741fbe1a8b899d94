"""Helpers shared by the recorder's tests: skip reasons, tracefs global state, instances."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
