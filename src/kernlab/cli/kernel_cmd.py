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
        "kernlab kernel --image /boot/vmlinuz-6.1.0-57-amd64   which kernel a vmlinuz is, and is it running",
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
@click.option(
    "--image",
    "image_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="A kernel image file (vmlinuz, bzImage, vmlinux): which kernel it is instead of the running one.",
)
@click.option(
    "--system-map",
    default=None,
    type=click.Path(dir_okay=False),
    help="With --image: its System.map (default: System.map-RELEASE beside it, else the image's "
    "own kallsyms tables).",
)
@output_options
def kernel(
    kallsyms_path: str | None,
    config_path: str | None,
    image_path: str | None,
    system_map: str | None,
    out: Output,
) -> None:
    """The running kernel: release, the config facts other commands rely on, the addresses of
    start_kernel and the system-call entry path from /proc/kallsyms, and the KASLR offset.
    With --image FILE: which kernel that image is, how it is compressed, and whether it runs."""
    from kernlab.errors import BadInput
    from kernlab.render.views import kernel as view
    from kernlab.reports import kernel as reports

    if image_path is not None:
        if kallsyms_path is not None or config_path is not None:
            raise BadInput(
                "--image describes a file: give it without --kallsyms or --config",
                key="errors.cli.image_alone",
            )
        out.emit(reports.build_image(image_path, system_map), view.show_image)
        return
    if system_map is not None:
        raise BadInput("--system-map goes with --image FILE", key="errors.cli.system_map_with_image")
    out.emit(reports.build(kallsyms_path, config_path), view.show)
