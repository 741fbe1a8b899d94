"""The strings behind path arguments (``openat``'s file name, ``renameat2``'s two names ...),
captured during a recording by BPF programs on the system-call tracepoints.

The trace events hold only the six argument registers; strace reads the strings from the
tracee's memory at each stop. Here BPF programs do that in the kernel, at the call's *exit*:
by then the kernel's own copy (getname, strndup_user ...) has faulted the string's pages in, so
``bpf_probe_read_user_str`` takes no exception. Nothing is read at entry: a page that is not
present makes even a nofault read take a page-fault exception in the traced task, which the
trace would show as the program's fault. Records ``(CLOCK_MONOTONIC ns, tid, tgid, pointer,
syscall nr, argument index, flags, length, bytes)`` go out through a ring buffer. A successful
execve returns into the new program, so a program on ``sched:sched_process_exec`` sends its
file name from the kernel's own copy. A hash map of traced thread-group ids, grown by a program
on ``sched:sched_process_fork``, limits it all to the recorded command and its descendants, as
``set_event_pid`` + ``event-fork`` does for the trace events.

Where the kernel takes it (x86-64 and arm64, whose ``pt_regs`` layouts are known here), one
*raw* tracepoint program on ``sys_exit`` does the work (BPF_RAW_TRACEPOINT_OPEN: called with
``struct pt_regs *`` and the return value; the call's number and arguments are still in
``pt_regs``): no program runs at ``sys_enter``, since every run there costs every system call
of every task — among them, under ``record --functions``, each return probe's own
``uretprobe`` call (a raw tracepoint program run costs ~90 ns here). The exec program's record
then does not know its call's pointer and dirfd: the reader pairs it with the thread's execve
(:data:`EXEC_UNBOUND`). Otherwise (another architecture, or the kernel refuses) an enter
program on ``raw_syscalls:sys_enter`` keeps each string call's registers for the exit program
on ``raw_syscalls:sys_exit``, both through perf_event_open, which builds a perf record of every
call first (~250 ns per call). ``path_strings.json`` says which (``attach``).

Files (docs/recording-format.md): ``path_strings.bin`` (the records) and ``path_strings.json``
(whether the capture ran and, if not, which step the kernel refused and why). Nothing is
written to tracefs; every program, map and perf event is a file descriptor of this process and
goes away with it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TypeVar

from kernlab.errors import BadInput, KernlabError
from kernlab.tracing import bpf
from kernlab.tracing.formats import EventFormat, parse_format
from kernlab.tracing.tracefs import read_live_file

__all__ = [
    "DATA_FILE",
    "MAX_STRING",
    "STATUS_FILE",
    "PathStringCapture",
    "PathStrings",
    "StringRecord",
    "capture",
    "exec_masks",
    "exec_user_name",
    "is_string_argument",
    "read_path_strings",
    "string_arguments",
]

DATA_FILE = "path_strings.bin"
STATUS_FILE = "path_strings.json"
MAGIC = b"KLPSTR2\n"
MAX_STRING = 4096
"""PATH_MAX: strace prints a path whole, up to this many bytes with its NUL."""
HEADER = struct.Struct("<QIIQiBBh")
"""ktime_ns (one stamp per call: of its exit, or of its entry where a sys_enter program kept
it), tid, tgid, pointer, syscall nr, argument index, flags (AT_EXIT ...),
length (incl. NUL; <0: -errno of the read; 0: not read)."""
RING_BYTES = 8 << 20
MAX_TASKS = 16384
PENDING_AT = -96
"""Stack offset of the pending entry the enter program builds (64 bytes)."""
PENDING_SIZE = 64
"""ktime u64, nr u32, mask u32 (the call's ``masks`` word), the six argument registers."""
PAGE = 4096
"""Reads are cut at this boundary: the smallest page of every architecture Linux runs on."""
NO_RETRY = 1 << 8
"""In a call's mask: an execve: a successful one's exit runs in the new program, its file name
comes from sched_process_exec instead."""
AT_DIRFD = 1 << 9
"""In a call's mask: argument 0 is the dirfd the kernel prefixes a relative name with (execveat)."""
AT_EXIT = 1
"""Record flag: the string was read at the call's exit (after the kernel's own copy)."""
NOT_READ = 2
"""Record flag: not read, since the call failed with an error it may return before it copies
its arguments (reading a page the kernel never touched would fault in the traced task)."""
EXEC_NAME = 4
"""Record flag: the kernel's own copy of an execve's file name (sched_process_exec ``filename``);
the data starts with the call's dirfd (int32, AT_FDCWD for execve), then the name."""
EXEC_UNBOUND = 8
"""Record flag (with EXEC_NAME): sent without the call's entry, so its pointer, number, argument
index and dirfd are not in the record: the reader pairs it with the thread's next execve or
execveat in the trace and takes them from there."""
AT_FDCWD = -100
SKIP_ERRNOS = (
    errno.EFAULT,
    errno.EINVAL,
    errno.EPERM,
    errno.EBADF,
    errno.ENOMEM,
    errno.ERANGE,
)
"""Errors a call may return before it copies its strings: its own copy faulted (EFAULT),
argument and flag checks (EINVAL, EBADF of an fd looked up first), capability checks (EPERM),
getname's allocation (ENOMEM), and name copies bounded below PATH_MAX (xattr names: ERANGE).
After any other error, and after success, the kernel has read the string: its pages are present."""
MAX_NR = 1023
"""Highest system-call number looked up (the tables end near 470; x32's bit 30 numbers are not)."""
DRAIN_INTERVAL_S = 0.05
REGS_AT = -256
"""Stack offset where the raw exit program copies the argument registers out of pt_regs."""
NR_AT = -48
"""Stack offset where the raw exit program reads the call's number out of pt_regs."""


@dataclass(frozen=True)
class RegsLayout:
    """Where ``struct pt_regs`` keeps a system call's arguments and number at its exit
    (arch/*/ptrace.h)."""

    args: tuple[int, int, int, int, int, int]
    """Offsets of arguments 0..5 at the sys_exit tracepoint."""
    nr: int
    """Offset of the number the call keeps up to its exit (x86 ``orig_ax``, arm64 ``syscallno``)."""
    nr_size: int


REGS_LAYOUTS: dict[str, RegsLayout] = {
    # r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax ...: the syscall ABI's
    # di, si, dx, r10, r8, r9 (ax holds the result by the exit).
    "x86_64": RegsLayout((112, 104, 96, 56, 72, 64), 120, 8),
    # regs[31], sp, pc, pstate, orig_x0, s32 syscallno: x1..x5 are untouched until the call
    # returns; x0 then holds the result and orig_x0 the first argument.
    "aarch64": RegsLayout((272, 8, 16, 24, 32, 40), 280, 4),
}

# `const char *` arguments that are NUL-terminated strings: paths, and the few names beside them
# (xattr and key names, mount's type). Never `buf`: write(2)'s data is not a C string.
STRING_ARG_NAMES = frozenset(
    {
        "filename",
        "pathname",
        "oldname",
        "newname",
        "path",
        "name",
        "specialfile",
        "special",
        "from_pathname",
        "to_pathname",
        "new_root",
        "put_old",
        "dev_name",
        "dir_name",
        "type",
        "uname",
        "u_name",
        "_type",
        "_description",
        "_fs_name",
        "_key",
    }
)
# A `char *` (not const) named so is an input path too (uselib, mount); `char * name` is an
# output buffer (gethostname) or a length-bounded one (sethostname), not a C string.
_NON_CONST_STRINGS = frozenset({"filename", "dev_name", "dir_name", "type"})


def is_string_argument(ctype: str, name: str) -> bool:
    """Whether a system-call argument (its C type and name in sys_enter_<name>/format) is a
    NUL-terminated string the capture reads."""
    ctype = " ".join(ctype.split())
    return (ctype == "const char *" and name in STRING_ARG_NAMES) or (
        ctype == "char *" and name in _NON_CONST_STRINGS
    )


def string_arguments(fmt: EventFormat) -> list[tuple[int, int]]:
    """(argument index, offset in the record) of every C-string argument of a sys_enter format."""
    args = [f for f in fmt.payload_fields if f.name != "__syscall_nr"]
    return [(index, f.offset) for index, f in enumerate(args) if is_string_argument(f.type, f.name)]


@dataclass(frozen=True)
class StringRecord:
    """One string argument of one system call (read at its exit, or the name an execve kept)."""

    ktime_ns: int
    """CLOCK_MONOTONIC (bpf_ktime_get_ns), the clock of meta.json's start/end_time_ns."""
    tid: int
    tgid: int
    pointer: int
    nr: int
    arg: int
    """Index of the argument among the call's arguments (0 = first)."""
    length: int
    """Bytes copied including the NUL; negative: -errno of the read; 0: not read (``not_read``)."""
    data: bytes
    """The string without its NUL (empty when it was not read or the read failed)."""
    at_exit: bool = False
    """Read at the call's exit, after the kernel's own copy of it (recordings made before
    kernlab read every string there have it only for strings whose entry read failed)."""
    not_read: bool = False
    """Not read: the call failed with an error it may return before copying its arguments
    (:data:`SKIP_ERRNOS`), so the string's page may never have been touched."""
    exec_name: bool = False
    """An execve's file name as the kernel kept it (sched_process_exec), its dirfd prefix
    (execveat: ``/dev/fd/N/``) taken off."""
    unbound: bool = False
    """An exec name sent without the call's entry (:data:`EXEC_UNBOUND`): ``pointer``, ``nr``
    and ``arg`` are 0 and ``data`` is the kernel's name, its dirfd prefix still on, until the
    reader pairs it with its call (:meth:`StringRecord.bind`)."""

    def bind(self, nr: int, args: tuple[int, ...], mask: int) -> StringRecord:
        """This unbound exec name as the string argument of call ``nr`` with ``args`` (``mask``:
        the call's :func:`string_masks` word)."""
        arg = next((i for i in range(6) if mask & (1 << i)), 0)
        dirfd = AT_FDCWD
        if mask & AT_DIRFD and args:
            dirfd = args[0] - (1 << 32) if args[0] & 0x80000000 else args[0] & 0xFFFFFFFF
        data = exec_user_name(self.data, dirfd) if self.length > 0 else self.data
        length = len(data) + 1 if 0 < self.length < MAX_STRING else self.length
        pointer = args[arg] if arg < len(args) else 0
        return replace(self, pointer=pointer, nr=nr, arg=arg, data=data, length=length, unbound=False)


@dataclass(frozen=True)
class PathStrings:
    """What a recording holds about path strings."""

    captured: bool
    """The BPF capture ran during the recording."""
    present: bool
    """The recording has path_strings.json (made by a kernlab that captures)."""
    refused_step: str = ""
    """When not captured: the bpf(2)/perf_event_open(2) step the kernel refused."""
    refused_errno: str = ""
    """... and its errno name (EPERM ...)."""
    calls: int = 0
    """System calls with a string argument the program read strings for."""
    dropped: int = 0
    """Records the ring buffer had no room for (the reader fell behind)."""
    records: list[StringRecord] = field(default_factory=list)


def read_path_strings(directory: Path) -> PathStrings:
    """path_strings.json and .bin of a recording; absent files mean an older recording."""
    try:
        status = json.loads((directory / STATUS_FILE).read_text())
    except FileNotFoundError:
        return PathStrings(False, False)
    except (OSError, ValueError) as exc:
        raise BadInput(
            f"{directory / STATUS_FILE}: {exc}",
            path=directory / STATUS_FILE,
            key="errors.os_error",
            fields={"path": str(directory / STATUS_FILE), "reason": str(exc)},
        ) from exc
    records: list[StringRecord] = []
    try:
        raw = (directory / DATA_FILE).read_bytes()
    except FileNotFoundError:
        raw = b""
    if raw and not raw.startswith(MAGIC):
        raise BadInput(
            f"{directory / DATA_FILE} is not a kernlab path-string file",
            path=directory / DATA_FILE,
            key="errors.recording.not_path_strings",
            fields={"path": str(directory / DATA_FILE)},
        )
    for body in bpf.ring_records(raw[len(MAGIC) :]):
        if len(body) < HEADER.size:
            break  # a file cut short (the recorder was killed mid-write)
        ktime, tid, tgid, pointer, nr, arg, flags, length = HEADER.unpack_from(body)
        at = HEADER.size
        if flags & EXEC_NAME:
            if len(body) < at + 4:
                break
            dirfd = struct.unpack_from("<i", body, at)[0]
            at += 4
        text = bytes(body[at : at + length - 1]) if length > 0 else b""
        unbound = bool(flags & EXEC_NAME and flags & EXEC_UNBOUND)
        if flags & EXEC_NAME and length > 0 and not unbound:
            text = exec_user_name(text, dirfd)
            length = len(text) + 1 if length < MAX_STRING else length
        records.append(
            StringRecord(
                ktime,
                tid,
                tgid,
                pointer,
                nr,
                arg,
                length,
                text,
                bool(flags & AT_EXIT),
                bool(flags & NOT_READ),
                bool(flags & EXEC_NAME),
                unbound,
            )
        )
    return PathStrings(
        captured=bool(status.get("captured")),
        present=True,
        refused_step=str(status.get("refused_step", "")),
        refused_errno=str(status.get("refused_errno", "")),
        calls=int(status.get("calls", 0)),
        dropped=int(status.get("dropped", 0)),
        records=records,
    )


def exec_user_name(kernel_name: bytes, dirfd: int) -> bytes:
    """The name execve/execveat was given, from the kernel's copy of it (``bprm->filename``).

    fs/exec.c alloc_bprm keeps the name as given when the dirfd is AT_FDCWD or the name is
    absolute, else writes ``/dev/fd/<dirfd>/<name>`` (``/dev/fd/<dirfd>`` for AT_EMPTY_PATH's
    ``""``). An absolute name that itself starts with ``/dev/fd/<dirfd>/`` reads the same as a
    relative one: it is given back relative (the kernel keeps nothing that tells them apart)."""
    if dirfd == AT_FDCWD:
        return kernel_name
    prefix = b"/dev/fd/%d" % dirfd
    if kernel_name == prefix:
        return b""
    if kernel_name.startswith(prefix + b"/"):
        return kernel_name[len(prefix) + 1 :]
    return kernel_name


# ------------------------------------------------------------------------------------------------
# the programs


@dataclass(frozen=True)
class _Maps:
    """The BPF maps the programs share (each a file descriptor of this process)."""

    masks: bpf.Map
    """Array by system-call number: which arguments are strings."""
    pids: bpf.Map
    """Hash of the traced thread-group ids."""
    pending: bpf.Map
    """Hash by thread id: the call a thread is in, kept at its entry."""
    live: bpf.Map
    """One counter: an upper bound on the entries of ``pending``."""
    scratch: bpf.Map
    """Per-CPU record buffer."""
    ring: bpf.Map
    """The ring buffer the records go out through."""
    stats: bpf.Map
    """One counter: records dropped for want of room in the ring."""


def _enter_program(
    maps: _Maps,
    args_offset: int,
    every_task: bool = False,
) -> bytes:
    """On raw_syscalls:sys_enter: for a call whose number has string arguments (``masks``: bit i
    set for argument i) made by a traced process, keep the call's argument registers in
    ``pending`` under the thread's id. Nothing is read here: a string whose page is not present
    would make the read take a page-fault exception in the traced task (nofault reads still
    trap; the exception is traced as ``page_fault_kernel`` though nothing is faulted in), and
    that fault would be counted as the program's.

    ``ctx`` is the raw_syscalls:sys_enter record (``id`` at 8, ``args[6]`` at ``args_offset``):
    only where the raw sys_exit program cannot run (:meth:`PathStringCapture._attach_calls`)."""
    a = bpf.Asm()
    a.mov_reg(6, 1)  # r6 = ctx
    a.load(a.DW, 1, 6, 8)  # id
    a.jump_if_gt(1, MAX_NR, "out")  # also -1 (no system call), unsigned
    _string_mask(a, maps, 1)
    _traced_task(a, maps, every_task)
    a.call(bpf.Helper.KTIME_GET_NS)
    a.store_reg(a.DW, 10, PENDING_AT, 0)
    a.load(a.DW, 1, 6, 8)
    a.store_reg(a.W, 10, PENDING_AT + 8, 1)
    a.store_reg(a.W, 10, PENDING_AT + 12, 9)
    for index in range(6):
        a.load(a.DW, 1, 6, args_offset + 8 * index)
        a.store_reg(a.DW, 10, PENDING_AT + 16 + 8 * index, 1)
    _count_pending(a, maps.live, 1, "counted")
    a.label("counted")
    a.store_reg(a.W, 10, -4, 7)  # key: the tid
    a.mov_imm(4, bpf.BPF_ANY)
    a.map_call(bpf.Helper.MAP_UPDATE_ELEM, maps.pending.fd, -4, PENDING_AT)
    a.label("out")
    a.mov_imm(0, 0)  # 0: no perf sample besides (nobody reads the perf event itself)
    a.exit()
    return a.assemble()


def _string_mask(a: bpf.Asm, maps: _Maps, nr: int) -> None:
    """r9 = which arguments of the call whose number is in register ``nr`` are strings; to
    ``out`` when none (most calls). Uses the stack slot at -8."""
    a.store_reg(a.W, 10, -8, nr)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.masks.fd, -8)
    a.jump_if_eq(0, 0, "out")
    a.load(a.W, 9, 0, 0)
    a.jump_if_eq(9, 0, "out")


def _traced_task(a: bpf.Asm, maps: _Maps, every_task: bool) -> None:
    """r7 = tgid << 32 | tid; to ``out`` unless the process is traced (or ``every_task``). Uses
    the stack slot at -4."""
    a.call(bpf.Helper.GET_CURRENT_PID_TGID)
    a.mov_reg(7, 0)
    if not every_task:
        a.rsh_imm(0, 32)
        a.store_reg(a.W, 10, -4, 0)
        a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.pids.fd, -4)
        a.jump_if_eq(0, 0, "out")


def _emit(a: bpf.Asm, maps: _Maps, extra: int, done: str) -> None:
    """Send the record in r8 (r0: the string's length with its NUL, <= 0: header alone) to the
    ring; count a drop when it has no room. ``extra``: bytes between the header and the string."""
    a.store_reg(a.H, 8, 30, 0)
    a.jump_if_sgt(0, 0, done + "_sized")
    a.mov_imm(0, 0)
    a.label(done + "_sized")
    a.jump_if_gt(0, MAX_STRING, done)  # never taken; bounds the size for the verifier
    a.mov_reg(3, 0)
    a.add_imm(3, HEADER.size + extra)
    a.load_map_fd(1, maps.ring.fd)
    a.mov_reg(2, 8)
    a.mov_imm(4, bpf.BPF_RB_NO_WAKEUP)
    a.call(bpf.Helper.RINGBUF_OUTPUT)
    a.jump_if_eq(0, 0, done)
    a.store_imm(a.W, 10, -12, 0)  # no room: count the drop
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.stats.fd, -12)
    a.jump_if_eq(0, 0, done)
    a.mov_imm(1, 1)
    a.atomic_add64(0, 0, 1)


def _count_pending(a: bpf.Asm, live: bpf.Map, delta: int, done: str) -> None:
    """Add ``delta`` to ``live``'s one counter: an upper bound on the entries in ``pending``
    (raised before an entry is kept, lowered after one is deleted), so the exit program of a call
    nobody is waiting on ends after an inlined array read instead of a hash lookup. Uses the
    stack slot at -8 and r0-r2."""
    a.store_imm(a.W, 10, -8, 0)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, live.fd, -8)
    a.jump_if_eq(0, 0, done)
    a.mov_imm(1, delta)
    a.atomic_add64(0, 0, 1)


def _forget_pending(a: bpf.Asm, maps: _Maps) -> None:
    """The programs' common end: at ``forget`` delete the thread's pending call (its id at -4)
    and lower the count; at ``out`` return 0."""
    a.label("forget")
    a.map_call(bpf.Helper.MAP_DELETE_ELEM, maps.pending.fd, -4)
    a.jump_if_ne(0, 0, "out")
    _count_pending(a, maps.live, -1, "out")
    a.label("out")
    a.mov_imm(0, 0)
    a.exit()


def _exit_entry_from_pending(a: bpf.Asm, maps: _Maps, id_offset: int, ret_offset: int) -> None:
    """Prologue of the exit program on the raw_syscalls:sys_exit event (``ctx``: its record):
    r9 = the thread's pending entry, r8 = the record buffer, r7 = pid_tgid, r1 = the result;
    then on to ``not_exec`` (or ``out``/``forget``)."""
    # No call pending anywhere (most calls): done.
    a.store_imm(a.W, 10, -8, 0)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.live.fd, -8)
    a.jump_if_eq(0, 0, "lookup")
    a.load(a.DW, 1, 0, 0)
    a.jump_if_eq(1, 0, "out")
    a.label("lookup")
    a.call(bpf.Helper.GET_CURRENT_PID_TGID)
    a.mov_reg(7, 0)
    a.store_reg(a.W, 10, -4, 7)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.pending.fd, -4)
    a.jump_if_eq(0, 0, "out")
    a.mov_reg(9, 0)  # r9 = the pending entry
    a.store_imm(a.W, 10, -8, 0)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.scratch.fd, -8)
    a.jump_if_eq(0, 0, "forget")
    a.mov_reg(8, 0)  # r8 = this CPU's record buffer
    a.load(a.DW, 1, 6, id_offset)  # the exit's id must be the pending call's
    a.load(a.W, 2, 9, 8)
    a.jump_if_ne_reg(1, 2, "forget")
    a.load(a.DW, 1, 6, ret_offset)
    a.load(a.W, 2, 9, 12)
    a.and_imm(2, NO_RETRY)
    a.jump_if_eq(2, 0, "not_exec")
    a.jump_if_eq(1, 0, "forget")  # an execve that succeeded: this is the new program


def _register_blocks(offsets: tuple[int, ...], most: int = 64) -> list[tuple[int, int]]:
    """(start, size) of the few reads that copy the registers at ``offsets`` out of pt_regs,
    each at most ``most`` bytes (arm64's orig_x0 lies 272 bytes past x1)."""
    blocks: list[tuple[int, int]] = []
    for offset in sorted(set(offsets)):
        if blocks and offset + 8 - blocks[-1][0] <= most:
            blocks[-1] = (blocks[-1][0], offset + 8 - blocks[-1][0])
        else:
            blocks.append((offset, 8))
    return blocks


def read_syscall_nr(a: bpf.Asm, regs: RegsLayout, slot: int, dst: int) -> None:
    """Register ``dst`` = the number of the call whose ``struct pt_regs *`` is ``ctx``'s first
    argument (r6 = ctx), read through the stack ``slot``; to ``out`` when the read fails."""
    a.store_imm(a.DW, 10, slot, 0)
    a.mov_reg(1, 10)
    a.add_imm(1, slot)
    a.mov_imm(2, regs.nr_size)
    a.load(a.DW, 3, 6, 0)
    a.add_imm(3, regs.nr)
    a.call(bpf.Helper.PROBE_READ_KERNEL)
    a.jump_if_ne(0, 0, "out")
    a.load(a.W if regs.nr_size == 4 else a.DW, dst, 10, slot)


def copy_syscall_args(a: bpf.Asm, regs: RegsLayout, at: int) -> list[int]:
    """Copy the call's six argument registers out of pt_regs (r6 = ctx, as above) to the stack
    from ``at`` up, in a few reads; to ``out`` when one fails. Returns each argument's stack offset."""
    stack_of: dict[int, int] = {}  # offset in pt_regs -> where its copy lies on the stack
    for start, size in _register_blocks(regs.args):
        a.mov_reg(1, 10)
        a.add_imm(1, at)
        a.mov_imm(2, size)
        a.load(a.DW, 3, 6, 0)
        a.add_imm(3, start)
        a.call(bpf.Helper.PROBE_READ_KERNEL)
        a.jump_if_ne(0, 0, "out")
        for offset in regs.args:
            if start <= offset < start + size:
                stack_of[offset] = at + offset - start
        at += size
    return [stack_of[offset] for offset in regs.args]


def _exit_entry_from_regs(a: bpf.Asm, maps: _Maps, regs: RegsLayout, every_task: bool) -> None:
    """Prologue of the raw sys_exit program (``ctx``: ``{struct pt_regs *regs, long ret}``): the
    call's number and arguments are still in ``regs``, so the entry is built here, on the stack
    at PENDING_AT, and no program runs at sys_enter (each run there costs every system call,
    every uretprobe return among them). Leaves r9 = that entry, r8 = the record buffer,
    r7 = pid_tgid, r1 = the result, and goes on to ``not_exec`` (or ``out``)."""
    read_syscall_nr(a, regs, NR_AT, 7)  # r7 = nr (for now)
    a.jump_if_gt(7, MAX_NR, "out")  # also -1 (no system call), unsigned
    _string_mask(a, maps, 7)
    a.mov_reg(2, 9)
    a.and_imm(2, NO_RETRY)
    a.jump_if_eq(2, 0, "entry")
    a.load(a.DW, 1, 6, 8)
    a.jump_if_eq(1, 0, "out")  # an execve that succeeded: the exec program sent the name
    a.label("entry")
    a.store_reg(a.W, 10, PENDING_AT + 8, 7)  # (NR_AT lies inside the entry: read before)
    a.store_reg(a.W, 10, PENDING_AT + 12, 9)
    _traced_task(a, maps, every_task)
    for index, at in enumerate(copy_syscall_args(a, regs, REGS_AT)):
        a.load(a.DW, 1, 10, at)
        a.store_reg(a.DW, 10, PENDING_AT + 16 + 8 * index, 1)
    a.call(bpf.Helper.KTIME_GET_NS)  # one stamp for all the call's records
    a.store_reg(a.DW, 10, PENDING_AT, 0)
    a.store_imm(a.W, 10, -8, 0)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.scratch.fd, -8)
    a.jump_if_eq(0, 0, "out")
    a.mov_reg(8, 0)  # r8 = this CPU's record buffer
    a.mov_reg(9, 10)
    a.add_imm(9, PENDING_AT)  # r9 = the entry
    a.load(a.DW, 1, 6, 8)  # the result


def _exit_program(
    maps: _Maps,
    id_offset: int,
    ret_offset: int,
    regs: RegsLayout | None = None,
    every_task: bool = False,
) -> bytes:
    """On raw_syscalls:sys_exit of a thread with a pending call: read its strings now.

    By the exit the kernel's own copy (getname, strndup_user ...) has faulted the string's pages
    in, so reading them takes no exception — unless the call failed before copying
    (:data:`SKIP_ERRNOS`: then a header-only record says so) or was an execve that succeeded
    (its exit runs in the new program: the exec program sent the name). A read stops at each page
    end, and goes on to the next page only when the string does, so it never touches a page the
    kernel's copy did not (a word-sized read past the NUL could, and trap on an unmapped one).

    With ``regs`` it is a raw tracepoint program, the only one on the system calls
    (:func:`_exit_entry_from_regs`): ``ctx`` is ``{struct pt_regs *regs, long ret}`` (pass
    ``ret_offset`` 8). Without, the raw_syscalls:sys_exit record's ``id`` and ``ret`` are read at
    ``id_offset``/``ret_offset`` and the call's entry is the one the enter program kept.
    """
    a = bpf.Asm()
    a.mov_reg(6, 1)  # r6 = ctx until the result is read, then the record's flags
    if regs is not None:
        _exit_entry_from_regs(a, maps, regs, every_task)
    else:
        _exit_entry_from_pending(a, maps, id_offset, ret_offset)
    a.label("not_exec")
    a.mov_imm(6, AT_EXIT)
    for err in SKIP_ERRNOS:
        a.jump_if_eq(1, -err, "skip")
    a.jump("header")
    a.label("skip")
    a.mov_imm(6, AT_EXIT | NOT_READ)
    a.label("header")
    a.load(a.DW, 1, 9, 0)
    a.store_reg(a.DW, 8, 0, 1)
    a.store_reg(a.W, 8, 8, 7)  # tid: the low half
    a.mov_reg(1, 7)
    a.rsh_imm(1, 32)
    a.store_reg(a.W, 8, 12, 1)
    a.load(a.W, 1, 9, 8)
    a.store_reg(a.W, 8, 24, 1)
    for index in range(6):
        nxt = f"next{index}"
        a.load(a.W, 1, 9, 12)
        a.and_imm(1, 1 << index)
        a.jump_if_eq(1, 0, nxt)
        a.load(a.DW, 3, 9, 16 + 8 * index)
        a.jump_if_eq(3, 0, nxt)  # NULL: strace prints NULL, there is nothing to read
        a.store_reg(a.DW, 8, 16, 3)
        a.store_imm(a.B, 8, 28, index)
        a.store_reg(a.B, 8, 29, 6)
        a.mov_imm(0, 0)
        a.jump_if_ne(6, AT_EXIT, f"emit{index}")  # not read: the header alone
        # First piece: from the pointer to its page's end (1 .. PAGE bytes).
        a.mov_reg(2, 3)
        a.and_imm(2, PAGE - 1)
        a.mov_imm(1, PAGE)
        a.sub_reg(1, 2)
        a.store_reg(a.DW, 10, -24, 1)
        a.mov_reg(2, 1)
        a.mov_reg(1, 8)
        a.add_imm(1, HEADER.size)
        a.call(bpf.Helper.PROBE_READ_USER_STR)
        a.jump_if_sgt(0, 0, f"got{index}")
        a.jump(f"emit{index}")  # failed: -errno, header alone
        a.label(f"got{index}")
        a.load(a.DW, 1, 10, -24)
        a.jump_if_ne_reg(0, 1, f"emit{index}")  # the NUL is on this page
        # The piece is full: the helper put a NUL on its last byte. Was the string's own NUL
        # there (it ends at the page end), or does it go on to the next page?
        a.jump_if_gt(1, MAX_STRING - 1, f"emit{index}")  # a whole page read: PATH_MAX reached
        a.mov_reg(1, 10)
        a.add_imm(1, -32)
        a.mov_imm(2, 1)
        a.load(a.DW, 3, 8, 16)
        a.load(a.DW, 4, 10, -24)
        a.add_reg(3, 4)
        a.add_imm(3, -1)
        a.call(bpf.Helper.PROBE_READ_USER)  # on the page just read: present
        a.load(a.DW, 0, 10, -24)
        a.load(a.B, 1, 10, -32)
        a.jump_if_eq(1, 0, f"emit{index}")  # it ends at the page end
        a.load(a.DW, 2, 10, -24)
        a.jump_if_gt(2, MAX_STRING - 1, f"emit{index}")  # (for the verifier: 1 .. PAGE-1)
        a.mov_reg(3, 8)
        a.add_reg(3, 2)
        a.store_reg(a.B, 3, HEADER.size - 1, 1)  # the byte the helper overwrote
        # Second piece: the next page (the kernel's copy went on there), up to PATH_MAX in all.
        a.mov_reg(1, 3)
        a.add_imm(1, HEADER.size)
        a.mov_imm(4, MAX_STRING)
        a.sub_reg(4, 2)
        a.load(a.DW, 3, 8, 16)
        a.add_reg(3, 2)
        a.mov_reg(2, 4)
        a.call(bpf.Helper.PROBE_READ_USER_STR)
        a.jump_if_sgt(0, 0, f"more{index}")
        a.jump(f"emit{index}")
        a.label(f"more{index}")
        a.load(a.DW, 1, 10, -24)
        a.add_reg(0, 1)
        a.label(f"emit{index}")
        _emit(a, maps, 0, nxt)
        a.label(nxt)
    if regs is not None:
        a.label("forget")  # nothing was kept at the entry
        a.label("out")
        a.mov_imm(0, 0)
        a.exit()
    else:
        _forget_pending(a, maps)
    return a.assemble()


def _exec_program(maps: _Maps, filename_offset: int, old_pid_offset: int, bound: bool = True) -> bytes:
    """On sched:sched_process_exec: the file name of the execve, from the event's ``filename``
    (the kernel's copy, bprm->filename), since the call's exit runs in the new program. Sent
    under ``old_pid``: a thread that is not the leader takes the leader's id during the exec, and
    the trace has its call under its own.

    ``bound``: for a thread with a pending execve (the sys_enter program kept it), with that
    call's pointer, number and dirfd. Else (no program at sys_enter) for any traced process, as
    an :data:`EXEC_UNBOUND` record the reader pairs with the call."""
    a = bpf.Asm()
    a.mov_reg(6, 1)
    a.load(a.W, 1, 6, old_pid_offset)
    a.store_reg(a.W, 10, -4, 1)
    if not bound:
        _exec_unbound(a, maps, filename_offset)
        return a.assemble()
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.pending.fd, -4)
    a.jump_if_eq(0, 0, "out")
    a.mov_reg(9, 0)
    a.store_imm(a.W, 10, -8, 0)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.scratch.fd, -8)
    a.jump_if_eq(0, 0, "forget")
    a.mov_reg(8, 0)
    a.load(a.W, 7, 9, 12)  # r7 = the call's mask
    a.mov_reg(1, 7)
    a.and_imm(1, NO_RETRY)
    a.jump_if_eq(1, 0, "forget")
    a.call(bpf.Helper.GET_CURRENT_PID_TGID)
    a.rsh_imm(0, 32)
    a.store_reg(a.W, 8, 12, 0)
    a.load(a.W, 1, 10, -4)
    a.store_reg(a.W, 8, 8, 1)
    a.load(a.DW, 1, 9, 0)
    a.store_reg(a.DW, 8, 0, 1)
    a.load(a.W, 1, 9, 8)
    a.store_reg(a.W, 8, 24, 1)
    a.store_imm(a.B, 8, 29, EXEC_NAME)
    for index in range(6):  # the file name: the call's (first) string argument
        a.jump_if_set(7, 1 << index, f"arg{index}")
    a.jump("forget")
    for index in range(6):
        a.label(f"arg{index}")
        a.load(a.DW, 1, 9, 16 + 8 * index)
        a.store_reg(a.DW, 8, 16, 1)
        a.store_imm(a.B, 8, 28, index)
        a.jump("named")
    a.label("named")
    a.mov_imm(1, AT_FDCWD)
    a.jump_if_set(7, AT_DIRFD, "dirfd")
    a.jump("fd_known")
    a.label("dirfd")
    a.load(a.DW, 1, 9, 16)
    a.label("fd_known")
    a.store_reg(a.W, 8, HEADER.size, 1)
    _copy_exec_name(a, filename_offset)
    _emit(a, maps, 4, "forget")
    _forget_pending(a, maps)
    return a.assemble()


def _copy_exec_name(a: bpf.Asm, filename_offset: int) -> None:
    """Copy the event's ``filename`` (r6: the sched_process_exec record) after the dirfd in the
    record at r8; r0: its length with the NUL, or -errno."""
    a.load(a.W, 3, 6, filename_offset)  # __data_loc: length << 16 | offset in the record
    a.and_imm(3, 0xFFFF)
    a.add_reg(3, 6)
    a.mov_reg(1, 8)
    a.add_imm(1, HEADER.size + 4)
    a.mov_imm(2, MAX_STRING)
    a.call(bpf.Helper.PROBE_READ_KERNEL_STR)


def _exec_unbound(a: bpf.Asm, maps: _Maps, filename_offset: int) -> None:
    """The unbound exec record: ``old_pid`` is at -4; the process must be traced."""
    a.call(bpf.Helper.GET_CURRENT_PID_TGID)
    a.rsh_imm(0, 32)
    a.mov_reg(7, 0)  # r7 = tgid
    a.store_reg(a.W, 10, -8, 0)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.pids.fd, -8)
    a.jump_if_eq(0, 0, "out")
    a.store_imm(a.W, 10, -8, 0)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, maps.scratch.fd, -8)
    a.jump_if_eq(0, 0, "out")
    a.mov_reg(8, 0)
    a.call(bpf.Helper.KTIME_GET_NS)
    a.store_reg(a.DW, 8, 0, 0)
    a.load(a.W, 1, 10, -4)
    a.store_reg(a.W, 8, 8, 1)
    a.store_reg(a.W, 8, 12, 7)
    a.store_imm(a.DW, 8, 16, 0)  # pointer, number, argument: the reader's to fill
    a.store_imm(a.W, 8, 24, 0)
    a.store_imm(a.B, 8, 28, 0)
    a.store_imm(a.B, 8, 29, EXEC_NAME | EXEC_UNBOUND)
    a.store_imm(a.W, 8, HEADER.size, AT_FDCWD)
    _copy_exec_name(a, filename_offset)
    _emit(a, maps, 4, "out")
    a.label("out")
    a.mov_imm(0, 0)
    a.exit()


def _fork_program(pids: bpf.Map, child_pid_offset: int) -> bytes:
    """On sched_process_fork by a traced process: trace the child too."""
    a = bpf.Asm()
    a.mov_reg(6, 1)
    a.call(bpf.Helper.GET_CURRENT_PID_TGID)
    a.rsh_imm(0, 32)
    a.store_reg(a.W, 10, -4, 0)
    a.map_call(bpf.Helper.MAP_LOOKUP_ELEM, pids.fd, -4)
    a.jump_if_eq(0, 0, "out")
    a.load(a.W, 1, 6, child_pid_offset)
    a.store_reg(a.W, 10, -8, 1)
    a.store_imm(a.W, 10, -12, 1)
    a.mov_imm(4, bpf.BPF_ANY)
    a.map_call(bpf.Helper.MAP_UPDATE_ELEM, pids.fd, -8, -12)
    a.label("out")
    a.mov_imm(0, 0)
    a.exit()
    return a.assemble()


def _live_format(system: str, event: str) -> EventFormat | None:
    raw = read_live_file(f"events/{system}/{event}/format")
    if raw is None:
        return None
    try:
        return parse_format(raw.decode("utf-8", "replace"), system)
    except BadInput:
        return None


def string_masks(machine: str) -> dict[int, int]:
    """System-call number -> bit mask of its string arguments, from the running kernel's
    sys_enter_<name> formats (the event is named after SYSCALL_DEFINE: ``newstat`` for ``stat``)."""
    from kernlab.syscalls.tables import by_number, normalize_arch

    try:
        numbers = by_number(normalize_arch(machine))
    except (KernlabError, ValueError):
        return {}
    masks: dict[int, int] = {}
    for nr, call in numbers.items():
        if not 0 <= nr <= MAX_NR:
            continue
        names = [call.name]
        if call.entry and call.entry.startswith("sys_") and call.entry[4:] != call.name:
            names.insert(0, call.entry[4:])
        for name in names:
            fmt = _live_format("syscalls", f"sys_enter_{name}")
            if fmt is None:
                continue
            mask = sum(1 << index for index, _offset in string_arguments(fmt))
            if mask:
                masks[nr] = mask | EXEC_MASKS.get(name, 0)
            break
    return masks


EXEC_MASKS = {"execve": 1 | NO_RETRY, "execveat": 2 | NO_RETRY | AT_DIRFD}
"""The exec calls' :func:`string_masks` words: execve(filename, ...), execveat(dirfd, filename, ...)."""


def exec_masks(machine: str) -> dict[int, int]:
    """System-call number -> mask of the exec calls of ``machine``, from kernlab's own tables (no
    live kernel read: a recording is decoded anywhere)."""
    from kernlab.syscalls.tables import by_number, normalize_arch

    try:
        numbers = by_number(normalize_arch(machine))
    except (KernlabError, ValueError):
        return {}
    return {nr: EXEC_MASKS[call.name] for nr, call in numbers.items() if call.name in EXEC_MASKS}


# ------------------------------------------------------------------------------------------------
# the capture

_Owned = TypeVar("_Owned", bpf.Map, bpf.Program)


class PathStringCapture:
    """Programs, maps and perf events of one recording's capture, and the thread that drains it."""

    def __init__(self, directory: Path, root_pid: int) -> None:
        self.directory = directory
        self.root_pid = root_pid
        self._objects: list[bpf.Map | bpf.Program | bpf.PerfAttachment] = []
        self._attachments: list[bpf.PerfAttachment | bpf.RawTracepointAttachment] = []
        self._ring: bpf.RingBuffer | None = None
        self._stats: bpf.Map | None = None
        self._out: IO[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._exec_id = 0
        self._execs: dict[bool, bpf.Program] = {}
        self.status: dict[str, object] = {"format": 1, "captured": False, "clock": "CLOCK_MONOTONIC"}

    def start(self) -> None:
        """Load and attach everything; on any refusal undo what was done and note why."""
        try:
            self._start()
        except bpf.BpfRefused as exc:
            self._close_all()
            self.status.update(
                refused_step=exc.step, refused_errno=errno.errorcode.get(exc.err, str(exc.err))
            )
        except OSError as exc:
            self._close_all()
            self.status.update(refused_step="setup", refused_errno=errno.errorcode.get(exc.errno or 0, "EIO"))

    def _start(self) -> None:
        enter_fmt = _live_format("raw_syscalls", "sys_enter")
        exit_fmt = _live_format("raw_syscalls", "sys_exit")
        fork_fmt = _live_format("sched", "sched_process_fork")
        exec_fmt = _live_format("sched", "sched_process_exec")
        masks_by_nr = string_masks(os.uname().machine)
        if (
            enter_fmt is None
            or exit_fmt is None
            or fork_fmt is None
            or exec_fmt is None
            or not fork_fmt.has_field("child_pid")
            or not all(exec_fmt.has_field(f) for f in ("filename", "old_pid"))
            or not all(exit_fmt.has_field(f) for f in ("id", "ret"))
            or not masks_by_nr
        ):
            raise bpf.BpfRefused("tracefs formats", errno.ENOENT)
        masks = self._keep(bpf.create_map(bpf.MapType.ARRAY, 4, 4, MAX_NR + 1, "kl_masks"))
        for nr, mask in masks_by_nr.items():
            masks.update(struct.pack("<I", nr), struct.pack("<I", mask))
        pids = self._keep(bpf.create_map(bpf.MapType.HASH, 4, 4, MAX_TASKS, "kl_pids"))
        # Room for a read in two pieces (the second at a variable offset): the verifier checks
        # the largest offset plus the largest size.
        scratch = self._keep(
            bpf.create_map(bpf.MapType.PERCPU_ARRAY, 4, HEADER.size + 2 * MAX_STRING + 8, 1, "kl_scratch")
        )
        ring = self._keep(bpf.create_map(bpf.MapType.RINGBUF, 0, 0, RING_BYTES, "kl_strings"))
        self._stats = stats = self._keep(bpf.create_map(bpf.MapType.ARRAY, 4, 8, 1, "kl_drops"))
        pending = self._keep(bpf.create_map(bpf.MapType.HASH, 4, PENDING_SIZE, MAX_TASKS, "kl_pending"))
        live = self._keep(bpf.create_map(bpf.MapType.ARRAY, 4, 8, 1, "kl_live"))
        pids.update(struct.pack("<I", self.root_pid), struct.pack("<I", 1))
        self._ring = bpf.RingBuffer(ring)
        fork = self._keep(
            bpf.load_tracepoint_program(_fork_program(pids, fork_fmt.field("child_pid").offset), "kl_fork")
        )
        maps = _Maps(masks, pids, pending, live, scratch, ring, stats)
        filename, old_pid = exec_fmt.field("filename").offset, exec_fmt.field("old_pid").offset
        self._exec_id = exec_fmt.id
        self._execs = {
            bound: self._keep(
                bpf.load_tracepoint_program(_exec_program(maps, filename, old_pid, bound), "kl_paths_exec")
            )
            for bound in (True, False)
        }
        attach = self._attach_calls(maps, enter_fmt, exit_fmt)
        self._attach(fork_fmt.id, fork)
        attach()
        out = open(self.directory / DATA_FILE, "wb")  # noqa: SIM115  (closed in stop())
        out.write(MAGIC)
        self._out = out
        self.status.update(captured=True, calls=len(masks_by_nr))
        self._thread = threading.Thread(target=self._drain_loop, name="kernlab-path-strings", daemon=True)
        self._thread.start()

    def _attach_calls(
        self,
        maps: _Maps,
        enter_fmt: EventFormat,
        exit_fmt: EventFormat,
    ) -> Callable[[], None]:
        """Load the system-call programs: one raw tracepoint program on sys_exit where the
        architecture's pt_regs layout is known and the kernel takes it (the call's arguments are
        still in pt_regs there), else an enter and an exit program on the raw_syscalls events;
        return what attaches them and the matching exec program (exit first: no entry is kept
        that no exit would take)."""
        every_task = self.root_pid <= 0  # record -a: the whole system, as its events
        regs = REGS_LAYOUTS.get(os.uname().machine)
        perf_args = (maps, enter_fmt, exit_fmt)
        if regs is None:
            return self._perf_calls(*perf_args)
        try:
            leave = self._keep(
                bpf.load_raw_tracepoint_program(_exit_program(maps, 0, 8, regs, every_task), "kl_paths_exit")
            )
        except bpf.BpfRefused as exc:
            self.status["raw_refused"] = f"BPF_PROG_LOAD {errno.errorcode.get(exc.err, str(exc.err))}"
            return self._perf_calls(*perf_args)

        def attach_raw() -> None:
            done: list[bpf.RawTracepointAttachment] = []
            try:
                done.append(bpf.attach_raw_tracepoint("sys_exit", leave))
            except bpf.BpfRefused as exc:
                for attachment in done:
                    attachment.close()
                self.status["raw_refused"] = f"{exc.step} {errno.errorcode.get(exc.err, str(exc.err))}"
                self._perf_calls(*perf_args)()
                return
            self._attachments.extend(done)
            self._attach(self._exec_id, self._execs[False])
            self.status["attach"] = "raw_tracepoint"

        return attach_raw

    def _perf_calls(
        self,
        maps: _Maps,
        enter_fmt: EventFormat,
        exit_fmt: EventFormat,
    ) -> Callable[[], None]:
        """The enter and exit programs on raw_syscalls:sys_enter/sys_exit (perf events)."""
        enter = self._keep(
            bpf.load_tracepoint_program(
                _enter_program(maps, enter_fmt.field("args").offset, self.root_pid <= 0),
                "kl_paths",
            )
        )
        leave = self._keep(
            bpf.load_tracepoint_program(
                _exit_program(
                    maps,
                    exit_fmt.field("id").offset,
                    exit_fmt.field("ret").offset,
                ),
                "kl_paths_exit",
            )
        )

        def attach() -> None:
            self._attach(exit_fmt.id, leave)
            self._attach(self._exec_id, self._execs[True])
            self._attach(enter_fmt.id, enter)
            self.status["attach"] = "perf_tracepoint"

        return attach

    def _keep(self, obj: _Owned) -> _Owned:
        self._objects.append(obj)
        return obj

    def _attach(self, event_id: int, program: bpf.Program) -> None:
        attachment = bpf.attach_tracepoint(event_id, program)
        self._attachments.append(attachment)

    def _drain(self) -> None:
        out = self._out
        if self._ring is None or out is None:
            return
        chunk = self._ring.read_raw()
        if chunk:
            out.write(chunk)

    def _drain_loop(self) -> None:
        while not self._stop.wait(DRAIN_INTERVAL_S):
            self._drain()

    def stop(self) -> None:
        """Detach, read what is left, write path_strings.json, free everything."""
        try:
            # Each detach waits for a tracepoint grace period (~80 ms here): overlap them.
            closers = [threading.Thread(target=a.close) for a in self._attachments]
            for closer in closers:
                closer.start()
            for closer in closers:
                closer.join()
            self._attachments.clear()
            if self._thread is not None:
                self._stop.set()
                self._thread.join()
                self._drain()
            if self._stats is not None and self._stats.fd >= 0:
                value = self._stats.lookup(struct.pack("<I", 0))
                self.status["dropped"] = struct.unpack_from("<Q", value)[0] if value else 0
        finally:
            if self._out is not None:
                self._out.close()
                self._out = None
            self._close_all()
            with contextlib.suppress(OSError):
                (self.directory / STATUS_FILE).write_text(json.dumps(self.status, indent=1) + "\n")

    def _close_all(self) -> None:
        for attachment in self._attachments:
            attachment.close()
        self._attachments.clear()
        if self._ring is not None:
            self._ring.close()
            self._ring = None
        for obj in reversed(self._objects):
            obj.close()
        self._objects.clear()
        self._stats = None


@contextlib.contextmanager
def capture(directory: Path, root_pid: int) -> Iterator[PathStringCapture]:
    """Capture path strings of ``root_pid`` and its descendants for the duration of the block.

    Never raises for a kernel that refuses BPF: the recording goes on without strings and
    path_strings.json says which step was refused.
    """
    cap = PathStringCapture(directory, root_pid)
    started = time.monotonic()
    cap.start()
    cap.status["setup_ms"] = round((time.monotonic() - started) * 1000, 1)
    try:
        yield cap
    finally:
        with contextlib.suppress(KernlabError, OSError):
            cap.stop()
