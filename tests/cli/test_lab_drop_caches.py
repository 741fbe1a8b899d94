"""`kernlab lab mmap-vs-read --drop-caches` as root: the seed's global ``echo 3 >
/proc/sys/vm/drop_caches``, and what it reports of ``free`` before and after, against
/proc/meminfo read by the test itself right before and right after the command.

What the lab calls buff/cache is free's: Buffers + Cached + SReclaimable. Between the test's two
readings the machine loses what drop_caches frees; the lab's own "before" also holds the file it
wrote (gone by the test's "after"), and its "after" lacks what the lab read back in after the
drop (its children's interpreter and its own file, tens of MiB at most). So the drop the lab
reports, less its file, is the drop the test measures, within 5 % once the drop is large beside
that footprint. To make the drop large on any machine, the test first fills the page cache with
clean pages of its own (the holes of a sparse file, read once: nothing to write back, no disk
space), which drop_caches frees with the rest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kernlab.reports.labs.common import scratch_folder
from tests.conftest import is_root, run_kernlab
from tests.reports.test_labs import _cold_file_possible

SIZE = "8M"
FILL = 1 << 30
"""Clean page cache the test adds before the command, when a quarter of MemAvailable allows."""
LEAST_DROP_KIB = 1 << 20
"""The smallest drop (1 GiB) beside which the lab's own footprint stays under 5 %."""


def _meminfo() -> dict[str, int]:
    """/proc/meminfo in KiB."""
    out = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, value = line.partition(":")
        out[name] = int(value.split()[0])
    return out


def _buff_cache(info: dict[str, int]) -> int:
    return info["Buffers"] + info["Cached"] + info["SReclaimable"]


@contextmanager
def _page_cache_filled(size: int) -> Iterator[None]:
    """``size`` bytes of clean page cache for as long as the block lasts: a sparse file read once
    (its holes become zero-filled cached pages on ext4, xfs, btrfs)."""
    folder = scratch_folder("kernlab-test-fill-")
    path = folder / "sparse"
    try:
        with open(path, "wb") as fh:
            fh.truncate(size)
        fd = os.open(path, os.O_RDONLY)
        try:
            while os.read(fd, 1 << 20):
                pass
        finally:
            os.close(fd)
        yield
    finally:
        path.unlink(missing_ok=True)
        folder.rmdir()


def test_drop_caches_as_root_reports_free_as_the_kernel_saw_it():
    if not is_root():
        pytest.skip("--drop-caches needs root (refused otherwise: tests/cli/test_lab_nonroot.py)")
    if not os.access("/proc/sys/vm/drop_caches", os.W_OK):
        pytest.skip("/proc/sys/vm/drop_caches is not writable here (a container?)")
    _cold_file_possible()
    fill = min(FILL, _meminfo()["MemAvailable"] * 1024 // 4)
    with _page_cache_filled(fill):
        before = _meminfo()
        result = run_kernlab("lab", "mmap-vs-read", "--size", SIZE, "--drop-caches", "--no-trace", "--json")
        after = _meminfo()
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)

    # The eviction was the global drop_caches, before each cold run, and it emptied the file too.
    assert data["eviction_method"] == "drop_caches"
    cold = [r for r in data["runs"] if r["temperature"] == "cold"]
    warm = [r for r in data["runs"] if r["temperature"] == "warm"]
    assert [r["method"] for r in cold] == ["read", "mmap"] and len(warm) == 2
    for run in cold:
        assert run["eviction"]["method"] == "drop_caches"
        assert run["eviction"]["resident_after"] == 0 == run["resident_before"]
    assert all(run["eviction"] is None for run in warm)

    free = data["free"]
    assert free is not None, "--drop-caches shows free before and after"
    f0, f1 = free["before"], free["after"]
    for f in (f0, f1):  # free's own arithmetic on the kernel's counters
        assert f["total"] == before["MemTotal"] == after["MemTotal"]
        assert f["buff_cache"] == f["buffers"] + f["cache"]
    reported = f0["buff_cache"] - f1["buff_cache"]
    measured = _buff_cache(before) - _buff_cache(after)
    if measured < LEAST_DROP_KIB:
        pytest.skip(
            f"drop_caches freed only {measured} KiB of page cache here (at least {LEAST_DROP_KIB} "
            "KiB needed for the lab's own footprint to stay under 5 %): too little memory to fill"
        )
    # buff/cache falls, by what the kernel's counters fell around the command.
    assert f1["buff_cache"] < f0["buff_cache"]
    own_file = data["file"]["size"] // 1024
    assert reported - own_file == pytest.approx(measured, rel=0.05), (reported, own_file, measured)
    # available barely moves: the cache was counted as available already.
    change = f1["available"] - f0["available"]
    assert abs(change) < reported / 4, (change, reported)
