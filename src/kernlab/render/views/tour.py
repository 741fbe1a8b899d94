"""`kernlab tour` for a person: each step's title, its live data through the command's own view,
and one paragraph of what it means.

The commands' views print the data with their sentences left out (``Output(quiet=True)``): the
step's paragraph says what the figures mean, once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from kernlab.explain import tour as explain
from kernlab.render.output import Output
from kernlab.render.terminal import console, print_fields, print_heading, print_line, print_table
from kernlab.reports.tour import (
    FreeStep,
    HelloStep,
    KernelStep,
    KsrcStep,
    KthreadsStep,
    LazyStep,
    LibrariesStep,
    MapsStep,
    MmapStep,
    PagecacheStep,
    RecordStep,
    StepInfo,
    StepResult,
    SyscallStep,
    TourReport,
    VszRssStep,
    VtopStep,
)
from kernlab.units import format_bytes, format_kib

__all__ = ["heading", "prompt", "rename_lines", "show", "show_end", "show_list", "show_step", "show_title"]

DATA_ONLY = Output(quiet=True)
"""How the tour calls the commands' views: their data, without their own sentences."""
MEMINFO_FIRST = ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached")
"""The five /proc/meminfo lines the course says to know first."""
STRIP_WIDTH = 64


def show(report: TourReport, out: Output) -> None:
    """Every step of a finished tour (the streaming CLI prints them one by one instead)."""
    total = len(report.steps)
    for result in report.steps:
        show_title(result.step, total)
        show_step(result, out)
    show_end(list(report.steps), out)


def show_end(results: list[StepResult], out: Output) -> None:
    print_line()
    out.sentence(explain.tour_end(results))


def show_list(steps: tuple[StepInfo, ...], out: Output) -> None:
    """``--list``: number, name (for --step) and title of each step, and what it needs."""
    print_table(
        ["#", "name", "step", "needs"],
        [(s.number, s.name, explain.title(s), _needs(s)) for s in steps],
        right=["#"],
    )


def _needs(step: StepInfo) -> str:
    if step.traces:
        return "root, tracing"
    if step.needs_root:
        return "root"
    return "(traced as root)" if step.may_trace else ""


def heading(step: StepInfo, total: int) -> str:
    """The step's line, for the progress bar while it runs."""
    return explain.heading(step, total)


def prompt(done: StepInfo, following: StepInfo | None, total: int) -> str:
    """The interactive tour's line while it waits for Enter."""
    return explain.prompt(done, following, total)


def show_title(step: StepInfo, total: int) -> None:
    con = console()
    line = explain.heading(step, total)
    if con.is_terminal:
        con.rule(line, style="bold", align="left", characters="─")
    else:
        print_line(f"\n== {line} ==", wrap=False)


def show_step(result: StepResult, out: Output) -> None:
    """The step's data and its paragraph; a step that did not run says why, in one line."""
    if result.data is None:
        # Said even with --quiet: it is the step's only output, not a comment on data.
        print_line(explain.skipped_line(result), wrap=False)
        return
    _VIEWS[type(result.data)](result.data)
    print_line()
    out.sentence(explain.paragraph(result))


def _kernel(s: KernelStep) -> None:
    k = s.kernel
    p = k.paging
    print_fields(
        [
            ("Release (uname -r)", k.release.release),
            ("Machine", k.release.machine),
            ("CONFIG_PGTABLE_LEVELS", "-" if p.configured_levels is None else p.configured_levels),
            ("Levels in use", "-" if p.levels_in_use is None else p.levels_in_use),
            ("Found by", explain.paging_method(s)),
        ]
    )


def _hello(s: HelloStep) -> None:
    from kernlab.render.views import disasm, elf

    if s.source is not None:
        print_heading(f"hello.c ({s.compiler})")
        for line in s.source.rstrip("\n").split("\n"):
            print_line(f"  {line}", wrap=False)
    elf.show(s.elf, DATA_ONLY)
    for code in (s.start, s.main):
        if code is not None:
            print_line()
            disasm.show(code, DATA_ONLY)


def _libraries(s: LibrariesStep) -> None:
    from kernlab.render.views import ldd

    ldd.show_table(s.ldd, DATA_ONLY)


def _kthreads(s: KthreadsStep) -> None:
    from kernlab.render.views import ps

    ps.show_kthreads(s.kthreads, DATA_ONLY)


def _syscall(s: SyscallStep) -> None:
    from kernlab.render.views import syscall

    syscall.show_with_libc(s.call, DATA_ONLY)


def _record(s: RecordStep) -> None:
    from kernlab.render.views import report

    report.show(s.report, DATA_ONLY)
    lines = rename_lines(s)
    if lines:
        print_line()
        print_heading("kernlab replay (rename)")
        for line in lines:
            print_line(line, wrap=False)


def rename_lines(s: RecordStep) -> list[str]:
    """The part of the call tree around the rename as `kernlab replay` prints it: its header,
    how the kernel functions were seen, and the lines of the rename call and all beneath it."""
    from kernlab.render.views import replay
    from kernlab.reports.replay import ThreadCalls

    if s.replay is None or s.rename is None:
        return []
    tree = s.rename
    part = dataclasses.replace(s.replay, threads=[ThreadCalls(tree.tid, tree.comm, [tree.call])])
    return [replay.HEADER, *replay.kernel_header(part), *replay.tree_lines(part)]


def _maps(s: MapsStep) -> None:
    from kernlab.render.views import maps

    maps.show(s.maps, DATA_ONLY)


def _vsz_rss(s: VszRssStep) -> None:
    from kernlab.render.views import ps

    ps.show(s.ps, DATA_ONLY)


def _free(s: FreeStep) -> None:
    from kernlab.render.views import mem

    mem.show(dataclasses.replace(s.mem, meminfo=None), DATA_ONLY)
    lines = {m.name: m for m in s.mem.meminfo or ()}
    print_table(
        ["field", "value", "unit"],
        [[name, f"{lines[name].value:,}", lines[name].unit] for name in MEMINFO_FIRST if name in lines],
        title=f"{s.mem.source} (head -5)",
        right=["value"],
    )


def _vtop(s: VtopStep) -> None:
    from kernlab.render.views import vtop

    vtop.show(s.vtop, DATA_ONLY)


def _lazy(s: LazyStep) -> None:
    def kib(value: int | None) -> str:
        return "-" if value is None else format_kib(value)

    print_table(
        ["", "mapped, untouched", f"after touching {s.touched_bytes >> 20} MiB", "change"],
        [
            [
                "VSZ (ps)",
                kib(s.vsz_before_kib),
                kib(s.vsz_after_kib),
                kib(s.vsz_after_kib - s.vsz_before_kib),
            ],
            ["RSS (ps)", kib(s.rss_before_kib), kib(s.rss_after_kib), kib(s.rss_growth_kib)],
            [
                "RSS of the area (smaps)",
                kib(s.region_rss_before_kib),
                kib(s.region_rss_after_kib),
                kib((s.region_rss_after_kib or 0) - (s.region_rss_before_kib or 0)),
            ],
            ["minor faults (ps)", f"{s.minflt_before:,}", f"{s.minflt_after:,}", f"{s.faults:,}"],
        ],
        title=f"PID {s.pid}: {s.region_bytes >> 20} MiB mapped at {s.region_address:#x}",
        right=["mapped, untouched", f"after touching {s.touched_bytes >> 20} MiB", "change"],
    )


def _mmap(s: MmapStep) -> None:
    """The lab's table of the four runs (its own columns and labels), under the file's name."""
    from kernlab.explain import labs as lab_explain
    from kernlab.render.views import labs

    columns = [lab_explain.label(k) for k in labs.MMAP_COLUMNS]
    f = s.lab.file
    print_table(
        columns,
        [labs.run_row(r) for r in s.lab.runs],
        right=columns[1:],
        title=f"{f.path} ({format_bytes(f.size)}, {f.fstype or '?'})",
    )


def _pagecache(s: PagecacheStep) -> None:
    from kernlab.render.views import pagecache

    pagecache.show(s.evicted, DATA_ONLY, width=STRIP_WIDTH)
    pagecache.show(s.loaded, DATA_ONLY, width=STRIP_WIDTH)


def _source(s: KsrcStep) -> None:
    from kernlab.render.views import ksrc

    ksrc.show_syscall(s.syscall, DATA_ONLY)
    ksrc.show_def(s.definition, DATA_ONLY)


_VIEWS: dict[type, Callable[[Any], None]] = {
    KernelStep: _kernel,
    HelloStep: _hello,
    LibrariesStep: _libraries,
    KthreadsStep: _kthreads,
    SyscallStep: _syscall,
    RecordStep: _record,
    MapsStep: _maps,
    VszRssStep: _vsz_rss,
    FreeStep: _free,
    VtopStep: _vtop,
    LazyStep: _lazy,
    MmapStep: _mmap,
    PagecacheStep: _pagecache,
    KsrcStep: _source,
}
