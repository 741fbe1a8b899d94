"""render.html: figures drawn from live reports agree with the kernel's own data and with
readelf; the page escapes kernel data and embeds plotly.js once."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("plotly")


from kernlab import explain
from kernlab.render.html import figures
from kernlab.render.html.page import Page
from kernlab.reports import elf as elf_reports
from kernlab.reports import maps as maps_reports
from kernlab.reports import mem as mem_reports

TOP = 1 << 64


def _proc_maps(pid: int) -> list[tuple[int, int]]:
    out = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        start, end = line.split()[0].split("-")
        out.append((int(start, 16), int(end, 16)))
    return out


@pytest.fixture
def sleeper():
    # A process whose maps hold still: it has finished loading once it says so (a bare `sleep`
    # may still be in ld.so, mapping libraries, when its maps are read).
    code = "import time; print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("va_bits", [48, 57])
def test_address_regions_tile_the_whole_space_around_procs_vmas(sleeper, va_bits):
    report = maps_reports.build(sleeper)
    regions = figures.address_regions(report.vmas, va_bits)
    # contiguous from 0 to 2^64, nothing overlapping
    assert regions[0].start == 0 and regions[-1].end == TOP
    assert all(a.end == b.start for a, b in itertools.pairwise(regions))
    # every line of /proc/PID/maps is one region, and nothing else is memory
    vmas = [(r.start, r.end) for r in regions if r.kind not in ("gap", "non_canonical", "kernel")]
    assert vmas == _proc_maps(sleeper)
    half = 1 << (va_bits - 1)
    hole = next(r for r in regions if r.kind == "non_canonical")
    assert (hole.start, hole.end) == (half, TOP - half)
    # the kernel half, [vsyscall] included when it shows, is as large as the user half
    assert sum(r.size for r in regions if r.start >= TOP - half) == half


def test_address_space_figure_draws_every_region(sleeper):
    report = maps_reports.build(sleeper)
    fig = figures.address_space(report.vmas, 48, "t")
    regions = figures.address_regions(report.vmas, 48)
    # the log-scale panel: one bar per region, its length the region's size
    bars = [t for t in fig.data if t.type == "bar" and t.xaxis == "x2"]
    sizes = sorted(int(x) for t in bars for x in t.x)
    assert sizes == sorted(r.size for r in regions)
    # the to-scale panel marks each VMA at its start
    marks = next(t for t in fig.data if t.type == "scatter")
    assert len(marks.x) == len(_proc_maps(sleeper))


def _readelf_rows(program: str, flag: str) -> list[list[str]]:
    out = subprocess.run(["readelf", flag, "-W", program], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()]


def test_elf_figure_places_segments_and_sections_like_readelf(build_c, tmp_path):
    if not shutil.which("readelf") or not shutil.which("gcc"):
        pytest.skip("needs readelf and gcc")
    program = str(build_c('#include <stdio.h>\nint big[4096];\nint main(void){puts("hi");return 0;}\n'))
    report = elf_reports.build(program, ("header", "segments", "sections"))
    fig = figures.elf_layout(report, "t")
    seg_label = explain.text("tour.html.segments")
    sec_label = explain.text("tour.html.sections")

    def spans(axis: str, label: str) -> set[tuple[int, int]]:
        return {
            (int(b), int(x))
            for t in fig.data
            if t.xaxis == axis and t.y and t.y[0] == label
            for b, x in zip(t.base, t.x, strict=True)
        }

    loads = [r for r in _readelf_rows(program, "-l") if r and r[0] in ("LOAD", "DYNAMIC", "INTERP", "NOTE")]
    for r in loads:
        offset, vaddr, filesz, memsz = (int(v, 16) for v in (r[1], r[2], r[4], r[5]))
        if filesz:
            assert (offset, filesz) in spans("x", seg_label), r
        assert (vaddr, memsz) in spans("x2", seg_label), r
    # readelf -SW: [Nr] Name Type Address Off Size ...; .bss takes memory and no file bytes
    sections = {}
    for r in _readelf_rows(program, "-S"):
        text = " ".join(r)
        m = re.match(r"\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+([0-9a-f]{16})\s+([0-9a-f]{6,})\s+([0-9a-f]{6,})", text)
        if m and m.group(1) != "0":
            sections[m.group(2)] = (m.group(3), int(m.group(4), 16), int(m.group(5), 16), int(m.group(6), 16))
    assert ".bss" in sections and ".text" in sections
    kind, address, offset, size = sections[".bss"]
    assert kind == "NOBITS" and (address, size) in spans("x2", sec_label)
    assert all(b != offset or x != size for b, x in spans("x", sec_label))  # no file bytes
    kind, address, offset, size = sections[".text"]
    assert (address, size) in spans("x2", sec_label) and (offset, size) in spans("x", sec_label)
    # .symtab is in the file and not in memory
    _, address, offset, size = sections[".symtab"]
    assert (offset, size) in spans("x", sec_label) and (address, size) not in spans("x2", sec_label)


def test_memory_figure_adds_up_to_memtotal_of_the_file(tmp_path):
    saved = tmp_path / "meminfo"
    saved.write_text(Path("/proc/meminfo").read_text())
    values = {ln.split(":")[0]: int(ln.split()[1]) for ln in saved.read_text().splitlines()}
    report = mem_reports.build(meminfo_file=saved)
    fig = figures.memory(report.free, "t")
    rows: dict[str, dict[str, int]] = {}
    for t in fig.data:
        rows.setdefault(t.y[0], {})[t.name] = int(t.x[0])
    split = rows[explain.text("tour.html.mem_split")]
    assert sum(split.values()) == values["MemTotal"]
    assert split[explain.text("tour.html.mem_free")] == values["MemFree"]
    assert split[explain.text("tour.html.mem_buffers")] == values["Buffers"]
    assert split[explain.text("tour.html.mem_cache")] == values["Cached"] + values["SReclaimable"]
    available = rows[explain.text("tour.html.mem_available_split")]
    assert available[explain.text("tour.html.mem_available")] == values["MemAvailable"]
    assert sum(available.values()) == values["MemTotal"]


def test_page_escapes_data_and_embeds_plotly_once(sleeper, tmp_path):
    page = Page("<title> & [heap]", "en")
    page.paragraph("a < b and [stack]")
    page.table(["name", "n"], [["<script>alert(1)</script>", 1], ["[heap]"]], right=["n"])
    report = maps_reports.build(sleeper)
    page.figure(figures.address_space(report.vmas, 48, "one"))
    page.figure(figures.address_space(report.vmas, None, "two"))
    path = page.write(tmp_path / "p.html")
    doc = path.read_text()
    assert "<script>alert(1)" not in doc and "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert '<td >[heap]</td><td class="num"></td>' in doc  # a short row is padded
    assert doc.count("plotly.js v") == 1  # the bundle's banner: one copy for two figures
    assert doc.count('class="plotly-graph-div"') == 2
    # nothing refers outside the file
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", doc)
    assert "Content-Security-Policy" in doc


def test_korean_page_has_no_english_sentence(sleeper):
    from tests.cli.test_tour_cli import _english_fragments

    report = maps_reports.build(sleeper)
    explain.set_language("ko")
    try:
        page = Page(explain.text("tour.html.title"), "ko")
        page.figure(
            figures.address_space(report.vmas, 48, explain.text("tour.html.address_space", pid=1, comm="x"))
        )
        page.figure(
            figures.memory(mem_reports.build().free, explain.text("tour.html.mem", source="/proc/meminfo"))
        )
        doc = page.html()
    finally:
        explain.set_language("en")
    found = sorted(p for p in _english_fragments() if p in doc)
    assert not found, found
    # Figure JSON keeps Hangul as is with orjson, as \uXXXX escapes with the json module.
    assert "주소 공간" in doc or json.dumps("주소 공간")[1:-1] in doc
