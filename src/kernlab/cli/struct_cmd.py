"""`kernlab struct NAME`: a kernel structure's layout from BTF, printed the way pahole does."""

from __future__ import annotations

import click

from kernlab.cli.common import Output, examples, output_options


@click.command(
    "struct",
    epilog=examples(
        "kernlab struct mm_struct            fields of one anonymous struct, inline at their offsets",
        "kernlab struct task_struct -q       the layout without the closing sentence",
        "kernlab struct list_head --json     offsets and sizes as JSON",
        "kernlab struct file --expand        embedded structs opened up too",
    ),
)
@click.argument("name")
@click.option("--expand", "-E", is_flag=True, help="Also list the members of embedded structs and unions.")
@click.option(
    "--btf",
    "btf_path",
    default="/sys/kernel/btf/vmlinux",
    show_default=True,
    metavar="FILE",
    help="BTF file to read (a module's file in /sys/kernel/btf is read on top of vmlinux).",
)
@click.option(
    "--id",
    "type_id",
    type=int,
    default=None,
    metavar="TYPE_ID",
    help="When several structures share NAME, the BTF type id of the one to show.",
)
@output_options
def struct(name: str, expand: bool, btf_path: str, type_id: int | None, out: Output) -> None:
    """A kernel structure's layout from the running kernel's BTF: members, offsets, sizes,
    bit-fields, holes and cache lines, like pahole. Members of anonymous structs and unions
    are shown at their offsets in the outer structure."""
    from kernlab.render.views import struct as view
    from kernlab.reports import struct as reports

    out.emit(reports.build(name, expand=expand, btf_path=btf_path, type_id=type_id), view.show)
