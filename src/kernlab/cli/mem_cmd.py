"""`kernlab mem`: free(1)'s figures from one read of /proc/meminfo, and every meminfo field."""

from __future__ import annotations

from typing import Any

import click

from kernlab.cli.common import Output, examples, output_options


def _unit_option(*names: str, unit: str, help: str) -> Any:
    # Several flags share the destination "unit"; none given means KiB (see mem()).
    return click.option(*names, "unit", flag_value=unit, help=help)


@click.command(
    "mem",
    epilog=examples(
        "kernlab mem                      free's figures in KiB, with the identity between them",
        "kernlab mem -w -m                buffers and cache apart, in MiB (like free -w -m)",
        "kernlab mem -h                   human units (like free -h; --help shows this help)",
        "kernlab mem --meminfo            every /proc/meminfo field with its meaning",
        "kernlab mem --meminfo-file F     the same figures from a saved copy of /proc/meminfo",
        "kernlab mem --json               one JSON document (KiB as numbers)",
    ),
    # -h means --human here, as it does for free(1).
    context_settings={"help_option_names": ["--help"]},
)
@_unit_option("-k", "--kibi", unit="kibi", help="KiB (default), like free -k.")
@_unit_option("-b", "--bytes", unit="bytes", help="Bytes.")
@_unit_option("-m", "--mebi", unit="mebi", help="MiB, truncated like free -m.")
@_unit_option("-g", "--gibi", unit="gibi", help="GiB, truncated like free -g.")
@_unit_option("--tebi", unit="tebi", help="TiB.")
@_unit_option("--pebi", unit="pebi", help="PiB.")
@_unit_option("--kilo", unit="kilo", help="kB (powers of 1000).")
@_unit_option("--mega", unit="mega", help="MB (powers of 1000).")
@_unit_option("--giga", unit="giga", help="GB (powers of 1000).")
@_unit_option("--tera", unit="tera", help="TB (powers of 1000).")
@_unit_option("--peta", unit="peta", help="PB (powers of 1000).")
@click.option("-h", "--human", is_flag=True, help="Shortest unit that fits, like free -h.")
@click.option("--si", is_flag=True, help="Powers of 1000 instead of 1024 (with -h).")
@click.option("-w", "--wide", is_flag=True, help="Show buffers and cache apart, like free -w.")
@click.option("-l", "--lohi", is_flag=True, help="Add low and high memory rows, like free -l.")
@click.option("-t", "--total", "with_total", is_flag=True, help="Add a RAM + swap row, like free -t.")
@click.option("-v", "--committed", is_flag=True, help="Add the commit limit row, like free -v.")
@click.option(
    "--meminfo", "show_meminfo", is_flag=True, help="List every /proc/meminfo field with its meaning."
)
@click.option(
    "--meminfo-file",
    metavar="FILE",
    default=None,
    help="Read a saved copy of /proc/meminfo instead of the live file.",
)
@click.option("--explain", is_flag=True, help="Say which /proc/meminfo fields each column comes from.")
@output_options
def mem(
    unit: str | None,
    human: bool,
    si: bool,
    wide: bool,
    lohi: bool,
    with_total: bool,
    committed: bool,
    show_meminfo: bool,
    meminfo_file: str | None,
    explain: bool,
    out: Output,
) -> None:
    """Memory as free(1) computes it from /proc/meminfo, and what each figure means."""
    from kernlab.render.views import mem as view
    from kernlab.reports import mem as reports

    report = reports.build(
        unit=unit or "kibi",
        human=human,
        si=si,
        wide=wide,
        lohi=lohi,
        with_total=with_total,
        committed=committed,
        with_meminfo=show_meminfo,
        meminfo_file=meminfo_file,
    )
    out.emit(report, lambda r, o: view.show(r, o, explain_columns=explain))
