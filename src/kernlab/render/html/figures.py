"""plotly figures built from kernlab's reports: address space, page faults, ELF layout, memory,
system calls. Each takes a report (figures already read) and returns a ``go.Figure``; nothing
here reads the system. Titles and axis labels come from the catalog, in the language in force.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kernlab.elf.model import Section, Segment
from kernlab.explain import text
from kernlab.proc.free import FreeFigures
from kernlab.proc.maps import Vma
from kernlab.reports.elf import ElfReport
from kernlab.reports.faults import FaultLine
from kernlab.reports.recording.syscall_stats import SyscallSummary
from kernlab.units import format_bytes

__all__ = [
    "Region",
    "address_regions",
    "address_space",
    "elf_layout",
    "fault_timeline",
    "memory",
    "syscalls",
]

ADDRESS_TOP = 1 << 64
# One colour per kind of area, the same in every figure (plotly's qualitative palette "Plotly"
# plus greys for what is not memory: gaps, the hole, the kernel half).
KIND_COLOURS = {
    "binary-text": "#636EFA",
    "binary-rodata": "#8C94FB",
    "binary-data": "#AB63FA",
    "binary-bss": "#C89BFC",
    "heap": "#EF553B",
    "stack": "#FFA15A",
    "shared-lib": "#00CC96",
    "file-mmap": "#19D3F3",
    "anon-mmap": "#FF6692",
    "vdso": "#B6E880",
    "vvar": "#FECB52",
    "vsyscall": "#FF97FF",
    "gap": "#E5E7EB",
    "non_canonical": "#BBBBBB",
    "kernel": "#4B5563",
}


def _colour(kind: str) -> str:
    return KIND_COLOURS.get(kind, "#7F7F7F")


@dataclass(frozen=True)
class Region:
    """One stretch of the address space: a VMA, a gap between VMAs, the hole or the kernel half."""

    start: int
    end: int  # exclusive
    kind: str  # a VMA kind (kernlab.proc.maps.KINDS), "gap", "non_canonical" or "kernel"
    label: str
    perms: str = ""

    @property
    def size(self) -> int:
        return self.end - self.start


def address_regions(vmas: Sequence[Vma], va_bits: int | None) -> list[Region]:
    """The VMAs in address order with every gap between them, from 0 to the top of the user half
    and, when the address width is known, the non-canonical hole and the kernel half above it
    (a VMA there, [vsyscall], cuts the kernel half in two).

    ``va_bits`` is the virtual-address width of the page tables (48 with 4 levels, 57 with 5 on
    x86_64): the user half ends at 2^(va_bits-1) and the kernel half starts at its mirror,
    2^64 - 2^(va_bits-1) (arch/x86/include/asm/page_64_types.h, Documentation/x86/x86_64/mm.rst).
    """
    gap = text("tour.html.gap")
    user_top = None if va_bits is None else 1 << (va_bits - 1)
    ordered = sorted(vmas, key=lambda v: v.start)
    user = [v for v in ordered if user_top is None or v.start < user_top]
    out: list[Region] = []
    cursor = 0
    for vma in user:
        if vma.start > cursor:
            out.append(Region(cursor, vma.start, "gap", gap))
        out.append(Region(vma.start, vma.end, vma.kind, vma.name or vma.kind, vma.perms))
        cursor = max(cursor, vma.end)
    if user_top is None:
        return out
    if cursor < user_top:
        out.append(Region(cursor, user_top, "gap", gap))
    kernel_start = ADDRESS_TOP - user_top
    out.append(Region(user_top, kernel_start, "non_canonical", text("tour.html.non_canonical")))
    kernel = text("tour.html.kernel_half")
    cursor = kernel_start
    for vma in ordered[len(user) :]:
        if vma.start > cursor:
            out.append(Region(cursor, vma.start, "kernel", kernel))
        out.append(Region(vma.start, vma.end, vma.kind, vma.name or vma.kind, vma.perms))
        cursor = max(cursor, vma.end)
    if cursor < ADDRESS_TOP:
        out.append(Region(cursor, ADDRESS_TOP, "kernel", kernel))
    return out


def _hex(value: int) -> str:
    return f"{value:#x}"


def _region_hover(r: Region) -> str:
    perms = f" {r.perms}" if r.perms else ""
    return f"{_hex(r.start)}–{_hex(r.end)}<br>{format_bytes(r.size)}{perms}<br>{_html(r.label)}"


def _html(value: str) -> str:
    """Hover text is HTML in plotly: a path or "[heap]" is escaped like every other datum."""
    import html

    return html.escape(value, quote=False)


def _short(label: str) -> str:
    """A path's file name, for an axis label (the hover text has the whole path)."""
    return label.rsplit("/", 1)[-1] if label.startswith("/") else label


def address_space(vmas: Sequence[Vma], va_bits: int | None, title: str) -> go.Figure:
    """The address space of a process in the spirit of procmap. On top, the two canonical halves
    to scale, side by side, with the non-canonical hole between them shortened to a sixteenth of
    a half (to scale it would be 65,535 times wider than both halves together, and nothing else
    would show); a tick marks each VMA. Below, every area and every gap in address order,
    highest first like procmap, each bar as long as its size on a log scale, so that a 4 KiB
    page and a 100 TiB gap both show."""
    regions = address_regions(vmas, va_bits)
    height = 260 + 16 * len(regions)
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[60 / height, 1 - 60 / height],
        vertical_spacing=110 / height,
        subplot_titles=(text("tour.html.address_overview"), text("tour.html.address_regions")),
    )
    hole = next((r for r in regions if r.kind == "non_canonical"), None)
    shown_hole = 0 if hole is None else hole.start // 16

    def position(address: int) -> float:
        # Addresses above the hole move down by all of the hole but its shortened width.
        if hole is None or address <= hole.start:
            return float(address)
        if address < hole.end:
            return float(hole.start + shown_hole * (address - hole.start) / hole.size)
        return float(address - hole.size + shown_hole)

    # 1. the halves to scale
    for kind in dict.fromkeys(r.kind for r in regions):
        mine = [r for r in regions if r.kind == kind]
        fig.add_trace(
            go.Bar(
                x=[position(r.end) - position(r.start) for r in mine],
                base=[position(r.start) for r in mine],
                y=[""] * len(mine),
                orientation="h",
                marker={
                    "color": _colour(kind),
                    "line": {"width": 0},
                    "pattern": {"shape": "/" if kind == "non_canonical" else ""},
                },
                # gaps, the hole and the kernel half are named in the page's language
                name=mine[0].label if kind in ("gap", "non_canonical", "kernel") else kind,
                legendgroup=kind,
                hovertext=[_region_hover(r) for r in mine],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
    areas = [r for r in regions if r.kind not in ("gap", "non_canonical", "kernel")]
    fig.add_trace(
        go.Scatter(
            x=[position(r.start) for r in areas],
            y=[""] * len(areas),
            mode="markers",
            marker={"symbol": "line-ns-open", "size": 16, "color": "#111827"},
            hovertext=[_region_hover(r) for r in areas],
            hoverinfo="text",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    top = regions[-1].end if regions else ADDRESS_TOP
    edges = [0, *((hole.start, hole.end) if hole else ()), top]
    fig.update_xaxes(
        row=1,
        col=1,
        range=[0, position(top)],
        tickvals=[position(e) for e in edges],
        # the hole's two edges lie close together: the upper one's label goes on a second line
        ticktext=[
            "2^64" if e == ADDRESS_TOP else f"<br>{_hex(e)}" if hole and e == hole.end else _hex(e)
            for e in edges
        ],
        tickangle=0,
    )
    # 2. every region, highest address on top, the bar's length its size on a log scale
    ordered = list(reversed(regions))
    labels = [f"{_hex(r.start)} {_short(r.label)}" for r in ordered]
    for kind in dict.fromkeys(r.kind for r in ordered):
        rows = [(label, r) for label, r in zip(labels, ordered, strict=True) if r.kind == kind]
        fig.add_trace(
            go.Bar(
                x=[r.size for _, r in rows],
                y=[label for label, _ in rows],
                orientation="h",
                marker={"color": _colour(kind)},
                name=kind,
                legendgroup=kind,
                showlegend=False,
                text=[format_bytes(r.size) for _, r in rows],
                textposition="outside",
                cliponaxis=False,
                hovertext=[_region_hover(r) for _, r in rows],
                hoverinfo="text",
            ),
            row=2,
            col=1,
        )
    fig.update_xaxes(row=2, col=1, type="log", title_text=text("tour.html.size_log"))
    fig.update_yaxes(
        row=2,
        col=1,
        categoryorder="array",
        categoryarray=list(reversed(labels)),
        tickfont={"family": "monospace", "size": 10},
    )
    fig.update_layout(
        title_text=title,
        barmode="overlay",
        height=height,
        margin={"l": 20, "r": 90, "t": 90, "b": 40},
    )
    return fig


def fault_timeline(lines: Sequence[FaultLine], title: str) -> go.Figure:
    """Every recorded page fault: when (seconds since the command started) against where (the
    faulting address), one colour per VMA, a diamond for a major fault (its page was read from
    disk), a circle for a minor one; an open circle when the recording cannot tell."""
    no_vma = text("report.html.no_vma")
    fig = go.Figure()
    by_vma: dict[str, list[FaultLine]] = {}
    for line in lines:
        by_vma.setdefault(line.vma or f"{no_vma} ({line.vma_kind})", []).append(line)
    symbols = {True: "diamond", False: "circle", None: "circle-open"}
    kinds = {
        True: text("report.html.major"),
        False: text("report.html.minor"),
        None: text("report.html.major_unknown"),
    }
    for vma, mine in by_vma.items():
        fig.add_trace(
            go.Scatter(
                x=[ln.time_s for ln in mine],
                y=[ln.address for ln in mine],
                mode="markers",
                name=_html(vma),
                marker={"symbol": [symbols[ln.major] for ln in mine], "size": 7},
                hovertext=[
                    f"{ln.time_s:.6f} s<br>{_hex(ln.address)} {_html(vma)}<br>"
                    f"{kinds[ln.major]}, {ln.mode}, {_html(ln.comm)}[{ln.pid}]<br>{_html(ln.where)}"
                    for ln in mine
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title_text=title,
        xaxis_title=text("report.html.time_axis"),
        yaxis_title=text("report.html.address_axis"),
        yaxis={"tickformat": "#x"},
        height=560,
        legend={"font": {"size": 10}},
    )
    return fig


def _segment_rows(segments: Sequence[Segment]) -> list[tuple[Segment, int, int, int, int]]:
    """(segment, file start, file size, memory start, memory size) for segments that occupy
    either: GNU_STACK and the like have neither."""
    return [(s, s.offset, s.filesz, s.vaddr, s.memsz) for s in segments if s.filesz or s.memsz]


def elf_layout(elf: ElfReport, title: str) -> go.Figure:
    """Segments and sections to scale, in the file (offsets) and in memory (virtual addresses):
    the same program as bytes on disk and as what the loader maps. A NOBITS section (.bss) has
    no bytes in the file; a section without SHF_ALLOC (.symtab, .comment) none in memory."""
    fig = make_subplots(
        rows=2,
        cols=1,
        vertical_spacing=0.28,
        subplot_titles=(text("tour.html.elf_file"), text("tour.html.elf_memory")),
    )
    seg_label = text("tour.html.segments")
    sec_label = text("tour.html.sections")
    rows = _segment_rows(elf.segments or ())
    sections: list[Section] = [s for s in elf.sections or () if s.type != "NULL"]
    for row in (1, 2):
        in_memory = row == 2
        segs = [(s, m0 if in_memory else f0, ms if in_memory else fs) for s, f0, fs, m0, ms in rows]
        segs = [(s, start, size) for s, start, size in segs if size]
        for seg_type in dict.fromkeys(s.type for s, _, _ in segs):
            mine = [(s, start, size) for s, start, size in segs if s.type == seg_type]
            fig.add_trace(
                go.Bar(
                    y=[seg_label] * len(mine),
                    x=[size for _, _, size in mine],
                    base=[start for _, start, _ in mine],
                    orientation="h",
                    name=seg_type,
                    legendgroup=seg_type,
                    showlegend=not in_memory,
                    opacity=0.75,
                    text=[f"{s.type} [{s.index}] {s.flags.strip()}" for s, _, _ in mine],
                    textposition="inside",
                    hovertext=[
                        f"{s.type} [{s.index}] {s.flags.strip()}<br>{_hex(start)}–{_hex(start + size)}"
                        f"<br>{format_bytes(size)}<br>{_html(' '.join(s.sections))}"
                        for s, start, size in mine
                    ],
                    hoverinfo="text",
                ),
                row=row,
                col=1,
            )
        secs = [
            (s, s.address, s.size) if in_memory else (s, s.offset, 0 if s.is_nobits else s.size)
            for s in sections
            if (s.is_alloc if in_memory else not s.is_nobits) and s.size
        ]
        fig.add_trace(
            go.Bar(
                y=[sec_label] * len(secs),
                x=[size for _, _, size in secs],
                base=[start for _, start, _ in secs],
                orientation="h",
                name=sec_label,
                legendgroup="sections",
                showlegend=not in_memory,
                marker={
                    "color": [
                        "#636EFA" if "X" in s.flags else "#EF553B" if "W" in s.flags else "#00CC96"
                        for s, _, _ in secs
                    ],
                    "line": {"width": 1, "color": "white"},
                },
                text=[_html(s.name) for s, _, _ in secs],
                textposition="inside",
                hovertext=[
                    f"[{s.index}] {_html(s.name)} {s.type} {s.flags}<br>{_hex(start)}–{_hex(start + size)}"
                    f"<br>{format_bytes(size)}"
                    for s, start, size in secs
                ],
                hoverinfo="text",
            ),
            row=row,
            col=1,
        )
    fig.update_xaxes(row=1, col=1, tickformat="#x", title_text=text("tour.html.offset_axis"))
    fig.update_xaxes(row=2, col=1, tickformat="#x", title_text=text("tour.html.address_axis"))
    fig.update_layout(
        title_text=title,
        barmode="overlay",
        height=520,
        uniformtext={"minsize": 8, "mode": "hide"},
    )
    return fig


def memory(free: FreeFigures, title: str) -> go.Figure:
    """MemTotal split two ways, both adding up to it exactly: as free(1)'s columns (used by
    processes and the kernel, buffers, page cache and reclaimable slab, free) and by what the
    kernel estimates it could hand out without swapping (MemAvailable) against the rest."""
    bars = [
        (text("tour.html.mem_split"), text("tour.html.mem_used"), free.used_classic, "#EF553B"),
        (text("tour.html.mem_split"), text("tour.html.mem_buffers"), free.buffers, "#FFA15A"),
        (text("tour.html.mem_split"), text("tour.html.mem_cache"), free.cache, "#FECB52"),
        (text("tour.html.mem_split"), text("tour.html.mem_free"), free.free, "#00CC96"),
        (text("tour.html.mem_available_split"), text("tour.html.mem_unavailable"), free.used, "#AB63FA"),
        (text("tour.html.mem_available_split"), text("tour.html.mem_available"), free.available, "#19D3F3"),
    ]
    fig = go.Figure()
    for row, name, kib, colour in bars:
        fig.add_trace(
            go.Bar(
                y=[row],
                x=[kib],
                orientation="h",
                name=name,
                marker={"color": colour},
                text=[f"{name} {format_bytes(kib * 1024)}"],
                textposition="inside",
                hovertext=[f"{name}: {kib:,} KiB ({100 * kib / max(free.total, 1):.1f} %)"],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title_text=title,
        barmode="stack",
        height=300,
        xaxis_title=text("tour.html.kib_axis"),
        uniformtext={"minsize": 8, "mode": "hide"},
    )
    return fig


def syscalls(summary: SyscallSummary, title: str) -> go.Figure:
    """strace -c as bars: each system call's share of the time spent in system calls and its
    number of calls, sorted by time like the table."""
    rows = sorted(summary.rows, key=lambda r: (r.total_ns, r.calls), reverse=True)
    names = [r.name for r in rows]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=(text("report.html.time_share"), text("report.html.calls")),
    )
    panels = (
        (
            "report.html.time_share",
            [r.percent_time for r in rows],
            "#636EFA",
            [f"{r.name}: {r.percent_time:.2f} %, {r.total_ns / 1000:,.0f} µs" for r in rows],
        ),
        (
            "report.html.calls",
            [r.calls for r in rows],
            "#EF553B",
            [f"{r.name}: {r.calls:,} / {r.errors:,}" for r in rows],
        ),
    )
    for col, (key, values, colour, hover) in enumerate(panels, start=1):
        fig.add_trace(
            go.Bar(
                y=names,
                x=values,
                orientation="h",
                name=text(key),
                marker={"color": colour},
                hovertext=hover,
                hoverinfo="text",
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(autorange="reversed", tickfont={"family": "monospace"})
    fig.update_layout(title_text=title, height=160 + 18 * len(rows), showlegend=False)
    return fig
