"""The tour's steps, in process, each figure checked against the standard tool or the kernel."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from kernlab.errors import BadInput
from kernlab.reports import tour
from tests.conftest import is_root, need_tool


@pytest.fixture(scope="module")
def ws():
    with tour.Workspace() as workspace:
        yield workspace


def _ran(step_name: str, ws: tour.Workspace) -> object:
    step = next(s for s in tour.STEPS if s.name == step_name)
    result = tour.run_step(step, ws)
    assert result.status == "ran", (result.skipped, result.error)
    return result.data


def test_steps_are_selected_by_number_or_name():
    assert [s.name for s in tour.select_steps(("2", "lazy"))] == ["hello", "lazy"]
    assert [s.number for s in tour.select_steps(("vsz-rss,1",))] == [1, 8]
    assert tour.select_steps(()) == tour.STEPS
    assert [s.number for s in tour.STEPS] == list(range(1, len(tour.STEPS) + 1))
    with pytest.raises(BadInput):
        tour.select_steps(("no-such-step",))


def test_hello_entry_point_is_readelfs_and_main_calls_puts(ws):
    readelf = need_tool("readelf")
    data = _ran("hello", ws)
    assert isinstance(data, tour.HelloStep)
    header = subprocess.run([readelf, "-hW", data.program], capture_output=True, text=True, check=True).stdout
    entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)", header).group(1), 16)
    assert data.entry == entry
    loads = subprocess.run([readelf, "-lW", data.program], capture_output=True, text=True, check=True).stdout
    assert len(data.load_flags) == len(re.findall(r"^\s+LOAD\s", loads, re.M))
    if data.compiler is not None:
        assert data.output == "hello\n"
        assert data.entry_is_start  # gcc/clang put _start at the entry point
        assert data.main is not None and "puts@plt" in data.main.plt_calls
        nm = subprocess.run(["nm", data.program], capture_output=True, text=True, check=True).stdout
        main = int(next(line.split()[0] for line in nm.splitlines() if line.endswith(" main")), 16)
        assert data.main.start == main


def test_free_step_matches_free(ws):
    need_tool("free")
    data = _ran("free", ws)
    assert isinstance(data, tour.FreeStep)
    line = next(
        ln for ln in subprocess.check_output(["free", "-k"], text=True).splitlines() if ln.startswith("Mem:")
    )
    total, used, free, _shared, buff_cache, available = (int(v) for v in line.split()[1:7])
    f = data.mem.free
    assert f.total == total
    # The rest moves between two reads; a few MiB at most on an idle machine.
    for ours, theirs in (
        (f.used, used),
        (f.free, free),
        (f.buff_cache, buff_cache),
        (f.available, available),
    ):
        assert abs(ours - theirs) <= max(0.02 * total, 16384), (ours, theirs)
    meminfo = dict(
        (ln.split(":")[0], int(ln.split()[1])) for ln in Path("/proc/meminfo").read_text().splitlines()
    )
    assert abs(data.buffers_kib - meminfo["Buffers"]) <= 16384


def test_lazy_allocation_rss_grows_by_the_touched_size(ws):
    data = _ran("lazy", ws)
    assert isinstance(data, tour.LazyStep)
    touched_kib = data.touched_bytes // 1024
    assert data.touched_bytes == data.region_bytes // 2
    assert abs(data.rss_growth_kib - touched_kib) <= 0.05 * touched_kib, data
    # The area's own VMA: nothing before the touch, the touched half after it.
    assert data.region_rss_before_kib == 0
    assert abs(data.region_rss_after_kib - touched_kib) <= 0.05 * touched_kib
    assert data.vsz_after_kib - data.vsz_before_kib < touched_kib  # VSZ did not move with it
    assert data.faults >= data.touched_bytes // data.page_size * 0.95


def test_pagecache_step_matches_fincore(ws):
    fincore = need_tool("fincore")
    data = _ran("pagecache", ws)
    assert isinstance(data, tour.PagecacheStep)
    out = subprocess.run(
        [fincore, "--bytes", "--noheadings", "--output", "RES,PAGES,SIZE", data.path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    res, pages, size = (int(v) for v in out)
    loaded = data.loaded.files[0].residency
    assert (res, pages, size) == (loaded.resident_bytes, loaded.resident_pages, data.size)
    evicted = data.evicted.files[0]
    if evicted.residency.file.fstype not in ("tmpfs", "ramfs"):
        assert evicted.residency.resident_pages == 0
        assert evicted.before_resident_pages == loaded.pages


def test_maps_and_vsz_rss_of_the_live_process(ws):
    maps = _ran("maps", ws)
    assert isinstance(maps, tour.MapsStep)
    status = Path(f"/proc/{maps.maps.pid}/status").read_text()
    vmsize = int(re.search(r"VmSize:\s+(\d+)", status).group(1))
    assert maps.maps.ps_vsz == vmsize
    # [vsyscall] is the kernel's gate page, listed in maps but no VMA of the process's mm.
    assert sum(v.size_kib for v in maps.maps.vmas if v.name != "[vsyscall]") == vmsize
    lines = Path(f"/proc/{maps.maps.pid}/maps").read_text().splitlines()
    assert len(maps.maps.vmas) == len(lines)
    region = next(ln for ln in lines if int(ln.split("-")[0], 16) == maps.region_address)
    start, end = (int(x, 16) for x in region.split()[0].split("-"))
    assert end - start == maps.region_bytes
    assert maps.region_rss_kib == 0
    sizes = _ran("vsz_rss", ws)
    assert isinstance(sizes, tour.VszRssStep)
    ps = subprocess.check_output(["ps", "-o", "vsz=,rss=", "-p", str(sizes.pid)], text=True).split()
    assert sizes.vsz_kib == int(ps[0])
    assert abs(sizes.rss_kib - int(ps[1])) <= 256


def test_vtop_walks_the_page_that_holds_hello(ws):
    data = _ran("vtop", ws)
    assert isinstance(data, tour.VtopStep)
    entry = data.vtop.pagemap
    assert entry is not None and entry.present
    # Read the pagemap entry ourselves: bit 63 present, bits 0-54 the frame (0 without CAP_SYS_ADMIN).
    page = os.sysconf("SC_PAGE_SIZE")
    with open(f"/proc/{data.pid}/pagemap", "rb") as fh:
        fh.seek(data.address // page * 8)
        raw = int.from_bytes(fh.read(8), "little")
    assert raw >> 63 == 1
    pfn = raw & ((1 << 55) - 1)
    if is_root():
        assert entry.pfn == pfn != 0
    assert len(data.vtop.split.indices) in (4, 5)


def test_kthreads_names_are_procs_comm(ws):
    data = _ran("kthreads", ws)
    assert isinstance(data, tour.KthreadsStep)
    names = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                flags = int(stat[stat.rindex(")") + 2 :].split()[6])
                if flags & 0x00200000:
                    names.append((entry / "comm").read_text().rstrip("\n"))
            except (FileNotFoundError, ProcessLookupError):
                continue
    ours = [n for f in data.kthreads.families for n in f.names]
    # Kernel threads come and go (kworkers): the two reads agree on nearly all of them.
    assert abs(len(ours) - len(names)) <= max(3, len(names) // 20)
    long_now = sum(1 for n in names if len(n) > tour.COMM_LIMIT)
    assert abs(data.longer_than_comm - long_now) <= max(3, long_now // 10)


def test_syscall_step_is_libcs_rename(ws):
    objdump = need_tool("objdump")
    data = _ran("syscall", ws)
    assert isinstance(data, tour.SyscallStep)
    libc = data.call.libc
    assert data.call.syscall.syscall.name == "rename"
    listing = subprocess.run(
        [
            objdump,
            "-d",
            f"--start-address={libc.disassembly.start}",
            f"--stop-address={libc.disassembly.start + libc.disassembly.size}",
            libc.libc,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"mov    ${data.call.syscall.syscall.number:#x},%eax" in listing
    assert libc.load is not None and libc.load.operands == f"${data.call.syscall.syscall.number:#x},%eax"


@pytest.mark.skipif(not is_root(), reason="needs root")
def test_record_step_sees_mvs_rename_as_strace_does(ws):
    strace = need_tool("strace")
    from tests.recording.rec_util import need_tracing

    need_tracing()
    data = _ran("record", ws)
    assert isinstance(data, tour.RecordStep)
    assert data.exit_code == 0 and data.renamed
    folder = ws.folder / "strace"
    folder.mkdir()
    (folder / "a").write_text("x")
    out = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=rename,renameat,renameat2", "mv", folder / "a", folder / "b"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    seen = re.findall(r"^(rename\w*)\(", out, re.M)
    assert dict(data.renames) == {name: seen.count(name) for name in set(seen)}
    assert data.faults > 0 and data.syscalls > 0


def test_no_trace_and_non_root_skip_with_a_reason(ws, monkeypatch):
    record = next(s for s in tour.STEPS if s.name == "record")
    assert tour.run_step(record, ws, trace=False).skipped == "no_trace"
    monkeypatch.setattr(tour.os, "geteuid", lambda: 1000)
    assert tour.run_step(record, ws).skipped == "needs_root"
