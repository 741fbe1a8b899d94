"""`kernlab vtop PID ADDRESS`: one address through page table, VMA, file, pagemap and page flags."""

from __future__ import annotations

from typing import Any

import click

from kernlab.cli.common import ADDRESS, Output, examples, output_options, strip_width_option

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class SizeType(click.ParamType):
    """A size in bytes: 8192, 0x2000, 8K, 2M, 1G (binary units)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().replace("_", "")
        for suffix in ("ib", "b"):
            if text.endswith(suffix) and text[: -len(suffix)][-1:].isalpha():
                text = text[: -len(suffix)]
        try:
            if text.startswith("0x"):
                return int(text, 16)
            unit = text[-1:] if text[-1:] in _UNITS and text[-1:] else ""
            number = text[:-1] if unit else text
            return int(float(number) * _UNITS[unit]) if "." in number else int(number) * _UNITS[unit]
        except (ValueError, KeyError):
            self.fail(f"{value!r} is not a size (use 8192, 0x2000, 8K, 2M or 1G)", param, ctx)


SIZE = SizeType()


@click.command(
    "vtop",
    epilog=examples(
        "kernlab vtop 1234 0x7f3a12345678              one address through every layer",
        "kernlab vtop 1234 0x55d0c0000000 --range 4M   present / swapped / never-touched pages",
        "kernlab vtop 1234 --vma 5                     the 6th line of /proc/1234/maps, page by page",
        "kernlab vtop 1234 --all --json                every VMA of the process",
    ),
)
@click.argument("pid", type=str)
@click.argument("address", type=ADDRESS, required=False)
@click.option("--range", "size", type=SIZE, help="Count pages over SIZE bytes from ADDRESS (8K, 2M, 0x1000).")
@click.option(
    "--vma",
    "vma_index",
    type=int,
    metavar="N",
    help="Count pages over VMA number N (0 = first line of maps).",
)
@click.option("--all", "whole", is_flag=True, help="Count pages over every VMA of the process.")
@strip_width_option
@output_options
def vtop(
    pid: str,
    address: int | None,
    size: int | None,
    vma_index: int | None,
    whole: bool,
    width: int,
    out: Output,
) -> None:
    """Follow ADDRESS of process PID through every layer: page-table indices for the paging in
    use, the VMA, the file and ELF symbol, the pagemap entry, the page flags and page cache.

    With --range, --vma or --all: how many pages are present, swapped or never touched, and a
    presence strip showing where.
    """
    from kernlab.errors import BadInput
    from kernlab.render.views import vtop as view
    from kernlab.reports import vtop as reports

    chosen = sum(x for x in (size is not None, vma_index is not None, whole))
    if chosen > 1:
        raise BadInput("choose one of --range, --vma and --all", key="errors.cli.range_vma_all")
    if address is None and (size is not None or chosen == 0):
        raise BadInput("give an ADDRESS (or use --vma N or --all)", key="errors.cli.give_address")
    if address is not None and (vma_index is not None or whole):
        raise BadInput(
            "--vma and --all count whole areas: leave out ADDRESS, or use ADDRESS --range SIZE",
            key="errors.cli.whole_areas",
        )
    if address is not None and size is None:
        out.emit(reports.build(pid, address), view.show)
        return
    from kernlab.render.progress import progress

    scope: reports.Scope = "range" if size is not None else "vma" if vma_index is not None else "all"
    where = {"address": address or 0, "size": size or 0, "vma_index": vma_index or 0}
    with progress("reading pagemap", total=reports.pages_to_read(pid, scope, **where) or None) as bar:
        report = reports.build_pages(pid, scope, **where, on_pages=bar.advance)
    out.emit(report, lambda r, o: view.show_pages(r, o, width=width))
