"""The labs' figures, checked against the kernel's own counters and files at the same moment."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from kernlab.reports.labs import lazy_alloc, mmap_read, syscall_path
from kernlab.reports.labs.common import scratch_folder
from tests.recording.rec_util import global_state, instances_of, need_tracing

SIZE = 8 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")


def _cold_file_possible() -> None:
    folder = scratch_folder("kernlab-test-")
    try:
        from kernlab.mm.pagecache import file_residency

        probe = folder / "probe"
        probe.write_bytes(os.urandom(1 << 16))
        mmap_read.evict(str(probe))
        if file_residency(str(probe)).resident_pages:
            pytest.skip(f"{folder.parent} keeps evicted pages (tmpfs?): no cold run is possible there")
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def traced():
    need_tracing()
    _cold_file_possible()
    before = global_state()
    report = mmap_read.build(size=SIZE)
    assert global_state() == before
    assert instances_of(os.getpid()) == []
    return report


def _run(report, method, temperature):
    return next(r for r in report.runs if r.method == method and r.temperature == temperature)


def test_cold_mmap_faults_major_and_fills_the_page_cache(traced):
    pages = SIZE // PAGE
    cold = _run(traced, "mmap", "cold")
    assert cold.traced and cold.eviction is not None and cold.eviction.resident_after == 0
    # The kernel's own counter (getrusage of the child) and the recording agree: major faults.
    assert cold.rusage_major > 0
    assert cold.data_major is not None and cold.data_major > 0
    assert cold.pages_added is not None and cold.pages_added >= pages
    assert cold.resident_before == 0  # mincore, as fincore counts
    # Nearly every fault of the work is on the mapping (the interpreter's own heap may add a few),
    # and the recording holds as many as getrusage counted.
    assert cold.data_faults is not None and cold.faults is not None
    assert cold.faults - 4 <= cold.data_faults <= cold.faults
    assert abs(cold.faults - (cold.rusage_minor + cold.rusage_major)) <= 2
    assert cold.kernel_path and "filemap_fault" in cold.kernel_path
    if cold.resident_after < pages:
        # The recording shows the child added every page; something outside the lab (reclaim, a
        # drop_caches) took some back before mincore looked: the machine's doing, not the lab's.
        lost = pages - cold.resident_after
        pytest.skip(f"{lost} of the file's pages left the page cache after the cold mmap run")
    assert cold.resident_after == pages


def _still_cached(run) -> None:
    """Another process may drop the caches between two runs (a shared machine): say so."""
    if run.resident_before < SIZE // PAGE or run.pages_added:
        pytest.skip(f"the page cache lost pages of the file before the warm {run.method} run")


def test_warm_mmap_has_no_major_fault(traced):
    warm = _run(traced, "mmap", "warm")
    _still_cached(warm)
    assert warm.rusage_major == 0 and warm.data_major == 0 and warm.major == 0
    assert warm.data_faults and warm.data_faults == warm.data_minor
    assert warm.pages_added == 0


def test_read_has_no_fault_on_the_data_pages_but_copies(traced):
    size = traced.file.size
    for temperature in ("cold", "warm"):
        run = _run(traced, "read", temperature)
        assert run.data_faults == 0 and run.major == 0 and run.rusage_major == 0
        assert run.copied_bytes == size == run.bytes
        assert run.syscalls is not None and run.syscalls >= size // (1 << 20)
    cold = _run(traced, "read", "cold")
    assert cold.pages_added is not None and cold.pages_added >= SIZE // PAGE
    assert cold.kernel_path and "vfs_read" in cold.kernel_path
    warm = _run(traced, "read", "warm")
    _still_cached(warm)
    assert warm.pages_added == 0 and warm.readahead_sync == 0


def test_untraced_run_uses_getrusage_and_mincore():
    _cold_file_possible()
    report = mmap_read.build(size=1 << 20, no_trace=True, shared_write=False)
    assert not report.traced and report.trace_note == "no_trace"
    cold = _run(report, "mmap", "cold")
    assert cold.syscalls is None and cold.pages_added_source == "mincore"
    assert cold.pages_added == cold.resident_after - cold.resident_before == (1 << 20) // PAGE
    assert cold.rusage_major > 0


def test_map_shared_write_zeroes_the_files_first_16_bytes(tmp_path):
    shared = mmap_read._shared_write(tmp_path, True)
    data = Path(shared.path).read_bytes()  # the file read back, after kernlab's eviction
    assert data == bytes(16) + mmap_read.SEED_TEXT[16:]
    assert shared.after == shared.after_writeback == data.hex()
    assert shared.before == mmap_read.SEED_TEXT.hex() and shared.seen == mmap_read.SEED_TEXT[:16].hex()
    assert shared.zeroed and shared.rest_unchanged


def test_lazy_allocation_rss_grows_by_the_touched_size():
    size = 64 << 20
    report = lazy_alloc.build(size, steps=4)
    kinds = [r.kind for r in report.regions]
    assert kinds[:2] == ["mmap", "malloc"]
    for region in report.regions[:2]:
        a = region.alloc
        assert (a.vsz_after_kib - a.vsz_before_kib) * 1024 >= size  # VSZ jumps
        assert (a.rss_after_kib - a.rss_before_kib) * 1024 < size // 20  # RSS does not
        assert abs(region.rss_growth_kib * 1024 - size) <= size * 0.05
        touched = [s.touched for s in region.steps]
        assert touched == sorted(touched) and touched[-1] == size
        present = [s.present_pages for s in region.steps]
        assert present == sorted(present)
        assert abs(present[-1] - size // PAGE) <= 1  # pagemap: every touched page present
        assert region.steps[-1].minflt >= size // PAGE * 0.95
        assert region.steps[-1].strip and min(region.steps[-1].strip) == 1.0
    mode = lazy_alloc.thp_mode()
    if mode in ("always", "madvise"):
        thp = report.regions[2]
        last = thp.steps[-1]
        if last.anon_huge_kib:
            assert last.minflt < thp.size // PAGE // 8  # far fewer faults than 4 KiB pages
    else:
        assert report.thp_skipped in ("thp_never", "no_thp")


def _unistd_number(name: str) -> int | None:
    for header in ("/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"):
        try:
            text = Path(header).read_text()
        except OSError:
            continue
        found = re.search(rf"^#define __NR_{name}\s+(\d+)", text, re.M)
        if found:
            return int(found.group(1))
    return None


def _kallsyms(name: str) -> int | None:
    with open("/proc/kallsyms") as fh:
        for line in fh:
            address, _type, symbol = line.split()[:3]
            if symbol == name:
                return int(address, 16)
    return None


@pytest.mark.parametrize("name", ["read", "rename", "getpid"])
def test_syscall_path_number_and_address_are_the_kernels(name):
    if os.uname().machine != "x86_64":
        pytest.skip("the unistd_64.h comparison is for x86_64")
    expected = _unistd_number(name)
    if expected is None:
        pytest.skip("no unistd_64.h (linux-libc-dev) to compare with")
    report = syscall_path.build(name, no_trace=True)
    assert report.number == expected
    assert report.live is None and report.live_skipped == "no_trace"
    if os.geteuid() == 0:
        symbols = {s.name: s.address for s in report.symbols}
        assert symbols[f"__x64_sys_{name}"] == _kallsyms(f"__x64_sys_{name}")
        assert symbols["entry_SYSCALL_64"] == _kallsyms("entry_SYSCALL_64")
        expected_dispatch = "switch" if _kallsyms("x64_sys_call") else "table"
        assert report.dispatch == expected_dispatch


def test_syscall_path_live_call_is_recorded():
    need_tracing()
    report = syscall_path.build("read")
    live = report.live
    assert live is not None and live.ret == 4096 and live.errno == 0
    assert live.entry is not None and "do_syscall_64" in live.entry.stack
    assert live.duration_ns is not None and live.duration_ns > 0
    assert report.mount is not None
    with open("/proc/self/mountinfo") as fh:
        assert any(line.split()[4] == report.mount.mount_point for line in fh)
    assert any("vfs_read" in s.stack or "ksys_read" in s.stack for s in live.inside) or not live.inside
