"""A minimal BPF loader in pure Python: maps, tracepoint programs, perf attachment, ring buffers.

Everything goes through ``syscall(SYS_bpf, ...)`` and ``syscall(SYS_perf_event_open, ...)`` with
the ``union bpf_attr`` / ``struct perf_event_attr`` layouts of include/uapi/linux/bpf.h and
perf_event.h. Programs are assembled from raw instructions (:class:`Asm`), so nothing needs
clang, libbpf or bpftool. Every object is a file descriptor owned by this process: closing it
(or the process ending) unloads the program, frees the map and detaches the perf event. No
tracefs file is written; only the event's ``id`` and ``format`` are read.

Attachment follows libbpf's ``bpf_program__attach_tracepoint``: one perf event per tracepoint
(``pid = -1, cpu = 0``) and ``PERF_EVENT_IOC_SET_BPF``. The program is stored on the trace event
itself (``trace_event_call->prog_array``), so it runs on every CPU and for every task that hits
the tracepoint: filtering by task is the program's job. A *raw* tracepoint program
(``BPF_RAW_TRACEPOINT_OPEN``, Linux 4.17) is called straight from the tracepoint with its
arguments (``u64 args[]``), without the perf record a trace event's program is given: far
cheaper on a tracepoint as hot as ``sys_enter``, where most hits are of no interest.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import mmap
import os
import platform
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from kernlab.errors import KernlabError
from kernlab.libc import libc

__all__ = [
    "BPF_ANY",
    "BPF_RB_NO_WAKEUP",
    "Asm",
    "BpfRefused",
    "Helper",
    "Map",
    "MapType",
    "PerfAttachment",
    "Program",
    "RawTracepointAttachment",
    "RingBuffer",
    "attach_raw_tracepoint",
    "attach_tracepoint",
    "create_map",
    "load_raw_tracepoint_program",
    "load_tracepoint_program",
    "ring_records",
]

# bpf(2) commands
BPF_MAP_CREATE = 0
BPF_MAP_LOOKUP_ELEM = 1
BPF_MAP_UPDATE_ELEM = 2
BPF_PROG_LOAD = 5
BPF_RAW_TRACEPOINT_OPEN = 17
BPF_PROG_TYPE_TRACEPOINT = 5
BPF_PROG_TYPE_RAW_TRACEPOINT = 17
BPF_PSEUDO_MAP_FD = 1
BPF_ANY = 0
BPF_RB_NO_WAKEUP = 1
"""bpf_ringbuf_output flag: no wake-up per record (the reader polls), far cheaper per event."""

# perf_event_open(2)
PERF_TYPE_TRACEPOINT = 2
PERF_ATTR_SIZE_VER5 = 112
PERF_FLAG_FD_CLOEXEC = 1 << 3
ATTR_DISABLED = 1 << 0
PERF_EVENT_IOC_ENABLE = 0x2400  # _IO('$', 0)
PERF_EVENT_IOC_DISABLE = 0x2401  # _IO('$', 1)
PERF_EVENT_IOC_SET_BPF = 0x40042408  # _IOW('$', 8, __u32)

# ring buffer record header (kernel/bpf/ringbuf.c)
RINGBUF_BUSY_BIT = 1 << 31
RINGBUF_DISCARD_BIT = 1 << 30
RINGBUF_HDR_SIZE = 8

# syscall numbers; every architecture but x86 uses the asm-generic table
_SYSCALL_NUMBERS: dict[str, tuple[int, int]] = {  # machine -> (bpf, perf_event_open)
    "x86_64": (321, 298),
    "i386": (357, 336),
    "i686": (357, 336),
}
_GENERIC = (280, 241)


class MapType:
    """``enum bpf_map_type`` values used here."""

    HASH = 1
    ARRAY = 2
    PERCPU_ARRAY = 6
    RINGBUF = 27


class Helper:
    """``enum bpf_func_id`` values used here (include/uapi/linux/bpf.h, ``___BPF_FUNC_MAPPER``)."""

    MAP_LOOKUP_ELEM = 1
    MAP_UPDATE_ELEM = 2
    MAP_DELETE_ELEM = 3
    KTIME_GET_NS = 5
    GET_CURRENT_PID_TGID = 14
    PROBE_READ_USER = 112
    PROBE_READ_KERNEL = 113
    PROBE_READ_USER_STR = 114
    PROBE_READ_KERNEL_STR = 115
    RINGBUF_OUTPUT = 130


class BpfRefused(KernlabError):
    """The kernel refused one step (``step`` names the bpf/perf command, ``errno`` says why)."""

    def __init__(self, step: str, err: int, log: str = "") -> None:
        super().__init__(
            f"{step} failed: {errno.errorcode.get(err, str(err))} ({os.strerror(err)})",
            errno=err,
            key="errors.tracing.bpf_refused",
            fields={"step": step, "code": errno.errorcode.get(err, str(err)), "reason": os.strerror(err)},
        )
        self.step = step
        self.err = err
        self.log = log
        """The verifier's log when BPF_PROG_LOAD failed (the reason in its last lines)."""


def _numbers() -> tuple[int, int]:
    return _SYSCALL_NUMBERS.get(platform.machine(), _GENERIC)


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char], step: str) -> int:
    lib = libc()
    ret = lib.syscall(ctypes.c_long(_numbers()[0]), ctypes.c_long(cmd), attr, ctypes.c_uint(len(attr)))
    if ret < 0:
        raise BpfRefused(step, ctypes.get_errno())
    return int(ret)


# ------------------------------------------------------------------------------------------------
# instructions


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


@dataclass
class _Jump:
    code: int
    dst: int
    src: int
    imm: int
    label: str


@dataclass
class Asm:
    """A BPF program being written: instructions, labels and jumps to labels.

    Registers: r0 return value, r1–r5 helper arguments (clobbered by calls), r6–r9 kept across
    calls, r10 the read-only frame pointer (512 bytes of stack below it).
    """

    _items: list[bytes | _Jump | str] = field(default_factory=list)

    # sizes for loads and stores
    W, H, B, DW = 0x00, 0x08, 0x10, 0x18

    def mov_imm(self, dst: int, imm: int) -> None:
        self._items.append(_insn(0xB7, dst, imm=imm))

    def mov_reg(self, dst: int, src: int) -> None:
        self._items.append(_insn(0xBF, dst, src))

    def add_imm(self, dst: int, imm: int) -> None:
        self._items.append(_insn(0x07, dst, imm=imm))

    def add_reg(self, dst: int, src: int) -> None:
        self._items.append(_insn(0x0F, dst, src))

    def sub_reg(self, dst: int, src: int) -> None:
        self._items.append(_insn(0x1F, dst, src))

    def and_imm(self, dst: int, imm: int) -> None:
        self._items.append(_insn(0x57, dst, imm=imm))

    def or_imm(self, dst: int, imm: int) -> None:
        self._items.append(_insn(0x47, dst, imm=imm))

    def rsh_imm(self, dst: int, imm: int) -> None:
        self._items.append(_insn(0x77, dst, imm=imm))

    def load(self, size: int, dst: int, src: int, off: int) -> None:
        """dst = *(size *)(src + off)"""
        self._items.append(_insn(0x61 | size, dst, src, off))

    def store_reg(self, size: int, dst: int, off: int, src: int) -> None:
        """*(size *)(dst + off) = src"""
        self._items.append(_insn(0x63 | size, dst, src, off))

    def store_imm(self, size: int, dst: int, off: int, imm: int) -> None:
        """*(size *)(dst + off) = imm"""
        self._items.append(_insn(0x62 | size, dst, 0, off, imm))

    def atomic_add64(self, dst: int, off: int, src: int) -> None:
        """lock *(u64 *)(dst + off) += src"""
        self._items.append(_insn(0xDB, dst, src, off, 0x00))

    def load_map_fd(self, dst: int, fd: int) -> None:
        """dst = the map behind ``fd`` (a two-slot ld_imm64 the verifier rewrites)."""
        self._items.append(_insn(0x18, dst, BPF_PSEUDO_MAP_FD, 0, fd) + _insn(0, 0, 0, 0, 0))

    def call(self, helper: int) -> None:
        self._items.append(_insn(0x85, imm=helper))

    def map_call(self, helper: int, fd: int, key_at: int, value_at: int | None = None) -> None:
        """``helper(map, r10 + key_at[, r10 + value_at])``: a lookup or delete of the key kept on
        the stack, or (with ``value_at``) an update whose flags the caller put in r4."""
        self.load_map_fd(1, fd)
        self.mov_reg(2, 10)
        self.add_imm(2, key_at)
        if value_at is not None:
            self.mov_reg(3, 10)
            self.add_imm(3, value_at)
        self.call(helper)

    def exit(self) -> None:
        self._items.append(_insn(0x95))

    def jump_if_eq(self, dst: int, imm: int, label: str) -> None:
        self._items.append(_Jump(0x15, dst, 0, imm, label))

    def jump_if_ne(self, dst: int, imm: int, label: str) -> None:
        self._items.append(_Jump(0x55, dst, 0, imm, label))

    def jump_if_ne_reg(self, dst: int, src: int, label: str) -> None:
        self._items.append(_Jump(0x5D, dst, src, 0, label))

    def jump_if_gt(self, dst: int, imm: int, label: str) -> None:
        """Unsigned >."""
        self._items.append(_Jump(0x25, dst, 0, imm, label))

    def jump_if_sgt(self, dst: int, imm: int, label: str) -> None:
        """Signed >."""
        self._items.append(_Jump(0x65, dst, 0, imm, label))

    def jump_if_set(self, dst: int, imm: int, label: str) -> None:
        """dst & imm != 0."""
        self._items.append(_Jump(0x45, dst, 0, imm, label))

    def jump(self, label: str) -> None:
        self._items.append(_Jump(0x05, 0, 0, 0, label))

    def label(self, name: str) -> None:
        self._items.append(name)

    def assemble(self) -> bytes:
        """The instructions, jumps resolved (offsets count 8-byte slots from the next one)."""
        where: dict[str, int] = {}
        slot = 0
        for item in self._items:
            if isinstance(item, str):
                if item in where:
                    raise ValueError(f"label {item} defined twice")
                where[item] = slot
            else:
                slot += len(item) // 8 if isinstance(item, bytes) else 1
        out: list[bytes] = []
        slot = 0
        for item in self._items:
            if isinstance(item, str):
                continue
            if isinstance(item, bytes):
                out.append(item)
                slot += len(item) // 8
                continue
            out.append(_insn(item.code, item.dst, item.src, where[item.label] - (slot + 1), item.imm))
            slot += 1
        return b"".join(out)


# ------------------------------------------------------------------------------------------------
# maps and programs


@dataclass
class Map:
    """A BPF map, owned by its file descriptor."""

    fd: int
    map_type: int
    key_size: int
    value_size: int
    max_entries: int

    def update(self, key: bytes, value: bytes, flags: int = BPF_ANY) -> None:
        kbuf, vbuf = ctypes.create_string_buffer(key), ctypes.create_string_buffer(value)
        attr = ctypes.create_string_buffer(32)
        struct.pack_into("=IIQQQ", attr, 0, self.fd, 0, ctypes.addressof(kbuf), ctypes.addressof(vbuf), flags)
        _bpf(BPF_MAP_UPDATE_ELEM, attr, "BPF_MAP_UPDATE_ELEM")

    def lookup(self, key: bytes) -> bytes | None:
        """The value (for a per-CPU map: every CPU's, one after the other); None when absent."""
        kbuf = ctypes.create_string_buffer(key)
        vbuf = ctypes.create_string_buffer(self.value_size * max(1, os.cpu_count() or 1) * 2)
        attr = ctypes.create_string_buffer(32)
        struct.pack_into("=IIQQQ", attr, 0, self.fd, 0, ctypes.addressof(kbuf), ctypes.addressof(vbuf), 0)
        try:
            _bpf(BPF_MAP_LOOKUP_ELEM, attr, "BPF_MAP_LOOKUP_ELEM")
        except BpfRefused as exc:
            if exc.err == errno.ENOENT:
                return None
            raise
        return vbuf.raw

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def create_map(map_type: int, key_size: int, value_size: int, max_entries: int, name: str = "") -> Map:
    attr = ctypes.create_string_buffer(72)
    struct.pack_into("=IIIII", attr, 0, map_type, key_size, value_size, max_entries, 0)
    ctypes.memmove(ctypes.addressof(attr) + 28, name[:15].encode(), len(name[:15]))  # map_name[16]
    fd = _bpf(BPF_MAP_CREATE, attr, "BPF_MAP_CREATE")
    return Map(fd, map_type, key_size, value_size, max_entries)


@dataclass
class _OwnedFd:
    """Something the kernel keeps for as long as its file descriptor stays open."""

    fd: int

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass
class Program(_OwnedFd):
    """A loaded BPF program, owned by its file descriptor."""

    name: str


def load_tracepoint_program(code: bytes, name: str = "") -> Program:
    """BPF_PROG_LOAD a BPF_PROG_TYPE_TRACEPOINT program; on refusal the verifier's log is kept."""
    return _load_program(code, name, BPF_PROG_TYPE_TRACEPOINT)


def load_raw_tracepoint_program(code: bytes, name: str = "") -> Program:
    """BPF_PROG_LOAD a BPF_PROG_TYPE_RAW_TRACEPOINT program (its context: the tracepoint's
    arguments as ``u64 args[]``); on refusal the verifier's log is kept."""
    return _load_program(code, name, BPF_PROG_TYPE_RAW_TRACEPOINT)


def _load_program(code: bytes, name: str, prog_type: int) -> Program:
    insns = ctypes.create_string_buffer(code, len(code))
    license_buf = ctypes.create_string_buffer(b"GPL")  # probe_read_user_str is gpl_only

    def attempt(log: ctypes.Array[ctypes.c_char] | None) -> int:
        attr = ctypes.create_string_buffer(128)
        struct.pack_into(
            "=IIQQIIQ",
            attr,
            0,
            prog_type,
            len(code) // 8,
            ctypes.addressof(insns),
            ctypes.addressof(license_buf),
            1 if log is not None else 0,
            len(log) if log is not None else 0,
            ctypes.addressof(log) if log is not None else 0,
        )
        ctypes.memmove(ctypes.addressof(attr) + 48, name[:15].encode(), len(name[:15]))  # prog_name[16]
        return _bpf(BPF_PROG_LOAD, attr, "BPF_PROG_LOAD")

    try:
        return Program(attempt(None), name)
    except BpfRefused as exc:
        if exc.err not in (errno.EACCES, errno.EINVAL):
            raise
        # Load again with the verifier's log, only to say why.
        log = ctypes.create_string_buffer(1 << 16)
        with contextlib.suppress(BpfRefused):
            attempt(log)
        raise BpfRefused("BPF_PROG_LOAD", exc.err, log.value.decode("utf-8", "replace")) from exc


# ------------------------------------------------------------------------------------------------
# attachment


@dataclass
class PerfAttachment:
    """A perf event on one tracepoint with a program attached; closing it detaches the program."""

    fd: int
    event_id: int

    def close(self) -> None:
        if self.fd >= 0:
            # IOC_DISABLE first so no record is in flight while the event is torn down.
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.fd, PERF_EVENT_IOC_DISABLE, 0)
            os.close(self.fd)
            self.fd = -1


def attach_tracepoint(event_id: int, program: Program) -> PerfAttachment:
    """perf_event_open(PERF_TYPE_TRACEPOINT, id) on CPU 0 (the program runs on every CPU),
    PERF_EVENT_IOC_SET_BPF, PERF_EVENT_IOC_ENABLE."""
    attr = ctypes.create_string_buffer(PERF_ATTR_SIZE_VER5)
    # type, size, config, sample_period, sample_type, read_format, flags
    struct.pack_into("=IIQQQQQ", attr, 0, PERF_TYPE_TRACEPOINT, PERF_ATTR_SIZE_VER5, event_id, 1, 0, 0, 0)
    lib = libc()
    fd = lib.syscall(
        ctypes.c_long(_numbers()[1]),
        attr,
        ctypes.c_int(-1),
        ctypes.c_int(0),
        ctypes.c_int(-1),
        ctypes.c_ulong(PERF_FLAG_FD_CLOEXEC),
    )
    if fd < 0:
        raise BpfRefused("perf_event_open", ctypes.get_errno())
    attachment = PerfAttachment(int(fd), event_id)
    try:
        fcntl.ioctl(attachment.fd, PERF_EVENT_IOC_SET_BPF, program.fd)
        fcntl.ioctl(attachment.fd, PERF_EVENT_IOC_ENABLE, 0)
    except OSError as exc:
        attachment.close()
        raise BpfRefused("PERF_EVENT_IOC_SET_BPF", exc.errno or errno.EINVAL) from exc
    return attachment


@dataclass
class RawTracepointAttachment(_OwnedFd):
    """A program attached to a raw tracepoint; closing the fd detaches it."""

    name: str


def attach_raw_tracepoint(name: str, program: Program) -> RawTracepointAttachment:
    """BPF_RAW_TRACEPOINT_OPEN: ``program`` runs on every hit of the tracepoint ``name``
    (``sys_enter``), on every CPU, until the returned attachment is closed."""
    name_buf = ctypes.create_string_buffer(name.encode())
    attr = ctypes.create_string_buffer(16)
    struct.pack_into("=QI", attr, 0, ctypes.addressof(name_buf), program.fd)
    fd = _bpf(BPF_RAW_TRACEPOINT_OPEN, attr, "BPF_RAW_TRACEPOINT_OPEN")
    return RawTracepointAttachment(fd, name)


# ------------------------------------------------------------------------------------------------
# ring buffer


def ring_records(raw: bytes) -> Iterator[bytes]:
    """The submitted records of bytes read by :meth:`RingBuffer.read_raw` (discarded ones skipped)."""
    at = 0
    while at + RINGBUF_HDR_SIZE <= len(raw):
        length = struct.unpack_from("<I", raw, at)[0]
        size = length & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)
        if not length & RINGBUF_DISCARD_BIT:
            yield raw[at + RINGBUF_HDR_SIZE : at + RINGBUF_HDR_SIZE + size]
        at += (size + RINGBUF_HDR_SIZE + 7) & ~7


class RingBuffer:
    """The consumer side of a BPF_MAP_TYPE_RINGBUF, read through mmap as libbpf's ring_buffer does.

    Page 0 (read-write) holds the consumer position, page 1 the producer position; the data
    pages follow, mapped twice in a row by the kernel so a record that wraps is contiguous.
    """

    def __init__(self, ring: Map) -> None:
        self._page = mmap.PAGESIZE
        self._mask = ring.max_entries - 1
        self._consumer = mmap.mmap(
            ring.fd, self._page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0
        )
        self._producer = mmap.mmap(
            ring.fd, self._page + 2 * ring.max_entries, mmap.MAP_SHARED, mmap.PROT_READ, offset=self._page
        )

    def read_raw(self) -> bytes:
        """Every record committed since the last call, as the ring holds them (8-byte header:
        length with the busy/discard bits, then the data, padded to 8 bytes), consumed as read.

        One copy for the lot: the per-record work is a header read, so a reader in Python keeps
        up with a fast producer. :func:`ring_records` splits the bytes into records."""
        cons = struct.unpack_from("<Q", self._consumer, 0)[0]
        prod = struct.unpack_from("<Q", self._producer, 0)[0]
        data = self._page
        end = cons
        while end < prod:
            length = struct.unpack_from("<I", self._producer, data + (end & self._mask))[0]
            if length & RINGBUF_BUSY_BIT:
                break  # reserved, not yet submitted: read it next time
            size = length & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)
            end += (size + RINGBUF_HDR_SIZE + 7) & ~7
        if end == cons:
            return b""
        start = data + (cons & self._mask)
        chunk = self._producer[start : start + (end - cons)]  # contiguous: the data is mapped twice
        struct.pack_into("<Q", self._consumer, 0, end)
        return chunk

    def close(self) -> None:
        self._consumer.close()
        self._producer.close()
