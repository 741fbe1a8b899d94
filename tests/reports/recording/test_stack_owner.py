"""Which event a kernel stack record belongs to, when an interrupt wrote between them.

The records are (event id, interrupt bits of common_flags) as a CPU's buffer holds them; the
sequences are the ones real recordings hold (tests/reports/test_kernel_paths.py records them)."""

from __future__ import annotations

from kernlab.reports.recording.kstacks import stack_owner

S = 0  # ftrace:kernel_stack
A, B, C, FAULT = 1, 2, 3, 4  # events
TASK, HARDIRQ, SOFTIRQ, NMI = 0, 0x08, 0x10, 0x40


def _owners(records: list[tuple[int, int]]) -> list[int | None]:
    types = [t for t, _ in records]
    contexts = [c for _, c in records]
    return [stack_owner(types, contexts.__getitem__, j, S) for j, t in enumerate(types) if t == S]


def test_the_stack_right_after_its_event() -> None:
    assert _owners([(A, TASK), (S, TASK)]) == [0]
    assert _owners([(A, TASK), (S, TASK), (B, TASK), (S, TASK)]) == [0, 2]
    assert _owners([(S, TASK)]) == [None]


def test_a_fault_in_hard_irq_context_between_an_event_and_its_stack() -> None:
    """mm_filemap_map_pages, then a perf sample's read of the user stack faulting in hard-IRQ
    context (no stack of its own), then the event's stack: in most `mv` recordings."""
    assert _owners([(A, TASK), (FAULT, HARDIRQ), (S, TASK)]) == [0]


def test_an_interrupts_event_and_stack_between_an_event_and_its_stack() -> None:
    records = [(A, TASK), (B, HARDIRQ), (S, HARDIRQ), (S, TASK)]
    assert _owners(records) == [1, 0]
    nested = [(A, TASK), (B, SOFTIRQ), (C, NMI), (S, NMI), (S, SOFTIRQ), (S, TASK)]
    assert _owners(nested) == [2, 1, 0]


def test_an_event_whose_stack_was_not_written_gets_none() -> None:
    """B's stack is missing: the stack after it in the same context is B's, not A's; a stack
    whose nearest same-context record is a stack has no event."""
    assert _owners([(A, TASK), (B, TASK), (S, TASK)]) == [1]
    assert _owners([(A, TASK), (S, TASK), (S, TASK)]) == [0, None]
    assert _owners([(A, HARDIRQ), (S, TASK)]) == [None]
