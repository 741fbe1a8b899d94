"""`kernlab report`: system calls (like strace -c) and page faults of a recording."""

from __future__ import annotations

from pathlib import Path

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option


@click.command(
    "report",
    epilog=examples(
        "kernlab record -- ls -la /usr && kernlab report",
        "kernlab report -d /tmp/ls.data --top 20",
        "kernlab report --json | jq '.syscalls.combined.rows[0]'",
        "kernlab report -s self,call        a record --functions recording's functions by self time",
        "kernlab report -d /tmp/ls.data --html ls.html   also as one HTML page with figures",
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
@click.option(
    "--syscall-time",
    type=click.Choice(["wall", "cpu"]),
    default="wall",
    show_default=True,
    help="wall: time inside each call (strace -c -w); cpu: on-CPU time inside it (strace -c).",
)
@click.option(
    "-s",
    "--sort",
    "sort",
    default="total",
    show_default=True,
    metavar="KEY[,KEY...]",
    help="Order of the function table (record --functions), as uftrace report -s: total, self, "
    "call, func, total_avg, total_min, total_max, self_avg, self_min, self_max.",
)
@click.option(
    "--html",
    "html",
    default=None,
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Also write the report as one self-contained HTML file (plotly figures, no network needed).",
)
@output_options
def report(
    directory: Path,
    top: int,
    no_per_process: bool,
    no_symbols: bool,
    syscall_time: str,
    sort: str,
    html: str | None,
    out: Output,
) -> None:
    """System calls (like strace -c -w, or -c with --syscall-time cpu), page faults and functions, explained.

    Reads the raw ring-buffer pages that `kernlab record` saved, decodes them with the event
    format files saved beside them, and shows calls/errors/time per system call, faults by
    process, kind of memory area, error code and instruction, and any lost events.
    """
    from kernlab.render.progress import progress
    from kernlab.render.views import report as view
    from kernlab.reports import report as reports

    with progress("decoding recording"):
        result = reports.build(
            directory,
            top=top,
            per_process=not no_per_process,
            symbolize=not no_symbols,
            syscall_time=syscall_time,
            sort=sort,
        )
    out.emit(result, view.show)
    if html:
        import contextlib

        from kernlab.errors import BadInput
        from kernlab.render.html import report as html_view
        from kernlab.reports import faults as faults_reports
        from kernlab.reports import replay as replay_reports

        # The page's timeline needs every fault, as `kernlab faults` lists them.
        with progress("drawing the HTML report"):
            faults = faults_reports.build(directory, symbolize=not no_symbols) if result.faults else None
            calls = None  # the call tree of a `record --functions` or `-K` recording
            with contextlib.suppress(BadInput):  # a recording without one says so: no tree
                calls = replay_reports.build(directory)
            written = html_view.report_page(result, faults, calls).write(html)
        click.echo(html_view.written_line(str(written)), err=True)
