"""What each lab measured means, as sentences computed from its figures (keys in lab.toml)."""

from __future__ import annotations

from kernlab.explain import count, say, text
from kernlab.explain.errors import keyed_message
from kernlab.reports.labs.lazy_alloc import LazyAllocReport, Region
from kernlab.reports.labs.mmap_read import MmapReadReport, RunFigures
from kernlab.reports.labs.syscall_path import RECIPES, StackAt, SyscallPathReport
from kernlab.units import format_bytes, format_kib, percent, percent_text

__all__ = [
    "duration",
    "label",
    "lazy_sentences",
    "mmap_sentences",
    "path_sentences",
    "progress_title",
    "run_name",
    "title",
]


def duration(ns: int | None) -> str:
    """A time as ms with one decimal (µs below a tenth of a millisecond)."""
    if ns is None:
        return "?"
    if ns < 100_000:
        return f"{ns / 1000:.1f} µs"
    return f"{ns / 1e6:.1f} ms"


def label(key: str) -> str:
    return text(f"lab.label.{key}")


def title(key: str, **fields: object) -> str:
    return text(f"lab.title.{key}", **fields)


def progress_title(lab: str) -> str:
    return text(f"lab.progress.{lab}")


def run_name(run: RunFigures) -> str:
    return text(f"lab.run.{run.method}_{run.temperature}")


def region_name(region: Region) -> str:
    return text(f"lab.region.{region.kind}")


def _arrow(names: tuple[str, ...]) -> str:
    return " → ".join(names)


# --------------------------------------------------------------------------- mmap vs read


def _run(report: MmapReadReport, method: str, temperature: str) -> RunFigures | None:
    return next((r for r in report.runs if r.method == method and r.temperature == temperature), None)


def mmap_sentences(report: MmapReadReport) -> list[str]:
    f = report.file
    fields = {
        "path": f.path,
        "size": format_bytes(f.size),
        "pages": count("lab.n.page", f.pages),
        "fstype": f.fstype or "?",
        "mount": f.mount_point or "?",
    }
    out = [say("lab.mmap.file_made" if f.created else "lab.mmap.file_given", **fields)]
    if report.trace_note:
        out.append(say(f"lab.mmap.{report.trace_note}"))
    cold = [r for r in report.runs if r.eviction is not None]
    if cold:
        e = cold[0].eviction
        assert e is not None
        key = "lab.mmap.evict_drop" if e.method == "drop_caches" else "lab.mmap.evict_fadvise"
        out.append(
            say(
                key,
                before=count("lab.n.page", e.resident_before),
                after=count("lab.n.page", e.resident_after),
            )
        )
        stayed = max(r.eviction.resident_after for r in cold if r.eviction is not None)
        if stayed:
            out.append(
                say("lab.mmap.evict_stayed", pages=count("lab.n.page", stayed), fstype=f.fstype or "?")
            )
    read_cold, read_warm = _run(report, "read", "cold"), _run(report, "read", "warm")
    mmap_cold, mmap_warm = _run(report, "mmap", "cold"), _run(report, "mmap", "warm")
    if read_cold is not None:
        added = count("lab.n.page", read_cold.pages_added or 0)
        if read_cold.traced and read_cold.syscalls is not None:
            out.append(
                say(
                    "lab.mmap.read_cold",
                    calls=count("lab.n.call", read_cold.syscalls),
                    copied=format_bytes(read_cold.copied_bytes or 0),
                    time=duration(read_cold.time_ns),
                    added=added,
                    sync=count("lab.n.sync", read_cold.readahead_sync or 0),
                    **{"async": count("lab.n.async", read_cold.readahead_async or 0)},
                )
            )
            out.append(
                say(
                    "lab.mmap.read_faults",
                    faults=count("lab.n.fault", read_cold.data_faults or 0),
                    major=count("lab.n.major", read_cold.major or 0),
                )
            )
        else:
            out.append(
                say(
                    "lab.mmap.read_cold_untraced",
                    copied=format_bytes(read_cold.bytes),
                    time=duration(read_cold.time_ns),
                    added=added,
                )
            )
        if not read_cold.pages_added and not read_cold.resident_before and not read_cold.resident_after:
            out.append(say("lab.mmap.no_cache", fstype=f.fstype or "?"))
    if read_cold is not None and read_warm is not None and read_warm.pages_added:
        out.append(
            say(
                "lab.mmap.read_warm_refetch",
                copied=format_bytes(read_warm.bytes),
                time=duration(read_warm.time_ns),
                cold_time=duration(read_cold.time_ns),
                added=count("lab.n.page", read_warm.pages_added),
            )
        )
    elif read_cold is not None and read_warm is not None:
        out.append(
            say(
                "lab.mmap.read_warm",
                copied=format_bytes(
                    read_warm.copied_bytes if read_warm.copied_bytes is not None else read_warm.bytes
                ),
                time=duration(read_warm.time_ns),
                speedup=f"{read_cold.time_ns / max(read_warm.time_ns, 1):.1f}",
                added=count("lab.n.page", read_warm.pages_added or 0),
            )
        )
    if mmap_cold is not None:
        pages = count("lab.n.page", -(-mmap_cold.bytes // f.page_size))
        added = count("lab.n.page", mmap_cold.pages_added or 0)
        if mmap_cold.traced and mmap_cold.data_faults is not None:
            major = mmap_cold.data_major if mmap_cold.data_major is not None else mmap_cold.rusage_major
            minor = mmap_cold.data_minor if mmap_cold.data_minor is not None else mmap_cold.rusage_minor
            out.append(
                say(
                    "lab.mmap.mmap_cold",
                    pages=pages,
                    faults=count("lab.n.fault", mmap_cold.data_faults),
                    major=major,
                    minor=minor,
                    time=duration(mmap_cold.time_ns),
                    added=added,
                    per_fault=round((mmap_cold.pages_added or 0) / max(mmap_cold.data_faults, 1)),
                )
            )
        else:
            major = mmap_cold.rusage_major
            out.append(
                say(
                    "lab.mmap.mmap_cold_untraced",
                    pages=pages,
                    minor=count("lab.n.minor", mmap_cold.rusage_minor),
                    major=count("lab.n.major", major),
                    time=duration(mmap_cold.time_ns),
                    added=added,
                )
            )
        if major or mmap_cold.rusage_major:
            out.append(say("lab.mmap.major_meaning"))
        else:
            out.append(say("lab.mmap.no_major", resident=count("lab.n.page", mmap_cold.resident_before)))
    if mmap_warm is not None:
        faults = mmap_warm.data_faults if mmap_warm.data_faults is not None else mmap_warm.rusage_minor
        major = mmap_warm.data_major if mmap_warm.data_major is not None else mmap_warm.rusage_major
        if major:
            out.append(
                say(
                    "lab.mmap.mmap_warm_major",
                    faults=count("lab.n.fault", faults),
                    major=count("lab.n.major", major),
                    time=duration(mmap_warm.time_ns),
                    added=count("lab.n.page", mmap_warm.pages_added or 0),
                )
            )
        else:
            out.append(
                say(
                    "lab.mmap.mmap_warm",
                    faults=count("lab.n.fault", faults),
                    major=major,
                    time=duration(mmap_warm.time_ns),
                )
            )
        if read_warm is not None:
            fields = {
                "read_time": duration(read_warm.time_ns),
                "mmap_time": duration(mmap_warm.time_ns),
                "copied": format_bytes(read_warm.bytes),
                "faults": count("lab.n.fault", faults),
            }
            if read_warm.syscalls is not None:
                out.append(say("lab.mmap.compare", calls=count("lab.n.call", read_warm.syscalls), **fields))
            else:  # not recorded: the calls were not counted
                out.append(say("lab.mmap.compare_untraced", **fields))
    for run in report.runs:
        if run.kernel_path and run.kernel_path_event:
            out.append(
                say(
                    "lab.mmap.path",
                    run=run_name(run),
                    event=run.kernel_path_event,
                    path=_arrow(run.kernel_path),
                )
            )
        out.extend(say(note) for note in run.notes)
    return out


def shared_sentences(report: MmapReadReport) -> list[str]:
    s = report.shared_write
    if s is None:
        return []
    head = 2 * s.length
    fields = {
        "length": s.length,
        "before": s.before[:head],
        "seen": s.seen[:head],
        "after": s.after[:head],
        "disk": s.after_writeback[:head],
    }
    return [say("lab.mmap.shared_done" if s.zeroed and s.rest_unchanged else "lab.mmap.shared_not", **fields)]


def free_sentences(report: MmapReadReport) -> list[str]:
    change = report.free
    if change is None:
        return []
    avail = change.available_change
    drop = change.buff_cache_drop
    # What was measured decides: nothing dropped, available barely moved (the cache was counted
    # as available already), or available rose by a real share of the drop.
    if drop <= 0:
        key = "lab.mmap.free_kept"
    elif abs(avail) <= drop / 4:
        key = "lab.mmap.free"
    else:
        key = "lab.mmap.free_rose"
    return [
        say(
            key,
            share=percent_text(avail, drop),
            before=format_kib(change.before.buff_cache),
            after=format_kib(change.after.buff_cache),
            drop=format_kib(max(change.buff_cache_drop, 0)),
            avail_before=format_kib(change.before.available),
            avail_after=format_kib(change.after.available),
            change=("+" if avail >= 0 else "−") + format_kib(abs(avail)),
        )
    ]


# --------------------------------------------------------------------------- lazy allocation


def lazy_sentences(report: LazyAllocReport) -> list[str]:
    out: list[str] = []
    for region in report.regions:
        a = region.alloc
        size = format_bytes(region.size)
        out.append(
            say(
                "lab.lazy.alloc",
                region=region_name(region),
                size=size,
                vsz=format_kib(a.vsz_after_kib - a.vsz_before_kib),
                rss=format_kib(max(a.rss_after_kib - a.rss_before_kib, 0)),
            )
        )
        if region.kind == "malloc" and (a.vsz_after_kib - a.vsz_before_kib) * 1024 >= region.size:
            out.append(say("lab.lazy.malloc_mmap", size=size))
        if not region.steps:
            continue
        last = region.steps[-1]
        if region.kind == "thp":
            huge = last.anon_huge_kib or 0
            per_fault = region.size // max(last.minflt, 1)
            key = "lab.lazy.thp" if huge else "lab.lazy.thp_fallback"
            out.append(
                say(
                    key,
                    size=size,
                    faults=count("lab.n.fault", last.minflt),
                    per_fault=format_bytes(per_fault),
                    huge=format_kib(huge),
                )
            )
            continue
        growth = region.rss_growth_kib
        out.append(
            say(
                "lab.lazy.touched",
                steps=count("lab.n.step", len(region.steps)),
                growth=format_kib(growth),
                share=percent(growth, region.size // 1024),
                faults=count("lab.n.fault", last.minflt),
                present=count("lab.n.page", last.present_pages),
                pages=count("lab.n.page", region.pages),
            )
        )
    if report.thp_skipped:
        out.append(say(f"lab.lazy.{report.thp_skipped}"))
    return out


# --------------------------------------------------------------------------- the system-call path


def _deepest(stacks: tuple[StackAt, ...]) -> StackAt | None:
    return max(stacks, key=lambda s: len(s.stack), default=None)


def _hex(value: int | None) -> str:
    return "?" if value is None else f"{value:#x}"


def path_sentences(report: SyscallPathReport) -> list[str]:
    out: list[str] = []
    w = report.wrapper
    if w is not None and w.libc.load is not None and w.libc.trap is not None:
        out.append(
            say(
                "lab.path.wrapper",
                function=w.libc.function.split("@")[0],
                number=report.number,
                hex=f"{report.number:#x}",
                register=w.libc.number_register or report.number_register,
                instruction=w.libc.trap.mnemonic,
            )
        )
    else:
        out.append(
            say(
                "lab.path.no_wrapper",
                name=report.name,
                error=keyed_message(
                    report.wrapper_error or "?", report.wrapper_error_key, report.wrapper_error_fields
                ),
                number=report.number,
            )
        )
    registers = ", ".join(report.argument_registers)
    entry = report.symbols[0].name if report.symbols else "?"
    if report.arch == "x86_64":
        out.append(
            say(
                "lab.path.convention",
                instruction=report.instruction,
                entry=entry,
                number_register=report.number_register,
                registers=registers,
            )
        )
    else:
        out.append(
            say(
                "lab.path.convention_other",
                instruction=report.instruction,
                number_register=report.number_register,
                registers=registers,
            )
        )
    target = next((s for s in report.symbols if s.name == report.entry_symbol), None)
    caller = report.symbols[1].name if len(report.symbols) > 1 else entry
    if report.dispatch is not None and target is not None:
        out.append(
            say(
                f"lab.path.{report.dispatch}",
                caller=caller,
                symbol=target.name,
                address=_hex(target.address),
            )
        )
    else:
        out.append(say("lab.path.no_dispatch"))
    if any(s.address == 0 for s in report.symbols):
        out.append(say("lab.path.hidden"))
    live = report.live
    if live is not None:
        stack = _arrow(live.entry.stack) if live.entry else "?"
        if live.ret == -1 and live.errno:
            out.append(
                say("lab.path.live_error", errno=live.errno, time=duration(live.duration_ns), stack=stack)
            )
        else:
            out.append(say("lab.path.live", ret=live.ret, time=duration(live.duration_ns), stack=stack))
        deepest = _deepest(live.inside)
        if deepest is not None:
            events = ", ".join(s.event for s in live.inside)
            out.append(say("lab.path.inside", events=events, stack=_arrow(deepest.stack)))
        else:
            out.append(say("lab.path.inside_none"))
        out.extend(say(note) for note in live.notes)
    elif report.live_skipped == "no_recipe":
        out.append(say("lab.path.no_recipe", name=report.name, names=", ".join(sorted(RECIPES))))
    elif report.live_skipped:
        out.append(say(f"lab.path.{report.live_skipped}"))
    m = report.mount
    if m is not None:
        fields = {"path": m.path, "fstype": m.fstype, "source": m.source, "mount": m.mount_point}
        if live is not None and live.fs_functions:
            out.append(say("lab.path.mount", functions=", ".join(live.fs_functions), **fields))
        elif live is not None:
            out.append(say("lab.path.mount_none", **fields))
        else:  # nothing was recorded: no stack to look for the file system's functions in
            out.append(say("lab.path.mount_only", **fields))
    src = report.source
    if src is not None:
        if src.macro is not None:
            out.append(say("lab.path.source", tree=src.tree, macro=src.macro, file=src.file, line=src.line))
        if src.ops_table is not None:
            out.append(
                say(
                    "lab.path.ops",
                    function=src.ops_function,
                    field=src.ops_field,
                    table=src.ops_table,
                    file=src.ops_file,
                    line=src.ops_line,
                )
            )
        if not src.same_version:
            out.append(say("lab.path.other_version"))
    elif report.source_skipped == "no_index":
        out.append(say("lab.path.no_index", tree=report.source_tree or "?"))
    elif report.source_skipped:
        out.append(say(f"lab.path.{report.source_skipped}"))
    return out
