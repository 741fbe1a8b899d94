"""Faulting instructions named as binary:symbol+offset, checked against nm -n.

A program built here is recorded with `kernlab record`; the same program stripped, with its
symbols in a separate build-id debug file, must get the same names. The shared libraries'
instructions (libc, ld.so) are checked against nm -n of their debug file when the distribution
installed one, else of the library itself. Kernel instructions are named from the recording's
kallsyms.
"""

from __future__ import annotations

import bisect
import shutil
import subprocess
from pathlib import Path

import pytest

from kernlab.recording.reader import open_recording
from kernlab.reports.recording.fault_stats import fault_statistics
from kernlab.reports.recording.symbolize import (
    DEBUG_DIRS,
    ElfSymbols,
    ProcessMaps,
    UserSymbolizer,
    debug_file_for,
)
from kernlab.reports.recording.tasks import read_tasks
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import need_tracing

PAGES = 2000


def nm_symbols(path: Path | str) -> tuple[list[int], list[tuple[str, int | None]]]:
    """Sorted (address, [(name, size)]) of the defined code symbols nm -n -S lists (size None
    for a symbol nm prints without one, such as an assembler label)."""
    out = subprocess.run(
        [need_tool("nm"), "-n", "-S", "--defined-only", str(path)], capture_output=True, text=True
    ).stdout
    addrs: list[int] = []
    rows: list[list[tuple[str, int]]] = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            parts = [parts[0], "", parts[1], parts[2]]
        if len(parts) == 4 and parts[2] in "tTiWw":
            addr, size = int(parts[0], 16), int(parts[1], 16) if parts[1] else None
            if addrs and addrs[-1] == addr:
                rows[-1].append((parts[3], size))
            else:
                addrs.append(addr)
                rows.append([(parts[3], size)])
    return addrs, rows  # type: ignore[return-value]


def nm_names_at(table, vaddr: int) -> set[str]:
    """Every name nm gives to the sized symbol containing ``vaddr``, as name+0xoff; failing
    that, the unsized symbols (labels) just before it."""
    addrs, rows = table
    nearest = i = bisect.bisect_right(addrs, vaddr) - 1
    names = set()
    while i >= 0 and vaddr - addrs[i] < 1 << 20:
        for name, size in rows[i]:
            if size and addrs[i] <= vaddr < addrs[i] + size:
                names.add(f"{name.split('@')[0]}+{vaddr - addrs[i]:#x}")
        if names:
            return names
        i -= 1
    if nearest >= 0:
        names = {f"{n.split('@')[0]}+{vaddr - addrs[nearest]:#x}" for n, size in rows[nearest] if not size}
    return names


def build_id_of(path: Path | str) -> str:
    out = subprocess.run([need_tool("readelf"), "-n", str(path)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split()[-1]
    return ""


@pytest.fixture(scope="module")
def touch(tmp_path_factory):
    need_tracing()
    from tests.conftest import PROGRAMS, compile_c

    base = tmp_path_factory.mktemp("symbols")
    exe = compile_c(PROGRAMS / "rep_touch.c", base / "rep_touch", ["-O1", "-g", "-Wl,--build-id"])
    # The same program stripped, its symbols moved to <debug>/.build-id/xx/yyyy.debug.
    stripped = base / "stripped" / "rep_touch"
    stripped.parent.mkdir()
    shutil.copy(exe, stripped)
    build_id = build_id_of(exe)
    assert build_id
    debug = base / "debug" / ".build-id" / build_id[:2] / f"{build_id[2:]}.debug"
    debug.parent.mkdir(parents=True)
    objcopy = need_tool("objcopy")
    subprocess.run([objcopy, "--only-keep-debug", str(exe), str(debug)], check=True)
    subprocess.run([need_tool("strip"), "--strip-all", str(stripped)], check=True)
    recs = {}
    for name, program in (("plain", exe), ("stripped", stripped)):
        out = base / f"{name}.data"
        result = run_kernlab("record", "-q", "-d", str(out), "--", str(program), str(PAGES), input="")
        assert result.code == 0, result.stderr
        recs[name] = out
    return exe, base / "debug", recs


def _vaddr(rec, pid: int, ip: int) -> tuple[str, int]:
    """(path, ELF virtual address) of ``ip``, from the maps snapshot alone: the file's mapping
    at offset 0 is where its first PT_LOAD (vaddr 0 for PIE and shared objects) starts."""
    maps = ProcessMaps(rec)
    vma = maps.find(pid, ip)
    assert vma is not None and vma.path
    first = min(
        v.start for layer in maps.vmas_for(pid) for v in layer if v.path == vma.path and v.offset == 0
    )
    return vma.path, ip - first


def test_program_instruction_is_named_as_nm_does(touch):
    exe, _, recs = touch
    rec = open_recording(recs["plain"])
    best = fault_statistics(rec, read_tasks(rec)).top_ips[0]
    assert best.count >= PAGES
    _, vaddr = _vaddr(rec, best.pid, best.ip)
    expected = {f"{exe.name}:{n}" for n in nm_names_at(nm_symbols(exe), vaddr)}
    assert expected and best.location in expected, (best.location, expected)
    assert best.location.startswith("rep_touch:touch_pages+0x")


def test_stripped_program_is_named_from_its_debug_file(touch):
    exe, debug_dir, recs = touch
    rec = open_recording(recs["stripped"])
    tasks = read_tasks(rec)
    best = fault_statistics(rec, tasks).top_ips[0]
    path, vaddr = _vaddr(rec, best.pid, best.ip)
    # No debug file where kernlab looks: the file offset only, never a wrong neighbour.
    bare = UserSymbolizer(ProcessMaps(rec, tasks.parent), ElfSymbols(debug_dirs=()))
    assert bare.locate(best.pid, best.ip).text == f"rep_touch+{best.ip - _first_map(rec, best.pid, path):#x}"
    named = UserSymbolizer(ProcessMaps(rec, tasks.parent), ElfSymbols(debug_dirs=(debug_dir,)))
    expected = {f"rep_touch:{n}" for n in nm_names_at(nm_symbols(exe), vaddr)}
    assert named.locate(best.pid, best.ip).text in expected


def _first_map(rec, pid: int, path: str) -> int:
    maps = ProcessMaps(rec)
    # file offset of ip = ip - start + offset of its VMA; for the text VMA that is ip - bias
    # when the first LOAD is at file offset 0 and vaddr 0 (true for gcc's PIE output)
    return min(v.start for layer in maps.vmas_for(pid) for v in layer if v.path == path and v.offset == 0)


def test_library_instructions_are_named_as_nm_does(touch):
    _, _, recs = touch
    rec = open_recording(recs["plain"])
    tasks = read_tasks(rec)
    report = fault_statistics(rec, tasks, top=1000)
    checked = 0
    tables: dict[str, tuple] = {}
    for row in report.top_ips:
        if row.vma_kind != "shared-lib":
            continue
        path, vaddr = _vaddr(rec, row.pid, row.ip)
        if path not in tables:
            debug = debug_file_for(build_id_of(path), DEBUG_DIRS)
            tables[path] = nm_symbols(debug or path)
        names = nm_names_at(tables[path], vaddr)
        base = Path(path).name
        if names:
            assert row.location in {f"{base}:{n}" for n in names}, (row.location, names)
            checked += 1
        else:  # nm has no symbol containing it: the file offset, as a stripped library shows
            assert row.location.startswith(f"{base}+0x"), row.location
    assert checked > 0


def test_kernel_instructions_are_named_from_the_recordings_kallsyms(touch):
    _, _, recs = touch
    doc = run_kernlab("faults", "-d", str(recs["plain"]), "--json").json()
    kernel = [ln for ln in doc["lines"] if ln["mode"] == "kernel"]
    if not kernel:
        pytest.skip("no page fault was taken in kernel mode in this run")
    rows = []
    for line in (recs["plain"] / "kallsyms").read_text().splitlines():
        addr, _, name = line.split()[:3]
        rows.append((int(addr, 16), name))
    rows.sort()
    addrs = [a for a, _ in rows]
    for ln in kernel:
        i = bisect.bisect_right(addrs, ln["ip"]) - 1
        assert ln["where"] == f"{rows[i][1]}+{ln['ip'] - addrs[i]:#x}"
