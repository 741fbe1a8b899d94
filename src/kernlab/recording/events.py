"""Which trace events a recording enables: named groups, as data, resolved against this kernel."""

from __future__ import annotations

from dataclasses import dataclass

from kernlab.errors import BadInput, NotSupported

# group name -> events as "system:event" or "system:*" (every event of the system)
EVENT_GROUPS: dict[str, tuple[str, ...]] = {
    "syscalls": ("raw_syscalls:sys_enter", "raw_syscalls:sys_exit"),
    "faults": ("exceptions:page_fault_user", "exceptions:page_fault_kernel"),
    "sched": (
        "sched:sched_process_fork",
        "sched:sched_process_exec",
        "sched:sched_process_exit",
        "sched:sched_switch",
        "sched:sched_wakeup",
    ),
    "signal": ("signal:signal_generate", "signal:signal_deliver"),
    "pagecache": ("filemap:*", "readahead:*"),
    "block": ("block:*",),
    "fs": ("ext4:*",),
    "ext4": ("ext4:*",),
    "kmem": ("kmem:*",),
}

SYSCALL_EVENTS_FILE = "syscall_events.json"
"""Under ``formats/``: present when the recording took its system calls from the per-call
``syscalls:sys_enter_<name>``/``sys_exit_<name>`` events instead of ``raw_syscalls`` (see
recording/arming.py); the reader folds those records back into ``raw_syscalls`` ones."""

# signal: a fault outside every VMA ends in SIGSEGV; the events say whether it was sent and
# delivered. They fire only when a traced task sends or takes a signal: nearly free.
DEFAULT_GROUPS: tuple[str, ...] = ("syscalls", "faults", "sched", "signal")

GROUP_HELP: dict[str, str] = {
    "syscalls": "system-call entry and exit (raw_syscalls)",
    "faults": "user and kernel page faults (exceptions, x86)",
    "sched": "fork, exec, exit, context switches and wake-ups",
    "signal": "signals sent and delivered (SIGSEGV after a fault outside every VMA)",
    "pagecache": "page-cache inserts, removals, faults and readahead (filemap, readahead)",
    "block": "block-device requests",
    "fs": "ext4 file-system events",
    "ext4": "ext4 file-system events",
    "kmem": "kmalloc/kfree and page allocations (very frequent)",
}


@dataclass(frozen=True)
class EventChoice:
    """The events a recording enables, and the requested ones this kernel does not have."""

    events: list[str]
    """``system:event``, each present in this kernel."""
    missing: list[str]


def _expand(spec: str, available: dict[str, list[str]]) -> list[str]:
    system, _, event = spec.partition(":")
    if event in ("", "*"):
        return [f"{system}:{name}" for name in sorted(available.get(system, []))]
    return [spec] if event in available.get(system, []) else []


def resolve_events(
    requested: list[str], available: dict[str, list[str]], *, include_defaults: bool = True
) -> EventChoice:
    """Expand group names, ``system`` and ``system:event`` into events present in ``available``.

    A default group whose events this kernel lacks (e.g. ``exceptions`` off x86) is noted in
    ``missing`` instead of failing; an explicitly requested one that matches nothing is an error.
    """
    chosen: dict[str, None] = {}
    missing: list[str] = []
    specs: list[tuple[str, bool]] = []
    if include_defaults:
        specs += [(s, False) for group in DEFAULT_GROUPS for s in EVENT_GROUPS[group]]
    for item in requested:
        item = item.strip()
        if not item:
            continue
        if item in EVENT_GROUPS:
            group_specs = EVENT_GROUPS[item]
            found = [e for s in group_specs for e in _expand(s, available)]
            if not found:
                raise NotSupported(
                    f"this kernel has none of the events of group {item!r} ({', '.join(group_specs)})",
                    key="errors.record.no_group_events",
                    fields={"group": repr(item), "events": ", ".join(group_specs)},
                )
            specs += [(s, False) for s in group_specs]
        elif ":" in item or item in available:
            if not _expand(item, available):
                raise NotSupported(
                    f"this kernel has no trace event {item} (see available_events)",
                    key="errors.record.no_event",
                    fields={"event": item},
                )
            specs.append((item, True))
        else:
            names = ", ".join(sorted(EVENT_GROUPS))
            raise BadInput(
                f"unknown event group {item!r}: use one of {names}, or system:event",
                key="errors.record.unknown_group",
                fields={"group": repr(item), "choices": names},
            )
    for spec, _explicit in specs:
        found = _expand(spec, available)
        if not found and not spec.endswith(":*"):
            missing.append(spec)
        for event in found:
            chosen.setdefault(event, None)
    if not chosen:
        raise NotSupported(
            "none of the requested trace events exist on this kernel", key="errors.record.no_events"
        )
    return EventChoice(list(chosen), missing)
