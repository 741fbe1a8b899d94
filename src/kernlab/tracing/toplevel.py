"""Changes to tracefs's top level that are always undone, even after kernlab is SIGKILLed.

Some kernels offer a feature only at the top level (Debian's 6.1: function_graph, max_graph_depth
and kprobe_events exist there and not inside instances). kernlab then changes top-level files
only when nobody else is using them, and keeps the values it replaces in the kernel itself: a
journal instance named ``kernlab-<pid>-<start>-toplevel<n>`` whose trace buffer holds one
trace_marker line with the saved values as JSON. Leaving the ``with`` block restores them and
removes the journal; if kernlab dies first, the next run's stale cleanup finds the journal
(its owner is gone), restores the values and removes it. Nothing is written outside tracefs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from kernlab.errors import TracingError
from kernlab.tracing.instance import JOURNAL_TAG, Instance, restore_journal, write_settings_back
from kernlab.tracing.tracefs import try_write

__all__ = [
    "JOURNAL_PURPOSE",
    "TopLevelBusy",
    "in_use_by_others",
    "read_setting",
    "restore_journal",
    "top_level_changes",
]

JOURNAL_PURPOSE = "toplevel"

# What an untouched file reads as: the kernel prints a comment or "no pid" for "nothing set".
_EMPTY_READINGS = ("#### all functions enabled ####", "no pid")
# Files that list every choice with the current one in [brackets].
_CHOICE_FILES = frozenset({"trace_clock"})
# Files that print a number with a remark after it.
_SIZE_FILES = frozenset({"buffer_size_kb"})


class TopLevelBusy(TracingError):
    """The top level is in use by another tool: kernlab leaves it alone."""


def read_setting(root: Path, name: str) -> str:
    """A top-level file's setting as it must be written back ("" for the kernel's empty forms).

    Raises the OSError itself (a locked-down kernel refuses even reads of these files with EPERM,
    which a probe reports as such).
    """
    with open(root / name, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    if name in _CHOICE_FILES:
        # "[local] global counter ...": the choice in brackets is the setting.
        return next((w[1:-1] for w in text.split() if w.startswith("[") and w.endswith("]")), "")
    if name in _SIZE_FILES:
        # "7 (expanded: 1408)": a buffer never used yet, which the kernel grows to 1408 KiB the
        # first time tracing starts. Writing back "7" would leave a real 7 KiB buffer for whoever
        # traces next; the size it would have had is the one to restore.
        match = re.search(r"\(expanded:\s*(\d+)\)", text)
        if match:
            return match.group(1)
        return text.split()[0] if text.split() else ""
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#") and line.strip() not in _EMPTY_READINGS
    ]
    return " ".join(lines)


def in_use_by_others(root: Path) -> str | None:
    """Why the top level is busy (a tracer on, function filters or a pid filter set), or None."""
    tracer = read_setting(root, "current_tracer")
    if tracer != "nop":
        return f"the top-level tracer is {tracer!r}"
    for name in ("set_ftrace_filter", "set_ftrace_pid", "set_graph_function"):
        try:
            if (root / name).exists() and read_setting(root, name):
                return f"top-level {name} is set"
        except PermissionError:
            # A locked-down kernel hides function tracing from everyone: nobody can have set it.
            continue
    return None


def _readable_setting(root: Path, name: str) -> str | None:
    try:
        return read_setting(root, name)
    except PermissionError:
        return None  # hidden by lockdown: the write that follows will be refused the same way


@contextmanager
def top_level_changes(root: Path, changes: Sequence[tuple[str, str]]) -> Iterator[None]:
    """Write ``(file, value)`` pairs at the top level in order; undo them in reverse on exit.

    Raises TopLevelBusy when another tool is using the top level, OSError when the kernel refuses
    to show a setting. The values replaced are kept
    in a journal instance first, so a SIGKILL between the writes and the undo is repaired by the
    next run's stale cleanup (:func:`restore_journal`).
    """
    busy = in_use_by_others(root)
    if busy:
        raise TopLevelBusy(
            f"{busy}: kernlab does not change another tool's tracing",
            key="errors.tracing.top_level_busy",
            fields={"setting": busy},
        )
    readings = {name: _readable_setting(root, name) for name, _ in changes if (root / name).exists()}
    saved = [(name, value) for name, value in readings.items() if value is not None]
    written: list[str] = []
    journal = Instance.create(root, purpose=JOURNAL_PURPOSE)
    try:
        try_write(journal.file("buffer_size_kb"), "4")
        record = JOURNAL_TAG + json.dumps(saved)
        err = try_write(journal.file("trace_marker"), record)
        if err is not None:
            raise TracingError(
                f"cannot keep a journal of top-level settings: {err.strerror}",
                key="errors.tracing.no_journal",
                fields={"reason": str(err.strerror)},
            ) from err
        try:
            for name, value in changes:
                err = try_write(root / name, value)
                if err is not None:
                    raise TracingError(
                        f"cannot write {value!r} to {root / name}: {err.strerror}",
                        path=root / name,
                        key="errors.tracing.cannot_write",
                        fields={"value": repr(value), "path": str(root / name), "reason": str(err.strerror)},
                    ) from err
                written.append(name)
            yield
        finally:
            # Only what was written is written back: a setting the kernel hid was not changed
            # (its write is refused the same way), and writing "" there would fail for nothing.
            back = [(name, readings[name]) for name in dict.fromkeys(written) if name in readings]
            failures = [f"{name}: hidden, cannot be restored" for name, value in back if value is None]
            known = [(name, value) for name, value in back if value is not None]
            failures += write_settings_back(root, known)
            if failures:
                raise TracingError(
                    "could not restore top-level tracefs settings: " + "; ".join(failures),
                    key="errors.tracing.restore_failed",
                    fields={"failures": "; ".join(failures)},
                )
    finally:
        journal.remove()
