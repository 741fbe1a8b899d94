"""What each step of `kernlab tour` showed, as one paragraph computed from its figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernlab.elf import tiny
from kernlab.explain import count, say
from kernlab.explain.ps import family_role
from kernlab.reports.replay import FUNCTION, CallNode
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
    VszRssStep,
    VtopStep,
)
from kernlab.units import format_bytes, format_kib, percent

__all__ = [
    "call_line",
    "heading",
    "paging_method",
    "paragraph",
    "prompt",
    "skipped_line",
    "title",
    "tour_end",
]


def title(step: StepInfo) -> str:
    return say(f"tour.title.{step.name}")


def heading(step: StepInfo, total: int) -> str:
    """ "Step 3 of 13: Shared libraries" (the progress line of an interactive tour too)."""
    return say("tour.heading", number=step.number, total=total, title=title(step))


def prompt(done: StepInfo, following: StepInfo | None, total: int) -> str:
    """What the interactive tour says while it waits for Enter."""
    if following is None:
        return say("tour.prompt.last", number=done.number, total=total)
    return say(
        "tour.prompt.next", number=done.number, total=total, next=following.number, title=title(following)
    )


def skipped_line(result: StepResult) -> str:
    """The one line a step that did not run prints instead."""
    if result.status == "failed":
        return say("tour.failed", message=result.error or "")
    return say(f"tour.skip.{result.skipped}", path=result.detail or "")


def tour_end(results: list[StepResult]) -> str:
    ran = sum(1 for r in results if r.status == "ran")
    return say("tour.end", ran=count("tour.n.step", ran), total=len(results))


def paragraph(result: StepResult) -> str:
    """The step's explanation: its sentences joined into one paragraph."""
    if result.data is None:
        return skipped_line(result)
    return " ".join(_SENTENCES[type(result.data)](result.data))


def paging_method(s: KernelStep) -> str:
    """How the levels in use were found (mm.paging's phrase), in the current language."""
    from kernlab.explain.vtop import paging_phrase

    return paging_phrase(s.kernel.paging.method)


def _hex(value: int) -> str:
    return f"{value:#x}"


def _kernel(s: KernelStep) -> list[str]:
    k = s.kernel
    p = k.paging
    out = [say("tour.kernel.release", release=k.release.release, machine=k.release.machine)]
    built_for = "?" if p.configured_levels is None else count("tour.n.level", p.configured_levels)
    if p.levels_in_use is None:
        out.append(say("tour.kernel.levels_unknown", built_for=built_for))
        return out
    used = {"in_use": p.levels_in_use, "walked": count("tour.n.table", p.levels_in_use)}
    if p.configured_levels is None or p.configured_levels == p.levels_in_use:
        out.append(
            say(
                "tour.kernel.levels_same",
                used_levels=count("tour.n.level", p.levels_in_use),
                walked=used["walked"],
            )
        )
    elif p.cpu_la57 is False:
        out.append(say("tour.kernel.levels_no_la57", built_for=built_for, **used))
    else:
        out.append(say("tour.kernel.levels_off", built_for=built_for, **used))
    return out


def _hello(s: HelloStep) -> list[str]:
    out = []
    size = s.elf.summary
    if s.origin == "kernlab":
        printed = (s.output or "").strip()
        key = "tour.hello.tiny" if printed else "tour.hello.tiny_silent"
        out.append(say(key, path=s.program, size=count("tour.n.byte", s.size), output=printed))
    elif s.compiler is None:
        out.append(say("tour.hello.no_compiler", path=s.program))
    else:
        printed = (s.output or "").strip()
        key = "tour.hello.built" if printed else "tour.hello.built_silent"
        out.append(say(key, compiler=s.compiler, type=size.type, output=printed))
    out.append(
        say(
            "tour.hello.loads",
            loads=count("tour.n.load", len(s.load_flags)),
            flags=", ".join(s.load_flags),
        )
    )
    if s.interpreter:
        out.append(say("tour.hello.interp", path=s.interpreter))
    else:
        out.append(say("tour.hello.static"))
    libc_start = next((g.name.split("@")[0] for g in s.start.got_calls), None) if s.start else None
    if s.entry_is_start and libc_start:
        out.append(say("tour.hello.entry_start", entry=_hex(s.entry), function=libc_start))
    else:
        out.append(say("tour.hello.entry", entry=_hex(s.entry)))
    if s.origin == "kernlab":
        out.append(say("tour.hello.tiny_code", write=tiny.SYS_WRITE, exit=tiny.SYS_EXIT))
    elif s.main is None:
        out.append(say("tour.hello.no_main"))
    elif "puts@plt" in s.main.plt_calls:
        out.append(say("tour.hello.puts", address=_hex(s.main.start)))
    elif s.main.plt_calls:
        out.append(say("tour.hello.plt", address=_hex(s.main.start), symbol=", ".join(s.main.plt_calls)))
    return out


def _libraries(s: LibrariesStep) -> list[str]:
    report = s.ldd
    if report.kind != "dynamic":
        return [say("tour.libraries.static", path=s.program)]
    out = [
        say(
            "tour.libraries.needs",
            path=s.program,
            libraries=count("tour.n.library", s.libraries),
            interp=report.interpreter or "ld.so",
        )
    ]
    if any(o.status == "vdso" for o in report.objects):
        out.append(say("tour.libraries.vdso"))
    missing = [o.name for o in report.objects if o.status == "not found"]
    if missing:
        out.append(say("tour.libraries.missing", names=", ".join(missing)))
    return out


def _kthreads(s: KthreadsStep) -> list[str]:
    report = s.kthreads
    if not report.families:
        return [say("tour.kthreads.none")]
    out = [
        say(
            "tour.kthreads.summary",
            threads=count("tour.n.kthread", report.count),
            families=count("tour.n.family", len(report.families)),
        )
    ]
    if s.longer_than_comm:
        out.append(
            say(
                "tour.kthreads.long_names", names=count("tour.n.name", s.longer_than_comm), limit=s.comm_limit
            )
        )
    else:
        out.append(say("tour.kthreads.short_names", limit=s.comm_limit))
    out.extend(family_role(f) for f in report.families)
    return out


def _syscall(s: SyscallStep) -> list[str]:
    call = s.call.syscall.syscall
    libc = s.call.libc
    out = []
    if libc.load is not None and libc.trap is not None:
        out.append(
            say(
                "tour.syscall.wrapper",
                function=libc.function.split("@")[0],
                number=call.number,
                hex=_hex(call.number),
                register=libc.number_register,
                instruction=libc.trap.mnemonic,
            )
        )
    else:
        out.append(say("tour.syscall.wrapper_unknown", function=libc.function, number=call.number))
    if libc.kernel_path:
        out.append(say("tour.syscall.path", path=" → ".join(libc.kernel_path)))
    else:
        out.append(say("tour.syscall.no_path", symbol=call.symbol or call.name))
    arguments = s.call.syscall.arguments
    if arguments:
        out.append(
            say(
                "tour.syscall.arguments",
                arguments=", ".join(f"{a.name} {a.register}" for a in arguments),
                number_register=s.call.syscall.number_register,
            )
        )
    return out


def _record(s: RecordStep) -> list[str]:
    out = [
        say(
            "tour.record.summary",
            calls=count("tour.n.call", s.syscalls),
            kinds=count("tour.n.kind", s.kinds),
            faults=count("tour.n.fault", s.faults),
        )
    ]
    if s.renames:
        names = ", ".join(f"{name} ×{n}" for name, n in s.renames)
        if any(name == "rename" for name, _ in s.renames):
            out.append(say("tour.record.rename", calls=names))
        else:
            out.append(say("tour.record.renameat", calls=names))
    else:
        out.append(say("tour.record.no_rename"))
    if s.major_faults is not None:
        out.append(say("tour.record.major", major=s.major_faults))
    check = s.report.fault_counter_check
    if check is not None and check.own is not None:
        out.append(
            say(
                "tour.record.rusage",
                own_faults=count("tour.n.fault", check.own),
                events_recorded=count("tour.n.event", check.events),
            )
        )
    return out + _rename_tree(s)


def call_line(node: CallNode) -> str:
    """A call as replay writes it, without its return: ``renameat2(-100, "a", -100, "b", 1)``."""
    return f"{node.name}({node.args})"


def _join(names: tuple[str, ...]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + say("tour.record.and") + names[-1]


def _rename_tree(s: RecordStep) -> list[str]:
    """What the part of the call tree around the rename shows: the call, the way down, how the
    kernel functions were seen and which filesystem served it."""
    tree = s.rename
    if tree is None:
        return [say("tour.record.tree_missing")] if s.renames else []
    out = []
    syscall = tree.syscall
    shown = call_line(syscall) if syscall is not None else call_line(tree.call)
    if s.functions_error is not None:
        out.append(say("tour.record.tree_no_functions", reason=s.functions_error, syscall=shown))
    elif tree.call.kind == FUNCTION and syscall is not None:
        out.append(say("tour.record.tree_libcall", call=call_line(tree.call), syscall=shown))
    elif tree.call.kind == FUNCTION:
        out.append(say("tour.record.tree_libcall_only", call=call_line(tree.call)))
    else:
        out.append(say("tour.record.tree_syscall", syscall=shown))
    if syscall is None:
        return out
    functions = count("tour.n.kfunction", sum(n for _source, n in tree.sources))
    if not tree.kernel_path:
        out.append(say("tour.record.no_path", depth=s.kernel_depth or 0))
    elif tree.below:
        out.append(
            say(
                "tour.record.path",
                path=" → ".join(tree.kernel_path),
                below=_join(tree.below),
                functions=functions,
            )
        )
    else:
        out.append(say("tour.record.path_end", path=" → ".join(tree.kernel_path), functions=functions))
    for source, n in tree.sources:
        if source in SEEN:
            out.append(say(f"tour.record.seen.{source}", functions=count("tour.n.kfunction", n)))
    if s.fstype and tree.kernel_path:
        where = {"fstype": s.fstype, "mount": s.mount_point or "?"}
        if tree.fs_functions:
            out.append(say("tour.record.fs", names=_join(tree.fs_functions), **where))
        else:
            out.append(say("tour.record.fs_none", depth=s.kernel_depth or 0, **where))
    return out


SEEN = ("tracepoints", "function_graph", "sampled")
"""The ways a kernel function is seen (recording/kernel_paths.py's sources), each worded."""


def _maps(s: MapsStep) -> list[str]:
    m = s.maps
    out = [
        say(
            "tour.maps.summary",
            pid=m.pid,
            comm=m.comm,
            vmas=count("tour.n.vma", len(m.vmas)),
            vsz=format_kib(m.ps_vsz),
        )
    ]
    out.append(
        say(
            "tour.maps.region",
            size=format_bytes(s.region_bytes),
            address=_hex(s.region_address),
            rss=format_kib(s.region_rss_kib or 0),
        )
    )
    return out


def _vsz_rss(s: VszRssStep) -> list[str]:
    return [
        say(
            "tour.vsz_rss.summary",
            pid=s.pid,
            vsz=format_kib(s.vsz_kib),
            rss=format_kib(s.rss_kib),
            untouched=100 - percent(s.rss_kib, s.vsz_kib),
            size=format_bytes(s.region_bytes),
        )
    ]


def _free(s: FreeStep) -> list[str]:
    f = s.mem.free
    total = f.used + f.free + f.buff_cache
    if f.counted_twice == 0:
        out = [
            say("tour.free.identity_exact", used=f.used, free=f.free, buff_cache=f.buff_cache, total=f.total)
        ]
    else:
        out = [
            say(
                "tour.free.identity",
                used=f.used,
                free=f.free,
                buff_cache=f.buff_cache,
                sum=total,
                total=f.total,
                diff=f.counted_twice,
                used_classic=f.used_classic,
            )
        ]
    out.append(say("tour.free.buffers", buffers=s.buffers_kib, cached=s.cached_kib, available=f.available))
    return out


def _vtop(s: VtopStep) -> list[str]:
    r = s.vtop
    levels = " → ".join(f"{i.level}[{i.index}]" for i in r.split.indices)
    out = [say("tour.vtop.walk", address=_hex(s.address), pid=s.pid, levels=levels, offset=r.split.offset)]
    entry = r.pagemap
    if entry is None or not entry.present:
        out.append(say("tour.vtop.absent"))
    elif entry.pfn is not None:
        out.append(
            say(
                "tour.vtop.pfn",
                pfn=_hex(entry.pfn),
                physical=_hex(entry.pfn * (1 << r.split.page_shift) + r.split.offset),
            )
        )
    else:
        out.append(say("tour.vtop.pfn_hidden"))
    return out


def _lazy(s: LazyStep) -> list[str]:
    touched_kib = s.touched_bytes // 1024
    out = [
        say(
            "tour.lazy.mapped",
            size=format_bytes(s.region_bytes),
            vsz=format_kib(s.vsz_before_kib),
            rss=format_kib(s.rss_before_kib),
        ),
        say(
            "tour.lazy.touched",
            touched=format_bytes(s.touched_bytes),
            growth=format_kib(s.rss_growth_kib),
            share=percent(s.rss_growth_kib, touched_kib),
            faults=count("tour.n.minor", s.faults),
            touched_pages=count("tour.n.page", s.touched_bytes // s.page_size),
        ),
    ]
    if s.region_rss_after_kib is not None:
        out.append(
            say(
                "tour.lazy.region",
                before=format_kib(s.region_rss_before_kib or 0),
                after=format_kib(s.region_rss_after_kib),
                untouched=format_bytes(s.region_bytes - s.touched_bytes),
            )
        )
    if s.huge_pages_off:
        out.append(say("tour.lazy.no_thp"))
    return out


def _mmap(s: MmapStep) -> list[str]:
    """The lab's own conclusions, computed from the four runs; first why nothing was recorded
    when the recording failed here."""
    from kernlab.explain.labs import mmap_sentences

    out = [say("tour.mmap_vs_read.trace_failed", reason=s.trace_error)] if s.trace_error else []
    return out + mmap_sentences(s.lab)


def _pagecache(s: PagecacheStep) -> list[str]:
    evicted = s.evicted.files[0]
    loaded = s.loaded.files[0]
    out = [
        say(
            "tour.pagecache.evicted",
            size=format_bytes(s.size),
            before=count("tour.n.page", evicted.before_resident_pages or 0),
            after=count("tour.n.page", evicted.residency.resident_pages),
            fstype=evicted.residency.file.fstype or "?",
        )
    ]
    out.append(
        say(
            "tour.pagecache.loaded",
            after=loaded.residency.resident_pages,
            pages=count("tour.n.page", loaded.residency.pages),
        )
    )
    if evicted.residency.resident_pages:
        out.append(say("tour.pagecache.stayed", pages=count("tour.n.page", evicted.residency.resident_pages)))
    return out


def _source(s: KsrcStep) -> list[str]:
    out = [
        say(
            "tour.source.tree", tree=s.info.tree, version=s.info.kernelversion, release=s.info.running_release
        )
    ]
    native = s.syscall.native
    if native is not None:
        out.append(
            say(
                "tour.source.syscall",
                macro=native.macro,
                file=native.file,
                line=native.line,
                symbol=s.syscall.running.entry_symbol,
            )
        )
    function = next((d for d in s.definition.definitions if d.kind == "function"), None)
    if function is not None:
        out.append(say("tour.source.function", file=function.file, line=function.line))
    if not s.info.same_base:
        out.append(say("tour.source.other_version"))
    return out


_SENTENCES: dict[type, Callable[[Any], list[str]]] = {
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
