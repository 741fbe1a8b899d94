"""Private instances: named after their owner, removed on exit, stale ones cleaned."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from kernlab.tracing.instance import (
    Instance,
    clean_stale,
    find_stale_instances,
    owner_alive,
    parse_cpu_stats,
    process_start_time,
)
from tests.recording.rec_util import need_tracing


def _dead_process() -> tuple[int, int]:
    proc = subprocess.Popen(["sleep", "0.01"])
    start = process_start_time(proc.pid)
    proc.wait()
    assert start is not None
    return proc.pid, start


def _append(path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def test_start_time_is_field_22_of_stat():
    # a comm with spaces and parentheses must not shift the fields
    with open("/proc/self/stat") as fh:
        text = fh.read()
    fields = text[text.rfind(")") + 2 :].split()
    assert process_start_time() == int(fields[19])
    assert owner_alive(os.getpid(), int(fields[19]))
    assert not owner_alive(os.getpid(), int(fields[19]) + 1)


def test_instance_is_created_and_removed():
    root = need_tracing()
    with Instance.create(root) as inst:
        assert re.fullmatch(rf"kernlab-{os.getpid()}-\d+-rec\d+", inst.name)
        assert (root / "instances" / inst.name / "trace_pipe").exists()
        assert inst.cpus() == sorted(int(p.name[3:]) for p in (inst.path / "per_cpu").iterdir())
        inst.enable_event("sched", "sched_switch")
        assert "sched:sched_switch" in inst.read("set_event")
        # our own live instance is never taken for stale
        assert inst.path not in find_stale_instances(root)
    assert not (root / "instances" / inst.name).exists()


def test_stale_instance_of_dead_owner_is_removed():
    root = need_tracing()
    pid, start = _dead_process()
    stale = root / "instances" / f"kernlab-{pid}-{start}-rec0"
    os.mkdir(stale)
    try:
        (stale / "events/sched/sched_switch/enable").write_text("1")
        (stale / "set_event_pid").write_text(str(pid))
        assert stale in find_stale_instances(root)
        result = clean_stale(root)
        assert stale.name in result.instances
        assert not stale.exists()
    finally:
        if stale.exists():
            os.rmdir(stale)


def test_reused_pid_with_other_start_time_is_stale():
    root = need_tracing()
    # our own pid, but a start time that is not ours: a previous owner of this pid
    start = process_start_time()
    assert start is not None
    stale = root / "instances" / f"kernlab-{os.getpid()}-{start + 1}-rec0"
    os.mkdir(stale)
    try:
        assert stale in find_stale_instances(root)
        clean_stale(root)
        assert not stale.exists()
    finally:
        if stale.exists():
            os.rmdir(stale)


def test_stale_uprobe_is_removed():
    root = need_tracing()
    if not (root / "uprobe_events").exists():
        pytest.skip("this kernel has no uprobe_events (CONFIG_UPROBE_EVENTS off)")
    from kernlab.tracing.capabilities import elf_entry_offset

    offset = elf_entry_offset("/bin/true")
    if offset is None:
        pytest.skip("/bin/true is not an ELF file here")
    pid, start = _dead_process()
    spec = f"kernlab_{pid}_{start}/leftover"
    _append(root / "uprobe_events", f"p:{spec} /bin/true:0x{offset:x}\n")
    try:
        assert spec in (root / "uprobe_events").read_text()
        result = clean_stale(root)
        assert spec in result.uprobes
        assert spec not in (root / "uprobe_events").read_text()
    finally:
        if spec in (root / "uprobe_events").read_text():
            _append(root / "uprobe_events", f"-:{spec}\n")


def test_parse_cpu_stats_reads_kernel_stats():
    root = need_tracing()
    with Instance.create(root) as inst:
        text = inst.read("per_cpu/cpu0/stats")
        stats = parse_cpu_stats(0, text)
        values = dict(line.split(":", 1) for line in text.splitlines())
        assert stats.overrun == int(values["overrun"])
        assert stats.dropped == int(values["dropped events"])
        assert stats.entries == int(values["entries"])


def test_parse_cpu_stats_text():
    text = "entries: 5\noverrun: 2\ncommit overrun: 1\nbytes: 80\noldest event ts: 1.5\ndropped events: 3\n"
    stats = parse_cpu_stats(1, text)
    assert (stats.entries, stats.overrun, stats.commit_overrun, stats.bytes, stats.dropped) == (
        5,
        2,
        1,
        80,
        3,
    )
