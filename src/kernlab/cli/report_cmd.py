"""`kernlab report`: system calls (like strace -c) and page faults of a recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option


def _ms(ns: int) -> float:
    return ns / 1e6


def _us(ns: int) -> str:
    return f"{ns / 1000:,.1f}"


def render_loss(loss: Any, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_heading, print_table

    print_heading("Lost events")
    rows = [
        (c.cpu, f"{c.entries:,}", f"{c.overrun:,}", f"{c.dropped:,}", f"{c.commit_overrun:,}", f"{c.lost:,}")
        for c in loss.per_cpu
    ]
    if rows:
        print_table(
            ["cpu", "entries", "overrun", "dropped", "commit overrun", "lost"],
            rows,
            right=["entries", "overrun", "dropped", "commit overrun", "lost"],
        )
    written = sum(c.entries for c in loss.per_cpu) + loss.total
    if loss.total or loss.missed_in_pages:
        lost = max(loss.total, loss.missed_in_pages)
        out.sentence(
            say("report.lost.some", lost=lost, percent=100.0 * lost / max(written, 1), written=written)
        )
    else:
        out.sentence(say("report.lost.none"))
    if loss.pages_marked_missed:
        out.sentence(say("report.lost.pages", pages=loss.pages_marked_missed, missed=loss.missed_in_pages))


def render_syscalls(report: Any, out: Output, per_process: bool) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_heading

    print_heading("System calls (like strace -c)")
    combined = report.combined
    if not combined.rows:
        out.sentence(say("report.syscalls.none"))
        return
    _syscall_table(combined)
    top = combined.rows[0]
    out.sentence(
        say(
            "report.syscalls.meaning",
            calls=combined.calls,
            errors=combined.errors,
            top=top.name,
            top_percent=top.percent_time,
            total_ms=_ms(combined.total_ns),
        )
    )
    failing = [r for r in combined.rows if r.errnos]
    if failing:
        worst = max(failing, key=lambda r: max(r.errnos.values()))
        code, count = max(worst.errnos.items(), key=lambda kv: kv[1])
        out.sentence(say("report.syscalls.errno_hint", name=worst.name, errno=code, count=count))
    if combined.unfinished or combined.unpaired_exits:
        names = ", ".join(f"{r.name}×{r.unfinished}" for r in combined.rows if r.unfinished)
        out.sentence(
            say(
                "report.syscalls.unfinished",
                unfinished=combined.unfinished,
                names=names or "-",
                unpaired=combined.unpaired_exits,
            )
        )
    if per_process and len(report.per_process) > 1:
        for proc in report.per_process:
            threads = f" ({len(proc.threads)} threads)" if len(proc.threads) > 1 else ""
            print_heading(f"System calls of process {proc.pid} {proc.comm}{threads}")
            _syscall_table(proc.summary, limit=15)
            out.sentence(
                say(
                    "report.syscalls.per_process",
                    pid=proc.pid,
                    comm=proc.comm or "?",
                    calls=proc.summary.calls,
                    errors=proc.summary.errors,
                    total_ms=_ms(proc.summary.total_ns),
                )
            )


def _syscall_table(summary: Any, limit: int | None = None) -> None:
    from kernlab.render.terminal import print_table

    # strace -c's columns, in its order, plus the most common errno of each call
    rows = [
        (
            f"{r.percent_time:.2f}",
            f"{r.total_ns / 1e9:.6f}",
            f"{r.avg_ns // 1000:,}",
            f"{r.calls:,}",
            f"{r.errors:,}" if r.errors else "",
            r.name,
            next(iter(r.errnos), ""),
        )
        for r in summary.rows[:limit]
        if r.calls
    ]
    rows.append(
        (
            "100.00",
            f"{summary.total_ns / 1e9:.6f}",
            "",
            f"{summary.calls:,}",
            f"{summary.errors:,}",
            "total",
            "",
        )
    )
    print_table(
        ["% time", "seconds", "usecs/call", "calls", "errors", "syscall", "errno"],
        rows,
        right=["% time", "seconds", "usecs/call", "calls", "errors"],
    )


def render_faults(report: Any, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import format_hex, print_heading, print_table

    print_heading("Page faults")
    if not report.total:
        out.sentence(say("report.faults.none"))
        return
    print_table(
        ["pid", "comm", "user faults", "kernel faults", "minflt (stat)", "majflt (stat)"],
        [
            (
                p.pid,
                p.comm,
                f"{p.user:,}",
                f"{p.kernel:,}",
                "" if p.minflt is None else f"{p.minflt:,}",
                "" if p.majflt is None else f"{p.majflt:,}",
            )
            for p in report.per_process
        ],
        right=["user faults", "kernel faults", "minflt (stat)", "majflt (stat)"],
        title="per process",
    )
    if report.rusage_minflt is not None and report.faults_before_exec is not None:
        counted = report.rusage_minflt + (report.rusage_majflt or 0)
        own = counted - report.faults_before_exec
        diff = report.total - own
        match = (
            say("report.faults.counter_same")
            if diff == 0
            else say("report.faults.counter_differs", diff=diff, percent=100.0 * abs(diff) / max(own, 1))
        )
        out.sentence(
            say(
                "report.faults.counter_check_exact",
                minflt=report.rusage_minflt,
                majflt=report.rusage_majflt or 0,
                before=report.faults_before_exec,
                own=own,
                events=report.total,
                match=match,
            )
        )
    elif report.rusage_minflt is not None:
        out.sentence(
            say(
                "report.faults.counter_check",
                minflt=report.rusage_minflt,
                majflt=report.rusage_majflt or 0,
                events=report.total,
            )
        )
    print_table(
        ["area class", "faults", "%"],
        [(r.label, f"{r.count:,}", f"{r.percent:.1f}") for r in report.by_vma],
        right=["faults", "%"],
        title="by kind of memory area",
    )
    top = report.by_vma[0]
    out.sentence(
        say("report.faults.top_vma", count=top.count, total=report.total, percent=top.percent, kind=top.label)
    )
    if report.unmapped:
        out.sentence(say("report.faults.unmapped", count=report.unmapped))
    print_table(
        ["error code", "flags", "meaning", "faults", "%"],
        [
            (format_hex(c.code), "|".join(c.flags), c.summary, f"{c.count:,}", f"{c.percent:.1f}")
            for c in report.by_code
        ],
        right=["faults", "%"],
        title="by error code",
    )
    if report.first_anon_writes:
        out.sentence(say("report.faults.first_anon", first=report.first_anon_writes, total=report.total))
    major = report.major
    if major.method == "page-cache":
        out.sentence(say("report.faults.major_cache", major=major.count, user=report.user, minor=major.minor))
    elif major.method == "counter":
        out.sentence(say("report.faults.major_counter", major=major.count))
    else:
        out.sentence(say("report.faults.major_unknown"))
    if report.top_ips:
        print_table(
            ["instruction", "where", "area", "pid", "faults", "%"],
            [
                (format_hex(r.ip), r.location, r.vma_kind, r.pid, f"{r.count:,}", f"{r.percent:.1f}")
                for r in report.top_ips
            ],
            right=["faults", "%"],
            title="instructions that fault most",
        )
        best = report.top_ips[0]
        out.sentence(
            say("report.faults.top_ip", location=best.location, count=best.count, percent=best.percent)
        )
    if report.top_kernel_stacks:
        from kernlab.analysis.kstacks import ARROW

        print_table(
            ["kernel stack (innermost first)", "faults", "%"],
            [(ARROW.join(r.functions), f"{r.count:,}", f"{r.percent:.1f}") for r in report.top_kernel_stacks],
            right=["faults", "%"],
            title="kernel paths of faults",
        )
        best_stack = report.top_kernel_stacks[0]
        out.sentence(
            say(
                "report.faults.top_stack",
                chain=ARROW.join(best_stack.functions),
                count=best_stack.count,
                percent=best_stack.percent,
            )
        )


def render_report(report: Any, out: Output, per_process: bool = True) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_fields, print_table

    rec = report.recording
    print_fields(
        [
            ("recording", rec.directory),
            ("command", " ".join(rec.command) or f"attached to PID {rec.root_pid}"),
            ("kernel", f"{rec.kernel_release} {rec.machine}"),
            ("events", f"{rec.events_total:,} in {rec.pages:,} pages"),
        ]
    )
    if rec.event_counts:
        print_table(
            ["event", "records"],
            [(name, f"{n:,}") for name, n in rec.event_counts.items()],
            right=["records"],
        )
        out.sentence(
            say(
                "report.recording.summary",
                events=rec.events_total,
                cpus=rec.cpus,
                seconds=rec.duration_ns / 1e9,
                command=" ".join(rec.command) or f"PID {rec.root_pid}",
                clock=rec.clock,
            )
        )
    else:
        out.sentence(say("report.recording.empty"))
    render_loss(report.loss, out)
    if report.syscalls is not None:
        render_syscalls(report.syscalls, out, per_process)
    if report.faults is not None:
        render_faults(report.faults, out)


@click.command(
    "report",
    epilog=examples(
        "kernlab record -- ls -la /usr && kernlab report",
        "kernlab report -d /tmp/ls.data --top 20",
        "kernlab report --json | jq '.syscalls.combined.rows[0]'",
    ),
)
@recording_dir_option
@click.option(
    "--top",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Rows of faulting instructions.",
)
@click.option("--no-per-process", is_flag=True, help="Only the combined system-call table.")
@click.option("--no-symbols", is_flag=True, help="Do not open binaries to name faulting instructions.")
@output_options
def report(directory: Path, top: int, no_per_process: bool, no_symbols: bool, out: Output) -> None:
    """System calls (like strace -c) and page faults of a recording, explained.

    Reads the raw ring-buffer pages that `kernlab record` saved, decodes them with the event
    format files saved beside them, and shows calls/errors/time per system call, faults by
    process, kind of memory area, error code and instruction, and any lost events.
    """
    show_report(directory, out, top=top, per_process=not no_per_process, symbolize=not no_symbols)


def show_report(
    directory: Path, out: Output, top: int = 10, per_process: bool = True, symbolize: bool = True
) -> None:
    """Decode the recording in ``directory``, build its report and print it (also `record --report`)."""
    from kernlab.analysis.report import build_report
    from kernlab.recording.reader import open_recording
    from kernlab.render.progress import progress

    rec = open_recording(directory)
    with progress("decoding recording") as bar:
        rec.cpu_events()
        bar.advance(1)
        result = build_report(rec, top=top, per_process=per_process, symbolize=symbolize)
    out.emit(result, lambda r, o: render_report(r, o, per_process=per_process))
