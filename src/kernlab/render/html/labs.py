"""`kernlab lab … --html FILE`: one self-contained page per lab run — the lab's figures drawn by
plotly, its tables and its sentences, in the language in force.

- mmap-vs-read: the four runs side by side (time, faults major and minor, pages entering the page
  cache, system calls when recorded), each run's kernel path, hello_mmap's bytes and, after
  ``--drop-caches``, the memory split before and after.
- lazy-alloc: RSS against the bytes touched for each region (with the line RSS = touched), and
  each region's pagemap presence strip at every step as a heat map.
- syscall-path: libc's wrapper, the kernel symbols, and the kernel stacks recorded inside the
  live call as an icicle (outermost function on top, one box per function the stacks went through).
"""

from __future__ import annotations

from functools import partial

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kernlab.explain import labs as explain
from kernlab.explain import language, text
from kernlab.render.html import figures
from kernlab.render.html.capture import captured
from kernlab.render.html.page import Page
from kernlab.render.output import Output
from kernlab.render.views import labs as view
from kernlab.reports.labs.lazy_alloc import LazyAllocReport
from kernlab.reports.labs.mmap_read import MmapReadReport, RunFigures
from kernlab.reports.labs.syscall_path import StackAt, SyscallPathReport
from kernlab.units import format_bytes, format_kib

__all__ = ["lazy_page", "mmap_page", "mmap_runs_figure", "path_page", "presence_figure", "stack_icicle"]

QUIET = Output(quiet=True)
METHOD_COLOURS = {"read": "#636EFA", "mmap": "#EF553B"}


def _faults(run: RunFigures) -> tuple[int, int]:
    """(major, minor) of the work: on the file's pages when recorded, getrusage's otherwise —
    the figures the table shows."""
    if run.traced and run.data_major is not None and run.data_minor is not None:
        return run.data_major, run.data_minor
    return run.rusage_major, run.rusage_minor


def mmap_runs_figure(report: MmapReadReport) -> go.Figure:
    """The four runs side by side: time, faults (major stacked on minor), pages into the cache
    and, when recorded, system calls."""
    runs = report.runs
    names = [explain.run_name(r) for r in runs]
    panels = ["time", "faults", "added"] + (["syscalls"] if any(r.syscalls is not None for r in runs) else [])
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=[text("lab.html.time_ms") if p == "time" else explain.label(p) for p in panels],
        horizontal_spacing=0.06,
    )
    colours = [METHOD_COLOURS.get(r.method, "#7F7F7F") for r in runs]
    for col, panel in enumerate(panels, start=1):
        if panel == "faults":
            majors, minors = zip(*(_faults(r) for r in runs), strict=True)
            for label, counts, pattern in (
                (explain.label("major"), majors, "x"),
                (explain.label("minor"), minors, ""),
            ):
                fig.add_trace(
                    go.Bar(
                        x=names,
                        y=list(counts),
                        name=label,
                        marker={"color": colours, "pattern": {"shape": pattern}},
                        text=[f"{v:,}" for v in counts],
                        hovertext=[f"{n}: {v:,} {label}" for n, v in zip(names, counts, strict=True)],
                        hoverinfo="text",
                        showlegend=False,
                    ),
                    row=1,
                    col=col,
                )
            continue
        if panel == "time":
            values: list[float] = [r.time_ns / 1e6 for r in runs]
            shown = [explain.duration(r.time_ns) for r in runs]
        elif panel == "added":
            values = [float(r.pages_added or 0) for r in runs]
            shown = [f"{r.pages_added or 0:,}" for r in runs]
        else:
            values = [float(r.syscalls or 0) for r in runs]
            shown = [f"{r.syscalls or 0:,}" for r in runs]
        fig.add_trace(
            go.Bar(
                x=names,
                y=values,
                marker={"color": colours},
                text=shown,
                hovertext=[f"{n}: {s}" for n, s in zip(names, shown, strict=True)],
                hoverinfo="text",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    fig.update_layout(
        title_text=text("lab.html.mmap_figure", size=format_bytes(report.file.size)),
        barmode="stack",
        height=420,
    )
    return fig


def mmap_page(report: MmapReadReport) -> Page:
    page = Page(explain.title("mmap"), language())
    page.figure(mmap_runs_figure(report))
    page.table(
        [explain.label(k) for k in view.MMAP_COLUMNS],
        [view.run_row(r) for r in report.runs],
        right=[explain.label(k) for k in view.MMAP_COLUMNS[1:]],
    )
    paths = [(r, r.kernel_path) for r in report.runs if r.kernel_path]
    if paths:
        page.heading(explain.label("path"), 3)
        page.listing(
            "\n\n".join(
                f"{explain.run_name(r)} ({r.kernel_path_event}):\n  " + "\n  → ".join(path)
                for r, path in paths
            )
        )
    page.paragraphs(explain.mmap_sentences(report))
    s = report.shared_write
    if s is not None:
        page.heading(explain.title("shared"))
        page.table(
            [explain.label("file"), "hex"],
            [
                (explain.label("before"), s.before),
                ("mmap", s.seen),
                (explain.label("after"), s.after),
                (explain.label("disk"), s.after_writeback),
            ],
        )
        page.paragraphs(explain.shared_sentences(report))
    if report.free is not None:
        page.heading(explain.title("free"))
        for key, free in (("before", report.free.before), ("after", report.free.after)):
            page.figure(figures.memory(free, text("lab.html.free", when=explain.label(key))))
        columns = ["total", "used", "free", "shared", "buff/cache", "available"]
        page.table(
            ["", *columns],
            [
                (
                    explain.label(k),
                    *(format_kib(v) for v in (f.total, f.used, f.free, f.shared, f.buff_cache, f.available)),
                )
                for k, f in (("before", report.free.before), ("after", report.free.after))
            ],
            right=columns,
        )
        page.paragraphs(explain.free_sentences(report))
    return page


def presence_figure(report: LazyAllocReport) -> go.Figure:
    """RSS growth against the bytes touched, per region, with the line where they are equal;
    below, each region's pagemap presence strip at each step (a row per step, a cell per
    sixty-fourth of the region: the share of its pages present)."""
    regions = report.regions
    fig = make_subplots(
        rows=1 + len(regions),
        cols=1,
        row_heights=[0.4] + [0.6 / max(len(regions), 1)] * len(regions),
        vertical_spacing=0.12 if len(regions) < 3 else 0.08,
        subplot_titles=[text("lab.html.rss_figure")] + [explain.region_name(r) for r in regions],
    )
    top = 0.0
    for n, region in enumerate(regions):
        touched = [0.0] + [s.touched / 2**20 for s in region.steps]
        grown = [0.0] + [(s.rss_kib - region.alloc.rss_after_kib) / 1024 for s in region.steps]
        top = max(top, *touched)
        colour = figures.KIND_COLOURS["anon-mmap" if n == 0 else "heap" if n == 1 else "binary-text"]
        fig.add_trace(
            go.Scatter(
                x=touched,
                y=grown,
                mode="lines+markers",
                name=explain.region_name(region),
                line={"color": colour},
                hovertext=[
                    f"{explain.region_name(region)}<br>{explain.label('step')} {t:.1f} MiB<br>"
                    f"RSS +{g:.1f} MiB"
                    for t, g in zip(touched, grown, strict=True)
                ],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Heatmap(
                z=[list(s.strip) for s in region.steps],
                y=[format_bytes(s.touched) for s in region.steps],
                zmin=0,
                zmax=1,
                colorscale=[[0, "#F3F4F6"], [1, colour]],
                showscale=False,
                xgap=1,
                ygap=2,
                hovertemplate=f"{explain.label('step')} %{{y}}<br>%{{z:.0%}} {explain.label('present')}"
                "<extra></extra>",
            ),
            row=2 + n,
            col=1,
        )
        fig.update_yaxes(
            row=2 + n, col=1, type="category", autorange="reversed", title_text=explain.label("step")
        )
        fig.update_xaxes(row=2 + n, col=1, showticklabels=False, title_text=explain.label("strip"))
    fig.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            mode="lines",
            name=text("lab.html.rss_equal"),
            line={"dash": "dot", "color": "#6B7280"},
            hoverinfo="skip",
        ),
        row=1,
        col=1,
    )
    fig.update_xaxes(row=1, col=1, title_text=text("lab.html.touched_axis"))
    fig.update_yaxes(row=1, col=1, title_text=text("lab.html.rss_axis"))
    fig.update_layout(height=420 + 190 * len(regions), margin={"t": 60})
    return fig


def lazy_page(report: LazyAllocReport) -> Page:
    page = Page(explain.title("lazy"), language())
    if report.regions:
        page.figure(presence_figure(report))
    page.listing(captured(partial(view.show_lazy, report, QUIET)))
    page.paragraphs(explain.lazy_sentences(report))
    return page


def stack_icicle(stacks: tuple[StackAt, ...], title: str) -> go.Figure:
    """The kernel stacks recorded at the call's events merged into one tree, outermost function
    on top: a box per function, as wide as the number of stacks that went through it; the hover
    says at which events."""
    ids: list[str] = []
    labels: list[str] = []
    parents: list[str] = []
    through: dict[str, list[str]] = {}
    for s in stacks:
        path = ""
        for name in s.stack:
            parent, path = path, f"{path}/{name}"
            if path not in through:
                through[path] = []
                ids.append(path)
                labels.append(name)
                parents.append(parent)
            through[path].append(s.event)
    fig = go.Figure(
        go.Icicle(
            ids=ids,
            labels=labels,
            parents=parents,
            values=[len(through[i]) for i in ids],
            branchvalues="total",
            hovertext=["<br>".join(dict.fromkeys(through[i])) for i in ids],
            hoverinfo="label+text",
            tiling={"orientation": "v"},
            root={"color": "#F3F4F6"},
            sort=False,
        )
    )
    fig.update_layout(
        title_text=title, height=min(260 + 34 * max((len(s.stack) for s in stacks), default=1), 1200)
    )
    return fig


def path_page(report: SyscallPathReport) -> Page:
    page = Page(explain.title("path", name=report.name), language())
    live = report.live
    stacks = () if live is None else tuple(s for s in (live.entry, *live.inside, live.exit) if s is not None)
    if stacks:
        page.figure(stack_icicle(stacks, text("lab.html.path_figure", name=report.name)))
    page.listing(captured(partial(view.show_path, report, QUIET)))
    page.paragraphs(explain.path_sentences(report))
    return page
