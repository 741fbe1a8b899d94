"""The address space of each traced process over time: every VMA that existed, and when.

A recording saves /proc/PID/maps only at exec (or attach) and at exit; in between, the address
space changes through system calls, which the recording holds with their raw arguments and
return values (``raw_syscalls:sys_enter``/``sys_exit``). Starting from the exec snapshot, this
module replays them as the kernel applied them (mm/mmap.c, mm/mremap.c, mm/mprotect.c):

* ``mmap``/``mmap2``: a new area ``[ret, ret + PAGE_ALIGN(len))`` with its prot, MAP_SHARED or
  MAP_PRIVATE, file offset and file (the fd's), replacing whatever was there (MAP_FIXED);
* ``munmap``: the range is removed, splitting an area cut in the middle;
* ``mremap``: the area grows or shrinks in place, or moves to ``ret`` (the old range is
  unmapped unless MREMAP_DONTUNMAP);
* ``mprotect``/``pkey_mprotect``: the range gets the new permissions (areas split at its ends);
* ``brk``: the heap is ``[start_brk, PAGE_ALIGN(brk))``, start_brk being the first brk seen;
* fork copies the parent's areas at that moment (a thread shares its process's); exec starts
  over from that exec's snapshot.

Files are known by the fd passed to mmap: the open/openat/dup/close calls recorded before it
tell which open file that fd was, named by the file name the recording captured for that open
(recording/path_strings.py), or else by the exit snapshot when it still shows the same mapping
(same start and file offset). perf's PERF_RECORD_MMAP2 keeps the same facts per
mapping (start, length, pgoff, prot, flags, file).

The stack grows by faults, not system calls (``expand_stack`` in the fault path): its area is
taken down to where the exit snapshot shows it ended up.

Faults are then attributed to the area that existed *at their time* (:meth:`AddressSpaces.vma_at`).
Counting hundreds of thousands of faults one by one would cost more than the rest of the
report, so :class:`KindLayers` gives :class:`~kernlab.reports.recording.vma_index.VmaIndex` the
address ranges whose answer is the same at every moment, and :func:`time_corrections` looks at
the few faults whose answer depends on their time one by one.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from kernlab.errors import KernlabError
from kernlab.mm.fault_codes import fault_cause
from kernlab.proc.elfload import elf_load_layout
from kernlab.proc.maps import SPECIAL_NAMES, Vma, parse_maps
from kernlab.recording.layout import MapsSnapshot
from kernlab.recording.path_strings import read_path_strings
from kernlab.recording.reader import Recording
from kernlab.recording.syscall_names import syscall_namer
from kernlab.reports.recording.fault_events import KERNEL, USER
from kernlab.reports.recording.symbolize import ProcessMaps
from kernlab.reports.recording.syscall_args import StringMatcher
from kernlab.reports.recording.syscall_calls import ENTER, EXIT, SyscallCall
from kernlab.reports.recording.tasks import Tasks

__all__ = [
    "NO_VMA",
    "AddressSpaces",
    "Area",
    "AreaChange",
    "FileInfo",
    "KindLayers",
    "ProcessTimeline",
    "SignalSeen",
    "TimeCorrection",
    "TimelineMaps",
    "address_spaces",
    "mm_calls",
    "time_corrections",
]

NO_VMA = "no-vma"
"""The kind of a fault whose address was in no VMA at that moment (the kernel sends SIGSEGV)."""

# uapi values shared by x86, arm64, riscv (include/uapi/asm-generic/mman-common.h, mman.h)
PROT_READ, PROT_WRITE, PROT_EXEC = 0x1, 0x2, 0x4
MAP_SHARED, MAP_TYPE = 0x01, 0x0F
MAP_ANONYMOUS, MAP_GROWSDOWN = 0x20, 0x100
MREMAP_DONTUNMAP = 4
F_DUPFD, F_DUPFD_CLOEXEC = 0, 1030
EFAULT = 14
SIGBUS, SIGSEGV = 7, 11
MAX_ERRNO = 4095
STACK_RLIMIT = 8 << 20
"""_STK_LIM, the default RLIMIT_STACK: how far the stack may grow when no later snapshot says."""
STACK_GUARD_GAP = 256 << 12
"""stack_guard_gap (mm/mmap.c): 256 pages kept free below the stack."""

SIGNAL_GENERATE = "signal:signal_generate"
SIGNAL_DELIVER = "signal:signal_deliver"
EXEC_EVENT = "sched:sched_process_exec"
FORK_EVENT = "sched:sched_process_fork"

OPENS = frozenset({"open", "openat", "openat2", "creat"})
MMAPS = frozenset({"mmap", "mmap2"})
PROTECTS = frozenset({"mprotect", "pkey_mprotect"})
EXECS = frozenset({"execve", "execveat"})


@dataclass
class FileInfo:
    """An open file that some mapping is of: its fd when mapped, and what names it."""

    fd: int | None
    opened_ts: int | None
    path: str | None = None
    """None while nothing recorded names it (the recording keeps registers, not file names)."""
    dev: str = "00:00"
    inode: int = 0

    @property
    def label(self) -> str:
        """The path, or ``fd N`` when no recorded fact names the file."""
        if self.path:
            return self.path
        return f"fd {self.fd}" if self.fd is not None else "?"


@dataclass(frozen=True)
class Area:
    """One VMA as the timeline knows it (the fields of perf's MMAP2 record)."""

    start: int
    end: int
    perms: str
    """``rwxp`` as /proc/PID/maps prints it (``s`` for MAP_SHARED)."""
    pgoff: int
    """File offset of ``start`` in bytes (0 for anonymous memory)."""
    file: int | None
    """Index in :attr:`AddressSpaces.files`, None for anonymous memory."""
    name: str
    """What maps prints after the inode for anonymous areas: ``[heap]``, ``[stack]``, ``[vdso]``, ""."""
    since: int
    """Trace time of the call that made it (the snapshot's base time for areas from a snapshot)."""
    origin: str
    """``exec``, ``attach``, ``fork``, or the system call that made this piece (``mmap``, ...)."""
    growsdown: bool = False

    @property
    def writable(self) -> bool:
        return self.perms[1] == "w"

    @property
    def shared(self) -> bool:
        return self.perms[3] == "s"


@dataclass(frozen=True)
class AreaChange:
    """One system call that changed an address space (for ``--json`` and tests)."""

    ts: int
    pid: int
    """The thread that made the call."""
    process: int
    call: str
    start: int
    end: int
    """The range it changed ([start, end)); for mremap the new range."""
    perms: str = ""
    pgoff: int = 0
    file: str | None = None
    """The mapped file (path, or ``fd N``), for mmap."""


@dataclass
class ProcessTimeline:
    """The states of one process's address space: ``states[i]`` from ``times[i]`` on."""

    pid: int
    exe: str
    times: list[int] = field(default_factory=list)
    states: list[list[Area]] = field(default_factory=list)
    ranges: list[tuple[int, int]] = field(default_factory=list)
    """The address range each state changed from the one before ([0, 2**64) for a new one)."""
    bases: list[int] = field(default_factory=list)
    """Indices of the states that start a new address space (exec, fork)."""
    exes: list[str] = field(default_factory=list)
    """The executable of each base (for binary-text, binary-data ...)."""
    stack_starts: dict[int, int] = field(default_factory=dict)
    """Base index -> where its stack started at that moment (below it the stack grew by faults)."""
    end_snapshot: list[Vma] | None = None
    no_vma_faults_possible: bool = True
    """False when nothing in the recording hints at a fault outside every VMA (no SIGSEGV or
    SIGBUS, no EFAULT): then an address mapped only part of the time was faulted while mapped."""

    def index_at(self, ts: int) -> int:
        """The state in force at ``ts`` (the first one for earlier times)."""
        return max(bisect.bisect_right(self.times, ts) - 1, 0)

    def base_of(self, index: int) -> int:
        return self.bases[max(bisect.bisect_right(self.bases, index) - 1, 0)]

    def area_at(self, ts: int, address: int) -> Area | None:
        return _find(self.states[self.index_at(ts)], address)


@dataclass(frozen=True)
class SignalSeen:
    """A SIGSEGV or SIGBUS of a traced task: generated (sent) or delivered (acted on)."""

    ts: int
    tid: int
    sig: int
    code: int
    delivered: bool


@dataclass(frozen=True)
class TimeCorrection:
    """One fault whose area depended on its time: the fast count's answer and the true one."""

    user: bool
    pid: int
    code: int
    counted: tuple[str, str]
    """(kind, cause) the time-independent count gave it."""
    actual: tuple[str, str]


def _find(areas: list[Area], address: int) -> Area | None:
    i = bisect.bisect_right(areas, address, key=lambda a: a.start) - 1
    if i >= 0 and address < areas[i].end:
        return areas[i]
    return None


def _cut(areas: list[Area], lo: int, hi: int) -> list[Area]:
    """``areas`` without [lo, hi): areas across an end are split (file offsets follow)."""
    out: list[Area] = []
    for a in areas:
        if a.end <= lo or a.start >= hi:
            out.append(a)
            continue
        if a.start < lo:
            out.append(_piece(a, a.start, lo))
        if a.end > hi:
            out.append(_piece(a, hi, a.end))
    return out


def _piece(a: Area, lo: int, hi: int, **changes: Any) -> Area:
    """The part [lo, hi) of ``a`` (its file offset moves with its start)."""
    pgoff = a.pgoff + (lo - a.start) if a.file is not None else 0
    return replace(a, start=lo, end=hi, pgoff=pgoff, **changes)


def _moved(a: Area, lo: int, hi: int, delta: int, ts: int) -> Area:
    """The part [lo, hi) of ``a`` moved by ``delta`` bytes (mremap), its file offset kept."""
    pgoff = a.pgoff + (lo - a.start) if a.file is not None else 0
    return replace(a, start=lo + delta, end=hi + delta, pgoff=pgoff, since=ts, origin="mremap")


def _insert(areas: list[Area], new: Iterable[Area]) -> list[Area]:
    return sorted([*areas, *new], key=lambda a: a.start)


def _perms(prot: int, shared: bool) -> str:
    return (
        ("r" if prot & PROT_READ else "-")
        + ("w" if prot & PROT_WRITE else "-")
        + ("x" if prot & PROT_EXEC else "-")
        + ("s" if shared else "p")
    )


def _prot_of(perms: str) -> int:
    return (
        (PROT_READ if perms[0] == "r" else 0)
        | (PROT_WRITE if perms[1] == "w" else 0)
        | (PROT_EXEC if perms[2] == "x" else 0)
    )


def _signed(value: int, bits: int = 64) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _ok(call: SyscallCall) -> bool:
    return call.ret is not None and not (-MAX_ERRNO <= call.ret < 0)


class AddressSpaces:
    """Every traced process's address-space timeline, built once per recording."""

    def __init__(self, rec: Recording, tasks: Tasks, calls: list[SyscallCall] | None = None) -> None:
        self.rec = rec
        self.tasks = tasks
        self.page = _page_size(rec)
        self.files: list[FileInfo] = []
        self.timelines: dict[int, ProcessTimeline] = {}
        self.changes: list[AreaChange] = []
        self.signals: list[SignalSeen] = []
        self._fds: dict[int, dict[int, int]] = {}  # process -> fd -> file index
        self._brk: dict[int, tuple[int | None, int | None]] = {}  # process -> (start_brk, brk)
        self._kinds: dict[tuple[int, int], list[str]] = {}  # (process, state) -> kind per area
        self._segments: dict[int, _Segments] = {}
        self._bss_ends: dict[tuple[str, int], tuple[int, int] | None] = {}
        self._strings = _string_matcher(rec)
        self._build(calls if calls is not None else mm_calls(rec))

    # --- building -------------------------------------------------------------------------

    def _file_index(self, info: FileInfo) -> int:
        self.files.append(info)
        return len(self.files) - 1

    def _snapshot_vmas(self, snap: MapsSnapshot) -> list[Vma]:
        try:
            return parse_maps(self.rec.maps_text(snap) or "")
        except KernlabError:
            return []

    def _snapshot_areas(self, snap: MapsSnapshot, ts: int, origin: str) -> list[Area]:
        vmas = self._snapshot_vmas(snap)
        files: dict[tuple[str, int], int] = {}
        areas = []
        for v in vmas:
            index = None
            if v.path is not None:
                key = (v.path, v.inode)
                if key not in files:
                    files[key] = self._file_index(FileInfo(None, None, v.path, v.dev, v.inode))
                index = files[key]
            name = "" if v.path is not None else v.name
            areas.append(
                Area(
                    v.start, v.end, v.perms, v.offset, index, name, ts, origin, growsdown=v.name == "[stack]"
                )
            )
        return sorted(areas, key=lambda a: a.start)

    def _push(self, tl: ProcessTimeline, ts: int, state: list[Area], lo: int, hi: int) -> None:
        if tl.times and ts < tl.times[-1]:
            ts = tl.times[-1]  # one thread's exit stamped before another's: keep the order
        tl.times.append(ts)
        tl.states.append(state)
        tl.ranges.append((lo, hi))

    def _new_base(
        self, pid: int, ts: int, areas: list[Area], exe: str, origin: str, tl: ProcessTimeline | None = None
    ) -> ProcessTimeline:
        if tl is None:
            tl = ProcessTimeline(pid, exe)
            self.timelines[pid] = tl
        tl.bases.append(len(tl.states))
        tl.exes.append(exe)
        stack = next((a for a in areas if a.name == "[stack]"), None)
        if stack is not None:
            tl.stack_starts[len(tl.states)] = stack.start
        self._push(tl, ts, areas, 0, 1 << 64)
        self._brk[pid] = (None, None)
        heap = next((a for a in areas if a.name == "[heap]"), None)
        if heap is not None and origin != "fork":
            self._brk[pid] = (heap.start, heap.end)
        return tl

    def _build(self, calls: list[SyscallCall]) -> None:
        rec, tasks = self.rec, self.tasks
        snaps: dict[int, list[MapsSnapshot]] = {}
        for snap in rec.meta.maps:
            snaps.setdefault(snap.pid, []).append(snap)
        for found in snaps.values():
            found.sort(key=lambda s: s.time_ns)
        execs = self._exec_times(calls)
        forks = self._fork_events()
        # (ts, order, what, payload): bases before the calls of the same moment
        ops: list[tuple[int, int, str, object]] = []
        for pid, times in execs.items():
            for ts in times:
                ops.append((ts, 0, "exec", pid))
        for ts, parent, child in forks:
            ops.append((ts, 1, "fork", (parent, child)))
        for call in calls:
            when = call.exit_ts if call.exit_ts is not None else call.enter_ts
            if when is not None and call.name not in EXECS:
                ops.append((when, 2, "call", call))
        ops.sort(key=lambda op: (op[0], op[1]))
        used_exec: dict[int, int] = {}
        start = rec.command_start_ts
        for pid, found in snaps.items():
            attach = [s for s in found if s.when == "attach"]
            if attach:
                areas = self._snapshot_areas(attach[0], 0, "attach")
                self._new_base(pid, 0, areas, attach[0].exe, "attach")
        for ts, _order, what, payload in ops:
            if what == "exec":
                assert isinstance(payload, int)
                pid = payload
                k = used_exec.get(pid, 0)
                exec_snaps = [s for s in snaps.get(pid, []) if s.when == "exec"]
                if k >= len(exec_snaps):
                    continue
                used_exec[pid] = k + 1
                base_ts = min(ts, start) if pid == rec.meta.root_pid and k == 0 and start else ts
                areas = self._snapshot_areas(exec_snaps[k], base_ts, "exec")
                self._new_base(pid, base_ts, areas, exec_snaps[k].exe, "exec", self.timelines.get(pid))
            elif what == "fork":
                assert isinstance(payload, tuple)
                parent, child = payload
                pproc = tasks.process_of(parent)
                self._fds[child] = dict(self._fds.get(pproc, {}))
                if tasks.processes and child not in tasks.processes:
                    continue  # a thread: it shares its process's address space
                ptl = self.timelines.get(pproc)
                if ptl is None or child in self.timelines:
                    continue
                state = ptl.states[ptl.index_at(ts)]
                copied = [_piece(a, a.start, a.end, origin="fork") for a in state]
                base = ptl.base_of(ptl.index_at(ts))
                tl = self._new_base(child, ts, copied, ptl.exes[ptl.bases.index(base)], "fork")
                self._brk[child] = self._brk.get(pproc, (None, None))
                if base in ptl.stack_starts:
                    tl.stack_starts[0] = ptl.stack_starts[base]
            else:
                assert isinstance(payload, SyscallCall)
                self._apply(payload, ts)
        self._finish(snaps)

    def _exec_times(self, calls: list[SyscallCall]) -> dict[int, list[int]]:
        """pid -> the times its successful execs began (execve's enter; else the exec event)."""
        events: dict[int, list[int]] = {}
        if EXEC_EVENT in self.rec.by_name:
            for event in self.rec.iter_events({EXEC_EVENT}):
                pid = event.fields.get("pid")
                if isinstance(pid, int):
                    events.setdefault(pid, []).append(event.ts)
        enters: dict[int, list[int]] = {}
        for call in calls:
            if call.name in EXECS and call.enter_ts is not None:
                enters.setdefault(self.tasks.process_of(call.pid), []).append(call.enter_ts)
        if not events:  # no sched events: the execve calls that returned 0
            for call in calls:
                if call.name in EXECS and call.ret == 0 and call.enter_ts is not None:
                    events.setdefault(self.tasks.process_of(call.pid), []).append(call.enter_ts)
            return events
        out: dict[int, list[int]] = {}
        for pid, times in events.items():
            mine = sorted(enters.get(pid, []))
            for ts in sorted(times):
                i = bisect.bisect_right(mine, ts) - 1
                out.setdefault(pid, []).append(mine[i] if i >= 0 else ts)
        return out

    def _fork_events(self) -> list[tuple[int, int, int]]:
        out = []
        if FORK_EVENT in self.rec.by_name:
            for event in self.rec.iter_events({FORK_EVENT}):
                parent, child = event.fields.get("parent_pid"), event.fields.get("child_pid")
                if isinstance(parent, int) and isinstance(child, int):
                    out.append((event.ts, parent, child))
        return out

    def _apply(self, call: SyscallCall, ts: int) -> None:
        name = call.name
        proc = self.tasks.process_of(call.pid)
        fds = self._fds.setdefault(proc, {})
        args = call.args
        if not args or not _ok(call):
            return
        ret = call.ret
        assert ret is not None
        if name in OPENS or name == "memfd_create":
            path = None
            found = self._strings.take(call.pid, call.nr, args) if self._strings is not None else None
            if found:
                text = next(iter(found.values())).data.decode(errors="replace")
                path = text if name in OPENS else f"/memfd:{text}"
            fds[ret] = self._file_index(FileInfo(ret, ts, path or None))
            return
        if name == "close":
            fds.pop(_signed(args[0], 32), None)
            return
        if name == "close_range":
            lo, hi = args[0] & 0xFFFFFFFF, args[1] & 0xFFFFFFFF
            for fd in [fd for fd in fds if lo <= fd <= hi]:
                del fds[fd]
            return
        if name in ("dup", "dup2", "dup3") or (
            name == "fcntl" and args[1] & 0xFFFFFFFF in (F_DUPFD, F_DUPFD_CLOEXEC)
        ):
            old = _signed(args[0], 32)
            if old in fds:
                fds[ret] = fds[old]
            return
        tl = self.timelines.get(proc)
        if tl is None:
            return
        state = tl.states[-1]
        page = self.page
        if name in MMAPS:
            addr = ret & ((1 << 64) - 1)
            length = (args[1] + page - 1) & -page
            prot, flags = args[2] & 0xFFFFFFFF, args[3] & 0xFFFFFFFF
            fd = _signed(args[4], 32)
            offset = args[5] * (page if name == "mmap2" else 1)
            shared = flags & MAP_TYPE in (MAP_SHARED, 3)
            index = None if flags & MAP_ANONYMOUS else fds.get(fd)
            if index is None and not flags & MAP_ANONYMOUS:
                fds[fd] = index = self._file_index(FileInfo(fd, None))
            area = Area(
                addr,
                addr + length,
                _perms(prot, shared),
                offset if index is not None else 0,
                index,
                "",
                ts,
                name,
                growsdown=bool(flags & MAP_GROWSDOWN),
            )
            self._push(tl, ts, _insert(_cut(state, addr, addr + length), [area]), addr, addr + length)
            label = self.files[index].label if index is not None else None
            self.changes.append(
                AreaChange(ts, call.pid, proc, name, addr, addr + length, area.perms, area.pgoff, label)
            )
        elif name == "munmap":
            addr, length = args[0], (args[1] + page - 1) & -page
            self._push(tl, ts, _cut(state, addr, addr + length), addr, addr + length)
            self.changes.append(AreaChange(ts, call.pid, proc, name, addr, addr + length))
        elif name in PROTECTS:
            addr, length = args[0], (args[1] + page - 1) & -page
            prot = args[2] & 0xFFFFFFFF
            inside = [
                _piece(
                    a, max(a.start, addr), min(a.end, addr + length), perms=_perms(prot, a.shared), since=ts
                )
                for a in state
                if a.start < addr + length and a.end > addr
            ]
            self._push(tl, ts, _insert(_cut(state, addr, addr + length), inside), addr, addr + length)
            self.changes.append(
                AreaChange(ts, call.pid, proc, name, addr, addr + length, _perms(prot, False)[:3])
            )
        elif name == "mremap":
            self._mremap(tl, call, ts, proc)
        elif name == "brk":
            self._brk_call(tl, call, ts, proc)

    def _mremap(self, tl: ProcessTimeline, call: SyscallCall, ts: int, proc: int) -> None:
        page = self.page
        state = tl.states[-1]
        old, old_len = call.args[0], (call.args[1] + page - 1) & -page
        new_len = (call.args[2] + page - 1) & -page
        flags = call.args[3]
        new = (call.ret or 0) & ((1 << 64) - 1)
        if old_len:
            source = [a for a in state if a.start < old + old_len and a.end > old]
        else:  # old_len 0: a second mapping of (part of) a shared area
            source = [a for a in state if a.start <= old < a.end]
        if not source:
            return
        delta = new - old
        if old_len:
            moved = [_moved(a, max(a.start, old), min(a.end, old + old_len), delta, ts) for a in source]
        else:
            moved = [_moved(source[0], old, old + new_len, delta, ts)]
        moved = [replace(m, end=min(m.end, new + new_len)) for m in moved if m.start < new + new_len]
        if moved and moved[-1].end < new + new_len:  # grown: the last area extends
            moved[-1] = replace(moved[-1], end=new + new_len)
        after = state
        if old_len and (new != old or new_len < old_len) and not flags & MREMAP_DONTUNMAP:
            after = _cut(after, old, old + old_len)
        after = _insert(_cut(after, new, new + new_len), moved)
        lo, hi = min(old, new), max(old + old_len, new + new_len)
        self._push(tl, ts, after, lo, hi)
        self.changes.append(AreaChange(ts, call.pid, proc, "mremap", new, new + new_len, source[0].perms))

    def _brk_call(self, tl: ProcessTimeline, call: SyscallCall, ts: int, proc: int) -> None:
        page = self.page
        start, current = self._brk.get(proc, (None, None))
        new = call.ret or 0
        if start is None:
            start = new  # the first brk answer is start_brk (nothing was allocated yet)
            self._brk[proc] = (start, new)
            return
        old_end = ((current or start) + page - 1) & -page
        new_end = (new + page - 1) & -page
        self._brk[proc] = (start, new)
        if new_end == old_end:
            return
        state = tl.states[-1]
        heap = next((a for a in state if a.name == "[heap]"), None)
        base = [a for a in state if a is not heap]
        lo = start & -page
        if new_end > lo:
            area = Area(lo, new_end, "rw-p", 0, None, "[heap]", heap.since if heap else ts, "brk")
            base = _insert(_cut(base, lo, new_end), [area])
        self._push(tl, ts, base, min(old_end, new_end), max(old_end, new_end))
        self.changes.append(AreaChange(ts, call.pid, proc, "brk", lo, new_end, "rw-p"))

    def _finish(self, snaps: dict[int, list[MapsSnapshot]]) -> None:
        """Name files from the last snapshots, grow stacks, and read the signals."""
        ends: dict[int, list[Vma]] = {}
        for pid, found in snaps.items():
            last = [s for s in found if s.when in ("exit", "end")]
            if last and pid in self.timelines:
                vmas = self._snapshot_vmas(last[-1])
                ends[pid] = vmas
                self.timelines[pid].end_snapshot = vmas
        for pid, tl in self.timelines.items():
            last_vmas = ends.get(pid)
            if last_vmas:
                _add_kernel_made_areas(tl, last_vmas)
                self._name_files(tl, last_vmas)
                self._grow_stack(tl, last_vmas)
            else:
                self._grow_stack(tl, None)
        self._read_signals()
        faulty = self._no_vma_hints()
        for pid, tl in self.timelines.items():
            tl.no_vma_faults_possible = faulty is None or pid in faulty

    def _name_files(self, tl: ProcessTimeline, vmas: list[Vma]) -> None:
        last_base = tl.bases[-1]
        for state in tl.states[last_base:]:
            for a in state:
                # the kernel's name (d_path) wins over the name the program opened it by
                # (a symlink, a relative path): maps prints that one
                if a.file is None or self.files[a.file].inode:
                    continue
                info = self.files[a.file]
                for v in vmas:
                    if v.path and v.start <= a.start < v.end and v.offset + (a.start - v.start) == a.pgoff:
                        info.path, info.dev, info.inode = v.path, v.dev, v.inode
                        break

    def _grow_stack(self, tl: ProcessTimeline, vmas: list[Vma] | None) -> None:
        """Take each base's [stack] down to where it grew (faults below it expand it)."""
        last_base = tl.bases[-1]
        final = next((v for v in vmas or [] if v.name == "[stack]"), None)
        for i, state in enumerate(tl.states):
            stack = next((a for a in state if a.name == "[stack]"), None)
            if stack is None:
                continue
            below = max((a.end for a in state if a.end <= stack.start), default=0)
            if final is not None and final.end == stack.end and tl.base_of(i) == last_base:
                low = final.start
            else:
                low = max(stack.end - STACK_RLIMIT, below + STACK_GUARD_GAP)
            low = max(low, below)
            if low < stack.start:
                tl.states[i] = _insert([a for a in state if a is not stack], [_piece(stack, low, stack.end)])

    def _read_signals(self) -> None:
        names = {n for n in (SIGNAL_GENERATE, SIGNAL_DELIVER) if n in self.rec.by_name}
        if not names:
            return
        for event in self.rec.iter_events(names):
            f = event.fields
            sig = f.get("sig")
            if sig not in (SIGSEGV, SIGBUS):
                continue
            delivered = event.name == SIGNAL_DELIVER
            tid = event.pid if delivered else f.get("pid")
            code = f.get("code")
            if isinstance(tid, int) and isinstance(sig, int):
                self.signals.append(
                    SignalSeen(event.ts, tid, sig, code if isinstance(code, int) else 0, delivered)
                )

    def _no_vma_hints(self) -> set[int] | None:
        """Processes that may have faulted outside every VMA; None when the recording cannot
        tell (no signal events): then every process may have."""
        if not {SIGNAL_GENERATE, SIGNAL_DELIVER} & set(self.rec.by_name):
            return None
        out = {self.tasks.process_of(s.tid) for s in self.signals}
        for proc in self.rec.meta.processes:
            status = proc.exit_status
            if status is not None and status & 0x7F in (SIGSEGV, SIGBUS):
                out.add(proc.pid)
        return out

    def note_efault(self, calls: Iterable[SyscallCall]) -> None:
        """A call that returned EFAULT may have faulted in the kernel outside every VMA."""
        for call in calls:
            if call.ret == -EFAULT:
                tl = self.timelines.get(self.tasks.process_of(call.pid))
                if tl is not None:
                    tl.no_vma_faults_possible = True
                    self._segments.pop(tl.pid, None)

    # --- queries --------------------------------------------------------------------------

    @property
    def has_signal_events(self) -> bool:
        """Whether the recording has signal events (else no signal is known to be absent)."""
        return bool({SIGNAL_GENERATE, SIGNAL_DELIVER} & set(self.rec.by_name))

    def timeline_of(self, tid: int) -> ProcessTimeline | None:
        return self.timelines.get(self.tasks.process_of(tid)) or self.timelines.get(tid)

    def kinds(self, tl: ProcessTimeline, index: int) -> list[str]:
        """The kind of each area of state ``index`` (kernlab.proc.maps.KINDS)."""
        key = (tl.pid, index)
        found = self._kinds.get(key)
        if found is None:
            found = self._kinds[key] = self._classify(tl, index)
        return found

    def _classify(self, tl: ProcessTimeline, index: int) -> list[str]:
        """proc.maps.classify_vmas' rules, with one difference: a file mapped executable at any
        moment of this address space is a library all along (ld.so maps it read-only first)."""
        state = tl.states[index]
        base = tl.bases.index(tl.base_of(index))
        exe = tl.exes[base]
        exe_files = self._executable_files(tl, base)
        out: list[str] = []
        previous: Area | None = None
        for a in state:
            info = self.files[a.file] if a.file is not None else None
            if info is None:
                kind = SPECIAL_NAMES.get(a.name)
                if kind is None and a.name.startswith("[stack"):
                    kind = "stack"
                if kind is None and a.name and not a.name.startswith("[anon"):
                    kind = "special"
                if kind is None:
                    kind = "anon-mmap"
                    if (
                        previous is not None
                        and previous.file is not None
                        and previous.end == a.start
                        and a.writable
                        and previous.writable
                        and out[-1] in ("binary-data", "shared-lib")
                    ):
                        prev_info = self.files[previous.file]
                        bss_end = self._bss_end(state, previous.file, prev_info)
                        if bss_end is not None and a.start < bss_end:
                            kind = "binary-bss" if out[-1] == "binary-data" else "shared-lib"
            elif info.path is not None and info.path == exe:
                kind = "binary-text" if "x" in a.perms else "binary-data" if a.writable else "binary-rodata"
            elif a.file in exe_files or (info.path is not None and info.path in exe_files):
                kind = "shared-lib"
            else:
                kind = "file-mmap"
            out.append(kind)
            previous = a
        return out

    def _executable_files(self, tl: ProcessTimeline, base: int) -> set[int | str]:
        first = tl.bases[base]
        last = tl.bases[base + 1] if base + 1 < len(tl.bases) else len(tl.states)
        found: set[int | str] = set()
        for state in tl.states[first:last]:
            for a in state:
                if a.file is not None and "x" in a.perms:
                    found.add(a.file)
                    path = self.files[a.file].path
                    if path:
                        found.add(path)
        return found

    def _bss_end(self, state: list[Area], file: int, info: FileInfo) -> int | None:
        if not info.path:
            return None
        key = (info.path, info.inode)
        if key not in self._bss_ends:
            self._bss_ends[key] = elf_load_layout(info.path, info.inode)
        layout = self._bss_ends[key]
        if layout is None:
            return None
        first_vaddr, last_end = layout
        starts = [a.start for a in state if a.file == file and a.pgoff == 0]
        if not starts:
            return None
        page = self.page
        bias = min(starts) - (first_vaddr & -page)
        return (bias + last_end + page - 1) & -page

    def area_at(self, tid: int, ts: int, address: int) -> tuple[Area, str] | None:
        """The area holding ``address`` at time ``ts`` in ``tid``'s process, and its kind."""
        tl = self.timeline_of(tid)
        if tl is None:
            return None
        index = tl.index_at(ts)
        state = tl.states[index]
        i = bisect.bisect_right(state, address, key=lambda a: a.start) - 1
        if i < 0 or address >= state[i].end:
            return None
        return state[i], self.kinds(tl, index)[i]

    def vma_at(self, tid: int, ts: int, address: int) -> Vma | None:
        """:meth:`area_at` as a /proc/PID/maps line would show it (kernlab.proc.maps.Vma)."""
        found = self.area_at(tid, ts, address)
        return self.as_vma(*found) if found is not None else None

    def as_vma(self, area: Area, kind: str) -> Vma:
        info = self.files[area.file] if area.file is not None else None
        path = info.path if info is not None else None
        name = info.label if info is not None else area.name
        vma = Vma(
            area.start,
            area.end,
            area.perms,
            area.pgoff,
            info.dev if info is not None else "00:00",
            info.inode if info is not None else 0,
            path,
            name,
        )
        vma.kind = kind
        return vma

    def state_vmas(self, tid: int, ts: int) -> list[Vma]:
        """Every area at time ``ts`` (sorted), as Vmas."""
        tl = self.timeline_of(tid)
        if tl is None:
            return []
        index = tl.index_at(ts)
        return [self.as_vma(a, k) for a, k in zip(tl.states[index], self.kinds(tl, index), strict=True)]

    def latest_holding(self, tid: int, address: int) -> tuple[list[Vma], Vma] | None:
        """The newest state whose areas hold ``address``, and the area (for naming code)."""
        tl = self.timeline_of(tid)
        if tl is None:
            return None
        for index in range(len(tl.states) - 1, -1, -1):
            area = _find(tl.states[index], address)
            if area is not None:
                vmas = [
                    self.as_vma(a, k) for a, k in zip(tl.states[index], self.kinds(tl, index), strict=True)
                ]
                return vmas, next(v for v in vmas if v.start == area.start)
        return None

    def segments(self, tl: ProcessTimeline) -> _Segments:
        found = self._segments.get(tl.pid)
        if found is None:
            found = self._segments[tl.pid] = _Segments.build(self, tl)
        return found

    def value_at(self, tl: ProcessTimeline, ts: int, address: int) -> tuple[str, str]:
        """(kind, write cause) of ``address`` at ``ts``; (NO_VMA, "") in no area."""
        index = tl.index_at(ts)
        state = tl.states[index]
        i = bisect.bisect_right(state, address, key=lambda a: a.start) - 1
        if i < 0 or address >= state[i].end:
            return NO_VMA, ""
        return self.kinds(tl, index)[i], _write_cause(state[i])


KERNEL_MADE = frozenset({"[uprobes]"})
"""Areas the kernel maps with no system call of the task: ``[uprobes]`` (the page where a hit
uprobe's instruction runs out of line) appears at the first hit of one of kernlab's probes."""


def _add_kernel_made_areas(tl: ProcessTimeline, end: list[Vma]) -> None:
    """Put the kernel-made areas of the exit snapshot into every state of the last address
    space (from its exec or fork on) that does not hold them: no call says when they came, and
    nothing else can be mapped there before they do."""
    made = [v for v in end if v.name in KERNEL_MADE]
    if not made or not tl.states:
        return
    first = tl.bases[-1] if tl.bases else 0
    for index in range(first, len(tl.states)):
        state = tl.states[index]
        new = [
            Area(v.start, v.end, v.perms, 0, None, v.name, tl.times[first], "kernel")
            for v in made
            if _find(state, v.start) is None and _find(state, v.end - 1) is None
        ]
        if new:
            tl.states[index] = _insert(state, new)


def _write_cause(area: Area) -> str:
    """What a write to a present page of ``area`` does (mm.fault_codes.fault_cause's key)."""
    return fault_cause(present=True, write=True, instruction=False, perms=area.perms) or ""


def _page_size(rec: Recording) -> int:
    shift = rec.meta.config.get("CONFIG_ARM64_PAGE_SHIFT")
    if shift and str(shift).isdigit():
        return 1 << int(shift)
    return 4096


def _string_matcher(rec: Recording) -> StringMatcher | None:
    """The recording's captured path strings (recording/path_strings.py), when it has some."""
    try:
        strings = read_path_strings(rec.root)
    except KernlabError:
        return None
    if not strings.records:
        return None
    return StringMatcher(strings, rec.meta.start_time_ns, rec.meta.end_time_ns, rec.meta.machine)


@dataclass
class _Segment:
    """An address range whose (kind, cause) was one value while mapped, or changed (``late``)."""

    start: int
    end: int
    kind: str
    cause: str
    timed: bool
    """The answer depends on the fault's time (then kind/cause are those of the last change)."""
    last_change: int


@dataclass
class _Segments:
    items: list[_Segment]
    until: int
    """Faults before this time in a timed segment are looked at one by one."""

    @classmethod
    def build(cls, spaces: AddressSpaces, tl: ProcessTimeline) -> _Segments:
        edges: set[int] = set()
        for state in tl.states:
            for a in state:
                edges.add(a.start)
                edges.add(a.end)
        points = sorted(edges)
        # values[j]: (kind, cause) of elementary interval j, state by state (only where a
        # change's range covers it; elsewhere the value stays)
        history: list[list[tuple[int, tuple[str, str]]]] = [[] for _ in points]
        for index, (lo, hi) in enumerate(tl.ranges):
            state = tl.states[index]
            kinds = spaces.kinds(tl, index)
            first = max(bisect.bisect_right(points, lo) - 1, 0)
            for j in range(first, len(points) - 1):
                p = points[j]
                if p >= hi:
                    break
                i = bisect.bisect_right(state, p, key=lambda a: a.start) - 1
                value = (kinds[i], _write_cause(state[i])) if i >= 0 and p < state[i].end else (NO_VMA, "")
                seen = history[j]
                if not seen or seen[-1][1] != value:
                    seen.append((tl.times[index], value))
        items: list[_Segment] = []
        until = 0
        for j in range(len(points) - 1):
            seen = history[j]
            if not tl.no_vma_faults_possible:
                # Nothing hints at a fault outside every VMA: a fault here came while mapped.
                seen = _collapse([entry for entry in seen if entry[1][0] != NO_VMA])
            if not seen or (len(seen) == 1 and seen[0][1][0] == NO_VMA):
                continue
            timed = len(seen) > 1
            late = seen[-1][1]
            last = seen[-1][0] if timed else 0
            if timed:
                until = max(until, last)
            seg = _Segment(points[j], points[j + 1], late[0], late[1], timed, last)
            if (
                items
                and items[-1].end == seg.start
                and (items[-1].kind, items[-1].cause, items[-1].timed)
                == (
                    seg.kind,
                    seg.cause,
                    seg.timed,
                )
            ):
                items[-1].end = seg.end
                items[-1].last_change = max(items[-1].last_change, seg.last_change)
            else:
                items.append(seg)
        return cls(items, until)

    def find(self, address: int) -> _Segment | None:
        i = bisect.bisect_right(self.items, address, key=lambda s: s.start) - 1
        if i >= 0 and address < self.items[i].end:
            return self.items[i]
        return None


def _collapse(seen: list[tuple[int, tuple[str, str]]]) -> list[tuple[int, tuple[str, str]]]:
    out: list[tuple[int, tuple[str, str]]] = []
    for entry in seen:
        if not out or out[-1][1] != entry[1]:
            out.append(entry)
    return out


@dataclass(frozen=True)
class _Layer:
    start: int
    end: int
    kind: str


class KindLayers:
    """What :class:`~kernlab.reports.recording.vma_index.VmaIndex` reads (``vmas_for``): per
    process one layer of address ranges, each with the kind (``what="kind"``) or the write
    cause (``what="cause"``) that a fault there has — the last one for a range whose answer
    changed over time (:func:`time_corrections` fixes the faults that came before). A process
    with no timeline (no snapshot to start from) gets the saved snapshots of ``fallback``."""

    def __init__(
        self, spaces: AddressSpaces, what: str = "kind", fallback: ProcessMaps | None = None
    ) -> None:
        self.spaces = spaces
        self.what = what
        self.fallback = fallback
        self._cache: dict[int, list[list[_Layer]]] = {}

    def vmas_for(self, pid: int) -> Sequence[Sequence[Any]]:
        tl = self.spaces.timeline_of(pid)
        if tl is None:
            if self.fallback is None or self.what != "kind":
                return []
            return self.fallback.vmas_for(pid)
        found = self._cache.get(tl.pid)
        if found is None:
            segs = self.spaces.segments(tl).items
            layer = [_Layer(s.start, s.end, s.kind if self.what == "kind" else s.cause) for s in segs]
            merged: list[_Layer] = []
            for item in layer:
                if merged and merged[-1].end == item.start and merged[-1].kind == item.kind:
                    merged[-1] = _Layer(merged[-1].start, item.end, item.kind)
                else:
                    merged.append(item)
            found = self._cache[tl.pid] = [merged]
        return found

    def missing(self, pid: int) -> str:
        """What an address in no range is: no VMA ever there, or unknown without a timeline."""
        if self.spaces.timeline_of(pid) is None:
            return "unknown"
        return NO_VMA if self.what == "kind" else ""


def time_corrections(rec: Recording, spaces: AddressSpaces) -> list[TimeCorrection]:
    """The faults in a range whose answer changed over time, before its last change: the
    counted (last) answer and the one at the fault's own time. Only records before the latest
    such change are looked at, one by one."""
    until: dict[int, int] = {}
    for pid, tl in spaces.timelines.items():
        segs = spaces.segments(tl)
        if segs.until:
            until[pid] = segs.until
    if not until:
        return []
    limit = max(until.values())
    start = rec.command_start_ts
    out: list[TimeCorrection] = []
    for name in (USER, KERNEL):
        fmt = rec.by_name.get(name)
        if fmt is None:
            continue
        layout = fmt.unpacker(["common_pid", "address", "error_code"])
        unpack = layout.unpack_from
        ids = {fmt.id}
        for cpu in rec.cpu_events():
            end = cpu.index_at(limit)
            first = cpu.index_at(start) if start else 0
            indices = cpu.indices_of(ids)
            lo = bisect.bisect_left(indices, first)
            hi = bisect.bisect_left(indices, end)
            if lo >= hi:
                continue
            offsets = cpu.offsets_between(indices[lo], indices[hi - 1] + 1)
            base = indices[lo]
            raw, lengths = cpu.raw, cpu.lengths
            for i in itertools.islice(indices, lo, hi):
                if lengths[i] < layout.size:
                    continue
                pid, address, code = unpack(raw, offsets[i - base])
                found = spaces.timeline_of(pid)
                if found is None:
                    continue
                tl = found
                segs = spaces.segments(tl)
                ts = cpu.stamp(i)
                if ts >= segs.until:
                    continue
                seg = segs.find(address)
                if seg is None or not seg.timed or ts >= seg.last_change:
                    continue
                actual = spaces.value_at(tl, ts, address)
                counted = (seg.kind, seg.cause)
                if actual != counted:
                    out.append(TimeCorrection(name == USER, pid, code, counted, actual))
    return out


MM_CALLS = frozenset(
    {
        *OPENS,
        *MMAPS,
        *PROTECTS,
        *EXECS,
        "memfd_create",
        "close",
        "close_range",
        "dup",
        "dup2",
        "dup3",
        "fcntl",
        "munmap",
        "mremap",
        "brk",
    }
)
"""The calls that change an address space or the fd table mmap's fd is looked up in."""


class TimelineMaps(ProcessMaps):
    """ProcessMaps (for naming code) that looks in the timeline first: an instruction in a
    library loaded after exec and unloaded before exit is in no snapshot, but in the area the
    timeline had there (the newest state holding the address)."""

    def __init__(self, rec: Recording, tasks: Tasks, spaces: AddressSpaces) -> None:
        super().__init__(rec, tasks.parent)
        self.spaces = spaces

    def find_in_layer(self, pid: int, address: int) -> tuple[list[Vma], Vma] | None:
        found = self.spaces.latest_holding(pid, address)
        return found if found is not None else super().find_in_layer(pid, address)


def _wanted_records(
    rec: Recording, name: str, numbers: dict[int, str]
) -> list[tuple[int, int, int, tuple[int, ...]]]:
    """(ts, pid, nr, values) of the ``name`` records (sys_enter or sys_exit) whose ``id`` is
    in ``numbers``; values are the args (enter) or (ret,) (exit).

    A recording of a busy command holds millions of system calls and only a few of these, so
    the raw pages are searched with one regular expression (the event's type, six header
    bytes, one of the ids) and Python runs per match only; a match is kept when it starts
    exactly at a record of that event.
    """
    fmt = rec.by_name.get(name)
    if fmt is None:
        return []
    enter = fmt.has_field("args")
    fields = ["common_pid", "id", "args"] if enter else ["common_pid", "id", "ret"]
    layout = fmt.unpacker(fields)
    unpack = layout.unpack_from
    id_field = fmt.field("id")
    type_field = fmt.field("common_type")
    order: Literal["little", "big"] = "little" if fmt.endian == "<" else "big"
    ids = b"|".join(re.escape(nr.to_bytes(id_field.size, order, signed=True)) for nr in sorted(numbers))
    gap = id_field.offset - type_field.offset - type_field.size
    pattern = re.compile(
        re.escape(fmt.id.to_bytes(type_field.size, order)) + b".{%d}(?:" % gap + ids + b")", re.DOTALL
    )
    start = rec.command_start_ts
    out: list[tuple[int, int, int, tuple[int, ...]]] = []
    for cpu in rec.cpu_events():
        raw = cpu.raw
        offsets = cpu.offsets
        types, lengths = cpu.types, cpu.lengths
        pos = 0
        while True:
            m = pattern.search(raw, pos)
            if m is None:
                break
            at = m.start() - type_field.offset
            i = bisect.bisect_left(offsets, at)
            if i >= len(offsets) or offsets[i] != at:
                i = cpu.relocated.get(at, len(offsets))  # a folded per-call record
            if i >= len(offsets) or offsets[i] != at or types[i] != fmt.id or lengths[i] < layout.size:
                pos = m.start() + 1  # inside another record's data: look again one byte on
                continue
            pos = m.end()
            values = unpack(raw, at)
            ts = cpu.stamp(i)
            if values[1] in numbers and ts >= start:
                out.append((ts, values[0], values[1], tuple(values[2:])))
    out.sort()
    return out


def mm_calls(rec: Recording) -> list[SyscallCall]:
    """The calls of :data:`MM_CALLS` in time order, each enter paired with its thread's exit."""
    names = syscall_namer(rec.meta.machine)
    numbers = {nr: name for nr, name in names.items() if name in MM_CALLS}
    if not numbers:
        return []
    enters = _wanted_records(rec, ENTER, numbers)
    exits = _wanted_records(rec, EXIT, numbers)
    by_pid: dict[int, list[tuple[int, int, int]]] = {}
    for ts, pid, nr, values in exits:
        by_pid.setdefault(pid, []).append((ts, nr, values[0]))
    used: dict[int, int] = {}
    out: list[SyscallCall] = []
    for ts, pid, nr, args in enters:
        mine = by_pid.get(pid, [])
        k = used.get(pid, 0)
        while k < len(mine) and mine[k][0] < ts:
            k += 1
        call = SyscallCall(pid, nr, numbers[nr], ts, None, None, args)
        if k < len(mine) and mine[k][1] == nr:
            call.exit_ts, call.ret = mine[k][0], mine[k][2]
            k += 1
        used[pid] = k
        out.append(call)
    return out


def address_spaces(rec: Recording, tasks: Tasks, calls: list[SyscallCall] | None = None) -> AddressSpaces:
    """The address-space timelines of a recording (``calls``: its :func:`mm_calls`, when made)."""
    calls = calls if calls is not None else mm_calls(rec)
    spaces = AddressSpaces(rec, tasks, calls)
    spaces.note_efault(calls)
    return spaces
