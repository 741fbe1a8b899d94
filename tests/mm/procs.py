"""Helpers for mm tests: start a test program that waits on stdin, and read pagemap directly."""

from __future__ import annotations

import os
import struct
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def waiting_program(binary: Path, args: Sequence[str] = ()) -> Iterator[dict[str, str]]:
    """Run ``binary`` until it has printed its key=value lines; stop it afterwards.

    The program prints lines of ``key=value`` pairs and then blocks reading stdin; closing
    stdin lets it exit.
    """
    proc = subprocess.Popen([str(binary), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            for pair in line.split():
                key, _, value = pair.partition("=")
                info[key] = value
            if "result" in info or "pages" in info:
                break
        info.setdefault("pid", str(proc.pid))
        yield info
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pagemap_words(pid: int, address: int, pages: int) -> list[int]:
    """Raw pagemap entries, read here without kernlab (the test's own oracle)."""
    page = os.sysconf("SC_PAGE_SIZE")
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(address // page * 8)
        data = f.read(8 * pages)
    return [w for (w,) in struct.iter_unpack("<Q", data)]


def kpageflags_word(pfn: int) -> int:
    with open("/proc/kpageflags", "rb") as f:
        f.seek(pfn * 8)
        return struct.unpack("<Q", f.read(8))[0]


def smaps_field(pid: int, start: int, key: str) -> int:
    """One smaps value (kB) of the VMA starting at ``start``."""
    inside = False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                inside = int(head.split("-")[0], 16) == start
            elif inside and head == key + ":":
                return int(line.split()[1])
    raise KeyError(key)


def unused_pid() -> int:
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) - 1
    while os.path.exists(f"/proc/{pid}"):
        pid -= 1
    return pid
