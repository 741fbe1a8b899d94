"""`record -K` with the sampled source: cpu-clock samples become time-weighted paths beneath the
system calls no tracepoint fires in (the seed's `cat /proc/self/maps` → show_map → show_map_vma).

The oracle is `perf record -g` + `perf script` of the same program: the kernel functions perf
shows beneath read are found beneath the recording's read calls, and the recording holds what
it says (samples placed, none lost here), with no instance left in tracefs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from kernlab.recording.kernel_paths import SOURCE_SAMPLED, SOURCE_TRACEPOINTS, read_settings
from kernlab.recording.reader import open_recording
from kernlab.reports.recording.kernel_paths import KernelPaths, PathNode, read_kernel_paths
from tests.conftest import run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

READ_PATH = ["ksys_read", "vfs_read", "seq_read", "seq_read_iter", "show_map", "show_map_vma"]


def _read_trees(root: Path) -> tuple[list[list[PathNode]], KernelPaths, dict[str, object]]:
    rec = open_recording(root)
    paths = read_kernel_paths(rec)
    assert paths is not None
    meta = json.loads((root / "meta.json").read_text())
    return list(paths.syscalls.values()), paths, meta


def _chains(nodes: list[PathNode], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out = set()
    for n in nodes:
        here = (*prefix, n.name)
        out.add(here)
        out |= _chains(n.children, here)
    return out


def _perf_under_read(prog: Path, tmp: Path) -> set[str]:
    perf = shutil.which("perf")
    if perf is None:
        pytest.skip("perf is not installed")
    data = tmp / "perf.data"
    subprocess.run(
        [perf, "record", "-q", "-F", "4000", "-g", "-o", str(data), str(prog)],
        check=True,
        capture_output=True,
    )
    text = subprocess.run(
        [perf, "script", "-i", str(data), "-F", "ip,sym"], capture_output=True, text=True, check=True
    ).stdout
    names: set[str] = set()
    for block in text.split("\n\n"):
        frames = [
            line.split()[1].split("+")[0] for line in block.strip().splitlines() if len(line.split()) > 1
        ]
        if "ksys_read" in frames:
            names.update(frames[: frames.index("ksys_read") + 1])
    return names


def _ours(trees: list[list[PathNode]]) -> set[tuple[str, ...]]:
    chains: set[tuple[str, ...]] = set()
    for roots in trees:
        chains |= _chains(roots)
    return chains


def _instances() -> set[str]:
    return {p.name for p in (TRACEFS / "instances").iterdir()}


@pytest.mark.parametrize("depth", [5, 8])
def test_sampled_alone_under_read(tmp_path: Path, build_c: Callable[..., Path], depth: int) -> None:
    need_tracing()
    prog = build_c("ks_proc_maps", ["-O2"])
    out = tmp_path / "rec"
    result = run_kernlab(
        "record", "-K", str(depth), "--kernel-source", "sampled", "-d", str(out), "--", str(prog)
    )
    assert result.code == 0, result.stderr
    settings = read_settings(out)
    assert settings is not None and settings.source == SOURCE_SAMPLED and settings.sample_hz > 0
    trees, paths, meta = _read_trees(out)
    assert meta["instance"] not in _instances()
    assert not list(out.glob("**/.kernlab-go"))
    chains = _ours(trees)
    want = tuple(READ_PATH[:depth])
    assert want in chains, sorted(c for c in chains if c[:1] == ("ksys_read",))[:20]
    assert all(len(c) <= depth for c in chains)
    # perf's own record of the same program names the same functions beneath read.
    theirs = _perf_under_read(prog, tmp_path)
    assert set(want) <= theirs
    s = paths.summary
    assert s.sources == (SOURCE_SAMPLED,)
    assert s.samples_placed > 0.7 * s.samples_kernel, s  # the rest: the tracepoints' own work
    assert s.sample_offset_ns is not None
    assert s.samples_lost == 0
    # Time-weighted: each node's samples and CPU time are its children's and more.
    for roots in trees:
        for node in roots:
            assert node.source == SOURCE_SAMPLED and node.samples == node.hits > 0
            assert node.sampled_ns > 0
            assert sum(c.samples for c in node.children) <= node.samples


def test_tracepoints_and_samples_together(tmp_path: Path, build_c: Callable[..., Path]) -> None:
    """Auto -K on a kernel without function_graph: stacks at tracepoints and samples both; the
    read path comes from the samples, execve's page-cache reads from the tracepoints."""
    need_tracing()
    prog = build_c("ks_proc_maps", ["-O2"])
    out = tmp_path / "rec"
    result = run_kernlab("record", "-K", "8", "-d", str(out), "--", str(prog), "2000")
    assert result.code == 0, result.stderr
    settings = read_settings(out)
    assert settings is not None
    if settings.source != SOURCE_TRACEPOINTS:
        pytest.skip(f"this kernel's -K source is {settings.source}")
    assert settings.all_sources() == [SOURCE_TRACEPOINTS, SOURCE_SAMPLED]
    trees, _paths, meta = _read_trees(out)
    assert meta["instance"] not in _instances()
    chains = _ours(trees)
    assert tuple(READ_PATH) in chains
    sources = set()
    for roots in trees:
        stack = list(roots)
        while stack:
            n = stack.pop()
            sources.add(n.source)
            stack += n.children
    assert sources == {SOURCE_TRACEPOINTS, SOURCE_SAMPLED}
    replay = run_kernlab("replay", "-d", str(out))
    assert "show_map_vma" in replay.stdout and "Sampled at" in replay.stdout + replay.stderr
    ko = run_kernlab("replay", "-d", str(out), env={"KERNLAB_LANG": "ko"})
    assert ko.code == 0


def test_kernel_source_needs_k(tmp_path: Path) -> None:
    result = run_kernlab("record", "--kernel-source", "sampled", "-d", str(tmp_path / "r"), "--", "true")
    assert result.code != 0 and "-K" in result.stderr
    bad = run_kernlab("record", "-K", "3", "--kernel-source", "perf", "-d", str(tmp_path / "r"), "--", "true")
    assert bad.code != 0 and "--kernel-source" in bad.stderr
    assert not os.path.exists(tmp_path / "r" / "meta.json")
