"""`kernlab ps`: processes and kernel threads from /proc/PID/stat and status."""

from __future__ import annotations

import click

from kernlab.cli.common import Output, examples, output_options


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
    from kernlab.render.views import ps as view
    from kernlab.reports import ps as reports

    wanted = reports.pid_list(pids) if pids else None
    if kthreads:
        out.emit(reports.build_kthreads(wanted, user=user), view.show_kthreads)
        return
    report = reports.build(wanted, user=user, sort=sort_spec, with_kthreads=not hide_kthreads)
    out.emit(report, lambda r, o: view.show(r, o, explain_columns=explain))
