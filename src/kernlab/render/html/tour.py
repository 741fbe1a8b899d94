"""`kernlab tour --html`: the day as one HTML page — each step's title, its data (figures from
plotly, tables, listings) and its paragraph, in the language in force."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from kernlab.explain import language, text
from kernlab.explain import tour as explain
from kernlab.render.html import figures
from kernlab.render.html.calltree import add_calltree
from kernlab.render.html.capture import captured
from kernlab.render.html.page import Page
from kernlab.render.html.report import add_recording
from kernlab.render.output import Output
from kernlab.reports.elf import ElfReport
from kernlab.reports.faults import FaultsReport
from kernlab.reports.tour import (
    FreeStep,
    HelloStep,
    KernelStep,
    MapsStep,
    MmapStep,
    RecordStep,
    StepResult,
    VtopStep,
)
from kernlab.units import format_bytes, format_kib

__all__ = ["tour_page", "written_line"]

QUIET = Output(quiet=True)
MEMINFO_FIRST = ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached")


def written_line(path: str) -> str:
    """What the tour says once the page is written: where it is."""
    return text("tour.html.written", path=path)


def tour_page(
    results: Sequence[StepResult], *, faults: FaultsReport | None = None, elf: ElfReport | None = None
) -> Page:
    """The page of a finished tour.

    ``faults`` is the record step's recording as `kernlab faults` lists it (the timeline needs
    every fault, the step keeps only their counts); ``elf`` the hello program read with its
    section headers too (the step keeps its segments). Both are optional: without them the page
    leaves out the timeline and draws the segments alone.
    """
    page = Page(text("tour.html.title"), language())
    total = len(results)
    va_bits = next((r.data.vtop.paging.va_bits for r in results if isinstance(r.data, VtopStep)), None)
    for result in results:
        page.heading(explain.heading(result.step, total))
        data = result.data
        if data is None:
            page.paragraph(explain.skipped_line(result), css="skipped")
            continue
        if isinstance(data, KernelStep):
            _kernel(page, data)
        elif isinstance(data, HelloStep):
            _hello(page, data, elf)
        elif isinstance(data, RecordStep):
            _record(page, data, faults)
        elif isinstance(data, MapsStep):
            _maps(page, data, va_bits)
        elif isinstance(data, FreeStep):
            _free(page, data)
        elif isinstance(data, MmapStep):
            _mmap(page, data)
        else:
            from kernlab.render.views import tour as terminal

            page.listing(captured(partial(terminal.show_step, result, QUIET)))
        page.paragraph(explain.paragraph(result))
    page.paragraph(explain.tour_end(list(results)))
    return page


def _kernel(page: Page, s: KernelStep) -> None:
    k, p = s.kernel, s.kernel.paging
    page.table(
        ("", ""),
        [
            ("Release (uname -r)", k.release.release),
            ("Machine", k.release.machine),
            ("CONFIG_PGTABLE_LEVELS", "-" if p.configured_levels is None else p.configured_levels),
            ("Levels in use", "-" if p.levels_in_use is None else p.levels_in_use),
            ("Found by", explain.paging_method(s)),
        ],
    )


def _hello(page: Page, s: HelloStep, elf: ElfReport | None) -> None:
    from kernlab.render.views import disasm

    if s.source is not None:
        page.listing(f"/* hello.c ({s.compiler}) */\n{s.source}")
    layout = elf if elf is not None and elf.segments else s.elf
    page.figure(figures.elf_layout(layout, text("tour.html.elf", program=s.program)))
    page.table(
        ("Type", "Offset", "VirtAddr", "FileSiz", "MemSiz", "Flg", "Align", "sections"),
        [
            (
                g.type,
                f"{g.offset:#08x}",
                f"{g.vaddr:#018x}",
                f"{g.filesz:#08x}",
                f"{g.memsz:#08x}",
                g.flags,
                f"{g.align:#x}",
                " ".join(g.sections),
            )
            for g in s.elf.segments or ()
        ],
        caption="readelf -lW",
    )
    for code in (s.start, s.main):
        if code is not None:
            page.listing(captured(partial(disasm.show, code, QUIET)))


def _record(page: Page, s: RecordStep, faults: FaultsReport | None) -> None:
    """The recording's system calls and faults, the part of the call tree around the rename as
    replay prints it, and the whole call tree as calltree.py draws it for `report --html`."""
    from kernlab.render.views.tour import rename_lines

    add_recording(page, s.report, faults, sentences=False)
    lines = rename_lines(s)
    if lines:
        page.listing("\n".join(lines))
    if s.replay is not None:
        add_calltree(page, s.replay, level=3)


def _maps(page: Page, s: MapsStep, va_bits: int | None) -> None:
    m = s.maps
    page.figure(
        figures.address_space(m.vmas, va_bits, text("tour.html.address_space", pid=m.pid, comm=m.comm))
    )
    page.table(
        ("start", "end", "size", "perms", "offset", "kind", "RSS", "name"),
        [
            (
                f"{v.start:#x}",
                f"{v.end:#x}",
                format_kib(v.size // 1024),
                v.perms,
                f"{v.offset:#x}",
                v.kind,
                "-" if v.rss is None else format_kib(v.rss),
                v.name,
            )
            for v in m.vmas
        ],
        right=("size", "RSS"),
        caption=f"/proc/{m.pid}/smaps",
    )


def _mmap(page: Page, s: MmapStep) -> None:
    """The lab's figure of the four runs, its table, and the kernel path recorded for each run
    (the lab's page shows the same; the step's paragraph is the lab's sentences)."""
    from kernlab.explain import labs as lab_explain
    from kernlab.render.html.labs import mmap_runs_figure
    from kernlab.render.views import labs as lab_view

    columns = [lab_explain.label(k) for k in lab_view.MMAP_COLUMNS]
    page.figure(mmap_runs_figure(s.lab))
    page.table(
        columns,
        [lab_view.run_row(r) for r in s.lab.runs],
        right=columns[1:],
        caption=f"{s.lab.file.path} ({format_bytes(s.lab.file.size)}, {s.lab.file.fstype or '?'})",
    )
    paths = [r for r in s.lab.runs if r.kernel_path]
    if paths:
        page.listing(
            "\n\n".join(
                f"{lab_explain.run_name(r)} ({r.kernel_path_event}):\n  " + "\n  → ".join(r.kernel_path)
                for r in paths
            )
        )


def _free(page: Page, s: FreeStep) -> None:
    mem = s.mem
    page.figure(figures.memory(mem.free, text("tour.html.mem", source=mem.source)))
    page.table(
        ("", *mem.columns),
        [(label, *cells) for label, cells in mem.display.items()],
        right=mem.columns,
        caption="free",
    )
    lines = {m.name: m for m in mem.meminfo or ()}
    page.table(
        ("field", "value", "unit"),
        [(name, f"{lines[name].value:,}", lines[name].unit) for name in MEMINFO_FIRST if name in lines],
        right=("value",),
        caption=f"{mem.source} (head -5)",
    )
