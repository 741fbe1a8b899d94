"""CPU-clock sampling of chosen tasks with kernel and user call chains (perf_event_open(2)).

:class:`Sampler` opens one ``PERF_TYPE_SOFTWARE``/``PERF_COUNT_SW_CPU_CLOCK`` event per traced
task per online CPU (``inherit``: children created later are followed; a per-task event that
inherits must be bound to a CPU), maps one ring buffer per CPU (the other tasks' events on that
CPU write into it through ``PERF_EVENT_IOC_SET_OUTPUT``) and copies the rings' records, as the
kernel wrote them, into one file per CPU (:meth:`Sampler.drain`). :func:`parse_records` reads
such a file back: ``PERF_RECORD_SAMPLE`` (``PERF_SAMPLE_IP | TID | TIME | CPU | PERIOD |
CALLCHAIN``, in that order, include/uapi/linux/perf_event.h) and the counts of
``PERF_RECORD_LOST`` and ``PERF_RECORD_THROTTLE``.

Clocks: a sample's time is ``perf_clock()`` = ``local_clock()`` (tracefs's ``perf`` clock)
unless ``use_clockid`` names a POSIX clock (:data:`TRACE_CLOCK_IDS`: tracefs's ``mono``,
``mono_raw``, ``boot``, ``tai``). tracefs's ``local`` and ``global`` are ``sched_clock()``,
which ``local_clock()`` is *offset* from (``__sched_clock_offset``: 28 ms on this machine's
KVM guest, measured). So the sampler also samples the first :data:`CALIBRATION_HITS`
``raw_syscalls:sys_enter`` of one traced task (a tracepoint perf event, ``sample_period`` 1,
switched off once drained): the same kernel events the recording's instance stamps with its
trace clock, so a reader gets the offset from pairs of stamps of one event (:func:`offset_of`).
Other trace clocks (``counter``, ``uptime``, ``x86-tsc``) tick in other units: :func:`clock_for`
says they cannot be used.

A call chain holds context markers (``PERF_CONTEXT_KERNEL``, ``PERF_CONTEXT_USER``…, values
from ``-4095`` up as u64) before the frames of each part, innermost frame first;
:func:`split_chain` separates them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
import platform
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kernlab.libc import libc

__all__ = [
    "CALIBRATION_FILE",
    "CALIBRATION_TYPE",
    "CONTEXT_KERNEL",
    "CONTEXT_USER",
    "SAMPLE_TYPE",
    "TRACE_CLOCK_IDS",
    "PerfRefused",
    "PerfSample",
    "RecordCounts",
    "Sampler",
    "clock_for",
    "max_sample_rate",
    "offset_of",
    "online_cpus",
    "parse_records",
    "split_chain",
]

PERF_TYPE_SOFTWARE = 1
PERF_COUNT_SW_CPU_CLOCK = 0
PERF_ATTR_SIZE_VER7 = 128

SAMPLE_IP = 1 << 0
SAMPLE_TID = 1 << 1
SAMPLE_TIME = 1 << 2
SAMPLE_CPU = 1 << 7
SAMPLE_PERIOD = 1 << 8
SAMPLE_CALLCHAIN = 1 << 5
SAMPLE_TYPE = SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_CPU | SAMPLE_PERIOD | SAMPLE_CALLCHAIN
"""What each sample carries (the files' records are read with exactly this layout)."""

# perf_event_attr flag bits (the bit-field after read_format)
_DISABLED = 1 << 0
_INHERIT = 1 << 1
_EXCLUDE_HV = 1 << 6
_FREQ = 1 << 10
_USE_CLOCKID = 1 << 25

PERF_FLAG_FD_CLOEXEC = 1 << 3
_IOC_ENABLE = 0x2400  # _IO('$', 0)
_IOC_DISABLE = 0x2401  # _IO('$', 1)
_IOC_SET_OUTPUT = 0x2405  # _IO('$', 5)
PERF_TYPE_TRACEPOINT = 2
CALIBRATION_TYPE = SAMPLE_TID | SAMPLE_TIME
"""What each calibration sample carries."""
CALIBRATION_HITS = 32
_CALIBRATION_RECORD = 24  # header, pid/tid, time
CALIBRATION_FILE = "calibration.raw"

RECORD_LOST = 2
RECORD_THROTTLE = 5
RECORD_SAMPLE = 9
_HEADER = struct.Struct("=IHH")

CONTEXT_HV = (1 << 64) - 32
CONTEXT_KERNEL = (1 << 64) - 128
CONTEXT_USER = (1 << 64) - 512
CONTEXT_GUEST = (1 << 64) - 2048
CONTEXT_MAX = (1 << 64) - 4095
"""Call-chain entries from here up are context markers, not addresses."""

TRACE_CLOCK_IDS: dict[str, int | None] = {
    "local": None,
    "perf": None,
    "global": None,
    "mono": 1,  # CLOCK_MONOTONIC
    "mono_raw": 4,  # CLOCK_MONOTONIC_RAW
    "boot": 7,  # CLOCK_BOOTTIME
    "tai": 11,  # CLOCK_TAI
}
"""tracefs trace_clock -> the clockid perf stamps samples with (None: perf's own local_clock)."""

_PERF_EVENT_OPEN = {"x86_64": 298, "i386": 336, "i686": 336, "armv7l": 364, "ppc64le": 319, "s390x": 331}
_GENERIC_PERF_EVENT_OPEN = 241  # asm-generic (arm64, riscv64, loongarch64)

# struct perf_event_mmap_page: data_head, data_tail, data_offset, data_size
_HEAD_AT, _TAIL_AT, _DATA_OFFSET_AT, _DATA_SIZE_AT = 1024, 1032, 1040, 1048


class PerfRefused(OSError):
    """perf_event_open (or its ring's mmap) was refused; ``errno`` says why."""


@dataclass(frozen=True)
class PerfSample:
    """One ``PERF_RECORD_SAMPLE``."""

    ip: int
    pid: int
    tid: int
    time: int
    cpu: int
    period: int
    """ns of CPU time the sample stands for (cpu-clock)."""
    callchain: tuple[int, ...]
    """Context markers and addresses, innermost frame first (:func:`split_chain`)."""
    misc: int = 0


@dataclass
class RecordCounts:
    """What a samples file holds besides its samples."""

    samples: int = 0
    lost: int = 0
    """Samples the kernel dropped because the ring was full (``PERF_RECORD_LOST``)."""
    throttled: int = 0
    """Times the kernel throttled sampling (``PERF_RECORD_THROTTLE``)."""
    other: int = 0
    cut: int = 0
    """Bytes at the end too short for the record their header announced."""


def clock_for(trace_clock: str) -> tuple[bool, int | None]:
    """(usable, clockid) for a tracefs trace clock: clockid None is perf's default clock."""
    if trace_clock not in TRACE_CLOCK_IDS:
        return False, None
    return True, TRACE_CLOCK_IDS[trace_clock]


def split_chain(chain: tuple[int, ...] | list[int]) -> tuple[list[int], list[int]]:
    """(kernel frames, user frames) of a call chain, each innermost first, markers removed."""
    kernel: list[int] = []
    user: list[int] = []
    part: list[int] | None = None
    for entry in chain:
        if entry >= CONTEXT_MAX:
            part = kernel if entry == CONTEXT_KERNEL else user if entry == CONTEXT_USER else None
        elif part is not None:
            part.append(entry)
    return kernel, user


_FIELDS = ((SAMPLE_IP, "Q"), (SAMPLE_TID, "II"), (SAMPLE_TIME, "Q"), (SAMPLE_CPU, "II"), (SAMPLE_PERIOD, "Q"))
"""The fixed-size sample fields this reader knows, in the kernel's order (CALLCHAIN follows)."""


def _body(sample_type: int) -> struct.Struct:
    known = SAMPLE_CALLCHAIN | sum(bit for bit, _ in _FIELDS)
    if sample_type & ~known:
        raise ValueError(f"sample_type {sample_type:#x} has fields this reader does not know")
    return struct.Struct("=" + "".join(f for bit, f in _FIELDS if sample_type & bit))


def parse_records(
    data: bytes, counts: RecordCounts | None = None, sample_type: int = SAMPLE_TYPE
) -> Iterator[PerfSample]:
    """The samples of a stream of perf records written with ``sample_type`` (a subset of
    :data:`SAMPLE_TYPE`; absent fields read 0); lost and throttle records are counted into
    ``counts``."""
    counts = counts if counts is not None else RecordCounts()
    view = memoryview(data)
    at, end = 0, len(data)
    body = _body(sample_type)
    chained = bool(sample_type & SAMPLE_CALLCHAIN)
    names = [
        n
        for bit, n in (
            (SAMPLE_IP, "ip"),
            (SAMPLE_TID, "pid"),
            (SAMPLE_TID, "tid"),
            (SAMPLE_TIME, "time"),
            (SAMPLE_CPU, "cpu"),
            (SAMPLE_CPU, "res"),
            (SAMPLE_PERIOD, "period"),
        )
        if sample_type & bit
    ]
    least = _HEADER.size + body.size + (8 if chained else 0)
    while at + _HEADER.size <= end:
        kind, misc, size = _HEADER.unpack_from(view, at)
        if size < _HEADER.size or at + size > end:
            counts.cut += end - at
            return
        if kind == RECORD_SAMPLE and size >= least:
            values = dict(zip(names, body.unpack_from(view, at + _HEADER.size), strict=True))
            chain: tuple[int, ...] = ()
            if chained:
                first = at + _HEADER.size + body.size + 8
                nr = struct.unpack_from("=Q", view, first - 8)[0]
                nr = min(nr, (at + size - first) // 8)
                chain = struct.unpack_from(f"={nr}Q", view, first)
            counts.samples += 1
            yield PerfSample(
                values.get("ip", 0),
                values.get("pid", 0),
                values.get("tid", 0),
                values.get("time", 0),
                values.get("cpu", 0),
                values.get("period", 0),
                chain,
                misc,
            )
        elif kind == RECORD_LOST and size >= _HEADER.size + 16:
            counts.lost += struct.unpack_from("=Q", view, at + _HEADER.size + 8)[0]
        elif kind == RECORD_THROTTLE:
            counts.throttled += 1
        else:
            counts.other += 1
        at += size
    counts.cut += end - at


def offset_of(perf_times: list[int], trace_times: list[int], tolerance_ns: int = 2000) -> int | None:
    """perf time minus trace time of the same events, from the perf stamps of some events and
    the trace stamps of a superset of them (either list may hold events the other lacks): the
    difference most pairs agree on within ``tolerance_ns`` (their median); None without two
    agreeing pairs."""
    diffs = sorted(p - t for p in perf_times for t in trace_times)
    best: list[int] = []
    j = 0
    for i in range(len(diffs)):
        while diffs[i] - diffs[j] > tolerance_ns:
            j += 1
        if i + 1 - j > len(best):
            best = diffs[j : i + 1]
    if len(best) < 2:
        return None
    return best[len(best) // 2]


def tracepoint_id(root: Path, system: str, name: str) -> int | None:
    """The perf id of a tracepoint (``events/<system>/<name>/id`` in tracefs)."""
    try:
        return int((root / "events" / system / name / "id").read_text())
    except (OSError, ValueError):
        return None


def online_cpus() -> list[int]:
    """The online CPUs (``/sys/devices/system/cpu/online``; CPU 0 when it cannot be read)."""
    try:
        text = Path("/sys/devices/system/cpu/online").read_text().strip()
    except OSError:
        return [0]
    cpus: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        if low.strip().isdigit():
            cpus.extend(range(int(low), int(high or low) + 1))
    return cpus or [0]


def max_sample_rate() -> int | None:
    """``kernel.perf_event_max_sample_rate`` (the kernel refuses a higher frequency)."""
    try:
        return int(Path("/proc/sys/kernel/perf_event_max_sample_rate").read_text())
    except (OSError, ValueError):
        return None


def _syscall_number() -> int:
    machine = platform.machine()
    return _PERF_EVENT_OPEN.get(machine, _GENERIC_PERF_EVENT_OPEN)


def _attr(
    frequency: int,
    clockid: int | None,
    kind: int = PERF_TYPE_SOFTWARE,
    config: int = PERF_COUNT_SW_CPU_CLOCK,
    sample_type: int = SAMPLE_TYPE,
) -> ctypes.Array[ctypes.c_char]:
    """``frequency`` samples a second (cpu-clock), or with a tracepoint one sample per hit."""
    attr = ctypes.create_string_buffer(PERF_ATTR_SIZE_VER7)
    flags = _DISABLED | _EXCLUDE_HV | (_USE_CLOCKID if clockid is not None else 0)
    flags |= _INHERIT | _FREQ if kind == PERF_TYPE_SOFTWARE else 0
    period = frequency if kind == PERF_TYPE_SOFTWARE else 1
    # type, size, config, sample_freq/period, sample_type, read_format, flags
    struct.pack_into("=IIQQQQQ", attr, 0, kind, PERF_ATTR_SIZE_VER7, config, period, sample_type, 0, flags)
    if clockid is not None:
        struct.pack_into("=i", attr, 92, clockid)  # after sample_regs_user (80) and sample_stack_user
    return attr


def _open(attr: ctypes.Array[ctypes.c_char], pid: int, cpu: int) -> int:
    fd = int(
        libc().syscall(
            ctypes.c_long(_syscall_number()),
            attr,
            ctypes.c_int(pid),
            ctypes.c_int(cpu),
            ctypes.c_int(-1),
            ctypes.c_ulong(PERF_FLAG_FD_CLOEXEC),
        )
    )
    if fd < 0:
        err = ctypes.get_errno()
        raise PerfRefused(err, f"perf_event_open(pid {pid}, cpu {cpu}): {os.strerror(err)}")
    return fd


def _ioctl(fd: int, request: int, arg: int) -> None:
    if libc().ioctl(ctypes.c_int(fd), ctypes.c_ulong(request), ctypes.c_ulong(arg)) < 0:
        err = ctypes.get_errno()
        raise PerfRefused(err, f"ioctl({request:#x}) on a perf event: {os.strerror(err)}")


@dataclass
class _Ring:
    cpu: int
    fd: int
    area: mmap.mmap
    data_offset: int
    data_size: int
    out: Path
    written: int = 0


@dataclass
class Sampler:
    """CPU-clock sampling of ``pids`` (and the children they create) on every online CPU.

    :meth:`open` opens the events disabled, :meth:`enable` starts them; a thread started by
    :meth:`start_draining` copies the rings into ``directory/cpu<N>.raw`` every ``interval``
    seconds; :meth:`close` (idempotent, safe after a failed :meth:`open`) stops sampling,
    drains the rest and closes every descriptor.
    """

    pids: list[int]
    directory: Path
    frequency: int = 4000
    clockid: int | None = None
    ring_pages: int = 128
    """Data pages per CPU ring (a power of two)."""
    interval: float = 0.05
    tracefs: Path | None = None
    """Where the calibration tracepoint's id is read; None: no calibration."""
    calibration_errno: int = 0
    """Why the calibration event could not be opened (0: it was, or was not asked for)."""
    fds: list[int] = field(default_factory=list)
    _calibration: int = -1
    rings: list[_Ring] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self) -> None:
        attr = _attr(self.frequency, self.clockid)
        page = mmap.PAGESIZE
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            for cpu in online_cpus():
                ring: _Ring | None = None
                for pid in self.pids:
                    try:
                        fd = _open(attr, pid, cpu)
                    except PerfRefused as exc:
                        if exc.errno == errno.ESRCH and len(self.pids) > 1:
                            continue  # a thread of a -p process that has ended since it was listed
                        raise
                    self.fds.append(fd)
                    if ring is None:
                        area = mmap.mmap(fd, page * (1 + self.ring_pages), mmap.MAP_SHARED)
                        offset = struct.unpack_from("=Q", area, _DATA_OFFSET_AT)[0] or page
                        size = struct.unpack_from("=Q", area, _DATA_SIZE_AT)[0] or page * self.ring_pages
                        out = self.directory / f"cpu{cpu}.raw"
                        out.write_bytes(b"")
                        ring = _Ring(cpu, fd, area, offset, size, out)
                        self.rings.append(ring)
                    else:
                        _ioctl(fd, _IOC_SET_OUTPUT, ring.fd)
            self._open_calibration()
        except BaseException:
            self.close()
            raise

    def _open_calibration(self) -> None:
        """The first system-call entries of the first task, stamped by perf (see the module)."""
        number = tracepoint_id(self.tracefs, "raw_syscalls", "sys_enter") if self.tracefs else None
        if number is None or not self.pids:
            return
        attr = _attr(0, self.clockid, PERF_TYPE_TRACEPOINT, number, CALIBRATION_TYPE)
        try:
            fd = _open(attr, self.pids[0], -1)
        except PerfRefused as exc:
            self.calibration_errno = exc.errno or 0
            return
        self._calibration = fd
        page = mmap.PAGESIZE
        area = mmap.mmap(fd, page * 2, mmap.MAP_SHARED)  # 32 samples of 24 bytes fit in a page
        out = self.directory / CALIBRATION_FILE
        out.write_bytes(b"")
        self.rings.append(_Ring(-1, fd, area, page, page, out))

    def enable(self) -> None:
        for fd in self.fds:
            _ioctl(fd, _IOC_ENABLE, 0)
        if self._calibration >= 0:  # switched off by drain() once it holds enough
            _ioctl(self._calibration, _IOC_ENABLE, 0)

    def start_draining(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kernlab-perf-drain", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(OSError, ValueError):
                self.drain()

    def drain(self) -> int:
        """Copy what each ring holds to its file; the bytes copied."""
        copied = 0
        with self._lock:
            for ring in self.rings:
                area = ring.area
                head = struct.unpack_from("=Q", area, _HEAD_AT)[0]
                tail = struct.unpack_from("=Q", area, _TAIL_AT)[0]
                if head == tail:
                    continue
                start, end = tail % ring.data_size, head % ring.data_size
                base = ring.data_offset
                if head - tail >= ring.data_size or end <= start:
                    chunk = area[base + start : base + ring.data_size] + area[base : base + end]
                else:
                    chunk = area[base + start : base + end]
                with open(ring.out, "ab") as fh:
                    fh.write(chunk)
                ring.written += len(chunk)
                copied += len(chunk)
                struct.pack_into("=Q", area, _TAIL_AT, head)
                if ring.fd == self._calibration and ring.written >= CALIBRATION_HITS * _CALIBRATION_RECORD:
                    # Enough pairs: every further system call would cost a perf record for nothing.
                    # (PERF_EVENT_IOC_REFRESH would stop it in the kernel, but on a task held in
                    # open() of a FIFO it left the event without a single hit, here, every time.)
                    _ioctl(ring.fd, _IOC_DISABLE, 0)
        return copied

    def close(self) -> None:
        """Stop sampling, drain what is left, close every ring and descriptor."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        for fd in [*self.fds, self._calibration]:
            with contextlib.suppress(OSError):
                if fd >= 0:
                    _ioctl(fd, _IOC_DISABLE, 0)
        try:
            if self.rings:
                with contextlib.suppress(OSError, ValueError):
                    self.drain()
        finally:
            for ring in self.rings:
                with contextlib.suppress(BufferError, ValueError):
                    ring.area.close()
            self.rings.clear()
            fds, self.fds = [*self.fds, self._calibration], []
            self._calibration = -1
            for fd in [f for f in fds if f >= 0]:
                with contextlib.suppress(OSError):
                    os.close(fd)
