"""Whether a recording is complete: its state file, and the lock that keeps one recorder per directory.

``state.json`` is written when the recording directory is made, before any page is saved, as
``{"state": "recording", ...}`` with the recorder's pid and the machine's boot id, and padded to
:data:`STATE_BYTES`. The recorder holds an ``flock`` on it for as long as it runs (the kernel
drops the lock when the process dies, however it dies), so a second ``kernlab record`` into the
same directory is refused. At a clean end, after meta.json holds the per-CPU statistics, the
file is rewritten *in place* as ``complete``; when the recording stops early (a full disk, a
failure) it is rewritten as ``cut_short`` with the cause. Rewriting bytes that already exist
needs no new disk block, which matters exactly when the disk is full.

A reader (:func:`completeness`) tells the cases apart from what is on disk: ``complete``;
``cut_short`` with the cause the recorder noted; ``recording`` while the lock is still held
(a recording in progress); ``recording`` with another boot id (the machine stopped: a crash,
a power cut or a reboot); ``recording`` otherwise (kernlab was killed or died).
"""

from __future__ import annotations

import contextlib
import errno as errnos
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernlab.errors import BadInput, DiskFull
from kernlab.recording import layout

__all__ = [
    "CAUSES",
    "STATE_BYTES",
    "Completeness",
    "DiskFull",
    "StateRecord",
    "claiming",
    "completeness",
    "is_disk_full",
    "mark_complete",
    "mark_cut_short",
    "read_state",
    "record_failed",
]

STATE_BYTES = 4096
"""Size of state.json: written whole at the start, rewritten in place later (no new block)."""
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

RECORDING = "recording"
COMPLETE = "complete"
CUT_SHORT = "cut_short"

CAUSES = (
    "disk_full",
    "error",
    "interrupted",
    "killed",
    "machine_stopped",
    "state_damaged",
    "still_recording",
    "unknown",
)
"""Why a recording is not complete: noted by the recorder (disk_full, error, interrupted) or
found by the reader (killed, machine_stopped, still_recording; state_damaged when state.json is
there but cannot be read; unknown for an older recording without a state file)."""


@dataclass(frozen=True)
class StateRecord:
    """What state.json says."""

    state: str
    """``recording``, ``complete`` or ``cut_short``."""
    pid: int
    """The recorder's pid."""
    boot_id: str
    """The machine's boot id when the recording started."""
    started: float
    """time.time() when the directory was claimed."""
    ended: float = 0.0
    """time.time() when the state was last rewritten (0 while recording)."""
    cause: str = ""
    """For ``cut_short``: disk_full, error or interrupted."""
    detail: str = ""
    """The error the recorder saw (its OS text, e.g. "No space left on device")."""


@dataclass(frozen=True)
class Completeness:
    """Whether a recording holds everything that happened, and if not, why and up to when."""

    complete: bool
    cause: str | None
    """One of :data:`CAUSES`; None when complete."""
    detail: str
    """The error the recorder noted (empty when none)."""
    recorder_pid: int
    """The pid that made the recording (0 when unknown)."""
    stats_saved: bool
    """Whether the per-CPU ring-buffer statistics (overrun, dropped) were saved at the end: only
    then can a report say how many events were lost."""
    wall_start: float
    """time.time() when the recording started (0 when unknown)."""
    wall_end: float
    """time.time() when the recorder last wrote the state (0 when it never did)."""
    first_ts: int = 0
    """Trace-clock time stamp of the first event read (0: none)."""
    last_ts: int = 0
    """Trace-clock time stamp of the last event read: events after it are missing when the
    recording was cut short."""

    @property
    def span_ns(self) -> int:
        return max(self.last_ts - self.first_ts, 0)


def boot_id() -> str:
    """This boot's id; "" when the kernel does not say."""
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def _encode(record: StateRecord) -> bytes:
    data = json.dumps(record.__dict__, indent=1).encode()
    if len(data) > STATE_BYTES - 1:  # a long detail is cut, never the file grown
        cut = dict(record.__dict__, detail=record.detail[:200])
        data = json.dumps(cut).encode()[: STATE_BYTES - 1]
    return data + b"\n" + b" " * (STATE_BYTES - 1 - len(data))


def read_state(root: Path) -> StateRecord | None:
    """state.json of the recording at ``root``; None when absent or not readable as one."""
    try:
        data = json.loads((Path(root) / layout.STATE).read_bytes())
        if not isinstance(data, dict):
            return None
        return StateRecord(
            state=str(data["state"]),
            pid=int(data.get("pid", 0)),
            boot_id=str(data.get("boot_id", "")),
            started=float(data.get("started", 0.0)),
            ended=float(data.get("ended", 0.0)),
            cause=str(data.get("cause", "")),
            detail=str(data.get("detail", "")),
        )
    except (OSError, ValueError, TypeError, KeyError, UnicodeDecodeError, RecursionError):
        return None


def _held_by_someone(root: Path) -> bool:
    """True while a process holds the recorder's lock on state.json (a recording in progress)."""
    try:
        fd = os.open(Path(root) / layout.STATE, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def completeness(root: Path, meta: layout.RecordingMeta, first_ts: int = 0, last_ts: int = 0) -> Completeness:
    """What the state file (or, for an older recording without one, meta.json) says."""
    stats = bool(meta.loss) and meta.end_time_ns > 0
    record = read_state(root)
    if record is None:
        # Before state.json, meta.json was written at the start and again at a clean end, which
        # alone adds the end time and the per-CPU statistics.
        damaged = (Path(root) / layout.STATE).exists()
        done = stats and not damaged
        return Completeness(
            done,
            None if done else "state_damaged" if damaged else "unknown",
            "",
            meta.root_pid,
            stats,
            meta.wall_start,
            0.0,
            first_ts,
            last_ts,
        )
    if record.state == COMPLETE:
        return Completeness(
            True, None, "", record.pid, stats, record.started, record.ended, first_ts, last_ts
        )
    if record.state == CUT_SHORT:
        cause = record.cause if record.cause in CAUSES else "unknown"
    elif record.boot_id and boot_id() and record.boot_id != boot_id():
        cause = "machine_stopped"
    elif _held_by_someone(root):
        cause = "still_recording"
    else:
        cause = "killed"
    return Completeness(
        False, cause, record.detail, record.pid, stats, record.started, record.ended, first_ts, last_ts
    )


# The recorder's open state files, by directory: the lock lives as long as the descriptor.
_held: dict[str, int] = {}
_held_lock = threading.Lock()


def _key(directory: Path) -> str:
    return os.path.abspath(directory)


def _lock(fd: int, directory: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        owner = read_state(directory)
        who = f" (pid {owner.pid})" if owner is not None and owner.pid else ""
        raise BadInput(
            f"{directory} is being recorded into right now by another kernlab record{who}: "
            "wait for it to end, or choose another -d",
            path=directory,
            key="errors.recording.busy_pid" if who else "errors.recording.busy",
            fields={"path": str(directory), "pid": owner.pid if owner is not None else 0},
        ) from exc


@contextlib.contextmanager
def claiming(directory: Path) -> Iterator[None]:
    """Around the making of the recording directory: refuse a directory another recorder holds,
    then write state.json (``recording``) in the new directory and hold its lock."""
    old: int | None = None
    path = Path(directory) / layout.STATE
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        old = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        _lock(old, Path(directory))
    try:
        yield
        fd = _create(Path(directory))
        with _held_lock:
            previous = _held.pop(_key(directory), None)
            _held[_key(directory)] = fd
        if previous is not None:
            with contextlib.suppress(OSError):
                os.close(previous)
    finally:
        if old is not None:
            with contextlib.suppress(OSError):
                os.close(old)


def _create(directory: Path) -> int:
    path = directory / layout.STATE
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a killed run's file: the new one gets a fresh inode and lock
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError as exc:
        raise BadInput(
            f"{directory} is being claimed by another kernlab record at this moment",
            path=directory,
            key="errors.recording.being_claimed",
            fields={"path": str(directory)},
        ) from exc
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise _no_room(directory, exc) from exc
        raise
    _lock(fd, directory)
    record = StateRecord(RECORDING, os.getpid(), boot_id(), time.time())
    try:
        os.pwrite(fd, _encode(record), 0)
        # On disk before any page is: a machine that stops later leaves this behind.
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        if exc.errno in DISK_FULL_ERRNOS:
            raise _no_room(directory, exc) from exc
        raise
    return fd


def _no_room(directory: Path, exc: OSError) -> DiskFull:
    return DiskFull(
        f"no space left for a recording in {directory}: {exc.strerror}",
        path=directory,
        key="errors.recording.no_room",
        fields={"path": str(directory), "reason": exc.strerror},
    )


def _rewrite(directory: Path, state: str, cause: str = "", detail: str = "", release: bool = True) -> bool:
    """Rewrite state.json in place; True when it was written. Only the recorder that holds the
    directory writes (a refused second recorder never touches the first one's file)."""
    with _held_lock:
        fd = _held.pop(_key(directory), None) if release else _held.get(_key(directory))
    if fd is None:
        return False
    try:
        old = os.pread(fd, STATE_BYTES, 0)
        try:
            before: dict[str, Any] = json.loads(old)
        except ValueError:
            before = {}
        record = StateRecord(
            state,
            int(before.get("pid", os.getpid())),
            str(before.get("boot_id", boot_id())),
            float(before.get("started", 0.0)),
            time.time(),
            cause,
            detail,
        )
        os.pwrite(fd, _encode(record), 0)
        with contextlib.suppress(OSError):
            os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        if release:
            with contextlib.suppress(OSError):
                os.close(fd)


def mark_complete(directory: Path) -> bool:
    """The recording ended cleanly (meta.json holds the end and the statistics): release it."""
    return _rewrite(directory, COMPLETE)


def mark_cut_short(directory: Path, cause: str, detail: str = "", release: bool = True) -> bool:
    """The recording stopped early for ``cause``; ``release`` False keeps the lock (the recorder
    still has clean-up to do in the directory)."""
    return _rewrite(directory, CUT_SHORT, cause, detail, release)


DISK_FULL_ERRNOS = frozenset({errnos.ENOSPC, errnos.EDQUOT})


def _errno_chain(exc: BaseException) -> Iterator[int]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        number = getattr(cur, "errno", None)
        if isinstance(number, int):
            yield number
        cur = cur.__cause__ or cur.__context__


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is ENOSPC or EDQUOT."""
    return any(n in DISK_FULL_ERRNOS for n in _errno_chain(exc))


def record_failed(directory: Path, exc: BaseException) -> BaseException:
    """Mark the recording at ``directory`` cut short by ``exc``; return the error to raise: a
    :class:`DiskFull` for a full disk (its own exit status), else ``exc`` itself."""
    from kernlab.recording.signals import RecordingInterrupted

    if isinstance(exc, DiskFull):
        mark_cut_short(directory, "disk_full", _detail(exc))
        return exc
    if is_disk_full(exc):
        mark_cut_short(directory, "disk_full", os.strerror(errnos.ENOSPC))
        return DiskFull(
            f"the disk holding {directory} is full: tracing was stopped and the recording cut short; "
            f"what fit is kept and readable (kernlab report -d {directory})",
            path=directory,
            key="errors.recording.disk_full",
            fields={"path": str(directory)},
        )
    interrupted = isinstance(exc, (RecordingInterrupted, KeyboardInterrupt))
    mark_cut_short(directory, "interrupted" if interrupted else "error", _detail(exc))
    return exc


def _detail(exc: BaseException) -> str:
    for number in _errno_chain(exc):
        with contextlib.suppress(ValueError):
            return os.strerror(number)
    return str(exc)[:200]


def stop_at_once(directory: Path, tracing_on: Path | None, exc: BaseException) -> None:
    """A drain that failed: a full disk turns tracing off now (nothing more can be kept) and
    marks the recording cut short, before the command ends and the recorder unwinds."""
    if not is_disk_full(exc):
        return
    if tracing_on is not None:
        with contextlib.suppress(OSError):
            tracing_on.write_text("0")
    mark_cut_short(directory, "disk_full", os.strerror(errnos.ENOSPC), release=False)
