"""Which pages of a file are in the page cache, found with mmap + mincore(2) like fincore(1).

mincore reports, for each page of a mapping, whether the page is resident in memory; for a
shared file mapping that is whether the file's page is in the page cache (mm/mincore.c,
mincore_page). Mapping a file does not read it, so looking does not change the answer.
The file is mapped in chunks so that files larger than the address space can be examined.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import stat as stat_mod
from collections.abc import Callable
from dataclasses import dataclass

from kernlab.errors import BadInput, OSFailure, PermissionNeeded
from kernlab.libc import MAP_FAILED, libc
from kernlab.mm.mounts import Mount, mount_of
from kernlab.proc.cmdline import hex_escaped

# Bytes mapped per mincore call: 1 GiB keeps the vector (one byte per page) at 256 KiB.
CHUNK_BYTES = 1 << 30


@dataclass(frozen=True)
class FileIdentity:
    """What stat(2) and df -T say about a file."""

    path: str
    inode: int
    size: int
    blocks: int  # st_blocks, in 512-byte units as stat(1) %b counts them
    block_size: int  # st_blksize, the preferred I/O size
    device: str  # "major:minor" of st_dev
    fstype: str | None  # from /proc/self/mountinfo
    mount_point: str | None
    mount_source: str | None
    allocated_bytes: int  # blocks × 512: what the file occupies on disk (less than size if sparse)


@dataclass(frozen=True)
class FileResidency:
    """How much of one file is in the page cache, and where."""

    file: FileIdentity
    page_size: int
    pages: int  # pages the file spans: ceil(size / page size)
    resident_pages: int
    resident_ranges: tuple[tuple[int, int], ...]  # (first page, page count) of each resident run

    resident_bytes: int  # resident pages times the page size: fincore's RES column
    percent: float  # resident pages / pages × 100 (0 for an empty file)


def _open_regular(path: str, flags: int = os.O_RDONLY) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading if it is a regular file or block device; refuse anything else
    before opening it, so a FIFO never blocks us."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise BadInput(
            f"{hex_escaped(path)}: no such file",
            path=path,
            key="errors.no_such_file",
            fields={"path": hex_escaped(path)},
        ) from exc
    except PermissionError as exc:
        raise PermissionNeeded(
            f"{hex_escaped(path)}: permission denied (cannot look up the file)",
            path=path,
            key="errors.mm.cannot_look_up",
            fields={"path": hex_escaped(path)},
        ) from exc
    except OSError as exc:
        raise BadInput(
            f"{hex_escaped(path)}: {exc.strerror}",
            path=path,
            key="errors.os_error",
            fields={"path": hex_escaped(path), "reason": exc.strerror},
        ) from exc
    if stat_mod.S_ISDIR(st.st_mode):
        raise BadInput(
            f"{hex_escaped(path)} is a directory; give the files inside it",
            path=path,
            key="errors.mm.directory",
            fields={"path": hex_escaped(path)},
        )
    if not (stat_mod.S_ISREG(st.st_mode) or stat_mod.S_ISBLK(st.st_mode)):
        kind, kind_key = (
            ("a FIFO", "fifo")
            if stat_mod.S_ISFIFO(st.st_mode)
            else ("a socket", "socket")
            if stat_mod.S_ISSOCK(st.st_mode)
            else (
                ("a character device", "character_device")
                if stat_mod.S_ISCHR(st.st_mode)
                else ("not a regular file", "special_file")
            )
        )
        raise BadInput(
            f"{hex_escaped(path)} is {kind}: it has no pages in the page cache",
            path=path,
            key="errors.mm.no_page_cache",
            fields={"path": hex_escaped(path), "kind_key": f"errors.file_kind.{kind_key}"},
        )
    try:
        # O_NONBLOCK guards against the path being swapped for a FIFO after the stat.
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC)
    except PermissionError as exc:
        raise PermissionNeeded(
            f"{hex_escaped(path)}: permission denied (cannot open it for reading)",
            path=path,
            key="errors.permission_denied",
            fields={"path": hex_escaped(path)},
        ) from exc
    except OSError as exc:
        raise BadInput(
            f"{hex_escaped(path)}: {exc.strerror}",
            path=path,
            key="errors.os_error",
            fields={"path": hex_escaped(path), "reason": exc.strerror},
        ) from exc
    return fd, os.fstat(fd)


def _size_of(fd: int, st: os.stat_result) -> int:
    if stat_mod.S_ISBLK(st.st_mode):
        return os.lseek(fd, 0, os.SEEK_END)
    return st.st_size


def identify(path: str, fd: int, st: os.stat_result, mounts: list[Mount] | None = None) -> FileIdentity:
    mount = mount_of(path, st.st_dev, mounts)
    return FileIdentity(
        path=path,
        inode=st.st_ino,
        size=_size_of(fd, st),
        blocks=st.st_blocks,
        block_size=st.st_blksize,
        device=f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}",
        fstype=mount.fstype if mount else None,
        mount_point=mount.mount_point if mount else None,
        mount_source=mount.source if mount else None,
        allocated_bytes=st.st_blocks * 512,
    )


def _mincore_chunk(fd: int, offset: int, length: int, page_size: int, path: str = "the file") -> bytes:
    addr = libc().mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, fd, offset)
    if addr is None or addr == MAP_FAILED:
        err = ctypes.get_errno()
        if err in (errno.ENODEV, errno.EINVAL, errno.EACCES):
            # sysfs, procfs and some device files cannot be mapped: they have no page cache.
            raise BadInput(
                f"{hex_escaped(path)} cannot be mapped ({os.strerror(err)}): "
                "its filesystem keeps no page cache for it",
                path=path,
                errno=err,
                key="errors.mm.cannot_map",
                fields={"path": hex_escaped(path), "reason": os.strerror(err)},
            )
        raise OSFailure(
            f"mmap of {hex_escaped(path)} failed: {os.strerror(err)}",
            path=path,
            errno=err,
            key="errors.mm.mmap_failed",
            fields={"path": hex_escaped(path), "reason": os.strerror(err)},
        )
    try:
        pages = (length + page_size - 1) // page_size
        vec = ctypes.create_string_buffer(pages)
        if libc().mincore(addr, length, vec) != 0:
            err = ctypes.get_errno()
            raise OSFailure(
                f"mincore failed: {os.strerror(err)}",
                errno=err,
                key="errors.mm.mincore_failed",
                fields={"reason": os.strerror(err)},
            )
        return vec.raw[:pages]
    finally:
        libc().munmap(addr, length)


_LOW_BIT = bytes(b & 1 for b in range(256))  # mincore uses only bit 0 of each byte


def _runs(vector: bytes, base: int) -> list[tuple[int, int]]:
    """(first page, count) of each run of resident pages; bytes.find keeps this fast."""
    bits = vector.translate(_LOW_BIT)
    runs: list[tuple[int, int]] = []
    i = bits.find(1)
    while i != -1:
        j = bits.find(0, i)
        if j == -1:
            j = len(bits)
        runs.append((base + i, j - i))
        i = bits.find(1, j)
    return runs


def _merge(runs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, count in runs:
        if merged and merged[-1][0] + merged[-1][1] == start:
            merged[-1] = (merged[-1][0], merged[-1][1] + count)
        else:
            merged.append((start, count))
    return tuple(merged)


def file_residency(
    path: str, mounts: list[Mount] | None = None, on_bytes: Callable[[int], None] | None = None
) -> FileResidency:
    """Resident pages of ``path`` in the page cache (fincore's PAGES), with stat and mount facts."""
    page_size = os.sysconf("SC_PAGE_SIZE")
    fd, st = _open_regular(path)
    try:
        ident = identify(path, fd, st, mounts)
        total_pages = (ident.size + page_size - 1) // page_size
        runs: list[tuple[int, int]] = []
        offset = 0
        while offset < ident.size:
            length = min(CHUNK_BYTES, ident.size - offset)
            runs.extend(_runs(_mincore_chunk(fd, offset, length, page_size, path), offset // page_size))
            offset += length
            if on_bytes:
                on_bytes(length)
    finally:
        os.close(fd)
    merged = _merge(runs)
    resident = sum(c for _, c in merged)
    percent = round(100.0 * resident / total_pages, 2) if total_pages else 0.0
    return FileResidency(ident, page_size, total_pages, resident, merged, resident * page_size, percent)


def evict(path: str) -> None:
    """Drop ``path``'s clean pages from the page cache; dirty data is written back first
    (fsync), because POSIX_FADV_DONTNEED leaves dirty pages in place."""
    fd, _st = _open_regular(path)
    try:
        try:
            os.fsync(fd)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EROFS):  # nothing to sync on some filesystems
                raise OSFailure(
                    f"{hex_escaped(path)}: fsync failed: {exc.strerror}",
                    path=path,
                    key="errors.mm.fsync_failed",
                    fields={"path": hex_escaped(path), "reason": exc.strerror},
                ) from exc
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def load(path: str, on_bytes: Callable[[int], None] | None = None) -> int:
    """Read ``path`` from start to end so its pages enter the page cache; returns bytes read."""
    fd, _st = _open_regular(path)
    total = 0
    try:
        os.set_blocking(fd, True)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except OSError as exc:
                raise OSFailure(
                    f"{hex_escaped(path)}: read failed at byte {total}: {exc.strerror}",
                    path=path,
                    key="errors.mm.read_failed",
                    fields={"path": hex_escaped(path), "offset": total, "reason": exc.strerror},
                ) from exc
            if not chunk:
                break
            total += len(chunk)
            if on_bytes:
                on_bytes(len(chunk))
    finally:
        os.close(fd)
    return total


def drop_all_caches() -> None:
    """Write back everything, then drop clean page cache of the whole machine
    (echo 1 > /proc/sys/vm/drop_caches). Needs root."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
    except PermissionError as exc:
        raise PermissionNeeded(
            "dropping every cached page (/proc/sys/vm/drop_caches) needs root",
            key="errors.mm.drop_caches_root",
        ) from exc
    except OSError as exc:
        raise OSFailure(
            f"cannot write /proc/sys/vm/drop_caches: {exc.strerror}",
            path="/proc/sys/vm/drop_caches",
            key="errors.mm.cannot_write",
            fields={"path": "/proc/sys/vm/drop_caches", "reason": exc.strerror},
        ) from exc


ACTIONS = ("evict", "load", "drop-all")


@dataclass(frozen=True)
class FileReport:
    """One file's residency now, and before the action when one was asked for."""

    residency: FileResidency
    before_resident_pages: int | None  # resident pages before --evict/--load/--drop-all


@dataclass(frozen=True)
class PageCacheReport:
    """Residency of several files, with totals, as ``kernlab pagecache`` shows it."""

    action: str | None
    files: tuple[FileReport, ...]
    page_size: int
    total_pages: int
    total_resident_pages: int
    total_size: int

    total_resident_bytes: int


def examine_files(
    paths: list[str], action: str | None = None, on_bytes: Callable[[int], None] | None = None
) -> PageCacheReport:
    """Residency of every file in ``paths``; with ``action`` ("evict", "load", "drop-all")
    the residency is measured before and after doing it. Every path is checked first, so a
    bad path fails before anything is evicted or loaded."""
    if action is not None and action not in ACTIONS:
        raise BadInput(
            f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}",
            key="errors.unknown_choice",
            fields={"value": repr(action), "choices": ", ".join(ACTIONS)},
        )
    from kernlab.mm.mounts import read_mountinfo

    mounts = read_mountinfo()
    before = [file_residency(p, mounts) for p in paths] if action else None
    if action == "drop-all":
        drop_all_caches()
    for path in paths if action in ("evict", "load") else ():
        if action == "evict":
            evict(path)
        else:
            load(path, on_bytes)
    after = [file_residency(p, mounts, on_bytes if action is None else None) for p in paths]
    files = tuple(FileReport(r, before[i].resident_pages if before else None) for i, r in enumerate(after))
    page_size = os.sysconf("SC_PAGE_SIZE")
    return PageCacheReport(
        action=action,
        files=files,
        page_size=page_size,
        total_pages=sum(f.residency.pages for f in files),
        total_resident_pages=sum(f.residency.resident_pages for f in files),
        total_size=sum(f.residency.file.size for f in files),
        total_resident_bytes=sum(f.residency.resident_bytes for f in files),
    )


def page_resident(path: str, offset: int) -> bool:
    """Whether the page of ``path`` holding byte ``offset`` is in the page cache."""
    page_size = os.sysconf("SC_PAGE_SIZE")
    fd, st = _open_regular(path)
    try:
        size = _size_of(fd, st)
        if offset >= size:
            return False
        start = offset - offset % page_size
        vector = _mincore_chunk(fd, start, min(page_size, size - start), page_size, path)
    finally:
        os.close(fd)
    return bool(vector[0] & 1)
