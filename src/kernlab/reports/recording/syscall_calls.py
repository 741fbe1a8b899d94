"""System calls of a recording as calls: each ``raw_syscalls:sys_enter`` paired with its exit.

The recording holds ``raw_syscalls:sys_enter`` (fields ``id``, ``args[6]``) and
``raw_syscalls:sys_exit`` (``id``, ``ret``), emitted by ``trace_sys_enter``/``trace_sys_exit`` in
the kernel's syscall entry/exit work (kernel/entry/syscall-common.c). An enter and the next exit of
the same thread are one call; its time is the difference of their trace-clock stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from kernlab.recording.reader import Recording
from kernlab.recording.syscall_names import MAX_ERRNO, exec_numbers, syscall_namer
from kernlab.reports.recording.off_cpu import off_cpu_intervals

__all__ = ["ENTER", "EXIT", "SyscallCall", "SyscallRecord", "iter_calls", "syscall_records"]

ENTER = "raw_syscalls:sys_enter"
EXIT = "raw_syscalls:sys_exit"

# The last item is the args tuple (or None) of an enter and the int ret of an exit: Any, so the
# hot loops that read it need no cast per record.
SyscallRecord: TypeAlias = tuple[int, int, int, int, int, Any]
"""(ts, cpu, kind, pid, nr, ret_or_args): kind 0 is an enter, kind 1 an exit."""


@dataclass
class SyscallCall:
    """One system call: enter and exit paired (either may be missing at the edges of a recording)."""

    pid: int
    """The thread id (common_pid) that made the call."""
    nr: int
    name: str
    enter_ts: int | None
    exit_ts: int | None
    ret: int | None
    args: tuple[int, ...] = ()
    cpu: int = 0
    stopped_ns: int = 0
    """kernlab's own ptrace stops inside the call (fork, clone, exec): not the program's time."""

    @property
    def duration_ns(self) -> int | None:
        if self.enter_ts is None or self.exit_ts is None:
            return None
        return self.exit_ts - self.enter_ts - self.stopped_ns

    @property
    def error(self) -> int | None:
        """errno when the call failed, else None."""
        if self.ret is not None and -MAX_ERRNO <= self.ret < 0:
            return -self.ret
        return None


def syscall_records(rec: Recording, with_args: bool) -> list[SyscallRecord]:
    """(ts, cpu, kind, pid, nr, ret_or_args) of every enter (kind 0) and exit (kind 1), time-sorted."""
    enter_fmt = rec.by_name.get(ENTER)
    exit_fmt = rec.by_name.get(EXIT)
    records: list[SyscallRecord] = []
    if enter_fmt is None or exit_fmt is None:
        return records
    enter_fields = ["common_pid", "id", "args"] if with_args else ["common_pid", "id"]
    enter_unpack = enter_fmt.unpacker(enter_fields).unpack_from
    exit_unpack = exit_fmt.unpacker(["common_pid", "id", "ret"]).unpack_from
    enter_id, exit_id = enter_fmt.id, exit_fmt.id
    start = rec.command_start_ts
    wanted = {enter_id, exit_id}
    need = {
        enter_id: enter_fmt.unpacker(enter_fields).size,
        exit_id: exit_fmt.unpacker(["common_pid", "id", "ret"]).size,
    }
    for cpu in rec.cpu_events():
        raw, cpu_no = cpu.raw, cpu.cpu
        offsets, stamps, types = cpu.offsets_for(wanted), cpu.stamps_for(wanted), cpu.types
        append = records.append
        lengths = cpu.lengths
        for i in cpu.indices_of(wanted):
            if lengths[i] < need[types[i]]:
                continue  # a damaged record, too short for its own fields
            if types[i] == enter_id:
                values = enter_unpack(raw, offsets[i])
                append((stamps[i], cpu_no, 0, values[0], values[1], values[2:] if with_args else None))
            else:
                pid, nr, ret = exit_unpack(raw, offsets[i])
                append((stamps[i], cpu_no, 1, pid, nr, ret))
    # Each CPU's list is already in time order; timsort merges those runs in near-linear time.
    records.sort(key=lambda r: (r[0], r[2]))
    if start:
        records = [r for r in records if r[0] >= start]
    return records


def iter_calls(rec: Recording, with_args: bool = True) -> list[SyscallCall]:
    """Every call in time order of its enter (or of its exit when the enter was not recorded)."""
    names = syscall_namer(rec.meta.machine)
    execs = exec_numbers(names)
    pending: dict[int, SyscallCall] = {}
    out: list[SyscallCall] = []
    stops = off_cpu_intervals(rec, traced_only=True)
    for ts, cpu, kind, pid, nr, extra in syscall_records(rec, with_args):
        if kind == 0:
            call = SyscallCall(
                pid, nr, names.get(nr, f"syscall_{nr}"), ts, None, None, tuple(extra or ()), cpu
            )
            # A previous call still pending never returned (exit, execve by another thread): it
            # stays in the list unfinished.
            pending[pid] = call
            out.append(call)
        else:
            ended = pending.pop(pid, None)
            if ended is None and nr in execs:  # execve by a non-leader thread (de_thread)
                other = next((p for p, c in pending.items() if c.nr == nr), None)
                ended = pending.pop(other) if other is not None else None
            if ended is not None and nr == -1:
                nr = ended.nr  # rt_sigreturn: the restored orig_ax (-1) hides the number at exit
            if ended is not None and ended.nr == nr:
                ended.exit_ts = ts
                ended.ret = extra
                if stops and ended.enter_ts is not None:
                    ended.stopped_ns = stops.within(ended.pid, ended.enter_ts, ts)
            else:
                out.append(SyscallCall(pid, nr, names.get(nr, f"syscall_{nr}"), None, ts, extra, (), cpu))
    return out
