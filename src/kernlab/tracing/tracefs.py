"""Finding tracefs, and reading/writing its control files with errors a user can act on.

tracefs is normally mounted at /sys/kernel/tracing; older systems reach it through
/sys/kernel/debug/tracing. When it is not mounted and we are root, kernlab mounts it at
/sys/kernel/tracing (the mount point the kernel creates for it).
"""

from __future__ import annotations

import ctypes
import errno
import os
from functools import cache
from pathlib import Path
from typing import Any

from kernlab.errors import KernlabError, NotSupported, PermissionNeeded, TracingError
from kernlab.libc import libc
from kernlab.mm.mounts import read_mountinfo

DEFAULT_MOUNT = Path("/sys/kernel/tracing")
DEBUGFS_MOUNT = Path("/sys/kernel/debug/tracing")


def _mounted_tracefs() -> list[Path]:
    """Mount points of tracefs in this mount namespace, in mount order (first is preferred)."""
    try:
        mounts = read_mountinfo()
    except KernlabError:
        return []
    return [Path(m.mount_point) for m in mounts if m.fstype == "tracefs"]


def _mount_tracefs(target: Path) -> None:
    rc = libc().mount(b"nodev", str(target).encode(), b"tracefs", 0, None)
    if rc != 0:
        err = ctypes.get_errno()
        if err == errno.EPERM:
            raise PermissionNeeded(
                f"tracefs is not mounted and mounting it at {target} needs root",
                key="errors.tracefs_mount_needs_root",
                fields={"target": str(target)},
            )
        if err == errno.ENODEV:
            raise NotSupported(
                "this kernel has no tracefs (CONFIG_TRACING is off)", key="errors.tracing.no_tracefs"
            )
        raise TracingError(
            f"cannot mount tracefs at {target}: {os.strerror(err)}",
            errno=err,
            key="errors.tracing.cannot_mount",
            fields={"target": str(target), "reason": os.strerror(err)},
        )


@cache
def tracefs_root() -> Path:
    """The directory where tracefs is mounted, mounting it if needed (and allowed).

    Raises PermissionNeeded when tracefs exists but this user cannot read it, NotSupported when
    the kernel has no tracefs.
    """
    candidates = _mounted_tracefs()
    for path in (DEFAULT_MOUNT, DEBUGFS_MOUNT):
        if path not in candidates:
            candidates.append(path)
    denied: Path | None = None
    for path in candidates:
        try:
            if (path / "tracing_on").exists() or (path / "instances").is_dir():
                return path
        except PermissionError:
            denied = path
            continue
        if not os.access(path, os.R_OK | os.X_OK) and path.exists():
            denied = path
    if denied is not None or os.geteuid() != 0:
        where = denied or DEFAULT_MOUNT
        raise PermissionNeeded(
            f"tracing needs root: {where} is not readable by this user (run with sudo)",
            key="errors.tracing_needs_root",
            fields={"where": str(where)},
        )
    if DEFAULT_MOUNT.is_dir():
        _mount_tracefs(DEFAULT_MOUNT)
        if (DEFAULT_MOUNT / "tracing_on").exists():
            return DEFAULT_MOUNT
    raise NotSupported(
        "this kernel has no tracefs (no /sys/kernel/tracing; CONFIG_TRACING is off)",
        key="errors.tracing.no_tracing_dir",
    )


def describe_oserror(path: Path, exc: OSError, action: str) -> str:
    """One line saying which tracefs file refused what, and why."""
    reason = exc.strerror or str(exc)
    return f"cannot {action} {path}: {reason}"


def _about(path: Path, exc: OSError, action: str) -> dict[str, Any]:
    """The catalog key and fields of :func:`describe_oserror`'s line (errors.tracing.cannot_<action>)."""
    return {
        "key": f"errors.tracing.cannot_{action}",
        "fields": {"path": str(path), "reason": exc.strerror or str(exc)},
    }


def read_text(path: Path) -> str:
    """Read a tracefs file; errors become PermissionNeeded / NotSupported / TracingError."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except PermissionError as exc:
        raise PermissionNeeded(
            describe_oserror(path, exc, "read") + " (run as root)", **_about(path, exc, "read_root")
        ) from exc
    except FileNotFoundError as exc:
        raise NotSupported(
            f"{path} does not exist on this kernel", key="errors.tracing.missing", fields={"path": str(path)}
        ) from exc
    except OSError as exc:
        raise TracingError(describe_oserror(path, exc, "read"), **_about(path, exc, "read")) from exc


def write_text(path: Path, value: str, *, append: bool = False) -> None:
    """Write a value to a tracefs control file in one write(2), as echo does.

    tracefs applies a write when it is made, so the error (EINVAL for a value the kernel
    refuses, EBUSY for a file in use) comes back here and is translated once.
    """
    flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
    data = value.encode()
    try:
        fd = os.open(path, flags)
    except PermissionError as exc:
        raise PermissionNeeded(
            describe_oserror(path, exc, "open") + " (run as root)", **_about(path, exc, "open_root")
        ) from exc
    except FileNotFoundError as exc:
        raise NotSupported(
            f"{path} does not exist on this kernel", key="errors.tracing.missing", fields={"path": str(path)}
        ) from exc
    except OSError as exc:
        raise TracingError(describe_oserror(path, exc, "open"), **_about(path, exc, "open")) from exc
    try:
        os.write(fd, data if data.endswith(b"\n") or not data else data + b"\n")
    except OSError as exc:
        raise TracingError(
            describe_oserror(path, exc, f"write {value!r} to"),
            key="errors.tracing.cannot_write",
            fields={"path": str(path), "value": repr(value), "reason": exc.strerror or str(exc)},
        ) from exc
    finally:
        os.close(fd)


def try_write(path: Path, value: str, *, append: bool = False) -> OSError | None:
    """Write like :func:`write_text` but return the OSError instead of raising (for probes)."""
    flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
    data = value.encode()
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return exc
    try:
        os.write(fd, data if data.endswith(b"\n") or not data else data + b"\n")
    except OSError as exc:
        return exc
    finally:
        os.close(fd)
    return None


def read_live_file(relative: str) -> bytes | None:
    """The bytes of ``relative`` under this machine's tracefs, or None when it cannot be read.

    Only for recordings made before kernlab copied that file into them: the one place a
    reader of a recording may look at the running kernel (tests make it fail to prove a
    recording is self-contained).
    """
    for base in (DEFAULT_MOUNT, DEBUGFS_MOUNT):
        try:
            return (base / relative).read_bytes()
        except OSError:
            continue
    return None


def available_events(root: Path | None = None) -> dict[str, list[str]]:
    """Every event this kernel offers, grouped by system (from ``available_events``)."""
    text = read_text((root or tracefs_root()) / "available_events")
    groups: dict[str, list[str]] = {}
    for line in text.splitlines():
        system, _, event = line.strip().partition(":")
        if event:
            groups.setdefault(system, []).append(event)
    return groups
