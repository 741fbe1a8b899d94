"""`kernlab maps PID|self`: every VMA of a process, from /proc/PID/maps joined with smaps."""

from __future__ import annotations

import click

from kernlab.cli.common import Output, examples, output_options


@click.command(
    "maps",
    epilog=examples(
        "kernlab maps self                every VMA of this kernlab process, with RSS and kinds",
        "kernlab maps 1234 -x             the layout of pmap -x 1234",
        "kernlab maps 1234 --kind heap    only the heap",
        "kernlab maps 2                   a kernel thread: it has no user address space",
        "kernlab maps --all               totals for every process (faster than pmap per PID)",
        "kernlab maps self --json         one JSON document with every smaps field",
    ),
)
@click.argument("pid", required=False, metavar="PID|self")
@click.option("-x", "--extended", "pmap_x", is_flag=True, help="Print pmap -x's layout (Kbytes, RSS, Dirty).")
@click.option("--wide", "-w", is_flag=True, help="Add shared/private clean/dirty and locked columns.")
@click.option("--kind", "kinds", multiple=True, metavar="KIND", help="Only VMAs of this kind (repeatable).")
@click.option("--no-smaps", is_flag=True, help="Read only /proc/PID/maps (no RSS/PSS; faster).")
@click.option("--picture/--no-picture", default=True, help="Draw the address space (default: on).")
@click.option("--all", "all_processes", is_flag=True, help="Totals for every process on the machine.")
@click.option("--explain", is_flag=True, help="Say which /proc file and field each column comes from.")
@output_options
def maps(
    pid: str | None,
    pmap_x: bool,
    wide: bool,
    kinds: tuple[str, ...],
    no_smaps: bool,
    picture: bool,
    all_processes: bool,
    explain: bool,
    out: Output,
) -> None:
    """Virtual memory areas of a process: ranges, permissions, files, RSS/PSS, kinds."""
    from kernlab.errors import BadInput
    from kernlab.render.views import maps as view
    from kernlab.reports import maps as reports

    if all_processes:
        if pid is not None:
            raise BadInput("give either a PID or --all, not both", key="errors.cli.pid_or_all")
        from kernlab.render.progress import progress

        with progress("reading /proc/*/smaps", total=reports.processes_to_read()) as bar:
            everyone = reports.build_all(on_process=bar.advance)
        out.emit(everyone, view.show_all)
        return
    if pid is None:
        raise BadInput("which process? give a PID, 'self', or --all", key="errors.cli.which_process")
    report = reports.build(pid, smaps=not no_smaps, kinds=kinds)
    if pmap_x:
        out.emit(report, view.show_pmap)
    else:
        # A picture of some kinds only would show gaps where the other kinds are.
        out.emit(
            report, lambda r, o: view.show(r, o, wide=wide, picture=picture and not kinds, columns=explain)
        )
