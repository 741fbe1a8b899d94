"""System calls from the per-call ``syscalls:*`` events (record --functions on a kernel with the
``uretprobe`` system call): the choice, the recording's note of it, and the records folded into
``raw_syscalls`` ones, against the kernel's own raw_syscalls records and against strace -c."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kernlab.elf.reader import open_elf
from kernlab.recording.arming import arm_events, copy_headers, per_call_syscalls
from kernlab.recording.events import SYSCALL_EVENTS_FILE
from kernlab.recording.reader import open_recording, read_per_call_syscalls
from kernlab.reports.recording.syscall_calls import syscall_records
from kernlab.tracing.instance import Instance
from kernlab.tracing.uprobes import ProbeSpec, UprobeGroup
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing
from tests.reports.recording.capture import capture
from tests.reports.recording.test_syscall_stats import kernlab_counts, strace_counts

PROGRAMS = Path(__file__).parents[1] / "programs"
LS = ["/usr/bin/ls", "-la", "/usr"]
PROBES_OWN = {"uretprobe", "uprobe"}


def _need_uretprobe_syscall() -> None:
    need_tracing()
    if not (TRACEFS / "events/syscalls/sys_enter_uretprobe").is_dir():
        pytest.skip("this kernel has no uretprobe system call (x86-64, Linux 6.11+)")


def _leaf_probe(tmp_path: Path) -> tuple[Path, int]:
    need_tool("gcc")
    prog = tmp_path / "fn_loop"
    subprocess.run(["gcc", "-O0", "-o", str(prog), str(PROGRAMS / "fn_loop.c")], check=True)
    image = open_elf(str(prog))
    leaf = next(s for s in image.symbols(".symtab") if s.name == "leaf" and s.type == "FUNC")
    offset = image.offset_for_vaddr(leaf.value)
    assert offset is not None
    return prog, offset


def _enabled(instance: Instance) -> set[str]:
    return set(instance.read("set_event").split())


def test_return_probes_choose_the_per_call_events(tmp_path):
    """Only an instance with a return probe enabled gets them; raw_syscalls then stays off,
    every syscalls:* event but the probes' own is on, and the recording says so."""
    _need_uretprobe_syscall()
    prog, offset = _leaf_probe(tmp_path)
    events = ["raw_syscalls:sys_enter", "raw_syscalls:sys_exit", "sched:sched_process_exit"]
    group = UprobeGroup(TRACEFS)
    try:
        group.define([ProbeSpec("e0", str(prog), offset), ProbeSpec("r0", str(prog), offset, True)])
        with Instance.create(TRACEFS, "test") as instance:
            assert per_call_syscalls(instance, events, []) is None  # no probe enabled here
            instance.enable_event(group.group)
            assert per_call_syscalls(instance, events, ["raw_syscalls:sys_enter"]) is None  # its stack
            assert per_call_syscalls(instance, [*events, "syscalls:sys_enter_openat"], []) is None
            arm_events(instance, events, [])
            on = _enabled(instance)
            assert not any(e.startswith("raw_syscalls:") for e in on)
            assert "sched:sched_process_exit" in on
            listed = {
                p.name for p in (instance.path / "events/syscalls").iterdir() if p.name.startswith("sys_")
            }
            own = {n for n in listed if n.split("_", 2)[2] in PROBES_OWN}
            assert own and {f"syscalls:{n}" for n in listed - own} <= on
            assert not {f"syscalls:{n}" for n in own} & on
            copy_headers(instance, tmp_path)
    finally:
        group.remove()
    marker = read_per_call_syscalls(tmp_path)
    assert marker is not None
    ids = {int((TRACEFS / "events/syscalls" / n / "id").read_text()): n for n in listed - own}
    assert {**marker.enter, **marker.exit} == ids  # the kernel's own event ids
    assert "uretprobe" in marker.left_out
    assert set(marker.raw_formats) == {"sys_enter", "sys_exit"}
    assert (
        marker.note
        and json.loads((tmp_path / "formats" / SYSCALL_EVENTS_FILE).read_text())["note"] == marker.note
    )


def _calls(records: list[tuple[int, int, int, int, int, object]]) -> dict[int, list[tuple[int, int, object]]]:
    out: dict[int, list[tuple[int, int, object]]] = {}
    for _ts, _cpu, kind, pid, nr, extra in records:
        out.setdefault(pid, []).append((kind, nr, extra))
    return out


@pytest.mark.slow
def test_folded_records_are_the_kernels_raw_syscalls_records(tmp_path):
    """raw_syscalls and every syscalls:* event recorded together for one run of ls: each
    per-call record, folded, equals the raw_syscalls record the kernel wrote for the same call
    (number, the arguments the call has, return value), in the same order per thread."""
    need_tracing()
    names = sorted(p.name for p in (TRACEFS / "events/syscalls").iterdir() if p.name.startswith("sys_"))
    events = ["raw_syscalls/sys_enter", "raw_syscalls/sys_exit", "sched/sched_process_exec"]
    capture(tmp_path / "rec", LS, events + [f"syscalls/{n}" for n in names], keep_text=False)
    root = tmp_path / "rec"
    rec = open_recording(root)  # no syscall_events.json yet: the per-call records stay as they are
    raw_records = syscall_records(rec, with_args=True)
    raw = _calls(raw_records)
    per_call = [f for f in rec.formats.values() if f.system == "syscalls"]
    marker = {
        "format": 1,
        "enter": {str(f.id): f.name for f in per_call if f.name.startswith("sys_enter_")},
        "exit": {str(f.id): f.name for f in per_call if f.name.startswith("sys_exit_")},
        "note": "test",
    }
    (root / "formats" / SYSCALL_EVENTS_FILE).write_text(json.dumps(marker))
    raw_stamps = {(ts, cpu) for ts, cpu, *_ in raw_records}
    both = syscall_records(open_recording(root), with_args=True)
    folded = _calls([r for r in both if (r[0], r[1]) not in raw_stamps])
    assert raw and folded.keys() == raw.keys()
    for pid, calls in raw.items():
        assert len(folded[pid]) == len(calls), pid
        for (kind, nr, extra), (f_kind, f_nr, f_extra) in zip(calls, folded[pid], strict=True):
            assert (kind, nr) == (f_kind, f_nr)
            if kind == 1:
                assert extra == f_extra
            else:
                k = _argument_count(rec, nr)  # the call's own arguments, 0 past them
                assert f_extra == tuple(extra[:k]) + (0,) * (6 - k), (nr, extra, f_extra)
    assert sum(len(v) for v in raw.values()) > 100


def _argument_count(rec, nr: int) -> int:
    from kernlab.syscalls.tables import by_number

    call = by_number(rec.meta.machine or None)[nr]
    for name in (call.name, (call.entry or "")[4:]):
        fmt = rec.by_name.get(f"syscalls:sys_enter_{name}")
        if fmt is not None:
            return sum(1 for f in fmt.payload_fields if f.name != "__syscall_nr")
    raise AssertionError(f"no sys_enter event for {call.name}")


@pytest.mark.slow
def test_functions_recording_counts_equal_strace_and_raw_syscalls(tmp_path):
    """`record --functions -- ls -la /usr` (per-call events) and `record -- ls -la /usr`
    (raw_syscalls): the same strace -c -f counts, but for the probes' own calls."""
    _need_uretprobe_syscall()
    # ls's calls depend on what its stdout is: a pipe, as run_kernlab gives the recorded ls
    expected = strace_counts(LS, tmp_path / "strace.txt", stdout=subprocess.PIPE)
    got = {}
    for name, extra in (("functions", ["--functions"]), ("raw", [])):
        out = tmp_path / name
        result = run_kernlab("record", *extra, "-q", "-d", str(out), "--", *LS, timeout=600)
        assert result.code == 0, result.stderr
        got[name] = {k: v for k, v in kernlab_counts(out).items() if k not in PROBES_OWN}
    assert read_per_call_syscalls(tmp_path / "functions") is not None
    assert read_per_call_syscalls(tmp_path / "raw") is None
    assert expected and got["functions"] == expected
    assert got["raw"] == expected
    notes = open_recording(tmp_path / "functions").meta.notes
    assert any("per-call syscalls" in n for n in notes)
    assert os.path.isfile(tmp_path / "functions" / "path_strings.json")
