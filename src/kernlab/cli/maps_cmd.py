"""`kernlab maps PID|self`: every VMA of a process, from /proc/PID/maps joined with smaps."""

from __future__ import annotations

import math
from typing import Any

import click

from kernlab.cli.common import Output, examples, output_options

# Glyph and colour of each kind in the address-space picture; the glyph alone tells kinds apart
# when colour is unavailable (not a terminal).
KIND_STYLE: dict[str, tuple[str, str]] = {
    "binary-text": ("T", "bold red"),
    "binary-rodata": ("R", "red"),
    "binary-data": ("D", "magenta"),
    "binary-bss": ("B", "bright_magenta"),
    "shared-lib": ("L", "blue"),
    "heap": ("H", "green"),
    "stack": ("S", "yellow"),
    "anon-mmap": ("A", "bright_green"),
    "file-mmap": ("F", "cyan"),
    "vdso": ("V", "bright_blue"),
    "vvar": ("v", "bright_blue"),
    "vsyscall": ("Y", "bright_blue"),
    "special": ("?", "white"),
}
BAR_WIDTH = 40
PMAP_NAMES = {"[stack]": "  [ stack ]"}


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
    from kernlab.errors import BadInput, NoSuchProcess

    if all_processes:
        if pid is not None:
            raise BadInput("give either a PID or --all, not both")
        _all(out)
        return
    if pid is None:
        raise BadInput("which process? give a PID, 'self', or --all")
    from kernlab.proc.maps import KINDS, read_maps, total_vmas, totals_by_kind
    from kernlab.proc.process import read_process

    for kind in kinds:
        if kind not in KINDS:
            raise BadInput(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    process = read_process(pid)
    vmas = [] if process.kernel_thread else read_maps(process.pid, smaps=not no_smaps)
    try:
        after = read_process(process.pid) if vmas else process
    except NoSuchProcess:
        after = process  # it exited after its maps were read: the figures read stand

    shown = [v for v in vmas if v.kind in kinds] if kinds else vmas
    report: dict[str, Any] = {
        "pid": process.pid,
        "comm": process.comm,
        "kernel_thread": process.kernel_thread,
        "zombie": process.state == "Z",
        "ps_vsz": after.vsz,
        "totals": total_vmas(shown),
        "kinds": totals_by_kind(shown),
        "vmas": shown,
    }
    if pmap_x:
        out.emit(report, lambda data, out: _render_pmap(data, out))
    else:
        out.emit(report, lambda data, out: _render(data, wide, picture and not kinds, explain, out))


def _about_empty(data: dict[str, Any], out: Output) -> bool:
    from kernlab.catalog import say

    if data["kernel_thread"]:
        out.sentence(say("maps.kernel_thread", pid=data["pid"], comm=data["comm"]))
        return True
    if not data["vmas"] and data["zombie"]:
        out.sentence(say("maps.zombie", pid=data["pid"], comm=data["comm"]))
        return True
    if not data["vmas"]:
        out.sentence(say("maps.no_vmas", pid=data["pid"], comm=data["comm"]))
        return True
    return False


def _render(data: dict[str, Any], wide: bool, picture: bool, explain: bool, out: Output) -> None:
    from kernlab.render.table import plain_table
    from kernlab.render.terminal import print_heading

    print_heading(f"PID {data['pid']} ({data['comm']}): {len(data['vmas'])} VMAs")
    if _about_empty(data, out):
        return
    columns = [
        "ADDRESS",
        "KiB",
        "PERM",
        "OFFSET",
        "DEV",
        "INODE",
        "KIND",
        "RSS",
        "PSS",
        "DIRTY",
        "ANON",
        "SWAP",
        "THP",
    ]
    if wide:
        columns += ["SHR_CL", "SHR_DT", "PRV_CL", "PRV_DT", "LOCKED"]
    columns.append("MAPPING")
    rows = []
    for v in data["vmas"]:
        row: list[object] = [
            f"{v.start:012x}-{v.end:012x}",
            v.size_kib,
            v.perms,
            f"{v.offset:08x}",
            v.dev,
            v.inode,
            v.kind,
            v.rss,
            v.pss,
            v.dirty,
            v.anonymous,
            v.swap,
            v.anon_huge_pages,
        ]
        if wide:
            row += [v.shared_clean, v.shared_dirty, v.private_clean, v.private_dirty, v.locked]
        row.append(v.label)
        rows.append(row)
    right = set(columns) - {"ADDRESS", "PERM", "OFFSET", "DEV", "KIND", "MAPPING"}
    click.echo(plain_table(columns, rows, right))
    if explain:
        _explain()
    _kinds_table(data)
    if picture:
        _picture(data["vmas"], out)
    _sentences(data, out)


def _explain() -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import print_table

    names = (
        "range",
        "kbytes",
        "perms",
        "offset",
        "dev",
        "inode",
        "kind",
        "rss",
        "pss",
        "dirty",
        "anon",
        "swap",
        "thp",
        "name",
    )
    print_table(
        ["column", "source"],
        [[n, say(f"maps.explain.{n}")] for n in names],
        title="Where each column comes from",
    )


def _kinds_table(data: dict[str, Any]) -> None:
    from kernlab.render.terminal import print_table
    from kernlab.units import percent

    totals = data["totals"]
    rows = []
    for k in data["kinds"]:
        rows.append(
            [
                k.kind,
                k.count,
                f"{k.size:,}",
                f"{percent(k.size, totals.size)}%",
                "" if k.rss is None else f"{k.rss:,}",
                "" if k.rss is None or not totals.rss else f"{percent(k.rss, totals.rss)}%",
                "" if k.pss is None else f"{k.pss:,}",
            ]
        )
    rows.append(
        [
            "total",
            totals.count,
            f"{totals.size:,}",
            "100%",
            "" if totals.rss is None else f"{totals.rss:,}",
            "100%" if totals.rss else "",
            "" if totals.pss is None else f"{totals.pss:,}",
        ]
    )
    print_table(
        ["kind", "VMAs", "KiB", "of VSZ", "RSS KiB", "of RSS", "PSS KiB"],
        rows,
        title="By kind",
        right=["VMAs", "KiB", "of VSZ", "RSS KiB", "of RSS", "PSS KiB"],
    )


def _picture(vmas: list[Any], out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.proc.maps import Gap, with_gaps
    from kernlab.render.terminal import console, print_heading
    from kernlab.units import format_kib

    rows = with_gaps(vmas)
    gap_glyph = "·" if console().is_terminal else "."  # plain ASCII when piped or redirected
    longest = max(math.log2(max(r.size, 4096)) for r in rows) - 11  # 4 KiB -> 1
    print_heading("Address space, highest address first")
    for row in reversed(rows):
        length = max(1, round((math.log2(max(row.size, 4096)) - 11) / longest * BAR_WIDTH))
        size = format_kib(row.size // 1024)
        if isinstance(row, Gap):
            dots = (gap_glyph * min(length, 3)).ljust(BAR_WIDTH)
            label = say("maps.gap_to_kernel") if _before_gate(rows, row) else say("maps.gap")
            text = f"{row.end:016x} {dots} {size:>9}  {label}"
            console().print(text, style="dim", markup=False, soft_wrap=True)
            continue
        glyph, colour = KIND_STYLE.get(row.kind, ("?", "white"))
        bar = (glyph * length).ljust(BAR_WIDTH)
        console().print(
            f"{row.end:016x} {bar} {size:>9}  {row.kind:<13} {row.label}",
            style=colour,
            markup=False,
            soft_wrap=True,
        )
    legend = "  ".join(f"{g}={k}" for k, (g, _) in KIND_STYLE.items())
    console().print(legend, markup=False)
    out.sentence(say("maps.picture"))


def _before_gate(rows: list[Any], gap: Any) -> bool:
    """True for the gap that ends at the gate area: it spans the end of user space and the kernel."""
    from kernlab.proc.maps import GATE_NAMES

    following = [r for r in rows if r.start == gap.end]
    return bool(following) and getattr(following[0], "name", "") in GATE_NAMES


def _sentences(data: dict[str, Any], out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.units import percent

    t = data["totals"]
    vsz_check = (
        say("maps.vsz_equal", pid=data["pid"])
        if t.vsz == data["ps_vsz"]
        else say("maps.vsz_differs", vsz=data["ps_vsz"])
    )
    if t.rss is None:
        out.sentence(say("maps.totals_nosmaps", count=t.count, size=t.size, vsz=t.vsz, vsz_check=vsz_check))
    else:
        out.sentence(
            say(
                "maps.totals",
                count=t.count,
                size=t.size,
                vsz=t.vsz,
                vsz_check=vsz_check,
                rss=t.rss,
                pss=t.pss,
                dirty=t.dirty,
                untouched=100 - percent(t.rss, t.size),
            ),
        )
    kinds = data["kinds"]
    out.sentence(
        say("maps.kinds", parts=", ".join(say("maps.kind_part", count=k.count, kind=k.kind) for k in kinds)),
    )
    if t.rss:
        ranked = sorted((k for k in kinds if k.rss), key=lambda k: -k.rss)
        parts = ", ".join(say("maps.rss_part", kind=k.kind, pct=percent(k.rss, t.rss)) for k in ranked)
        out.sentence(say("maps.rss_where", parts=parts))
        shared = sum((v.shared_clean or 0) + (v.shared_dirty or 0) for v in data["vmas"])
        out.sentence(say("maps.pss_shared", pss=t.pss, rss=t.rss, shared_pct=percent(shared, t.rss)))
        out.sentence(say("maps.anon", anonymous=t.anonymous))
        thp = sum(v.anon_huge_pages or 0 for v in data["vmas"])
        if thp:
            out.sentence(say("maps.thp", thp=thp))
        if t.swap:
            out.sentence(say("maps.swap", swap=t.swap))


def _pmap_name(vma: Any) -> str:
    if vma.path is not None:
        base = vma.path.rsplit("/", 1)[-1]
        return f"{base} (deleted)" if vma.deleted else base
    return PMAP_NAMES.get(vma.name, "  [ anon ]")


def _render_pmap(data: dict[str, Any], out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.proc.cmdline import read_cmdline

    lines = [f"{data['pid']}:   {read_cmdline(data['pid']) or data['comm']}"]
    if _about_empty(data, out):
        click.echo(lines[0])
        return
    lines.append("Address           Kbytes     RSS   Dirty Mode  Mapping")
    for v in data["vmas"]:
        mode = v.perms[:3] + ("s" if v.shared else "-") + "-"
        lines.append(
            f"{v.start:016x} {v.size_kib:>7} {v.rss or 0:>7} {v.dirty or 0:>7} {mode} {_pmap_name(v)}"
        )
    t = data["totals"]
    lines.append("---------------- ------- ------- ------- ")
    lines.append(f"{'total kB':<16} {t.size:>7} {t.rss or 0:>7} {t.dirty or 0:>7}")
    click.echo("\n".join(lines))
    out.sentence(say("maps.pmap_note"))


def _all(out: Output) -> None:
    from kernlab.proc.allmaps import read_all_maps
    from kernlab.proc.process import list_pids
    from kernlab.render.progress import progress

    with progress("reading /proc/*/smaps", total=len(list_pids())) as bar:
        result = read_all_maps(on_process=bar.advance)

    def render(data: Any, out: Output) -> None:
        from kernlab.catalog import say
        from kernlab.render.table import plain_table

        columns = ["PID", "VMAs", "VSZ", "RSS", "PSS", "DIRTY", "ANON", "SWAP", "COMMAND"]
        rows = [
            (
                p.pid,
                p.totals.count,
                p.totals.size,
                p.totals.rss,
                p.totals.pss,
                p.totals.dirty,
                p.totals.anonymous,
                p.totals.swap,
                p.comm,
            )
            for p in data.processes
        ]
        click.echo(plain_table(columns, rows, set(columns) - {"COMMAND"}))
        import os

        denied_key = "maps.all_denied_root" if os.geteuid() == 0 else "maps.all_denied"
        denied = say(denied_key, denied=data.denied) if data.denied else ""
        out.sentence(
            say(
                "maps.all_summary",
                count=len(data.processes),
                skipped=data.skipped,
                denied=denied,
                rss=sum(p.totals.rss or 0 for p in data.processes),
                pss=sum(p.totals.pss or 0 for p in data.processes),
            ),
        )

    out.emit(result, render)
