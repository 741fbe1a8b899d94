"""`kernlab tour`: the course's day, step by step, on this machine."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.reports.tour import StepResult


@click.command(
    "tour",
    epilog=examples(
        "sudo kernlab tour                   the whole day: ELF, system calls, faults, memory",
        "kernlab tour --list                 the steps, their numbers and names",
        "kernlab tour --step 11              one step (lazy allocation), by number or name",
        "kernlab tour --step hello,libraries two steps",
        "kernlab tour --interactive          wait for Enter between steps",
        "kernlab tour --no-trace             leave out the steps that trace the kernel",
        "kernlab --lang ko tour              in Korean",
        "kernlab tour --json                 every step's figures as one JSON document",
        "kernlab tour --html day.html        also write the day as one HTML page (figures, tables)",
    ),
)
@click.option("--list", "list_steps", is_flag=True, help="List the steps with their numbers and names.")
@click.option(
    "--step", "steps", multiple=True, metavar="N|NAME[,…]", help="Run only these steps (number or name)."
)
@click.option("--interactive", "-i", is_flag=True, help="Wait for Enter between steps (q stops).")
@click.option("--no-trace", is_flag=True, help="Skip the steps that trace the kernel.")
@click.option(
    "--tree",
    default=None,
    type=click.Path(file_okay=False),
    help="A kernel source tree for the last step (default: /usr/src/linux*, kernlab's extracted one).",
)
@click.option("--lang", type=click.Choice(["en", "ko"]), default=None, help="Language of the explanations.")
@click.option(
    "--html",
    "html",
    default=None,
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Also write the tour as one self-contained HTML file (plotly figures, no network needed).",
)
@output_options
def tour(
    list_steps: bool,
    steps: tuple[str, ...],
    interactive: bool,
    no_trace: bool,
    tree: str | None,
    lang: str | None,
    html: str | None,
    out: Output,
) -> None:
    """Run the course's day on this machine, step by step: each step shows a title, the live data
    (from kernlab's other commands) and a paragraph computed from it. As a non-root user the
    step that traces says so in one line and the others run."""
    from kernlab.render.progress import progress
    from kernlab.render.views import tour as view
    from kernlab.reports import tour as reports

    if lang:
        from kernlab import explain

        explain.set_language(lang)
    chosen = reports.select_steps(steps)
    if list_steps:
        out.emit(chosen, view.show_list)
        return
    total = len(reports.STEPS)
    results: list[reports.StepResult] = []
    # An explicitly asked source step may build the tree's index (a minute); the whole tour never does.
    with reports.Workspace(tree=tree, build_index="source" in {s.name for s in chosen} and bool(steps)) as ws:
        for n, step in enumerate(chosen):
            if not out.json:
                view.show_title(step, total)
            with progress(view.heading(step, total)):
                result = reports.run_step(step, ws, trace=not no_trace)
            results.append(result)
            if out.json:
                continue
            view.show_step(result, out)
            if interactive and not _wait(
                view.prompt(step, chosen[n + 1] if n + 1 < len(chosen) else None, total)
            ):
                break
        if html:
            # While the workspace still holds the recording and the hello program.
            _write_html(html, results)
    if out.json:
        out.emit(reports.tour_report(results), view.show)
    else:
        view.show_end(results, out)


def _write_html(path: str, results: list[StepResult]) -> None:
    """Write the HTML page and say where it is (on stderr: stdout stays the tour's, or its JSON).

    The page draws two things the steps keep only in part: every fault of the recording (its
    timeline; the step keeps counts) and the hello program's section headers (the step reads its
    segments), both read here from the files the workspace still holds."""
    from kernlab.render.html import tour as html_view
    from kernlab.reports import elf as elf_reports
    from kernlab.reports import faults as faults_reports
    from kernlab.reports import tour as reports

    faults = elf = None
    for result in results:
        if isinstance(result.data, reports.RecordStep):
            faults = faults_reports.build(result.data.report.recording.directory, symbolize=False)
        elif isinstance(result.data, reports.HelloStep):
            elf = elf_reports.build(result.data.program, ("header", "segments", "sections"))
    written = html_view.tour_page(results, faults=faults, elf=elf).write(path)
    click.echo(html_view.written_line(str(written)), err=True)


def _wait(line: str) -> bool:
    """Show the progress line on stderr and wait for Enter; False when the user types q."""
    click.echo(line + " ", err=True, nl=False)
    answer = sys.stdin.readline()
    return answer.strip().lower() not in ("q", "quit")
