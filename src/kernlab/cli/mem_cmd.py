"""`kernlab mem`: free(1)'s figures from one read of /proc/meminfo, and every meminfo field."""

from __future__ import annotations

from typing import Any

import click

from kernlab.cli.common import Output, examples, output_options

FREE_COLUMNS = ("total", "used", "free", "shared", "buff_cache", "available")
WIDE_COLUMNS = ("total", "used", "free", "shared", "buffers", "cache", "available")
HEADINGS = {"buff_cache": "buff/cache"}


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
@_unit_option("--kilo", unit="kilo", help="kB (powers of 1000).")
@_unit_option("--mega", unit="mega", help="MB (powers of 1000).")
@_unit_option("--giga", unit="giga", help="GB (powers of 1000).")
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
    from kernlab.proc.free import compute_free, scale_size
    from kernlab.proc.meminfo import read_meminfo

    unit = unit or "kibi"
    info = read_meminfo(meminfo_file)
    figures = compute_free(info)

    def show(kib: int) -> str:
        return scale_size(kib, unit, human=human, si=si)

    rows = _free_rows(figures, wide, lohi, with_total, committed)
    display = {label: [show(v) for v in values] for label, values in rows}
    report: dict[str, Any] = {
        "source": info.source,
        "unit": "human" if human else unit,
        "si": si,
        "columns": [HEADINGS.get(c, c) for c in (WIDE_COLUMNS if wide else FREE_COLUMNS)],
        "free": figures,
        "display": display,
    }
    if show_meminfo:
        report["meminfo"] = [
            {"name": f.name, "value": f.value, "unit": f.unit, "meaning": _meaning(f.name)}
            for f in info.fields
        ]

    def render(data: dict[str, Any], out: Output) -> None:
        _render(data, figures, info, explain, out)

    out.emit(report, render)


def _free_rows(
    figures: Any, wide: bool, lohi: bool, with_total: bool, committed: bool
) -> list[tuple[str, list[int]]]:
    f = figures
    mem_row = [f.total, f.used, f.free, f.shared]
    mem_row += [f.buffers, f.cache] if wide else [f.buff_cache]
    mem_row.append(f.available)
    rows: list[tuple[str, list[int]]] = [("Mem", mem_row)]
    if lohi:
        rows.append(("Low", [f.low_total, f.low_used, f.low_free]))
        rows.append(("High", [f.high_total, f.high_used, f.high_free]))
    rows.append(("Swap", [f.swap_total, f.swap_used, f.swap_free]))
    if with_total:
        rows.append(("Total", [f.total + f.swap_total, f.used + f.swap_used, f.free + f.swap_free]))
    if committed:
        rows.append(("Comm", [f.commit_limit, f.committed_as, f.commit_limit - f.committed_as]))
    return rows


def _meaning(name: str) -> str:
    from kernlab.catalog import has, say

    key = f"mem.meminfo.field.{name}"
    return say(key) if has(key) else say("mem.meminfo.unknown")


def _render(data: dict[str, Any], figures: Any, info: Any, explain: bool, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.proc.units import percent
    from kernlab.render.terminal import print_table

    columns = data["columns"]
    rows = [[f"{label}:", *values] for label, values in data["display"].items()]
    unit = "KiB" if data["unit"] == "kibi" else data["unit"]
    print_table(["", *columns], rows, title=f"free, from {data['source']} ({unit})", right=columns)
    f = figures
    if f.counted_twice == 0:
        out.sentence(
            say("mem.free.identity_exact", used=f.used, free=f.free, buff_cache=f.buff_cache, total=f.total),
        )
    else:
        out.sentence(
            say(
                "mem.free.identity",
                used=f.used,
                free=f.free,
                buff_cache=f.buff_cache,
                sum=f.used + f.free + f.buff_cache,
                total=f.total,
                twice=f.counted_twice,
            ),
        )
        out.sentence(
            say(
                "mem.free.classic",
                total=f.total,
                free=f.free,
                buff_cache=f.buff_cache,
                classic=f.used_classic,
            ),
        )
    out.sentence(say("mem.free.available", available=f.available, pct=percent(f.available, f.total)))
    if f.available_estimated:
        out.sentence(say("mem.free.available_estimated"))
    if f.swap_total == 0:
        out.sentence(say("mem.free.swap_none"))
    else:
        out.sentence(
            say(
                "mem.free.swap_used",
                used=f.swap_used,
                total=f.swap_total,
                pct=percent(f.swap_used, f.swap_total),
            ),
        )
    if explain:
        names = ("total", "used", "free", "shared", "buffers", "cache", "buff_cache", "available", "swap")
        print_table(
            ["column", "computed from /proc/meminfo"],
            [[HEADINGS.get(n, n), say(f"mem.explain.{n}")] for n in names],
            title="Where each column comes from",
        )
    if "meminfo" in data:
        print_table(
            ["field", "value", "unit", "meaning"],
            [[m["name"], f"{m['value']:,}", m["unit"], m["meaning"]] for m in data["meminfo"]],
            title=f"{data['source']}: every field",
            right=["value"],
        )
        out.sentence(
            say(
                "mem.meminfo.summary",
                count=len(data["meminfo"]),
                source=data["source"],
                total=f.total,
                free_pct=percent(f.free, f.total),
                cache_pct=percent(info.get("Cached"), f.total),
            ),
        )
