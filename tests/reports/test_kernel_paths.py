"""`record -K DEPTH` + `kernlab replay`: kernel paths from stacks taken at tracepoints.

Every kernel function a tree names must be a function of the running kernel (/proc/kallsyms),
and its nesting must be the kernel's own call order (do_renameat2 calls vfs_rename, which calls
the file system's rename). No tracefs state may be left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernlab.recording.kernel_paths import read_settings
from kernlab.recording.reader import open_recording
from kernlab.reports import replay as reports
from kernlab.reports.recording.kernel_paths import fault_path, merge, merge_seen, syscall_path
from kernlab.reports.recording.kstacks import stack_owner
from kernlab.reports.replay import FAULT, KERNEL, SYSCALL, CallNode, ReplayReport
from tests.conftest import compile_c, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

PROGRAMS = Path(__file__).parents[1] / "programs"


def _walk(nodes: list[CallNode]) -> Iterator[CallNode]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def _all(report: ReplayReport) -> Iterator[CallNode]:
    for thread in report.threads:
        yield from _walk(thread.calls)


def _kallsyms() -> set[str]:
    with open("/proc/kallsyms") as fh:
        return {line.split()[2] for line in fh}


def _chain(nodes: list[CallNode], names: list[tuple[str, ...]]) -> list[CallNode] | None:
    """The first path of kernel nodes that passes through one name of each tuple, in order (each
    a descendant of the one before); None when there is none."""
    if not names:
        return []
    for node in _walk(nodes):
        if node.kind == KERNEL and node.name in names[0]:
            rest = _chain(node.children, names[1:])
            if rest is not None:
                return [node, *rest]
    return None


def _ext4(path: Path) -> None:
    kind = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE", "--target", str(path)], capture_output=True, text=True
    ).stdout.strip()
    if kind != "ext4":
        pytest.skip(f"{path} is on {kind or 'an unknown file system'}, not ext4")


def _evict(path: Path) -> None:
    """Drop the file's pages from the page cache, and check with fincore that they are gone."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    if shutil.which("fincore"):
        out = subprocess.run(["fincore", "-nb", "-o", "PAGES", str(path)], capture_output=True, text=True)
        assert out.stdout.split() == ["0"], out.stdout


def _record(directory: Path, *args: str, cwd: Path | None = None) -> ReplayReport:
    result = run_kernlab("record", "-q", "-d", str(directory), *args, cwd=cwd)
    assert result.code == 0, result.stderr
    meta = json.loads((directory / "meta.json").read_text())
    # The instance (and with it every stacktrace trigger) is gone; the top level is untouched.
    assert not (TRACEFS / "instances" / meta["instance"]).exists()
    top = (TRACEFS / "events/filemap/mm_filemap_fault/trigger").read_text().splitlines()
    assert not [line for line in top if not line.startswith("#")]
    return reports.build(directory)


def test_merge_keeps_time_order_and_cuts_at_depth() -> None:
    stacks = [
        (1, ["a", "b", "c", "d"]),
        (2, ["a", "b", "c", "e"]),
        (3, ["a", "x"]),
        (4, ["a", "b", "y"]),  # b again after x: a new call, not the first b
    ]
    tree = merge(stacks, 3, "tracepoints")
    assert [n.name for n in tree] == ["a"]
    assert [(n.name, n.ts, n.hits) for n in tree[0].children] == [("b", 1, 2), ("x", 3, 1), ("b", 4, 1)]
    assert [n.name for n in tree[0].children[0].children] == ["c"]
    assert tree[0].children[0].children[0].children == []  # cut at depth 3


def test_a_node_names_the_tracepoints_whose_stacks_passed_through_it() -> None:
    """Why a function is on the path: the tracepoints of the stacks through it, first seen
    first, each once; none for a sample."""
    seen = [
        (1, ["a", "b", "c"], "tracepoints", 0, "ext4:ext4_es_lookup_extent_enter"),
        (2, ["a", "b", "d"], "tracepoints", 0, "kmem:mm_page_alloc"),
        (3, ["a", "b", "c"], "tracepoints", 0, "ext4:ext4_es_lookup_extent_enter"),
        (4, ["a", "e"], "sampled", 250_000, ""),
    ]
    tree = merge_seen(seen, 3)
    a = tree[0]
    assert a.events == ("ext4:ext4_es_lookup_extent_enter", "kmem:mm_page_alloc")
    b, e = a.children
    assert [(n.name, n.events) for n in b.children] == [
        ("c", ("ext4:ext4_es_lookup_extent_enter",)),
        ("d", ("kmem:mm_page_alloc",)),
        ("c", ("ext4:ext4_es_lookup_extent_enter",)),  # called again after d
    ]
    assert b.events == a.events and b.hits == 3
    assert e.events == () and e.samples == 1 and e.source == "sampled"


def test_entry_frames_are_cut_off() -> None:
    frames = ["entry_SYSCALL_64_after_hwframe", "do_syscall_64", "__x64_sys_renameat2", "do_renameat2"]
    assert syscall_path(frames) == ["__x64_sys_renameat2", "do_renameat2"]
    assert syscall_path(["entry_SYSCALL_64", "do_syscall_64", "ksys_read", "vfs_read"]) == [
        "ksys_read",
        "vfs_read",
    ]
    assert syscall_path(["ret_from_fork", "kthread"]) == []
    inside = ["do_syscall_64", "ksys_read", "_copy_to_user", "asm_exc_page_fault", "exc_page_fault", "x"]
    assert fault_path(inside) == (["do_syscall_64", "ksys_read", "_copy_to_user"], ["exc_page_fault", "x"])
    assert fault_path(["do_syscall_64", "ksys_read"]) is None


def test_mv_shows_rename_path(tmp_path: Path) -> None:
    """The seed's exercise: `mv a b` on ext4, its renameat2 with do_renameat2 → vfs_rename →
    ext4_rename beneath it."""
    need_tracing()
    _ext4(tmp_path)
    (tmp_path / "a").write_text("kernel paths\n")
    report = _record(tmp_path / "rec", "-K", "5", "--", "mv", "a", "b", cwd=tmp_path)
    assert (tmp_path / "b").exists() and not (tmp_path / "a").exists()
    assert report.kernel_only and report.kernel_paths is not None
    assert report.kernel_paths.source == "tracepoints" and report.kernel_paths.depth == 5
    renames = [n for n in _all(report) if n.kind == SYSCALL and n.name in ("rename", "renameat", "renameat2")]
    assert len(renames) == 1, [n.name for n in renames]
    call = renames[0]
    assert '"a"' in call.args and '"b"' in call.args and call.ret == 0
    chain = _chain(call.children, [("do_renameat2",), ("vfs_rename",), ("ext4_rename", "ext4_rename2")])
    assert chain is not None, call
    kallsyms = _kallsyms()
    for node in _walk(call.children):
        if node.kind == FAULT:  # the kernel touching the names in user memory (getname) may fault
            continue
        # Stacks at tracepoints, and perf samples where one landed inside the call (-K's default
        # on a kernel that allows both); neither gives a duration below the call.
        assert node.kind == KERNEL and node.source in ("tracepoints", "sampled") and node.duration_ns is None
        assert node.name in kallsyms, node.name
    assert max(_depth(call.children)) <= 5
    # Each function names the tracepoints whose stacks went through it: recorded ones, and
    # every one of its callees' (a stack through a callee went through it).
    recorded = set(read_settings(tmp_path / "rec").events)
    for node in _walk(call.children):
        if node.kind == KERNEL and node.source == "tracepoints":
            assert node.events and set(node.events) <= recorded, (node.name, node.events)
            for kid in node.children:
                if kid.kind == KERNEL:
                    assert set(kid.events) <= set(node.events), (node.name, kid.name)
    assert any(e.startswith("ext4:") for e in chain[-1].events), chain[-1].events
    # Every stack is its event's, even where an interrupt wrote between them (a perf sample's
    # user-stack read faults in hard-IRQ context there, in most recordings of mv): none lost.
    rec = open_recording(tmp_path / "rec")
    stack = rec.by_name["ftrace:kernel_stack"]
    flags_at = stack.field("common_flags").offset
    path_events = {rec.by_name[e].id for e in recorded if e in rec.by_name}
    stacks = 0
    for cpu in rec.cpu_events():
        raw, offsets = cpu.raw, cpu.offsets
        for j in cpu.indices_of({stack.id}):
            stacks += 1
            owner = stack_owner(
                cpu.types, lambda i, raw=raw, offsets=offsets: raw[offsets[i] + flags_at] & 0x58, j, stack.id
            )
            assert owner is not None and cpu.types[owner] in path_events, (cpu.cpu, j)
    summary = report.kernel_paths
    assert stacks == summary.stacks + summary.unplaced + summary.in_interrupt

    from kernlab.render.views.replay import kernel_header, tree_lines

    assert "(at tracepoints" in kernel_header(report)[0]
    text = [line.split("| ", 1)[1].strip() for line in tree_lines(report)]
    at = text.index("do_renameat2() {")
    assert text.index("vfs_rename() {") > at and "} /* do_renameat2 */" in text[at:]

    hidden = reports.build(tmp_path / "rec", kernel=False)
    assert hidden.kernel_paths is None and not any(n.kind == KERNEL for n in _all(hidden))


def _depth(nodes: list[CallNode], at: int = 1) -> Iterator[int]:
    for node in nodes:
        yield at
        yield from _depth(node.children, at + 1)


def test_cold_read_goes_through_the_page_cache(tmp_path: Path) -> None:
    """`cat` of a file not in the page cache: vfs_read, then the page cache's read and readahead."""
    need_tracing()
    _ext4(tmp_path)
    target = tmp_path / "cold.bin"
    target.write_text(os.urandom(1 << 19).hex())  # text: cat writes it to a captured stdout
    _evict(target)
    report = _record(tmp_path / "rec", "-K", "8", "--", "cat", str(target))
    calls = [n for n in _all(report) if n.kind == SYSCALL]
    opened = next(n for n in calls if n.name == "openat" and target.name in n.args)
    reads = [
        n
        for n in calls
        if n.name == "read" and f"fd={opened.ret}," in n.args and n.ret and n.time_ns > opened.time_ns
    ]
    assert reads
    # The first read of the cold file starts the readahead, inside the page cache's read.
    found = _chain(reads[0].children, [("vfs_read",), ("filemap_read",), ("filemap_get_pages",)])
    assert found, reads[0]
    below = {n.name for n in _walk(found[-1].children)}
    assert below & {"page_cache_sync_ra", "page_cache_ra_order", "page_cache_ra_unbounded"}, below
    assert {n.name for n in _walk(reads[0].children) if n.kind == KERNEL} <= _kallsyms()


def test_cold_mmap_fault_goes_to_filemap_fault(tmp_path: Path) -> None:
    """A program's fault on a cold mapped file (with --functions: the fault under its function)."""
    need_tracing()
    _ext4(tmp_path)
    program = compile_c(PROGRAMS / "rep_filemap.c", tmp_path / "rep_filemap", ["-O0"])
    target = tmp_path / "mapped.bin"
    target.write_bytes(os.urandom(64 << 10))
    _evict(target)
    report = _record(tmp_path / "rec", "--functions", "-K", "8", "--", str(program), str(target), "random")
    assert not report.kernel_only and report.kernel_paths is not None
    funcs = [n for n in _all(report) if n.name == "read_pages"]
    assert funcs
    faults = [n for n in _walk(funcs[0].children) if n.kind == FAULT and n.name == "page_fault_user"]
    assert faults
    chains = [_chain(f.children, [("handle_mm_fault",), ("filemap_fault",)]) for f in faults]
    assert any(chains), [f.children for f in faults]
    kallsyms = _kallsyms()
    assert all(n.name in kallsyms for f in faults for n in _walk(f.children))
