"""Kernel stacks recorded with events (``kernlab record --kstack EVENT``), as symbol chains.

A ``stacktrace`` trigger makes the kernel write an ``ftrace:kernel_stack`` record (``size``,
``caller[]``) right after the event it fired on, in the same CPU buffer and for the same task
(``event_triggers_post_call()``), so a stack belongs to the record just before it — unless an
interrupt came between the event and its stack and wrote an event and stack of its own there:
the stack belongs to the last record before it in its own context (:func:`stack_owner`). Addresses
are named from the recording's copy of kallsyms. The first frames are the tracepoint's own
probe (``trace_event_raw_event_<system>``, ``perf_trace_*``), which is where the stack was
taken, not why: they are left out of the chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.reader import Recording

KERNEL_STACK = "ftrace:kernel_stack"
_PROBE_PREFIXES = ("trace_event_raw_event_", "perf_trace_", "__traceiter_", "__bpf_trace_")

__all__ = ["KERNEL_STACK", "StackKey", "chain_names", "event_stacks", "stack_owner"]

# trace_flag_type (include/linux/trace_events.h): the context a record was written in.
_CONTEXT = 0x08 | 0x10 | 0x40  # HARDIRQ | SOFTIRQ | NMI
_LOOK_BACK = 64
"""Records looked back over for a stack's event (interrupts nested between them)."""


def stack_owner(types: Sequence[int], context: Callable[[int], int], j: int, stack_id: int) -> int | None:
    """Index of the event whose stack is record ``j`` of a CPU's records (``types``: their
    event ids; ``context(i)``: the interrupt bits of record ``i``'s ``common_flags``).

    The kernel writes a stack after committing its event, with interrupts on: an interrupt or
    NMI can write records of its own between them (a timer's ``sched_wakeup``; a perf sample
    reading the user stack takes a ``page_fault_kernel`` in hard-IRQ context — in most `mv`
    recordings). Those are in another context; the event is the nearest record before the
    stack in the stack's own context. None when that is a stack too (the event's own stack
    was not written) or nothing is within :data:`_LOOK_BACK` records.
    """
    mine = context(j)
    k = j - 1
    while k >= 0 and j - k <= _LOOK_BACK:
        if context(k) == mine:
            return k if types[k] != stack_id else None
        k -= 1
    return None


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
    pid_at = stack_fmt.field("common_pid").offset
    flags_at = stack_fmt.field("common_flags").offset
    for cpu in rec.cpu_events():
        types, offsets, raw = cpu.types, cpu.offsets, cpu.raw

        # Only the stack records get a Python step.
        def context(i: int, raw: bytes = raw, offsets: Sequence[int] = offsets) -> int:
            return raw[offsets[i] + flags_at] & _CONTEXT

        for j in cpu.indices_of({stack_fmt.id}):
            i = stack_owner(types, context, j, stack_fmt.id)
            if i is None or types[i] not in ids:
                continue
            # Same task as the event, or the stack is not that event's.
            mine = raw[offsets[j] + pid_at : offsets[j] + pid_at + 4]
            if mine != raw[offsets[i] + pid_at : offsets[i] + pid_at + 4]:
                continue
            values = stack_fmt.decode(raw, offsets[j], cpu.lengths[j])
            callers = values.get("caller") or []
            size = values.get("size")
            if isinstance(size, int) and size >= 0:
                callers = callers[:size]
            out[StackKey(cpu.cpu, cpu.stamp(i))] = chain_names(callers, ksyms)
    return out
