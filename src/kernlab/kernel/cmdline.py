"""The kernel command line (/proc/cmdline) and the boot parameters kernlab reads from it."""

from __future__ import annotations

from dataclasses import dataclass

CMDLINE = "/proc/cmdline"
# mm/mmap.c (6.1; mm/vma.c later): ``unsigned long stack_guard_gap = 256UL<<PAGE_SHIFT;``
DEFAULT_STACK_GUARD_GAP_PAGES = 256


def read_cmdline(path: str = CMDLINE) -> str | None:
    """The command line the kernel booted with, or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


@dataclass(frozen=True)
class StackGuardGap:
    """The gap the kernel keeps between a stack growing down and the mapping below it."""

    pages: int
    bytes: int
    from_cmdline: bool  # booted with stack_guard_gap=N; else the default of 256 pages
    cmdline_read: bool  # /proc/cmdline could be read (else the default is assumed)


def stack_guard_gap(page_size: int, cmdline: str | None = None) -> StackGuardGap:
    """``stack_guard_gap=N`` (pages) from the command line, as cmdline_parse_stack_guard_gap()
    takes it: simple_strtoul(p, &endptr, 10) and used only when the whole value is a number.

    Only the kernel's own parameters count: those after a bare ``--`` go to init.
    """
    text = read_cmdline() if cmdline is None else cmdline
    pages, found = DEFAULT_STACK_GUARD_GAP_PAGES, False
    for word in (text or "").split():
        if word == "--":
            break
        key, sep, value = word.partition("=")
        if sep and key == "stack_guard_gap" and value.isdigit():
            pages, found = int(value), True  # the last one wins, as __setup handlers run in order
    return StackGuardGap(pages, pages * page_size, found, text is not None)
