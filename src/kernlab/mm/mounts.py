"""Which mount a file lives on, from /proc/self/mountinfo, as df -T and findmnt -T find it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from kernlab.errors import OSFailure


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo (Documentation/filesystems/proc.rst, section 3.5)."""

    mount_id: int
    major: int
    minor: int
    root: str  # the directory of the filesystem that is mounted here
    mount_point: str
    fstype: str
    source: str
    options: str


def _unescape(text: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes (\040 ...).
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1 : i + 4].isdigit():
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Every mount in a mountinfo text; malformed lines are skipped."""
    mounts = []
    for line in text.split("\n"):  # only "\n" ends a line: a mount point may hold \x85
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 6 or len(tail) < 2:
            continue
        major, _, minor = fields[2].partition(":")
        mounts.append(
            Mount(
                mount_id=int(fields[0]),
                major=int(major),
                minor=int(minor),
                root=_unescape(fields[3]),
                mount_point=_unescape(fields[4]),
                fstype=tail[0],
                source=_unescape(tail[1]),
                options=fields[5],
            )
        )
    return mounts


def read_mountinfo() -> list[Mount]:
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            return parse_mountinfo(f.read())
    except OSError as exc:
        raise OSFailure(
            f"cannot read /proc/self/mountinfo: {exc.strerror}",
            path="/proc/self/mountinfo",
            key="errors.mm.cannot_read",
            fields={"path": "/proc/self/mountinfo", "reason": exc.strerror},
        ) from exc


def _under(path: str, mount_point: str) -> bool:
    return mount_point == "/" or path == mount_point or path.startswith(mount_point.rstrip("/") + "/")


def mount_of(path: str, st_dev: int, mounts: list[Mount] | None = None) -> Mount | None:
    """The mount holding ``path``: the longest mount point above it, preferring a mount whose
    device number equals the file's ``st_dev`` (btrfs subvolumes report their own device)."""
    mounts = read_mountinfo() if mounts is None else mounts
    real = os.path.realpath(path)
    above = [m for m in mounts if _under(real, m.mount_point)]
    if not above:
        return None
    # Later mounts on the same point hide earlier ones, so among equal lengths take the last.
    same_dev = [m for m in above if os.makedev(m.major, m.minor) == st_dev]
    pool = same_dev or above
    best = max(range(len(pool)), key=lambda i: (len(pool[i].mount_point), i))
    return pool[best]
