"""`kernlab kernel`: the running kernel in one screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kernlab.cli.common import Output, examples, output_options

if TYPE_CHECKING:
    from kernlab.kernel.summary import KernelSummary


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
    from kernlab.kernel.summary import kernel_summary

    out.emit(kernel_summary(kallsyms_path, config_path), render_kernel)


def _kptr_restrict() -> str:
    try:
        with open("/proc/sys/kernel/kptr_restrict") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


def render_kernel(summary: KernelSummary, out: Output) -> None:
    from kernlab.catalog import say
    from kernlab.render.terminal import format_hex, print_fields, print_heading, print_table
    from kernlab.syscalls.tables import table_info

    rel = summary.release
    print_fields(
        [("Release (uname -r)", rel.release), ("Version (uname -v)", rel.version), ("Machine", rel.machine)]
        + ([("/proc/version", rel.proc_version)] if rel.proc_version else []),
        title="Running kernel",
    )
    try:
        shipped = table_info(rel.machine).kernel_version
    except Exception:
        shipped = table_info("x86_64").kernel_version
    out.sentence(say("kernel.release", release=rel.release, machine=rel.machine, table_version=shipped))

    print_heading(f"Config ({summary.config_source or 'not found'})")
    if summary.config:
        print_table(
            ["option", "value", "what it decides"],
            [
                (f.option, "(absent)" if f.value is None else f.value, say(f"kernel.config.{f.option}"))
                for f in summary.config
            ],
        )
    else:
        out.sentence(say("kernel.config_missing", error=summary.config_error))

    pg = summary.paging
    if pg.levels_in_use is not None:
        configured = "unknown" if pg.configured_levels is None else pg.configured_levels
        out.sentence(
            say("kernel.paging_detected", configured=configured, in_use=pg.levels_in_use, method=pg.method)
        )
    else:
        la57 = say("kernel.la57_has") if pg.cpu_la57 else say("kernel.la57_lacks")
        configured = "unknown" if pg.configured_levels is None else pg.configured_levels
        out.sentence(say("kernel.paging_config_only", configured=configured, la57_text=la57))

    print_heading(f"Symbols ({summary.kallsyms_path})")
    text = next((s.address for s in summary.symbols if s.name == "_text"), None)
    print_table(
        ["symbol", "address", "type", "from _text"],
        [
            (
                s.name,
                "-" if s.address is None else format_hex(s.address),
                s.type or "",
                "" if s.address is None or text is None else f"+{format_hex(s.address - text)}",
            )
            for s in summary.symbols
        ],
        right=["from _text"],
    )
    by_name = {s.name: s for s in summary.symbols}
    if summary.kallsyms_hidden:
        out.sentence(
            say("kernel.kallsyms_hidden", path=summary.kallsyms_path, kptr_restrict=_kptr_restrict())
        )
    start = by_name.get("start_kernel")
    if start and start.address is not None and text is not None:
        out.sentence(
            say(
                "kernel.vmlinux",
                start_kernel=format_hex(start.address),
                offset=format_hex(start.address - text),
                text=format_hex(text),
            )
        )
    elif not summary.kallsyms_hidden:
        out.sentence(say("kernel.no_start_kernel"))
    entry, do_syscall = by_name.get("entry_SYSCALL_64"), by_name.get("do_syscall_64")
    if entry and do_syscall and entry.address is not None and do_syscall.address is not None:
        switch = by_name.get("x64_sys_call")
        via = say("kernel.via_switch") if switch and switch.address is not None else say("kernel.via_table")
        out.sentence(
            say(
                "kernel.syscall_path",
                entry=format_hex(entry.address),
                do_syscall=format_hex(do_syscall.address),
                via=via,
            )
        )
    missing = [s.name for s in summary.symbols if s.type is None]
    if summary.kallsyms_hidden:
        missing = []
    if missing and not summary.kallsyms_error:
        kallsyms_all = next((f.value for f in summary.config if f.option == "CONFIG_KALLSYMS_ALL"), None)
        out.sentence(
            say("kernel.kallsyms_missing", missing=", ".join(missing), kallsyms_all=kallsyms_all or "unknown")
        )

    k = summary.kaslr
    print_heading("KASLR")
    print_fields(
        [
            ("_text at run time", "-" if k.runtime_text is None else format_hex(k.runtime_text)),
            ("_text link address", "-" if k.link_text is None else format_hex(k.link_text)),
            ("offset", "unknown" if k.offset is None else format_hex(k.offset)),
            ("method", k.method),
        ]
    )
    randomize = "unknown" if k.randomize_base is None else ("y" if k.randomize_base else "n")
    if k.offset is None:
        out.sentence(say("kernel.kaslr.unknown", reason=k.unknown_reason))
    elif k.offset == 0 and k.randomize_base is False:
        out.sentence(say("kernel.kaslr.zero_off", link=format_hex(k.link_text or 0)))
    elif k.offset == 0:
        out.sentence(say("kernel.kaslr.zero", link=format_hex(k.link_text or 0), randomize=randomize))
    else:
        out.sentence(
            say(
                "kernel.kaslr.moved",
                offset=k.offset,
                offset_hex=format_hex(k.offset),
                link=format_hex(k.link_text or 0),
            )
        )
