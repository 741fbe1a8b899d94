"""`kernlab kernel`: the running kernel in one screen."""

from __future__ import annotations

import click

from kernlab.cli.common import Output, examples, output_options


@click.command(
    "kernel",
    epilog=examples(
        "kernlab kernel                 release, config facts, kallsyms addresses, KASLR",
        "kernlab kernel --json          the same as one JSON document",
        "kernlab kernel --kallsyms FILE read symbols from a saved copy of /proc/kallsyms",
    ),
)
@click.option(
    "--kallsyms",
    "kallsyms_path",
    default=None,
    help="Symbol file to read instead of /proc/kallsyms (a saved copy).",
)
@click.option(
    "--config",
    "config_path",
    default=None,
    help="Kernel config file (default: /proc/config.gz or /boot/config-RELEASE).",
)
@output_options
def kernel(kallsyms_path: str | None, config_path: str | None, out: Output) -> None:
    """The running kernel: release, the config facts other commands rely on, the addresses of
    start_kernel and the system-call entry path from /proc/kallsyms, and the KASLR offset."""
    from kernlab.render.views import kernel as view
    from kernlab.reports import kernel as reports

    out.emit(reports.build(kallsyms_path, config_path), view.show)
