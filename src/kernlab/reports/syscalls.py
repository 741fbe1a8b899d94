"""`kernlab syscalls`: the system calls of a recording, one decoded line each (strace -f -T)."""

from __future__ import annotations

from dataclasses import dataclass

from kernlab.errors import BadInput
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.syscall_names import errno_name, syscall_namer
from kernlab.reports.recording.clock import first_record_ts
from kernlab.reports.recording.loss import Loss, recording_loss
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.syscall_args import ArgFormatter
from kernlab.reports.recording.syscall_calls import iter_calls
from kernlab.reports.recording.tasks import read_tasks

__all__ = ["SyscallLine", "SyscallsReport", "build"]


@dataclass(frozen=True)
class SyscallLine:
    """One call as strace -f -T -tt would show it, times relative to the first record."""

    time_s: float
    cpu: int
    pid: int
    comm: str
    name: str
    nr: int
    args: list[int]
    args_text: str
    ret: int | None
    errno: str | None
    duration_ns: int | None


@dataclass(frozen=True)
class SyscallsReport:
    """The calls that pass the filters, in time order, and what the listing rests on."""

    lines: list[SyscallLine]
    total_calls: int
    errors: int
    args_from_live_kernel: bool
    """Argument names came from this machine's tracefs: the recording has no syscall formats."""
    loss: Loss


def build(
    recording: RecordingSource = DEFAULT_DIR,
    *,
    pids: set[int] | None = None,
    names: set[str] | None = None,
    failed_only: bool = False,
) -> SyscallsReport:
    """Every call of the recording (only threads ``pids``, calls ``names``, failed ones)."""
    rec = as_recording(recording)
    if names:
        known = set(syscall_namer(rec.meta.machine).values())
        unknown = sorted(n for n in names if known and n not in known)
        if unknown:
            raise BadInput(
                f"no system call named {', '.join(unknown)} on {rec.meta.machine or 'this architecture'}"
                " (names as strace prints them: openat, mmap, ...)"
            )
    tasks = read_tasks(rec)
    start = first_record_ts(rec)
    fmt = ArgFormatter(rec, rec.meta.machine or "x86_64")
    lines: list[SyscallLine] = []
    for call in iter_calls(rec, with_args=True):
        if pids and call.pid not in pids:
            continue
        if names and call.name not in names:
            continue
        err = call.error
        if failed_only and err is None:
            continue
        ts = call.enter_ts if call.enter_ts is not None else call.exit_ts
        lines.append(
            SyscallLine(
                time_s=((ts or start) - start) / 1e9,
                cpu=call.cpu,
                pid=call.pid,
                comm=tasks.name(call.pid),
                name=call.name,
                nr=call.nr,
                args=list(call.args),
                args_text=fmt.format_args(call.name, call.args) if call.args else "…",
                ret=call.ret,
                errno=errno_name(err) if err is not None else None,
                duration_ns=call.duration_ns,
            )
        )
    return SyscallsReport(
        lines, len(lines), sum(1 for ln in lines if ln.errno), fmt.from_live_kernel, recording_loss(rec)
    )
