"""`record --functions`' library calls, probed in the program itself: at its PLT stubs (`.plt`,
`.plt.sec` with IBT, `.plt.got`) and, built with -fno-plt, at its `call *slot(%rip)` sites —
compared with objdump's `name@plt` and call sites, with uftrace's replay of the same binary, and
checked to leave every other process (one mapping libc and calling the same functions) alone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from kernlab.recording.functions import choose_program_calls, process_environment, read_function_table
from kernlab.render.views.replay import tree_lines
from kernlab.reports import replay as reports
from kernlab.reports.replay import FUNCTION, CallNode, ReplayReport
from tests.conftest import compile_or_skip, need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

PROGRAMS = Path(__file__).parents[1] / "programs"
LINE = re.compile(r"^\s*(?:\d+\.\d+ +\S+)?\s*\[\s*(\d+)\] \| (.*)$")

BUILDS = {
    "pie": ["-pie", "-fPIE"],
    "non-pie": ["-no-pie", "-fno-PIE"],
    "no-plt": ["-fno-plt"],
    "now-ibt": ["-Wl,-z,now", "-fcf-protection", "-Wl,-z,ibtplt"],
}
"""-fcf-protection alone gives .plt.sec only when every object is IBT-marked; `-z ibtplt` asks
the linker for it anyway (where the linker does not know it, the build is skipped)."""


def _build(tmp_path: Path, name: str, build: str) -> Path:
    out = tmp_path / f"{name}-{build}"
    return compile_or_skip(PROGRAMS / f"{name}.c", out, ["-O0", *BUILDS[build]], build, ["-lpthread"])


def _ours(prog: Path) -> list[str]:
    """uprobe_events lines of kernlab's groups naming ``prog`` or a library (another worker's
    probes name their own files)."""
    path = TRACEFS / "uprobe_events"
    lines = path.read_text().splitlines() if path.exists() else []
    return [ln for ln in lines if "kernlab_" in ln and str(prog) in ln]


def _objdump(prog: Path) -> tuple[dict[str, list[int]], dict[str, list[tuple[int, int]]]]:
    """objdump -d: name -> addresses of its ``name@plt`` stubs, and name -> (address, next
    address) of each ``call``/``jmp *…(%rip)`` objdump names ``<name@…>``."""
    text = subprocess.run(
        ["objdump", "-d", "-w", str(prog)], capture_output=True, text=True, check=True
    ).stdout
    stubs: dict[str, list[int]] = {}
    sites: dict[str, list[tuple[int, int]]] = {}
    section = ""
    rows = []
    for line in text.splitlines():
        head = re.match(r"^Disassembly of section (\S+):", line)
        if head:
            section = head.group(1)
            continue
        stub = re.match(r"^([0-9a-f]+) <([^@>]+)@plt>:", line)
        if stub:
            stubs.setdefault(stub.group(2), []).append(int(stub.group(1), 16))
        insn = re.match(r"^\s+([0-9a-f]+):\t([0-9a-f ]+)\t(.*)$", line)
        if insn:
            rows.append((section, int(insn.group(1), 16), len(insn.group(2).split()), insn.group(3)))
    for section, address, size, text_ in rows:
        call = re.match(
            r"^(?:bnd |notrack )*(call|jmp)\s+\*0x[0-9a-f]+\(%rip\)\s+# [0-9a-f]+ <([^@>+]+)@", text_
        )
        if call and not section.startswith(".plt"):
            sites.setdefault(call.group(2), []).append((address, address + size))
    return stubs, sites


@pytest.mark.parametrize("build", list(BUILDS))
def test_probes_are_objdumps_stubs_and_call_sites(tmp_path, build):
    """Each import is probed at objdump's ``name@plt`` (the .plt.sec one with IBT), or at each
    ``call *name@GOTPCREL(%rip)`` and the instruction after it; every probe is in the program."""
    need_tool("objdump")
    prog = _build(tmp_path, "lib_calls", build)
    calls, libraries, left = choose_program_calls(str(prog), "g", process_environment(None))
    from kernlab.elf.reader import open_elf

    image = open_elf(prog)
    stubs, sites = _objdump(prog)
    assert {"puts", "rename", "malloc", "open", "unlink", "strlen"} <= {f.name for f in calls}
    assert left == [] and libraries and all(f.library in libraries for f in calls)
    for f in calls:
        if f.probe == "plt":
            assert f.address in stubs[f.name] and f.offset == image.offset_for_vaddr(f.address)
            sec = image.section_for_address(f.address)
            assert sec is not None and sec.name.startswith(".plt")
            if ".plt.sec" in {s.name for s in image.sections}:
                assert sec.name != ".plt"  # calls go to .plt.sec; .plt only resolves
        else:
            assert f.probe == "call"
            expected = [[image.offset_for_vaddr(a), image.offset_for_vaddr(n)] for a, n in sites[f.name]]
            assert f.sites == expected, f.name
    if build == "no-plt":
        assert {f.probe for f in calls} == {"call"}
    else:
        assert {f.probe for f in calls} == {"plt"}


def test_dash_n_leaves_matching_library_calls_unprobed(tmp_path):
    """-N at record time: an import it matches gets no probe (a library call is a leaf of the
    program's tree, so this is what hiding it shows, two traps per call cheaper); the rest stay."""
    prog = _build(tmp_path, "lib_calls", "pie")
    every, _, _ = choose_program_calls(str(prog), "g", process_environment(None))
    narrowed, _, left = choose_program_calls(
        str(prog), "g", process_environment(None), exclude=[re.compile("^puts$"), re.compile("^str")]
    )
    names = {f.name for f in every}
    assert {"puts", "strlen"} <= names
    assert {f.name for f in narrowed} == {n for n in names if n != "puts" and not n.startswith("str")}
    assert left == []  # left out on purpose, not "unprobed"


def test_dash_n_at_record_time_probes_nothing_it_names(tmp_path):
    need_tracing()
    prog = _build(tmp_path, "lib_calls", "pie")
    rec = tmp_path / "rec"
    result = run_kernlab(
        "record", "--functions", "-N", "^puts$", "-q", "-d", str(rec), "--", str(prog), cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    table = read_function_table(rec)
    assert table is not None
    libs = {f.name for f in table.functions if f.library}
    assert "puts" not in libs and {"rename", "malloc"} <= libs
    report = reports.build(rec)
    seen = {c.name for t in report.threads for c in _walk(t.calls)}
    assert "puts" not in seen and "rename" in seen


def _walk(calls: list[CallNode]) -> list[CallNode]:
    out: list[CallNode] = []
    for c in calls:
        out.append(c)
        out.extend(_walk(c.children))
    return out


def _names_only(report: ReplayReport) -> list[list[str]]:
    """Function lines per thread as uftrace prints them without -A/-R."""

    def keep(nodes: list[CallNode]) -> list[CallNode]:
        return [
            replace(n, args="", ret_kind="", children=keep(n.children)) for n in nodes if n.kind == FUNCTION
        ]

    bare = replace(report, threads=[replace(t, calls=keep(t.calls)) for t in report.threads])
    return _per_thread(tree_lines(bare))


def _per_thread(lines: list[str]) -> list[list[str]]:
    """Each thread's lines; a call whose entry and exit another thread's lines came between
    (``f() {`` then ``} /* f */`` with nothing of its own inside) as the leaf ``f();`` it is."""
    threads: dict[str, list[str]] = {}
    for line in lines:
        match = LINE.match(line)
        if not match or match.group(2).strip().startswith("/*"):
            continue
        rows = threads.setdefault(match.group(1), [])
        text = match.group(2)
        closed = re.match(r"^(\s*)\} /\* (\S+) \*/$", text)
        if closed and rows and rows[-1] == f"{closed.group(1)}{closed.group(2)}() {{":
            rows[-1] = f"{closed.group(1)}{closed.group(2)}();"
            continue
        rows.append(text)
    return list(threads.values())


@pytest.mark.parametrize("build", list(BUILDS))
@pytest.mark.parametrize("program", ["lib_calls", "fn_calls"])
def test_library_calls_equal_uftrace(tmp_path, build, program):
    """kernlab's tree of the program's functions and library calls (the default of --functions)
    equals `uftrace record -P .` of the same unmodified binary: names, counts, nesting and order
    per thread — nothing left out now, IFUNCs (strlen) included."""
    need_tracing()
    need_tool("uftrace")
    prog = _build(tmp_path, program, build)
    ours, theirs = tmp_path / "k.data", tmp_path / "u.data"
    args = [str(tmp_path)] if program == "lib_calls" else ["3"]
    result = run_kernlab("record", "--functions", "-q", "-d", str(ours), "--", str(prog), *args)
    assert result.code == 0, result.stderr
    assert "every process" not in result.stderr  # no library probe, no warning
    table = read_function_table(ours)
    assert table is not None and table.libcall_side == "program" and table.unresolved == []
    assert not _ours(prog), "every probe removed"
    subprocess.run(
        ["uftrace", "record", "--no-event", "-P", ".", "-d", str(theirs), str(prog), *args],
        check=True,
        capture_output=True,
    )
    uftrace = subprocess.run(
        ["uftrace", "replay", "-d", str(theirs)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    mine = _names_only(reports.build(ours))
    assert mine == _per_thread(uftrace)
    if program == "lib_calls":
        assert "    rename();" in mine[0] and "  puts();" in mine[0] and "    strlen();" in mine[0]


def test_arguments_and_values_at_call_sites(tmp_path):
    """-fno-plt: the curated arguments at the call instruction, the value at the next one."""
    need_tracing()
    prog = _build(tmp_path, "lib_calls", "no-plt")
    out = tmp_path / "k.data"
    result = run_kernlab("record", "--functions", "-q", "-d", str(out), "--", str(prog), str(tmp_path))
    assert result.code == 0, result.stderr
    todo = [c for t in reports.build(out).threads for c in t.calls]
    nodes = {}
    while todo:
        node = todo.pop()
        nodes.setdefault(node.name, node)
        todo.extend(node.children)
    assert nodes["rename"].args == f'"{tmp_path}/one", "{tmp_path}/two"' and nodes["rename"].ret == 0
    assert nodes["strlen"].args == f'"{tmp_path}"' and nodes["strlen"].ret == len(str(tmp_path))
    assert nodes["free"].args == f"{nodes['realloc'].ret:#x}"


_LOOP = """
import os, sys, time
print(os.getpid(), flush=True)
while True:
    os.close(os.open("/dev/null", os.O_RDONLY))
    b = bytearray(1 << 20)
    time.sleep(0.002)
"""


def _uprobe_area(pid: int) -> bool:
    """Whether the process has the kernel's ``[uprobes]`` page: made the first time it traps."""
    return "[uprobes]" in Path(f"/proc/{pid}/maps").read_text()


def test_other_processes_never_trap(tmp_path):
    """While kernlab records a program's library calls, a python looping on open/close/malloc
    (libc, like the program's calls) and a /bin/sleep, both started before, never trap: no probe
    of the recording names libc (nor any library), uprobe_profile counts no hit in libc for its
    events, neither process gets the [uprobes] page, both still run."""
    need_tracing()
    prog = _build(tmp_path, "lib_calls", "pie")
    looping = subprocess.Popen([sys.executable, "-c", _LOOP], stdout=subprocess.PIPE, text=True)
    sleeping = subprocess.Popen(["sleep", "60"])
    assert looping.stdout is not None
    looping.stdout.readline()
    out = tmp_path / "k.data"
    recording = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "record", "--functions", "-q", "-d", str(out), "--",
         str(prog), str(tmp_path), "wait"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _ours(prog) and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = _ours(prog)
        assert lines, "the recording's probes appear"
        group = lines[0].split()[0].partition(":")[2].partition("/")[0]
        mine = [ln for ln in (TRACEFS / "uprobe_events").read_text().splitlines() if f"{group}/" in ln]
        assert all(f" {prog}:0x" in ln for ln in mine), mine  # the program's file only
        time.sleep(0.5)  # the python loop calls open/close/malloc in libc meanwhile
        libc = {os.path.realpath(p) for p in _mapped(looping.pid) if "libc.so" in p}
        events = {ln.split()[0].partition("/")[2] for ln in mine}
        for row in (TRACEFS / "uprobe_profile").read_text().splitlines():
            parts = row.split()
            assert not (len(parts) == 3 and parts[0] in libc and parts[1] in events), row
        assert recording.stdin is not None
        recording.stdin.write("\n")
        recording.stdin.close()
        assert recording.wait(timeout=60) == 0, recording.stderr.read() if recording.stderr else ""
        assert not _uprobe_area(looping.pid) and not _uprobe_area(sleeping.pid)
        assert looping.poll() is None and sleeping.poll() is None
        assert not _ours(prog)
        todo = [c for t in reports.build(out).threads for c in t.calls]
        names = set()
        while todo:
            node = todo.pop()
            names.add(node.name)
            todo.extend(node.children)
        assert {"open", "close", "malloc", "rename", "getchar"} <= names  # the program itself did trap
    finally:
        for proc in (recording, looping, sleeping):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _mapped(pid: int) -> set[str]:
    out = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/"):
            out.add(parts[5])
    return out
