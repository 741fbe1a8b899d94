"""Top-level tracefs changes are undone on exit and, after a SIGKILL, by the next run."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from kernlab.tracing.instance import clean_stale
from kernlab.tracing.toplevel import TopLevelBusy, in_use_by_others, read_setting, top_level_changes
from tests.recording.rec_util import global_state, need_tracing

# A top-level file that every tracefs has and that changes nothing while no tracer runs.
SETTING = "tracing_thresh"


def test_changes_are_undone_on_exit():
    root = need_tracing()
    before = read_setting(root, SETTING)
    with top_level_changes(root, [(SETTING, "7")]):
        assert read_setting(root, SETTING) == "7"
        assert any(p.name.startswith("kernlab-") for p in (root / "instances").iterdir())
    assert read_setting(root, SETTING) == before


def test_changes_are_undone_when_the_body_raises():
    root = need_tracing()
    before = read_setting(root, SETTING)
    with pytest.raises(RuntimeError), top_level_changes(root, [(SETTING, "9")]):
        raise RuntimeError("the caller failed")
    assert read_setting(root, SETTING) == before


def test_next_run_restores_what_a_killed_run_changed():
    root = need_tracing()
    state = global_state()
    before = read_setting(root, SETTING)
    code = (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from kernlab.tracing.toplevel import top_level_changes\n"
        f"with top_level_changes(Path({str(root)!r}), [({SETTING!r}, '11')]):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert read_setting(root, SETTING) == "11"  # the dead run left its change behind
    cleanup = clean_stale(root)
    assert len(cleanup.restored) == 1 and not cleanup.failures
    assert read_setting(root, SETTING) == before
    assert not [p for p in (root / "instances").iterdir() if p.name in cleanup.restored]
    assert global_state() == state


def test_nothing_else_uses_the_top_level_here():
    root = need_tracing()
    tracer = (root / "current_tracer").read_text().strip()
    try:
        busy = in_use_by_others(root)
    except PermissionError:
        pytest.skip("this kernel refuses to show the top-level filters (locked down)")
    assert (busy is None) == (tracer == "nop"), busy


def test_busy_top_level_is_left_alone(monkeypatch):
    root = need_tracing()
    import kernlab.tracing.toplevel as toplevel

    monkeypatch.setattr(toplevel, "in_use_by_others", lambda root: "the top-level tracer is 'function'")
    before = read_setting(root, SETTING)
    with pytest.raises(TopLevelBusy), top_level_changes(root, [(SETTING, "3")]):
        pass
    assert read_setting(root, SETTING) == before


def test_a_setting_the_kernel_hides_is_said_as_refused_not_as_unrestorable():
    """Where lockdown hides a setting (reading it is refused), writing it is refused too: the
    error says the write was refused, and nothing is 'restored' that was never changed."""
    from kernlab.errors import TracingError

    root = need_tracing()
    hidden = None
    for name in ("set_ftrace_pid", "set_ftrace_filter", "set_graph_function"):
        try:
            read_setting(root, name)
        except PermissionError:
            hidden = name
            break
        except FileNotFoundError:
            continue
    if hidden is None:
        pytest.skip("this kernel shows its function-tracing settings")
    state = global_state()
    with pytest.raises(TracingError) as caught, top_level_changes(root, [(hidden, "1")]):
        pass
    assert caught.value.key == "errors.tracing.cannot_write", caught.value
    assert global_state() == state
