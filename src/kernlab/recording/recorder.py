"""``kernlab record``: trace a command (or a running process) into a recording directory.

The entry point and the names callers import; the work is done by one module per job:

========================  ========================================================================
``session``               the steps of one recording, in order, and the clean-up on every way out
``spawn``                 the command held before execve (posix_spawn on a FIFO, or a forked
                          child on a pipe); checks of a ``-p`` PID
``arming``                the private tracefs instance: buffers, clock, events, sync markers
``watcher``               the ptrace stops: maps snapshots at exec and exit, forks, exits
``follow``                the wait loops of the run (the command, or ``-p`` until it ends)
``signals``               SIGINT/SIGTERM/SIGHUP turned into an orderly unwind
``drain``                 the per-CPU pages copied into the recording, and the loss counters
``finish``                what is known only at the end (exit, rusage, binaries, notes)
``directory``             the recording directory, and a previous recording moved aside
========================  ========================================================================

How a recording is made, and why:

1. Instances left behind by dead kernlab runs are removed (their owner pid/start time is gone).
2. A private tracefs instance gets the events, a per-CPU buffer and ``options/event-fork`` so the
   children of traced tasks are followed; the global tracer is never touched.
3. For a command, kernlab starts a child held before its execve (posix_spawn blocked in open()
   of a FIFO, or a fork waiting on a pipe). Its pid goes into ``set_event_pid``, the events are
   enabled, ptrace seizes it (exec/fork/clone/exit stops only), and only then is the child
   released to exec: no start-up event is lost and kernlab's own pid stays out of the filter.
4. A drain thread copies each CPU's ``trace_pipe_raw`` pages into ``cpus/cpu<N>.raw`` without
   parsing them (as trace-cmd's recorder does), waking a few times a second.
5. At the end tracing is turned off, the remaining (partial) pages are read, the per-CPU loss
   counters are saved, the instance is removed, and meta.json is written.
"""

from __future__ import annotations

from collections.abc import Callable

from kernlab.recording import session
from kernlab.recording.arming import (
    DEFAULT_BUFFER_KB,
    MIN_BUFFER_KB,
    SYNC_MARKER,
    default_buffer_kb,
    mem_available_kb,
)
from kernlab.recording.directory import KNOWN_ENTRIES, OLD_ENTRIES, prepare_output
from kernlab.recording.finish import exit_code_of
from kernlab.recording.session import DRAIN_INTERVAL_S, RecordOptions, RecordResult
from kernlab.recording.signals import RecordingInterrupted
from kernlab.recording.spawn import GO_FIFO, check_attachable, resolve_command
from kernlab.recording.spawn import spawn_held as _spawn_held
from kernlab.recording.watcher import ProcessWatcher

__all__ = [
    "DEFAULT_BUFFER_KB",
    "DRAIN_INTERVAL_S",
    "GO_FIFO",
    "KNOWN_ENTRIES",
    "MIN_BUFFER_KB",
    "OLD_ENTRIES",
    "SYNC_MARKER",
    "ProcessWatcher",
    "RecordOptions",
    "RecordResult",
    "RecordingInterrupted",
    "check_attachable",
    "default_buffer_kb",
    "exit_code_of",
    "mem_available_kb",
    "prepare_output",
    "record",
    "resolve_command",
]


def record(
    options: RecordOptions,
    on_phase: Callable[[str], None] | None = None,
    background_removal: bool = False,
) -> RecordResult:
    """Make one recording as ``options`` say (see :func:`kernlab.recording.session.record`).

    With ``background_removal`` the instance (already stopped, its pages saved) is removed by a
    thread while the caller goes on, e.g. to decode the recording: the caller must then call
    ``result.finish_cleanup()`` (in a ``finally``) before it exits.
    """
    # _spawn_held is looked up at each call, so that a caller who replaces it here (as the
    # fork-fallback test does, to act as a system without posix_spawn) is obeyed.
    from kernlab.recording import state

    try:
        result = session.record(options, on_phase, background_removal, start_held=_spawn_held)
    except BaseException as exc:  # broad on purpose: any way out leaves the recording marked cut short
        failure = state.record_failed(options.output, exc)
        if failure is exc:
            raise
        raise failure from exc
    # meta.json now holds the end and the per-CPU statistics: only now is the recording complete.
    state.mark_complete(result.directory)
    return result
