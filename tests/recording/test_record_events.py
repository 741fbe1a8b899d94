"""Choosing events: groups are data, resolved against what each kernel offers."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernlab.errors import BadInput, NotSupported
from kernlab.recording.events import DEFAULT_GROUPS, EVENT_GROUPS, resolve_events

X86 = {
    "raw_syscalls": ["sys_enter", "sys_exit"],
    "exceptions": ["page_fault_user", "page_fault_kernel"],
    "sched": [
        "sched_process_fork",
        "sched_process_exec",
        "sched_process_exit",
        "sched_switch",
        "sched_wakeup",
    ],
    "filemap": ["mm_filemap_add_to_page_cache", "mm_filemap_delete_from_page_cache"],
    "kmem": ["kmalloc", "kfree"],
    "signal": ["signal_generate", "signal_deliver"],
}
# arm64 has no exceptions:page_fault_* events
ARM64 = {k: v for k, v in X86.items() if k != "exceptions"}


def test_defaults_on_x86():
    choice = resolve_events([], X86)
    assert choice.events[:2] == ["raw_syscalls:sys_enter", "raw_syscalls:sys_exit"]
    assert "exceptions:page_fault_user" in choice.events
    assert choice.missing == []
    assert len(choice.events) == sum(len(EVENT_GROUPS[g]) for g in DEFAULT_GROUPS)


def test_missing_default_events_are_noted_not_fatal():
    choice = resolve_events([], ARM64)
    assert "exceptions:page_fault_user" in choice.missing
    assert "raw_syscalls:sys_enter" in choice.events


def test_groups_and_names():
    choice = resolve_events(["pagecache", "kmem:kfree"], X86)
    assert "filemap:mm_filemap_add_to_page_cache" in choice.events
    assert "kmem:kfree" in choice.events and "kmem:kmalloc" not in choice.events
    only = resolve_events(["kmem"], X86, include_defaults=False)
    assert only.events == ["kmem:kfree", "kmem:kmalloc"]


def test_bad_choices():
    with pytest.raises(BadInput, match="unknown event group"):
        resolve_events(["nonsense"], X86)
    with pytest.raises(NotSupported, match="block"):
        resolve_events(["block"], X86)
    with pytest.raises(NotSupported, match="kmem:nothing"):
        resolve_events(["kmem:nothing"], X86)


def test_live_kernel_defaults_exist():
    path = Path("/sys/kernel/tracing/available_events")
    try:
        lines = path.read_text().split()
    except OSError as exc:
        pytest.skip(f"cannot read {path}: {exc.strerror}")
    available: dict[str, list[str]] = {}
    for line in lines:
        system, _, event = line.partition(":")
        available.setdefault(system, []).append(event)
    choice = resolve_events([], available)
    assert set(choice.events) <= set(lines)
    assert all(m not in lines for m in choice.missing)
