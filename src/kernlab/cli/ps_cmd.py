"""`kernlab ps`: processes and kernel threads from /proc/PID/stat and status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from kernlab.cli.common import Output, examples, output_options
from kernlab.render.table import plain_table

COLUMNS = ("PID", "PPID", "USER", "S", "VSZ", "RSS", "MINFLT", "MAJFLT", "THR", "K", "COMMAND")
RIGHT = {"PID", "PPID", "VSZ", "RSS", "MINFLT", "MAJFLT", "THR"}
EXPLAIN_KEYS = (
    "pid",
    "ppid",
    "user",
    "state",
    "vsz",
    "rss",
    "min_flt",
    "maj_flt",
    "threads",
    "kthread",
    "comm",
)


def _pid_list(values: Sequence[str]) -> list[int]:
    from kernlab.proc.errors import resolve_pid

    pids: list[int] = []
    for value in values:
        pids.extend(resolve_pid(part) for part in value.split(",") if part.strip())
    return pids


@click.command(
    "ps",
    epilog=examples(
        "kernlab ps                       every process: VSZ, RSS, faults, kernel-thread flag",
        "kernlab ps --sort=-rss           biggest resident set first (like ps --sort=-rss)",
        "kernlab ps --pid 1,$$            only these processes",
        "kernlab ps --user root           only processes whose effective user is root",
        "kernlab ps --kthreads            kernel threads grouped by family, with each one's job",
        "kernlab ps --explain             which /proc file and field each column comes from",
    ),
)
@click.option(
    "--sort",
    "sort_spec",
    default="pid",
    show_default=True,
    metavar="KEYS",
    help="Comma-separated keys (pid ppid comm user state vsz rss min_flt maj_flt threads); '-' = descending.",
)
@click.option(
    "--pid", "-p", "pids", multiple=True, metavar="PID[,PID…]", help="Only these PIDs ('self' allowed)."
)
@click.option(
    "--user", "-u", "user", default=None, metavar="USER", help="Only processes of this user (name or UID)."
)
@click.option("--kthreads", is_flag=True, help="Kernel threads grouped by family, with each family's role.")
@click.option("--no-kthreads", "hide_kthreads", is_flag=True, help="Leave kernel threads out of the listing.")
@click.option("--explain", is_flag=True, help="Say which /proc file and field each column comes from.")
@output_options
def ps(
    sort_spec: str,
    pids: tuple[str, ...],
    user: str | None,
    kthreads: bool,
    hide_kthreads: bool,
    explain: bool,
    out: Output,
) -> None:
    """Processes as ps computes them: VSZ, RSS, faults, threads, kernel threads."""
    from kernlab.errors import NoSuchProcess
    from kernlab.proc.process import iter_processes, resolve_user, sort_processes

    wanted = _pid_list(pids) if pids else None
    processes = list(iter_processes(wanted))
    missing = sorted(set(wanted or []) - {p.pid for p in processes})
    if wanted and missing and len(wanted) == 1:
        raise NoSuchProcess(missing[0])
    if user is not None:
        uid = resolve_user(user)
        processes = [p for p in processes if p.uid == uid]
    if kthreads:
        _kthreads(processes, out)
        return
    if hide_kthreads:
        processes = [p for p in processes if not p.kernel_thread]
    processes = sort_processes(processes, sort_spec)
    report = {
        "count": len(processes),
        "kernel_threads": sum(p.kernel_thread for p in processes),
        "missing": missing,
        "processes": processes,
    }
    out.emit(report, lambda data, out: _render(data, explain, out))


def _render(data: dict[str, Any], explain: bool, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.units import format_kib, percent

    processes = data["processes"]
    rows = [
        (
            p.pid,
            p.ppid,
            p.user,
            p.state,
            p.vsz,
            p.rss,
            p.min_flt,
            p.maj_flt,
            p.threads,
            "K" if p.kernel_thread else "",
            p.comm,
        )
        for p in processes
    ]
    click.echo(plain_table(COLUMNS, rows, RIGHT))
    if explain:
        from kernlab.render.terminal import print_table

        print_table(
            ["column", "source"],
            [[c, say(f"ps.explain.{k}")] for c, k in zip(COLUMNS, _explain_order(), strict=True)],
            title="Where each column comes from",
        )
    if out.quiet:
        return
    if data["missing"]:
        out.sentence(say("ps.missing", pids=", ".join(str(p) for p in data["missing"])))
    users = [p for p in processes if not p.kernel_thread and p.vsz > 0]
    if not processes:
        out.sentence(say("ps.empty"))
        return
    if users:
        big = max(users, key=lambda p: p.vsz - p.rss)
        out.sentence(
            say(
                "ps.vsz_rss",
                comm=big.comm,
                pid=big.pid,
                vsz=format_kib(big.vsz),
                rss=format_kib(big.rss),
                untouched=100 - percent(big.rss, big.vsz),
            ),
        )
        faulty = max(users, key=lambda p: p.min_flt)
        out.sentence(
            say(
                "ps.faults",
                comm=faulty.comm,
                pid=faulty.pid,
                min_flt=faulty.min_flt,
                maj_total=sum(p.maj_flt for p in processes),
            ),
        )
    if data["kernel_threads"]:
        out.sentence(say("ps.kthreads", kthreads=data["kernel_threads"], total=len(processes)))


def _explain_order() -> tuple[str, ...]:
    # COLUMNS order: PID PPID USER S VSZ RSS MINFLT MAJFLT THR K COMMAND
    return EXPLAIN_KEYS


def _kthreads(processes: list[Any], out: Output) -> None:
    from kernlab.catalog import has, say
    from kernlab.proc.kthreads import group_kthreads, kworker_kinds

    families = group_kthreads(processes)
    report = {
        "count": sum(f.count for f in families),
        "families": [
            {
                "family": f.family,
                "count": f.count,
                "per_cpu": f.per_cpu,
                "names": f.names,
                "role": say(
                    f"ps.kthread_family.{f.family}"
                    if has(f"ps.kthread_family.{f.family}")
                    else "ps.kthread_family.other",
                    count=f.count,
                ),
            }
            for f in families
        ],
    }
    kworkers = next((f for f in families if f.family == "kworker"), None)
    report["kworker_pools"] = kworker_kinds(kworkers.names) if kworkers else {}

    def render(data: dict[str, Any], out: Output) -> None:
        from kernlab.render.terminal import print_table

        rows = []
        for fam in data["families"]:
            names = fam["names"]
            shown = ", ".join(names[:4]) + (f", … (+{len(names) - 4})" if len(names) > 4 else "")
            rows.append([fam["family"], fam["count"], fam["per_cpu"], shown])
        print_table(
            ["family", "threads", "per-CPU", "names (full, from /proc/PID/comm)"],
            rows,
            title="Kernel threads (PF_KTHREAD) by family",
            right=["threads", "per-CPU"],
        )
        if not data["families"]:
            out.sentence(say("ps.empty"))
            return
        out.sentence(
            say(
                "ps.kthreads_summary.total",
                count=data["count"],
                families=len(data["families"]),
                per_cpu=sum(f["per_cpu"] for f in data["families"]),
            ),
        )
        for fam in data["families"]:
            out.sentence(fam["role"])
        if data["kworker_pools"]:
            out.sentence(say("ps.kthreads_summary.kworker", **data["kworker_pools"]))

    out.emit(report, render)
