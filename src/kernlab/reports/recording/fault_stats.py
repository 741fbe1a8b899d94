"""Page faults of a recording counted: by process, kind of area, error code and instruction.

Each address is placed in the VMA that existed at the fault's time: the address-space timeline
(:mod:`.address_space`) replays the mmap/munmap/mremap/mprotect/brk calls from the exec
snapshot; a process with no timeline falls back on its saved snapshots. A fault in no VMA is
``no-vma`` (the kernel sends SIGSEGV); one the recording cannot place is ``unknown``.

Whether a fault was *major* comes from page-cache insertions during the fault
(:mod:`.major_faults`) when they were recorded; otherwise the ``maj_flt`` counter of
/proc/PID/stat the recorder saved at exit, which gives a count but not which faults.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from kernlab.errors import KernlabError
from kernlab.mm.fault_codes import FaultCode, decode_error_code
from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.layout import MapsSnapshot
from kernlab.recording.reader import Recording
from kernlab.reports.recording.address_space import (
    NO_VMA,
    AddressSpaces,
    KindLayers,
    TimelineMaps,
    address_spaces,
    time_corrections,
)
from kernlab.reports.recording.columns import as_list, count_values, counter_of, pick, split_by_key
from kernlab.reports.recording.fault_events import ANON_KINDS, KERNEL, USER, fault_columns, first_anon_write
from kernlab.reports.recording.kstacks import KERNEL_STACK, event_stacks
from kernlab.reports.recording.major_faults import major_faults
from kernlab.reports.recording.symbolize import ProcessMaps, UserSymbolizer
from kernlab.reports.recording.tasks import Tasks, read_tasks
from kernlab.reports.recording.vma_index import VmaIndex

__all__ = [
    "CodeRow",
    "CountRow",
    "FaultStatistics",
    "IpRow",
    "MajorFaults",
    "ProcessFaults",
    "SignalCount",
    "StackRow",
    "decode_code",
    "fault_statistics",
    "faults_before_exec",
    "kernel_stack_rows",
]


@dataclass(frozen=True)
class CountRow:
    """A label, how many faults it has, and their share of all faults."""

    label: str
    count: int
    percent: float


@dataclass(frozen=True)
class CodeRow:
    code: int
    decoded: FaultCode | None
    """What the code's bits say (kernlab.mm.fault_codes); None on an arch with no decoder."""
    flags: list[str]
    count: int
    percent: float


@dataclass(frozen=True)
class IpRow:
    ip: int
    location: str
    """binary:symbol+offset (or binary+file offset when the binary has no symbol there)."""
    vma_kind: str
    count: int
    percent: float
    pid: int


@dataclass(frozen=True)
class StackRow:
    """A kernel path of faults (``record --kstack``): functions innermost first, and how often."""

    functions: list[str]
    count: int
    percent: float
    """Share of the faults that have a recorded stack."""


@dataclass(frozen=True)
class ProcessFaults:
    pid: int
    """The process (thread-group id); its threads' faults are summed."""
    comm: str
    user: int
    kernel: int
    minflt: int | None = None
    majflt: int | None = None
    """From /proc/PID/stat at the last snapshot (exit), when the recorder saved one."""
    threads: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class MajorFaults:
    """How many faults did I/O, and how that was found out."""

    count: int | None
    method: str
    """``page-cache`` (filemap events during the fault), ``counter`` (maj_flt at exit) or ``unknown``."""
    minor: int | None


@dataclass(frozen=True)
class SignalCount:
    """SIGSEGV or SIGBUS seen for the traced tasks (``signal`` events): sent and acted on."""

    signal: int
    generated: int
    delivered: int


@dataclass(frozen=True)
class FaultStatistics:
    total: int
    user: int
    kernel: int
    arch: str
    per_process: list[ProcessFaults]
    by_vma: list[CountRow]
    by_code: list[CodeRow]
    first_anon_writes: int
    """Not-present write faults in an anonymous area: each allocated a zeroed page."""
    major: MajorFaults
    top_ips: list[IpRow]
    unmapped: int
    """Faults in no VMA at their moment (``no-vma``: the kernel sent SIGSEGV, or a system call
    got EFAULT) plus those the recording cannot place (``unknown``: no snapshot)."""
    rusage_minflt: int | None = None
    rusage_majflt: int | None = None
    notes: list[str] = field(default_factory=list)
    top_kernel_stacks: list[StackRow] = field(default_factory=list)
    """The commonest kernel stacks of faults, when the recording has them (--kstack)."""
    faults_before_exec: int | None = None
    """Faults of the command's process before its execve (while kernlab held it), which its
    getrusage counts too: counted from /proc/PID/stat until the child was released, traced
    after. None when unknown (record -p, older recordings)."""
    no_vma: int = 0
    """Faults whose address was in no VMA at that moment."""
    write_protect: list[CountRow] = field(default_factory=list)
    """Writes to a present page (error code P and W) by what the kernel did, from the VMA's
    flags at that moment: keys of kernlab.mm.fault_codes (``faults.cause.cow``: private area,
    copy-on-write; ``faults.cause.shared_write``: shared area, write-notify/page_mkwrite;
    ``faults.cause.read_only``: not writable, SIGSEGV). Percent of these faults."""
    signals: list[SignalCount] = field(default_factory=list)
    """SIGSEGV/SIGBUS of the traced tasks, when the recording has signal events."""
    signal_events: bool = False
    """Whether the recording has signal events (else a signal is not known to be absent)."""
    address_space_changes: int = 0
    """mmap/munmap/mremap/mprotect/brk calls the timeline applied."""


def decode_code(code: int, arch: str) -> FaultCode | None:
    """The decoded error code, or None on an architecture kernlab has no decoder for."""
    try:
        return decode_error_code(code, arch)
    except KernlabError:
        return None


def fault_statistics(
    rec: Recording,
    tasks: Tasks | None = None,
    top: int = 10,
    symbolize: bool = True,
    spaces: AddressSpaces | None = None,
) -> FaultStatistics:
    """Count faults by process, VMA class, error code and instruction; find the major ones.

    ``tasks`` (read from the recording when not given) groups threads into processes;
    ``spaces`` is the address-space timeline (built when not given).
    """
    if tasks is None:
        tasks = read_tasks(rec)
    arch = rec.meta.machine or "x86_64"
    if spaces is None:
        spaces = address_spaces(rec, tasks)
    maps = TimelineMaps(rec, tasks, spaces)
    index = VmaIndex(KindLayers(spaces, "kind", ProcessMaps(rec, tasks.parent)))
    cause_index = VmaIndex(KindLayers(spaces, "cause"))
    by_cause: Counter[str] = Counter()
    per_pid_user: Counter[int] = Counter()
    per_pid_kernel: Counter[int] = Counter()
    by_kind: Counter[str] = Counter()
    by_code: Counter[int] = Counter()
    by_ip: Counter[tuple[int, int]] = Counter()
    first_anon = 0
    x86 = arch.startswith(("x86", "i"))
    for name, per_pid in ((USER, per_pid_user), (KERNEL, per_pid_kernel)):
        cols = fault_columns(rec, name)
        pid_counts = count_values(cols.pids)
        per_pid.update(pid_counts)
        if name == USER:
            if len(pid_counts) == 1:  # one thread: count plain ints, cheaper than tuples
                pid = next(iter(pid_counts))
                by_ip.update({(pid, ip): n for ip, n in counter_of(cols.ips).items()})
            else:
                by_ip.update(zip(as_list(cols.pids), as_list(cols.ips), strict=True))
        # Per pid: area kinds from sorted addresses; first writes from the subset of faults
        # whose error code says "not present, write" (x86: P bit 0 clear, W bit 1 set).
        if len(pid_counts) > 1:
            per_thread = split_by_key(cols.pids, [cols.addresses, cols.codes])
        for pid in pid_counts:
            if len(pid_counts) == 1:
                addresses, codes = cols.addresses, cols.codes
            else:
                addresses, codes = per_thread[pid]
            code_counts = count_values(codes)
            by_code.update(code_counts)
            kinds = index.kinds_of(pid, addresses)
            by_kind.update(kinds)
            protection = {c for c in code_counts if _present_write(c, arch)}
            if protection:
                picked = addresses if protection == set(code_counts) else pick(addresses, codes, protection)
                by_cause.update(cause_index.kinds_of(pid, picked))
            if not x86:
                continue
            firsts = {c for c in code_counts if not (c & 1) and c & 2}
            if not firsts:
                continue
            anon = sum(n for kind, n in kinds.items() if kind in ANON_KINDS)
            others = set(code_counts) - firsts
            if others:
                # Each address's area does not depend on the others: the first writes' share
                # is all faults' share less that of the other faults, the fewer ones.
                if sum(code_counts[c] for c in others) < sum(code_counts[c] for c in firsts):
                    kinds = index.kinds_of(pid, pick(addresses, codes, others))
                    anon -= sum(n for kind, n in kinds.items() if kind in ANON_KINDS)
                else:
                    kinds = index.kinds_of(pid, pick(addresses, codes, firsts))
                    anon = sum(n for kind, n in kinds.items() if kind in ANON_KINDS)
            first_anon += anon
    # Faults in a range whose area changed during the run, before its last change: counted
    # above with the last area there, moved to the area of their own moment.
    for fix in time_corrections(rec, spaces):
        (was_kind, was_cause), (kind, cause) = fix.counted, fix.actual
        by_kind[was_kind] -= 1
        by_kind[kind] += 1
        if x86 and first_anon_write(fix.code, arch):
            first_anon += (kind in ANON_KINDS) - (was_kind in ANON_KINDS)
        if _present_write(fix.code, arch):
            by_cause[was_cause] -= 1
            by_cause[cause] += 1
    by_kind = +by_kind  # drop the kinds corrected down to zero
    by_cause = +by_cause
    by_cause.pop("", None)  # present-write faults in no VMA are counted as no-vma
    user = sum(per_pid_user.values())
    kernel = sum(per_pid_kernel.values())
    total = user + kernel

    def pct(n: int) -> float:
        return round(100.0 * n / total, 1) if total else 0.0

    code_rows: list[CodeRow] = []
    notes: list[str] = []
    for code, n in by_code.most_common():
        decoded = decode_code(code, arch)
        code_rows.append(CodeRow(code, decoded, list(decoded.flags) if decoded else [], n, pct(n)))
    symbolizer = UserSymbolizer(maps)
    ips = []
    for (pid, ip), n in by_ip.most_common(top):
        loc = symbolizer.locate(pid, ip, with_symbol=symbolize)
        ips.append(IpRow(ip, loc.text, loc.vma_kind, n, pct(n), pid))
    processes = []
    last_snap: dict[int, MapsSnapshot] = {}
    for snap in rec.meta.maps:
        if snap.when in ("exit", "end") or snap.pid not in last_snap:
            last_snap[snap.pid] = snap
    by_process: dict[int, list[int]] = {}
    for tid in set(per_pid_user) | set(per_pid_kernel):
        by_process.setdefault(tasks.process_of(tid), []).append(tid)
    for pid, tids in sorted(by_process.items()):
        last = last_snap.get(pid)
        processes.append(
            ProcessFaults(
                pid,
                tasks.name(pid),
                sum(per_pid_user[t] for t in tids),
                sum(per_pid_kernel[t] for t in tids),
                last.minflt if last else None,
                last.majflt if last else None,
                sorted(tids),
            )
        )
    found = major_faults(rec, maps, spaces)
    if found is not None:
        major = MajorFaults(len(found), "page-cache", user - len(found))
    else:
        counted = [p.majflt for p in processes if p.majflt is not None]
        if counted:
            major_count = sum(counted)
            major = MajorFaults(major_count, "counter", None)
        else:
            major = MajorFaults(None, "unknown", None)
    rusage = rec.meta.rusage
    top_stacks = kernel_stack_rows(rec, top)
    protected = sum(by_cause.values())
    signals: dict[int, list[int]] = {}
    for seen in spaces.signals:
        counts = signals.setdefault(seen.sig, [0, 0])
        counts[seen.delivered] += 1
    return FaultStatistics(
        total=total,
        user=user,
        kernel=kernel,
        arch=arch,
        per_process=processes,
        by_vma=[CountRow(k, n, pct(n)) for k, n in by_kind.most_common()],
        by_code=code_rows,
        first_anon_writes=first_anon,
        major=major,
        top_ips=ips,
        unmapped=by_kind.get("unknown", 0) + by_kind.get(NO_VMA, 0),
        rusage_minflt=rusage.minflt if rusage else None,
        rusage_majflt=rusage.majflt if rusage else None,
        notes=notes,
        top_kernel_stacks=top_stacks,
        faults_before_exec=faults_before_exec(rec),
        no_vma=by_kind.get(NO_VMA, 0),
        write_protect=[
            CountRow(k, n, round(100.0 * n / protected, 1) if protected else 0.0)
            for k, n in by_cause.most_common()
        ],
        signals=[SignalCount(sig, g, d) for sig, (g, d) in sorted(signals.items())],
        signal_events=spaces.has_signal_events,
        address_space_changes=len(spaces.changes),
    )


def _present_write(code: int, arch: str) -> bool:
    """A write to a present page (x86: P and W set; arm64: a permission fault on a write)."""
    decoded = decode_code(code, arch)
    return decoded is not None and decoded.present and decoded.write and not decoded.instruction


def faults_before_exec(rec: Recording) -> int | None:
    """Page faults of the command's process from its creation by kernlab to its execve.

    Those until its release are in ``meta.pre_exec_faults`` (from /proc/PID/stat); those after
    are the root pid's fault records before ``command_start_ts`` — a handful, so only the
    records before that time stamp are looked at.
    """
    counted = rec.meta.pre_exec_faults
    start = rec.command_start_ts
    if counted is None or rec.meta.attached or not start or not 0 < rec.meta.root_pid < 1 << 31:
        return None  # (a pid out of range is a damaged meta.json: nothing to count it with)
    fmts = [fmt for name in (USER, KERNEL) if (fmt := rec.by_name.get(name)) is not None]
    if not fmts:
        return sum(counted)
    ids = {fmt.id for fmt in fmts}
    pid_field = fmts[0].field("common_pid")  # the common header: the same in every event
    order: Literal["little", "big"] = "little" if fmts[0].endian == "<" else "big"
    root = rec.meta.root_pid.to_bytes(pid_field.size, order, signed=True)
    lo, hi = pid_field.offset, pid_field.offset + pid_field.size
    traced = 0
    for cpu in rec.cpu_events():
        end = cpu.index_at(start)
        types, raw = cpu.types, cpu.raw
        for i, offset in enumerate(cpu.offsets_between(0, end)):
            if types[i] in ids and raw[offset + lo : offset + hi] == root:
                traced += 1
    return sum(counted) + traced


def kernel_stack_rows(rec: Recording, top: int) -> list[StackRow]:
    """The ``top`` commonest kernel stacks recorded with faults from execve on."""
    stack_id = _kernel_stack_id(rec)
    if stack_id < 0 or not any(cpu.indices_of({stack_id}) for cpu in rec.cpu_events()):
        return []
    start = rec.command_start_ts
    stacks = event_stacks(rec, {USER, KERNEL}, KernelSymbols(rec.kallsyms_path))
    counts = Counter(tuple(chain) for key, chain in stacks.items() if key.ts >= start and chain)
    total = sum(counts.values())
    return [StackRow(list(chain), n, round(100.0 * n / total, 1)) for chain, n in counts.most_common(top)]


def _kernel_stack_id(rec: Recording) -> int:
    fmt = rec.by_name.get(KERNEL_STACK)
    return fmt.id if fmt is not None else -1
