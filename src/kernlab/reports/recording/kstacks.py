"""Kernel stacks recorded with events (``kernlab record --kstack EVENT``), as symbol chains.

A ``stacktrace`` trigger makes the kernel write an ``ftrace:kernel_stack`` record (``size``,
``caller[]``) right after the event it fired on, in the same CPU buffer and for the same task
(``event_triggers_post_call()``), so a stack belongs to the record just before it. Addresses
are named from the recording's copy of kallsyms. The first frames are the tracepoint's own
probe (``trace_event_raw_event_<system>``, ``perf_trace_*``), which is where the stack was
taken, not why: they are left out of the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.reader import Recording

KERNEL_STACK = "ftrace:kernel_stack"
_PROBE_PREFIXES = ("trace_event_raw_event_", "perf_trace_", "__traceiter_", "__bpf_trace_")

__all__ = ["KERNEL_STACK", "StackKey", "chain_names", "event_stacks"]


@dataclass(frozen=True)
class StackKey:
    """The record a stack belongs to: CPU buffer and time stamp of the event before it."""

    cpu: int
    ts: int


def chain_names(addresses: list[int], ksyms: KernelSymbols) -> list[str]:
    """Function names of a stack, innermost first, without the tracepoint's own frames."""
    names = []
    for address in addresses:
        found = ksyms.name(address)
        names.append(found.split("+", 1)[0] if found else f"{address:#x}")
    while names and names[0].startswith(_PROBE_PREFIXES):
        names.pop(0)
    return names


def event_stacks(rec: Recording, event_names: set[str], ksyms: KernelSymbols) -> dict[StackKey, list[str]]:
    """Stack (function names) of each record of ``event_names`` that has one, by StackKey."""
    stack_fmt = rec.by_name.get(KERNEL_STACK)
    ids = {rec.by_name[n].id for n in event_names if n in rec.by_name}
    out: dict[StackKey, list[str]] = {}
    if stack_fmt is None or not ids:
        return out
    pid_field = stack_fmt.field("common_pid")
    for cpu in rec.cpu_events():
        types, offsets, raw = cpu.types, cpu.offsets, cpu.raw
        # Only the stack records get a Python step.
        for j in cpu.indices_of({stack_fmt.id}):
            if j == 0 or types[j - 1] not in ids:
                continue
            # Same task as the event before it, or the stack is not that event's.
            mine = raw[offsets[j] + pid_field.offset : offsets[j] + pid_field.offset + 4]
            theirs = raw[offsets[j - 1] + pid_field.offset : offsets[j - 1] + pid_field.offset + 4]
            if mine != theirs:
                continue
            values = stack_fmt.decode(raw, offsets[j], cpu.lengths[j])
            callers = values.get("caller") or []
            size = values.get("size")
            if isinstance(size, int) and size >= 0:
                callers = callers[:size]
            out[StackKey(cpu.cpu, cpu.stamp(j - 1))] = chain_names(callers, ksyms)
    return out
