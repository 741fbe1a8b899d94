"""`kernlab syscalls`: the system calls of a recording, one decoded line each (strace -f -T)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernlab.errors import BadInput
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.path_strings import read_path_strings
from kernlab.recording.syscall_names import errno_name, syscall_namer, table_series, unknown_numbers
from kernlab.reports.recording.clock import first_record_ts
from kernlab.reports.recording.loss import Loss, recording_loss
from kernlab.reports.recording.source import RecordingSource, as_recording
from kernlab.reports.recording.syscall_args import ArgFormatter, StringMatcher
from kernlab.reports.recording.syscall_calls import iter_calls
from kernlab.reports.recording.tasks import read_tasks

__all__ = ["PathStringsSummary", "SyscallLine", "SyscallsReport", "build"]


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
    strings: dict[str, str]
    """Argument name -> the string captured at entry (file names), bytes that are not UTF-8
    as backslash escapes; empty when none was captured."""


@dataclass(frozen=True)
class PathStringsSummary:
    """Whether file names could be shown, and how many were."""

    status: str
    """``captured`` (BPF ran during the recording), ``refused`` (the kernel refused a step) or
    ``absent`` (the recording has no path_strings.json: an older kernlab or another recorder)."""
    refused_step: str
    refused_errno: str
    matched: int
    """Calls of the listing shown with their strings."""
    unmatched: int
    """Calls with a string argument shown as an address: no captured record matched, or it was
    not read (the call failed with an error it may return before copying its arguments)."""
    dropped: int
    """Records the BPF ring buffer had no room for."""


@dataclass(frozen=True)
class SyscallsReport:
    """The calls that pass the filters, in time order, and what the listing rests on."""

    lines: list[SyscallLine]
    total_calls: int
    errors: int
    args_from_live_kernel: bool
    """Argument names came from this machine's tracefs: the recording has no syscall formats."""
    loss: Loss
    path_strings: PathStringsSummary
    unknown_numbers: list[int] = field(default_factory=list)
    """Numbers seen past the end of kernlab's table (a kernel newer than it): shown as syscall_<nr>."""
    table_version: str | None = None


def _numbers(lines: list[SyscallLine]) -> set[int]:
    return {line.nr for line in lines}


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
                " (names as strace prints them: openat, mmap, ...)",
                key="errors.report.no_syscall_named"
                if rec.meta.machine
                else "errors.report.no_syscall_named_here",
                fields={"name": ", ".join(unknown), "arch": rec.meta.machine},
            )
    tasks = read_tasks(rec)
    start = first_record_ts(rec)
    fmt = ArgFormatter(rec, rec.meta.machine or "x86_64")
    captured = read_path_strings(rec.root)
    matcher = StringMatcher(captured, rec.meta.start_time_ns, rec.meta.end_time_ns, rec.meta.machine)
    lines: list[SyscallLine] = []
    matched = unmatched = 0
    for call in iter_calls(rec, with_args=True):
        # Every call is matched, shown or not: matching goes through each thread's calls in order.
        wanted = [i for i in fmt.string_args(call.name) if i < len(call.args) and call.args[i]]
        strings = matcher.take(call.pid, call.nr, call.args) if wanted else None
        if pids and call.pid not in pids:
            continue
        if names and call.name not in names:
            continue
        err = call.error
        if failed_only and err is None:
            continue
        if wanted:
            if strings and all(strings.get(i) is not None and strings[i].length > 0 for i in wanted):
                matched += 1
            else:
                unmatched += 1
        specs = fmt.specs(call.name) or []
        texts = {
            specs[i].name: r.data.decode("utf-8", "backslashreplace")
            for i, r in (strings or {}).items()
            if i < len(specs) and r.length > 0
        }
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
                args_text=fmt.format_args(call.name, call.args, strings) if call.args else "…",
                ret=call.ret,
                errno=errno_name(err) if err is not None else None,
                duration_ns=call.duration_ns,
                strings=texts,
            )
        )
    status = "captured" if captured.captured else "refused" if captured.present else "absent"
    summary = PathStringsSummary(
        status, captured.refused_step, captured.refused_errno, matched, unmatched, captured.dropped
    )
    return SyscallsReport(
        lines,
        len(lines),
        sum(1 for ln in lines if ln.errno),
        fmt.from_live_kernel,
        recording_loss(rec),
        summary,
        unknown_numbers(_numbers(lines), rec.meta.machine),
        table_series(rec.meta.machine),
    )
