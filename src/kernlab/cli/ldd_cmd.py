"""`kernlab ldd FILE`: the shared-library tree ld.so would load, found without running FILE."""

from __future__ import annotations

import os

import click

from kernlab.cli.common import Output, examples, output_options


@click.command(
    "ldd",
    epilog=examples(
        "kernlab ldd /bin/mv                 libraries, where each was found, and why",
        "kernlab ldd --tree /usr/bin/perf    who needs whom",
        "kernlab ldd --ldd-style ./prog      the same lines ldd prints, minus addresses",
        "kernlab ldd --json /bin/ls          the whole resolution as JSON",
    ),
)
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--tree", is_flag=True, help="Show who needs whom, as a tree of DT_NEEDED entries.")
@click.option("--ldd-style", is_flag=True, help="Print the lines ldd prints (without load addresses).")
@output_options
def ldd(file: str, tree: bool, ldd_style: bool, out: Output) -> None:
    """The shared libraries FILE needs, resolved the way ld.so does (RPATH, LD_LIBRARY_PATH,
    RUNPATH, /etc/ld.so.cache, default directories), without executing FILE as ldd does.
    LD_LIBRARY_PATH is taken from the environment."""
    from kernlab.render.views import ldd as view
    from kernlab.reports import ldd as reports

    report = reports.build(file, ld_library_path=os.environ.get("LD_LIBRARY_PATH"))
    if ldd_style:
        out.emit(report, view.show_ldd_style)
    elif tree:
        out.emit(report, view.show_tree)
    else:
        out.emit(report, view.show_table)
