"""`kernlab syscall NAME|NUMBER`, `kernlab syscall --list`: system-call numbers and entry points."""

from __future__ import annotations

from contextlib import nullcontext

import click

from kernlab.cli.common import Output, examples, output_options

ARCH_CHOICES = ("x86_64", "x32", "i386", "aarch64", "arm64", "riscv64", "arm")


@click.command(
    "syscall",
    epilog=examples(
        "kernlab syscall rename               number 82 (0x52), __x64_sys_rename, arguments",
        "kernlab syscall 0x52                 the same call, by number",
        "kernlab syscall rename --libc        libc's wrapper: mov $0x52,%eax; syscall",
        "kernlab syscall --list               the whole table, and calls newer than it",
        "kernlab syscall --list --arch aarch64",
        "kernlab syscall --errno ENOENT       what a failed call returns: -2",
    ),
)
@click.argument("call", required=False)
@click.option("--list", "list_all", is_flag=True, help="List every system call of the table.")
@click.option(
    "--arch",
    type=click.Choice(ARCH_CHOICES, case_sensitive=False),
    default=None,
    help="Table to use (default: this machine's).",
)
@click.option("--libc", "show_libc", is_flag=True, help="Disassemble libc's wrapper for the call.")
@click.option("--libc-path", default=None, help="Use this libc.so.6 instead of the one /bin/sh loads.")
@click.option("--errno", "errno_key", default=None, help="Explain an error number or name (2, ENOENT).")
@output_options
def syscall(
    call: str | None,
    list_all: bool,
    arch: str | None,
    show_libc: bool,
    libc_path: str | None,
    errno_key: str | None,
    out: Output,
) -> None:
    """A system call by NAME or NUMBER (decimal or 0x hex): its number, the kernel function
    that serves it and whether this kernel's kallsyms has it, its arguments from the running
    kernel's trace event format, and with --libc the libc instructions that make the call."""
    from kernlab.render.progress import progress
    from kernlab.render.views import syscall as view
    from kernlab.reports import syscall as reports

    # The slow parts: every kallsyms line and tracefs event, or disassembling libc.
    doing = (
        "Reading kallsyms and tracefs" if list_all else f"Disassembling libc's {call}" if show_libc else None
    )
    with progress(doing) if doing else nullcontext():
        report = reports.build(
            call,
            list_all=list_all,
            arch=arch,
            show_libc=show_libc,
            libc_path=libc_path,
            errno_key=errno_key,
        )
    out.emit(report, view.show)
