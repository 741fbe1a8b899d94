"""The tour's steps, in process, each figure checked against the standard tool or the kernel."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from kernlab.errors import BadInput
from kernlab.reports import tour
from kernlab.reports.recording.loss import Loss
from kernlab.reports.replay import CallNode, ReplayFilters, ReplayReport, ThreadCalls
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
    # mmap vs read: its own step, right after lazy allocation, by either spelling or number
    for which in ("mmap-vs-read", "mmap_vs_read", "12"):
        (chosen,) = tour.select_steps((which,))
        assert (chosen.number, chosen.name) == (12, "mmap_vs_read")
    names = [s.name for s in tour.STEPS]
    assert names.index("mmap_vs_read") == names.index("lazy") + 1
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


def _no_compiler(monkeypatch, tmp_path) -> None:
    """No cc, gcc or clang on PATH (an empty folder): the hello step's fallback."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_hello_without_a_compiler_is_kernlabs_own_static_hello(monkeypatch, tmp_path):
    from kernlab.elf import tiny
    from kernlab.explain import tour as explain_tour

    if not tiny.supported():
        pytest.skip("kernlab's own hello is x86-64 code")
    readelf = need_tool("readelf")
    _no_compiler(monkeypatch, tmp_path)
    with tour.Workspace() as workspace:
        result = tour.run_step(next(s for s in tour.STEPS if s.name == "hello"), workspace)
        assert result.status == "ran", result.error
        data = result.data
        assert isinstance(data, tour.HelloStep)
        assert (data.compiler, data.source, data.origin) == (None, None, "kernlab")
        assert data.program != tour.FALLBACK_PROGRAM and Path(data.program).parent == workspace.folder
        assert data.output == "hello, world\n"  # it ran, and wrote its line with write(1, …)
        header = subprocess.run(
            [readelf, "-hlW", data.program], capture_output=True, text=True, check=True
        ).stdout
        entry = int(re.search(r"Entry point address:\s+(0x[0-9a-f]+)", header).group(1), 16)
        assert data.entry == entry and data.load_flags == ("R E",)
        assert data.interpreter is None and data.start is None and data.main is None
        assert data.size == Path(data.program).stat().st_size
        paragraph = explain_tour.paragraph(result)
    assert "kernlab wrote a hello world itself" in paragraph and '"hello, world"' in paragraph
    assert "statically linked" in paragraph and f"{entry:#x}" in paragraph
    assert "No C compiler" in paragraph and "a program already on this machine" not in paragraph


def test_hello_without_a_compiler_elsewhere_is_a_shipped_program(monkeypatch, tmp_path):
    """Not x86-64: no tiny hello; the step looks at a program the machine has, and says so."""
    from kernlab.explain import tour as explain_tour

    _no_compiler(monkeypatch, tmp_path)
    monkeypatch.setattr(tour.tiny, "supported", lambda machine=None: False)
    with tour.Workspace() as workspace:
        result = tour.run_step(next(s for s in tour.STEPS if s.name == "hello"), workspace)
    assert result.status == "ran", result.error
    assert isinstance(result.data, tour.HelloStep)
    assert (result.data.program, result.data.origin) == (tour.FALLBACK_PROGRAM, "system")
    assert "a program already on this machine" in explain_tour.paragraph(result)


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


def _mmap_run(data: tour.MmapStep, method: str, temperature: str):
    return next(r for r in data.lab.runs if (r.method, r.temperature) == (method, temperature))


@pytest.mark.parametrize("traced", [True, False], ids=["traced", "untraced"])
def test_mmap_vs_read_step_shows_the_labs_effects(ws, traced):
    """The lab's own checks (tests/reports/test_labs.py), on the step's small file: a cold mmap
    takes major faults and fills the page cache, a warm one takes none major, read() takes no
    fault on the data pages — or, where the machine kept the file cached, the step says so."""
    from kernlab.explain import count, say
    from kernlab.explain import tour as explain_tour

    if traced:
        from tests.recording.rec_util import need_tracing

        need_tracing()
    step = next(s for s in tour.STEPS if s.name == "mmap_vs_read")
    assert step.may_trace and not step.needs_root and not step.traces
    result = tour.run_step(step, ws, trace=traced)
    assert result.status == "ran", (result.skipped, result.error)
    data = result.data
    assert isinstance(data, tour.MmapStep) and data.trace_error is None
    lab = data.lab
    assert lab.traced is traced and lab.shared_write is None and lab.free is None
    assert lab.file.size == tour.MMAP_MIB << 20 and not Path(lab.file.path).exists()  # removed
    pages = lab.file.pages
    assert [(r.method, r.temperature) for r in lab.runs] == [
        ("read", "cold"), ("read", "warm"), ("mmap", "cold"), ("mmap", "warm"),
    ]  # fmt: skip
    paragraph = explain_tour.paragraph(result)
    assert "{" not in paragraph

    cold = _mmap_run(data, "mmap", "cold")
    assert cold.eviction is not None
    if cold.eviction.resident_after or cold.resident_before:
        # The machine kept the file's pages (tmpfs, a mapping elsewhere): the step says so.
        assert "stayed in the page cache after the eviction" in paragraph
    else:
        assert cold.rusage_major > 0  # the kernel's own counter, getrusage of the child
        assert say("lab.mmap.major_meaning") in paragraph
        if cold.resident_after == pages:  # nothing reclaimed meanwhile
            assert cold.pages_added is not None and cold.pages_added >= pages
        if traced:
            assert cold.data_major is not None and cold.data_major > 0
            assert cold.data_faults is not None and cold.faults is not None
            assert cold.faults - 4 <= cold.data_faults <= cold.faults
            assert cold.kernel_path and "filemap_fault" in cold.kernel_path
            assert "filemap_fault" in paragraph
    if not cold.rusage_major:
        resident = count("lab.n.page", cold.resident_before)
        assert say("lab.mmap.no_major", resident=resident) in paragraph

    warm = _mmap_run(data, "mmap", "warm")
    if warm.resident_before == pages and not warm.pages_added:  # still cached when it ran
        assert warm.rusage_major == 0
        assert warm.rusage_minor > 0  # the new process's page tables were empty
        if traced:
            assert warm.data_major == 0 and warm.major == 0
            assert warm.data_faults and warm.data_faults == warm.data_minor

    for temperature in ("cold", "warm"):
        run = _mmap_run(data, "read", temperature)
        assert run.rusage_major == 0 and run.bytes == lab.file.size
        if traced:
            assert run.data_faults == 0 and run.major == 0  # the process never maps the file
            assert run.copied_bytes == lab.file.size  # but the kernel copies every byte
        else:
            assert run.rusage_minor <= 8  # the buffer was touched before the work
            assert run.syscalls is None and run.pages_added_source == "mincore"
    if traced:
        assert "vfs_read" in _mmap_run(data, "read", "cold").kernel_path
    else:
        assert say("lab.mmap.no_trace") in paragraph


def test_mmap_vs_read_untraced_when_the_recording_fails(ws, monkeypatch):
    """As root with a kernel that refuses the recording: the runs are measured without it, and
    the step says why instead of the lab's --no-trace sentence."""
    from kernlab.errors import KernlabError
    from kernlab.explain import say
    from kernlab.explain import tour as explain_tour

    real = tour.mmap_read_lab.build
    asked: list[bool] = []

    def build(**kwargs):
        asked.append(kwargs["no_trace"])
        if not kwargs["no_trace"]:
            raise KernlabError("tracefs is not mounted", key="errors.report.specimen_silent")
        return real(**kwargs)

    monkeypatch.setattr(tour.mmap_read_lab, "build", build)
    monkeypatch.setattr(tour.os, "geteuid", lambda: 0)
    step = next(s for s in tour.STEPS if s.name == "mmap_vs_read")
    result = tour.run_step(step, ws)
    assert result.status == "ran" and asked == [False, True]
    data = result.data
    assert isinstance(data, tour.MmapStep) and data.trace_error == "tracefs is not mounted"
    assert not data.lab.traced and data.lab.trace_note is None
    paragraph = explain_tour.paragraph(result)
    assert paragraph.startswith("Recording failed here (tracefs is not mounted)")
    assert say("lab.mmap.no_trace") not in paragraph and say("lab.mmap.not_root") not in paragraph


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


@pytest.fixture(scope="module")
def recorded(ws):
    """The record step, run once (it records mv with its library calls and -K 5: ~30 s)."""
    from tests.recording.rec_util import need_tracing

    need_tracing()
    data = _ran("record", ws)
    assert isinstance(data, tour.RecordStep)
    return data


def _strace_mv(strace: str, folder: Path) -> str:
    """strace of the rename-family calls of `mv a b` run in ``folder``, as the step runs it."""
    folder.mkdir()
    (folder / "a").write_text("x")
    return subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=rename,renameat,renameat2", "mv", "a", "b"],
        capture_output=True,
        text=True,
        check=True,
        cwd=folder,
    ).stderr


@pytest.mark.skipif(not is_root(), reason="needs root")
def test_record_step_sees_mvs_rename_as_strace_does(ws, recorded):
    strace = need_tool("strace")
    data = recorded
    assert data.exit_code == 0 and data.renamed
    out = _strace_mv(strace, ws.folder / "strace")
    seen = re.findall(r"^(rename\w*)\(", out, re.M)
    assert dict(data.renames) == {name: seen.count(name) for name in set(seen)}
    assert data.faults > 0 and data.syscalls > 0


def _kernel_names(node: dict) -> list[str]:
    """The kernel functions beneath a replay --json node, in tree order (a fault's path left out)."""
    out = []
    for kid in node["children"]:
        if kid["kind"] == "kernel":
            out.append(kid["name"])
            out += _kernel_names(kid)
    return out


def _as_node(node: dict) -> dict:
    """A replay --json kernel node's fields as CallNode takes them (children made nodes too)."""
    kids = [CallNode(**_as_node(c)) for c in node["children"] if c["kind"] == "kernel"]
    return {
        "kind": node["kind"],
        "name": node["name"],
        "time_ns": node["time_ns"],
        "duration_ns": node["duration_ns"],
        "children": kids,
        "source": node["source"],
        "events": tuple(node["events"]),
    }


def _sure_kernel(nodes: list[CallNode]) -> list[CallNode]:
    """The kernel functions function_graph saw, or a stack at a tracepoint other than a page
    allocation (their subtrees cut the same way); a function only a perf sample or a page
    allocation saw is left out (a node's ``source`` is what saw it first: a sample may have
    come before the stacks)."""
    out = []
    for node in nodes:
        if node.kind != "kernel":
            continue
        if node.source != "function_graph" and not [e for e in node.events if e != "kmem:mm_page_alloc"]:
            continue
        out.append(dataclasses.replace(node, children=_sure_kernel(node.children)))
    return out


def _every(nodes: list[CallNode]) -> Iterator[CallNode]:
    for node in nodes:
        yield node
        yield from _every(node.children)


def _kernel_nodes_json(node: dict) -> list[dict]:
    """Every kernel node beneath a replay --json node (a fault's path left out)."""
    out = []
    for kid in node["children"]:
        if kid["kind"] == "kernel":
            out.append(kid)
            out += _kernel_nodes_json(kid)
    return out


def _rename_syscall(calls: list[dict]) -> dict | None:
    for node in calls:
        if node["kind"] == "syscall" and node["name"] in tour.RENAME_CALLS:
            return node
        found = _rename_syscall(node["children"])
        if found is not None:
            return found
    return None


@pytest.mark.skipif(not is_root(), reason="needs root")
def test_record_step_tree_is_the_seeds_rename(ws, recorded):
    """The program's rename-family library call, the system call inside it with the two files
    as strace decodes them, and beneath it the kernel functions `kernlab replay` shows for a
    separate `kernlab record --functions -K 5 -- mv a b` on the same filesystem."""
    strace = need_tool("strace")
    from tests.conftest import run_kernlab

    data = recorded
    assert data.kernel_depth == 5 and data.replay is not None
    tree = data.rename
    assert tree is not None
    if data.functions:
        assert tree.call.kind == "function" and tree.call.name in tour.RENAME_CALLS
        assert tree.call.library and "libc" in Path(tree.call.library).name
        assert '"a"' in tree.call.args and '"b"' in tree.call.args  # the fetched strings
    else:
        assert data.functions_error
    syscall = tree.syscall
    assert syscall is not None and syscall.kind == "syscall" and syscall.name in tour.RENAME_CALLS
    assert syscall in tree.call.children or syscall is tree.call
    # The decoded arguments name the two files, as strace shows them.
    out = _strace_mv(strace, ws.folder / "strace-args")
    line = next(ln for ln in out.splitlines() if ln.startswith(syscall.name + "("))
    assert re.findall(r'"([^"]*)"', syscall.args) == re.findall(r'"([^"]*)"', line) == ["a", "b"]

    # A separate recording, as a user makes it, replayed as a user reads it.
    other = ws.folder / "separate"
    other.mkdir()
    (other / "a").write_text("x")
    made = run_kernlab(
        "record", "-d", str(other / "k.data"), "--functions", "-K", "5", "--", "mv", "a", "b", cwd=other
    )
    assert made.code == 0, made.stderr
    replayed = run_kernlab("replay", "-d", str(other / "k.data"), "--json")
    assert replayed.code == 0, replayed.stderr
    theirs = _rename_syscall([c for t in replayed.json()["threads"] for c in t["calls"]])
    assert theirs is not None and theirs["name"] == syscall.name
    names = _kernel_names(theirs)
    faulted = any(c.kind == "fault" for c in syscall.children) or any(
        c["kind"] == "fault" for c in theirs["children"]
    )
    # What the two runs must both see: the functions on the stacks of the rename's own work.
    # A perf sample lands where the CPU happened to be (may_delete in one run only), and a page
    # is allocated when a slab or the page cache runs out, which depends on what ran before
    # (d_alloc → __d_alloc when the dentry cache needed a new slab): a function seen only by
    # those need not be in the other run.
    ours_sure = _sure_kernel(tour._kernel_kids(syscall))
    theirs_sure = _sure_kernel([CallNode(**_as_node(c)) for c in theirs["children"] if c["kind"] == "kernel"])
    ours_names = {n.name for n in _every(ours_sure)}
    theirs_names = {n.name for n in _every(theirs_sure)}
    if not faulted:
        assert ours_names <= set(names) and theirs_names <= set(tree.kernel_functions), (
            sorted(ours_names - set(names)),
            sorted(theirs_names - set(tree.kernel_functions)),
        )
        assert ours_names == theirs_names, (
            sorted(ours_names - theirs_names),
            sorted(theirs_names - ours_names),
        )
    # A fault inside the call (reading the names from user memory) adds the frames that took
    # it; the way down and what the last function of it called are the same in both.
    ours_here, theirs_here = ours_sure, theirs_sure
    for name in tree.kernel_path:
        ours_next = next((c.children for c in ours_here if c.name == name), None)
        theirs_next = next((c.children for c in theirs_here if c.name == name), None)
        assert (ours_next is None) == (theirs_next is None), name
        if ours_next is None or theirs_next is None:
            break  # the way down went on through what only a page allocation saw
        ours_here, theirs_here = ours_next, theirs_next
    assert [c.name for c in ours_here] == [c.name for c in theirs_here]
    for function in ("do_renameat2", "vfs_rename"):
        if function in names:
            assert function in tree.kernel_path
    if any(n.startswith(("ext4_", "__ext4_")) for n in names) and data.fstype == "ext4":
        assert tree.fs_functions and all("ext4_" in n for n in tree.fs_functions)
    # How the nodes were seen: each node's own source (a perf sample may see one first, beside
    # the recording's stacks at tracepoints), every node counted once.
    assert data.replay.kernel_paths is not None
    nodes = tour._kernel_nodes(syscall)
    assert dict(tree.sources) == dict(Counter(n.source for n in nodes))
    paths = data.replay.kernel_paths
    assert set(dict(tree.sources)) <= set(paths.sources or (paths.source,))


@pytest.mark.skipif(not is_root(), reason="needs root")
def test_record_step_lines_are_replays(ws, recorded):
    """What the step prints of the tree is a block of `kernlab replay` of its own recording."""
    from kernlab.render.views.tour import rename_lines
    from tests.conftest import run_kernlab

    lines = rename_lines(recorded)
    replayed = run_kernlab("replay", "-d", str(ws.folder / "mv" / "kernlab.data"))
    assert replayed.code == 0, replayed.stderr
    whole = replayed.stdout.splitlines()
    head, body = lines[:2], lines[2:]
    assert whole[:2] == head
    start = whole.index(body[0])
    assert whole[start : start + len(body)] == body
    assert re.search(r'rename\w*\(.*"a".*"b"', body[0])


def test_no_trace_and_non_root_skip_with_a_reason(ws, monkeypatch):
    record = next(s for s in tour.STEPS if s.name == "record")
    assert tour.run_step(record, ws, trace=False).skipped == "no_trace"
    monkeypatch.setattr(tour.os, "geteuid", lambda: 1000)
    assert tour.run_step(record, ws).skipped == "needs_root"


# --- the part of the tree around the rename, on trees made here (any kernel, any filesystem)


def _k(name: str, *kids: CallNode, source: str = "function_graph") -> CallNode:
    return CallNode("kernel", name, 0, 100, list(kids), source=source)


def _renaming(fault: bool = True, source: str = "function_graph") -> ReplayReport:
    """A tree as replay builds it for rename("a", "b") on tmpfs traced by function_graph: a
    fault at the PLT (its own kernel path), then the system call and, beneath it, a lookup
    bigger than the filesystem's branch."""
    k = functools.partial(_k, source=source)
    lookup = k(
        "filename_parentat",
        k("path_parentat", k("link_path_walk", k("inode_permission"), k("walk_component"))),
    )
    syscall = CallNode(
        "syscall",
        "renameat2",
        10,
        50,
        [
            k(
                "__x64_sys_renameat2",
                k(
                    "do_renameat2",
                    k("getname_flags"),
                    lookup,
                    k("vfs_rename", k("shmem_rename2", k("simple_rename_timestamp"), k("shmem_mknod"))),
                ),
            )
        ],
        args='olddfd=AT_FDCWD, oldname="a", newdfd=AT_FDCWD, newname="b", flags=0',
        ret=0,
    )
    kids = [syscall]
    if fault:
        kids.insert(
            0, CallNode("fault", "page_fault_user", 5, None, [k("exc_page_fault", k("handle_mm_fault"))])
        )
    call = CallNode(
        "function", "rename", 1, 80, kids, args='"a", "b"', library="/lib/libc.so.6", ret_kind="int", ret=0
    )
    threads = [ThreadCalls(7, "mv", [CallNode("function", "getopt_long", 0, 1, []), call])]
    return ReplayReport("d", "/usr/bin/mv", "", 3, threads, 2, 1, 1, 0, 0, 0, 0, ReplayFilters(), Loss(0, 0))


def test_rename_tree_goes_down_through_the_filesystem():
    tree = tour.rename_tree(_renaming(), "tmpfs")
    assert tree is not None and tree.call.name == "rename" and tree.tid == 7
    assert tree.syscall is not None and tree.syscall.name == "renameat2"
    # The way down follows the branch that reaches tmpfs (mm/shmem.c), not the bigger lookup.
    assert tree.kernel_path == ("__x64_sys_renameat2", "do_renameat2", "vfs_rename", "shmem_rename2")
    assert tree.below == ("simple_rename_timestamp", "shmem_mknod")
    assert tree.fs_functions == ("shmem_rename2", "shmem_mknod")
    # Only the system call's functions: the fault's path (exc_page_fault …) is the fault's.
    assert "exc_page_fault" not in tree.kernel_functions
    assert dict(tree.sources) == {"function_graph": len(tree.kernel_functions)}
    # With no filesystem known, the biggest branch.
    assert tour.rename_tree(_renaming(), None).kernel_path[2:] == (
        "filename_parentat",
        "path_parentat",
        "link_path_walk",
    )
    assert tour.fs_function("__ext4_find_entry", "ext4") and not tour.fs_function("ext4_x", "xfs")
    assert tour.fs_function("ext4_rename", "ext3")


def test_rename_tree_without_a_library_call_or_a_rename():
    report = _renaming()
    syscall_only = dataclasses.replace(
        report, threads=[ThreadCalls(7, "mv", [report.threads[0].calls[1].children[1]])]
    )
    tree = tour.rename_tree(syscall_only, "ext4")
    assert tree is not None and tree.call is tree.syscall and tree.fs_functions == ()
    empty = dataclasses.replace(report, threads=[ThreadCalls(7, "mv", [report.threads[0].calls[0]])])
    assert tour.rename_tree(empty, "ext4") is None


def _step(tree: tour.RenameTree | None, **extra: object) -> SimpleNamespace:
    """What the record step's sentences read (a step made here, without recording)."""
    fields = {
        "syscalls": 12, "kinds": 3, "faults": 1, "major_faults": 0, "renames": (("renameat2", 1),),
        "report": SimpleNamespace(fault_counter_check=None), "rename": tree, "functions_error": None,
        "kernel_depth": 5, "fstype": "tmpfs", "mount_point": "/tmp",
    }  # fmt: skip
    fields.update(extra)
    return SimpleNamespace(**fields)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_rename_sentences_say_what_the_tree_shows(lang):
    from kernlab import explain
    from kernlab.explain import tour as explain_tour

    full = tour.rename_tree(_renaming(), "tmpfs")
    seen_tp = tour.rename_tree(_renaming(source="tracepoints"), "tmpfs")
    no_path = dataclasses.replace(
        full, kernel_path=(), below=(), kernel_functions=(), fs_functions=(), sources=()
    )
    one_leaf = dataclasses.replace(full, below=(), sources=(("function_graph", 1),))
    bare = tour.rename_tree(
        dataclasses.replace(
            _renaming(), threads=[ThreadCalls(7, "mv", [_renaming().threads[0].calls[1].children[1]])]
        ),
        "tmpfs",
    )
    explain.set_language(lang)
    try:
        said = {
            name: " ".join(explain_tour._record(step))
            for name, step in {
                "full": _step(full),
                "tracepoints": _step(seen_tp),
                "other_fs": _step(tour.rename_tree(_renaming(), "xfs"), fstype="xfs"),
                "no_path": _step(no_path),
                "one": _step(one_leaf),
                "no_functions": _step(bare, functions_error="uprobe_events: no such file"),
                "syscall": _step(bare),
                "missing": _step(None),
            }.items()
        }
    finally:
        explain.set_language("en")
    for text in said.values():
        assert "{" not in text
    assert "shmem_rename2" in said["full"] and "do_renameat2 → vfs_rename" in said["full"]
    assert 'rename("a", "b")' in said["full"] and 'oldname="a"' in said["full"]
    assert "function_graph" in said["full"] and "function_graph" not in said["tracepoints"]
    assert "filename_parentat" in said["other_fs"] and "xfs" in said["other_fs"]
    assert "uprobe_events: no such file" in said["no_functions"]
    assert said["missing"] != _record_without_tree(lang)
    if lang == "en":
        assert "from stacks at tracepoints" in said["tracepoints"]
        assert "traced 1 kernel function," in said["one"]
        assert "no xfs function appears" in said["other_fs"]
        assert "12 kernel functions beneath the system call" in said["full"]


def _record_without_tree(lang: str) -> str:
    from kernlab import explain
    from kernlab.explain import tour as explain_tour

    explain.set_language(lang)
    try:
        return " ".join(explain_tour._record(_step(None, renames=())))
    finally:
        explain.set_language("en")
