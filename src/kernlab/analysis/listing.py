"""The per-event listings of ``kernlab syscalls`` and ``kernlab faults``: filtered, decoded rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernlab.analysis.argfmt import ArgFormatter
from kernlab.analysis.fault_stats import ANON_KINDS, KERNEL, USER, fault_records, major_faults
from kernlab.analysis.kstacks import StackKey, event_stacks
from kernlab.analysis.symbolize import KernelSymbols, ProcessMaps, UserSymbolizer
from kernlab.analysis.syscall_stats import errno_name, iter_calls, syscall_namer
from kernlab.analysis.tasks import read_tasks
from kernlab.errors import BadInput
from kernlab.recording.reader import Recording


@dataclass
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


@dataclass
class Loss:
    """Events lost by the recording (every listing says so, never silently)."""

    lost: int
    written: int

    @property
    def percent(self) -> float:
        return 100.0 * self.lost / max(self.written, 1)


def recording_loss(rec: Recording) -> Loss:
    summary = rec.loss()
    lost = max(summary.total, summary.missed_in_pages)
    return Loss(lost, sum(c.entries for c in summary.per_cpu) + summary.total)


@dataclass
class SyscallListing:
    lines: list[SyscallLine]
    total_calls: int
    errors: int
    args_from_live_kernel: bool
    loss: Loss


@dataclass
class FaultLine:
    """One page fault, with its area, decoded error code and the faulting instruction's name."""

    time_s: float
    cpu: int
    pid: int
    comm: str
    mode: str
    """``user`` or ``kernel``: which tracepoint (page_fault_user / page_fault_kernel) fired."""
    address: int
    ip: int
    error_code: int
    meaning: str
    vma_kind: str
    vma: str | None
    where: str
    """binary:symbol+off for user instructions, kallsyms name for kernel ones."""
    major: bool | None = None
    """True when the fault read its page into the page cache (needs filemap events), else None."""
    kernel_stack: list[str] = field(default_factory=list)
    """Functions of the kernel stack recorded with the fault (``record --kstack``), innermost first."""


@dataclass
class FaultListing:
    lines: list[FaultLine]
    total_faults: int
    first_anon_writes: int
    file_backed: int
    kernel_mode: int
    loss: Loss = field(default_factory=lambda: Loss(0, 0))


def _start_ts(rec: Recording) -> int:
    firsts = [c.stamp(0) for c in rec.cpu_events() if len(c)]
    return min(firsts) if firsts else 0


def list_syscalls(
    rec: Recording, pids: set[int] | None = None, names: set[str] | None = None, failed_only: bool = False
) -> SyscallListing:
    if names:
        known = set(syscall_namer(rec.meta.machine).values())
        unknown = sorted(n for n in names if known and n not in known)
        if unknown:
            raise BadInput(
                f"no system call named {', '.join(unknown)} on {rec.meta.machine or 'this architecture'}"
                " (names as strace prints them: openat, mmap, ...)"
            )
    tasks = read_tasks(rec)
    start = _start_ts(rec)
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
    return SyscallListing(
        lines, len(lines), sum(1 for ln in lines if ln.errno), fmt.from_live_kernel, recording_loss(rec)
    )


def list_faults(
    rec: Recording,
    pids: set[int] | None = None,
    vma_kinds: set[str] | None = None,
    symbolize: bool = True,
) -> FaultListing:
    from kernlab.mm.fault_codes import decode_error_code
    from kernlab.proc.maps import KINDS

    unknown = sorted(set(vma_kinds or ()) - {*KINDS, "unknown"})
    if unknown:
        kinds = ", ".join([*KINDS, "unknown"])
        raise BadInput(f"--vma {', '.join(unknown)}: not an area kind (one of {kinds})")
    tasks = read_tasks(rec)
    start = _start_ts(rec)
    arch = rec.meta.machine or "x86_64"
    maps = ProcessMaps(rec, tasks.parent)
    users = UserSymbolizer(maps)
    kernel = KernelSymbols(rec.kallsyms_path)
    meanings: dict[int, str] = {}
    majors = major_faults(rec, maps)
    stacks = event_stacks(rec, {USER, KERNEL}, kernel)
    lines: list[FaultLine] = []
    for f in fault_records(rec):
        if pids and f.pid not in pids:
            continue
        vma = maps.find(f.pid, f.address)
        kind = vma.kind if vma else "unknown"
        if vma_kinds and kind not in vma_kinds:
            continue
        if f.error_code not in meanings:
            try:
                meanings[f.error_code] = decode_error_code(f.error_code, arch).summary
            except Exception:
                meanings[f.error_code] = f"{f.error_code:#x}"
        if f.kernel_mode:
            where = kernel.name(f.ip) or f"{f.ip:#x}"
        else:
            where = users.locate(f.pid, f.ip, with_symbol=symbolize).text
        lines.append(
            FaultLine(
                time_s=(f.ts - start) / 1e9,
                cpu=f.cpu,
                pid=f.pid,
                comm=tasks.name(f.pid),
                mode="kernel" if f.kernel_mode else "user",
                address=f.address,
                ip=f.ip,
                error_code=f.error_code,
                meaning=meanings[f.error_code],
                vma_kind=kind,
                vma=vma.label if vma else None,
                where=where,
                major=None if majors is None or f.kernel_mode else (f.ts, f.pid) in majors,
                kernel_stack=stacks.get(StackKey(f.cpu, f.ts), []),
            )
        )
    first = sum(
        1
        for ln in lines
        if ln.vma_kind in ANON_KINDS
        and not (ln.error_code & 1)
        and (ln.error_code & 2)
        and arch.startswith(("x86", "i"))
    )
    file_backed = sum(1 for ln in lines if ln.vma and ln.vma.startswith("/"))
    kernel_mode = sum(1 for ln in lines if ln.mode == "kernel")
    return FaultListing(lines, len(lines), first, file_backed, kernel_mode, recording_loss(rec))
