"""`kernlab lab …` for a person: each lab's figures as tables, then the sentences they mean."""

from __future__ import annotations

from kernlab.explain import labs as explain
from kernlab.mm.strip import strip_text
from kernlab.render.output import Output
from kernlab.render.terminal import print_heading, print_table
from kernlab.reports.labs.lazy_alloc import LazyAllocReport
from kernlab.reports.labs.mmap_read import MmapReadReport, RunFigures
from kernlab.reports.labs.syscall_path import SyscallPathReport
from kernlab.units import format_bytes, format_kib

__all__ = ["MMAP_COLUMNS", "run_row", "show_lazy", "show_mmap", "show_path"]


MMAP_COLUMNS = (
    "run",
    "time",
    "syscalls",
    "copied",
    "faults",
    "data_faults",
    "major",
    "minor",
    "added",
    "readahead",
    "resident",
)
"""The label keys of the four runs' table."""


def _n(value: int | None) -> str:
    return explain.label("not_measured") if value is None else f"{value:,}"


def run_row(run: RunFigures) -> list[str]:
    """One run as a row of the table (columns: :data:`MMAP_COLUMNS`), for the terminal and the page."""
    return [
        explain.run_name(run),
        explain.duration(run.time_ns),
        _n(run.syscalls),
        format_bytes(run.copied_bytes) if run.copied_bytes else _n(run.copied_bytes),
        _n(run.faults if run.traced else run.rusage_minor + run.rusage_major),
        _n(run.data_faults),
        _n(run.data_major if run.traced else run.rusage_major),
        _n(run.data_minor if run.traced else run.rusage_minor),
        _n(run.pages_added),
        "" if run.readahead_sync is None else f"{run.readahead_sync}/{run.readahead_async or 0}",
        f"{run.resident_before:,} → {run.resident_after:,}",
    ]


def show_mmap(report: MmapReadReport, out: Output) -> None:
    print_heading(explain.title("mmap"))
    columns = [explain.label(k) for k in MMAP_COLUMNS]
    print_table(columns, [run_row(r) for r in report.runs], right=columns[1:])
    out.sentences(explain.mmap_sentences(report))
    s = report.shared_write
    if s is not None:
        print_heading(explain.title("shared"))
        print_table(
            [explain.label("file"), "hex"],
            [
                (explain.label("before"), s.before),
                ("mmap", s.seen),
                (explain.label("after"), s.after),
                (explain.label("disk"), s.after_writeback),
            ],
        )
        out.sentences(explain.shared_sentences(report))
    if report.free is not None:
        print_heading(explain.title("free"))
        f0, f1 = report.free.before, report.free.after
        print_table(
            ["", "total", "used", "free", "shared", "buff/cache", "available"],
            [
                (
                    explain.label(k),
                    *(format_kib(v) for v in (f.total, f.used, f.free, f.shared, f.buff_cache, f.available)),
                )
                for k, f in (("before", f0), ("after", f1))
            ],
            right=["total", "used", "free", "shared", "buff/cache", "available"],
        )
        out.sentences(explain.free_sentences(report))


def show_lazy(report: LazyAllocReport, out: Output) -> None:
    print_heading(explain.title("lazy"))
    columns = [
        explain.label(k) for k in ("region", "step", "vsz", "rss", "minor", "present", "huge", "strip")
    ]
    rows = []
    for region in report.regions:
        a = region.alloc
        rows.append(
            (
                explain.region_name(region),
                "0",
                format_kib(a.vsz_after_kib),
                format_kib(a.rss_after_kib),
                "0",
                "",
                "",
                "",
            )
        )
        for s in region.steps:
            rows.append(
                (
                    "",
                    format_bytes(s.touched),
                    format_kib(s.vsz_kib),
                    format_kib(s.rss_kib),
                    f"{s.minflt:,}",
                    f"{s.present_pages:,}",
                    "" if s.anon_huge_kib is None else format_kib(s.anon_huge_kib),
                    strip_text(s.strip),
                )
            )
    print_table(columns, rows, right=columns[1:7])
    out.sentences(explain.lazy_sentences(report))


def show_path(report: SyscallPathReport, out: Output) -> None:
    print_heading(explain.title("path", name=report.name))
    w = report.wrapper
    if w is not None:
        code = w.libc.trap_disassembly or w.libc.disassembly
        lines = [
            f"  {i.address:x}:  {i.mnemonic} {i.operands}".rstrip()
            for i in code.instructions
            if w.libc.load is None or abs(i.address - w.libc.load.address) <= 24
        ]
        print_table([w.libc.function, ""], [(line, "") for line in lines[:12]])
    print_table(
        [explain.label("symbol"), explain.label("address"), explain.label("type")],
        [(s.name, "" if s.address is None else f"{s.address:#x}", s.type or "") for s in report.symbols],
    )
    live = report.live
    if live is not None:
        print_heading(explain.title("inside"))
        stacks = [s for s in (live.entry, *live.inside, live.exit) if s is not None]
        print_table(
            [explain.label("offset"), explain.label("event"), explain.label("stack")],
            [(explain.duration(s.offset_ns), s.event, " → ".join(s.stack)) for s in stacks],
        )
    out.sentences(explain.path_sentences(report))
