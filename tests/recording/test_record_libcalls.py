"""`record --functions --libcall`: the library calls of a program, probed at their definitions in
the libraries it loads, compared with what ld.so bound, with uftrace, with the system calls the
kernel saw, and on a process already running (-p)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from kernlab.recording.functions import (
    FunctionFilters,
    choose_library_calls,
    process_environment,
    read_function_table,
)
from kernlab.reports import replay as reports
from kernlab.reports.replay import FUNCTION, SYSCALL, CallNode, ReplayReport
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

PROGRAMS = Path(__file__).parents[1] / "programs"
LINE = re.compile(r"^\s*(?:\d+\.\d+ +\S+)?\s*\[\s*(\d+)\] \| (.*)$")


def _kernlab_probes() -> list[str]:
    path = TRACEFS / "uprobe_events"
    return [ln for ln in path.read_text().splitlines() if "kernlab" in ln] if path.exists() else []


@pytest.fixture(autouse=True)
def _no_probe_left():
    yield
    assert _kernlab_probes() == []


def _build(tmp_path: Path, name: str, *flags: str) -> Path:
    need_tool("gcc")
    out = tmp_path / name
    subprocess.run(["gcc", "-O0", *flags, "-o", str(out), str(PROGRAMS / f"{name}.c")], check=True)
    return out


def _all(report: ReplayReport) -> list[CallNode]:
    todo = [c for t in report.threads for c in t.calls]
    out = []
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(node.children)
    return out


def test_probes_go_where_ld_so_bound_the_got(tmp_path):
    """Every imported function kernlab probes is at the (file, offset) the running program's
    GOT slot points to once ld.so has bound it (-z now binds all at start-up)."""
    need_tool("readelf")
    prog = _build(tmp_path, "lib_calls", "-Wl,-z,now")
    calls, _libs, _left = choose_library_calls(
        str(prog), FunctionFilters(libcalls=True), "g", process_environment(None), os.uname().machine
    )
    assert {"puts", "rename", "malloc", "open", "unlink"} <= {f.name for f in calls}
    proc = subprocess.Popen(
        [str(prog), str(tmp_path), "wait"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        time.sleep(0.3)  # ld.so has relocated everything (-z now) before main's getchar()
        maps = []
        for line in Path(f"/proc/{proc.pid}/maps").read_text().splitlines():
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith("/"):
                lo, _, hi = parts[0].partition("-")
                maps.append((int(lo, 16), int(hi, 16), int(parts[2], 16), parts[5]))
        bias = next(lo - off for lo, _hi, off, path in maps if path == str(prog) and off == 0)
        slots = {}
        relocs = subprocess.run(["readelf", "-rW", str(prog)], capture_output=True, text=True).stdout
        for line in relocs.splitlines():
            parts = line.split()
            if len(parts) >= 5 and ("JUMP_SLOT" in parts[2] or "GLOB_DAT" in parts[2]):
                slots[parts[4].split("@")[0]] = int(parts[0], 16)
        with open(f"/proc/{proc.pid}/mem", "rb") as mem:
            for f in calls:
                mem.seek(bias + slots[f.name])
                target = int.from_bytes(mem.read(8), "little")
                where = next((path, off + target - lo) for lo, hi, off, path in maps if lo <= target < hi)
                assert (os.path.realpath(where[0]), where[1]) == (f.library, f.offset), f.name
    finally:
        proc.kill()
        proc.wait()


def _names_only(report: ReplayReport) -> list[list[str]]:
    """Function lines per thread as uftrace prints them without -A/-R (no arguments, no value)."""
    from kernlab.render.views.replay import tree_lines

    def keep(nodes: list[CallNode]) -> list[CallNode]:
        return [
            replace(n, args="", ret_kind="", children=keep(n.children)) for n in nodes if n.kind == FUNCTION
        ]

    bare = replace(report, threads=[replace(t, calls=keep(t.calls)) for t in report.threads])
    return _per_thread(tree_lines(bare))


def _per_thread(lines: list[str]) -> list[list[str]]:
    threads: dict[str, list[str]] = {}
    for line in lines:
        match = LINE.match(line)
        if match and not match.group(2).strip().startswith("/*"):
            threads.setdefault(match.group(1), []).append(match.group(2))
    return list(threads.values())


def test_library_calls_equal_uftrace(tmp_path):
    """The same unmodified binary: kernlab's tree of functions and library calls equals
    `uftrace record -P .` (dynamic patching + PLT hooks) replayed, the IFUNCs kernlab leaves
    out (see docs/replay.md) left out of uftrace's too."""
    need_tracing()
    need_tool("uftrace")
    prog = _build(tmp_path, "lib_calls")
    ours, theirs = tmp_path / "k.data", tmp_path / "u.data"
    result = run_kernlab(
        "record", "--functions", "--libcall", "-q", "-d", str(ours), "--", str(prog), str(tmp_path)
    )
    assert result.code == 0, result.stderr
    subprocess.run(
        ["uftrace", "record", "--no-event", "-P", ".", "-d", str(theirs), str(prog), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    table = read_function_table(ours)
    assert table is not None
    left = [x for n in table.unresolved for x in ("-N", f"^{n}$")]
    uftrace = subprocess.run(
        ["uftrace", "replay", "-d", str(theirs), *left], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    mine = _names_only(reports.build(ours))
    assert mine == _per_thread(uftrace)
    assert "    rename();" in mine[0] and "  puts();" in mine[0]


def test_arguments_and_return_values(tmp_path):
    """rename's strings and value, as the kernel saw the rename(2) system call made inside it."""
    need_tracing()
    prog = _build(tmp_path, "lib_calls")
    out = tmp_path / "k.data"
    result = run_kernlab(
        "record", "--functions", "--libcall", "-q", "-d", str(out), "--", str(prog), str(tmp_path)
    )
    assert result.code == 0, result.stderr
    nodes = {n.name: n for n in _all(reports.build(out)) if n.library}
    rename = nodes["rename"]
    assert rename.args == f'"{tmp_path}/one", "{tmp_path}/two"' and rename.ret == 0
    inner = [c for c in rename.children if c.kind == SYSCALL]
    assert [c.name for c in inner] in (["rename"], ["renameat"], ["renameat2"])
    assert f'"{tmp_path}/one"' in inner[0].args and inner[0].ret == rename.ret
    assert nodes["puts"].args == '"start"' and nodes["puts"].ret == len("start\n")
    assert nodes["malloc"].args == "100" and nodes["malloc"].ret_kind == "ptr"
    assert nodes["free"].args == f"{nodes['realloc'].ret:#x}"
    opened = nodes["open"]
    assert opened.ret == next(c.ret for c in opened.children if c.kind == SYSCALL)
    lines = run_kernlab("replay", "-d", str(out)).stdout
    assert f'rename("{tmp_path}/one", "{tmp_path}/two") {{' in lines and "} = 0; /* rename */" in lines


def test_mv_shows_renameat2_with_its_arguments(tmp_path):
    """The seed's exercise: `mv a b` (a stripped binary: only its library calls are named)."""
    need_tracing()
    (tmp_path / "a").write_text("x")
    out = tmp_path / "k.data"
    result = run_kernlab(
        "record", "--functions", "--libcall", "-q", "-d", str(out), "--", "mv", "a", "b", cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    assert (tmp_path / "b").exists()
    calls = [
        n for n in _all(reports.build(out)) if n.library and n.name in ("rename", "renameat", "renameat2")
    ]
    assert len(calls) == 1 and '"a"' in calls[0].args and '"b"' in calls[0].args and calls[0].ret == 0
    kernel = [c for c in calls[0].children if c.kind == SYSCALL]
    assert kernel and kernel[0].name.startswith("rename") and kernel[0].ret == 0


def test_attach_to_a_running_process(tmp_path):
    """-p PID: calls appear; the process still runs afterwards and no probe of kernlab remains."""
    need_tracing()
    prog = _build(tmp_path, "lib_loop")
    proc = subprocess.Popen([str(prog)])
    try:
        time.sleep(0.3)
        out = tmp_path / "k.data"
        result = run_kernlab(
            "record", "--functions", "--libcall", "-q", "-d", str(out), "-p", str(proc.pid), "--duration", "1"
        )
        assert result.code == 0, result.stderr
        assert proc.poll() is None, "the process must go on"
        assert _kernlab_probes() == []
        nodes = _all(reports.build(out))
        ticks = [n for n in nodes if n.name == "tick"]
        assert len(ticks) > 10
        below = {c.name for t in ticks for c in t.children}
        assert {"snprintf", "usleep"} <= below
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert re.search(r"^TracerPid:\s+0$", status, re.M)
        # still ticking: each usleep is a voluntary context switch
        switches = re.compile(r"^voluntary_ctxt_switches:\s+(\d+)$", re.M)
        before = int(switches.findall(status)[0])
        time.sleep(0.2)
        after = int(switches.findall(Path(f"/proc/{proc.pid}/status").read_text())[0])
        assert after > before + 10
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
