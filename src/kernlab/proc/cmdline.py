"""/proc/PID/cmdline: the argument vector as the process last left it (``get_mm_cmdline``)."""

from __future__ import annotations

from kernlab.errors import KernlabError
from kernlab.proc.errors import read_proc_text


def read_cmdline(pid: int) -> str:
    """The arguments joined by spaces, control characters shown as spaces (as pmap prints them).

    Empty for kernel threads and zombies, and when the process exited or cannot be read.
    """
    try:
        raw = read_proc_text(pid, "cmdline")
    except KernlabError:
        return ""
    return "".join(" " if (c < " " or c == "\x7f") else c for c in raw.rstrip("\0"))
