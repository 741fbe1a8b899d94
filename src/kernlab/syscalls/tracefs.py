"""What the running kernel says about its system calls through tracefs.

With CONFIG_FTRACE_SYSCALLS every system call defined with SYSCALL_DEFINEn has two trace events,
``events/syscalls/sys_enter_<name>`` and ``sys_exit_<name>``; the enter event's ``format`` file
lists the arguments with their C types, in order, after the ``__syscall_nr`` field. The names are
the SYSCALL_DEFINE names (``newstat`` for stat on x86_64), which are also the table's entry names
without ``sys_``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import NotSupported, PermissionNeeded

TRACEFS_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")

_FIELD = re.compile(
    r"^\s*field:(?P<decl>[^;]+);\s*offset:(?P<offset>\d+);\s*size:(?P<size>\d+);\s*signed:(?P<signed>\d)"
)


@dataclass(frozen=True)
class Argument:
    """One argument of a system call, from ``events/syscalls/sys_enter_<name>/format``."""

    position: int  # 0-based: the register it arrives in (rdi, rsi, rdx, r10, r8, r9 on x86_64)
    name: str
    type: str  # the C type as the format file writes it ("const char *")
    size: int  # bytes in the trace record
    signed: bool


def find_tracefs() -> Path:
    """The tracefs mount point; NotSupported naming the tried places when there is none."""
    for candidate in TRACEFS_CANDIDATES:
        if os.path.isdir(os.path.join(candidate, "events")):
            return Path(candidate)
    raise NotSupported(
        f"tracefs is not mounted at {' or '.join(TRACEFS_CANDIDATES)} "
        "(mount it with: mount -t tracefs nodev /sys/kernel/tracing)"
    )


def _syscalls_dir(root: Path | None) -> Path:
    base = (root or find_tracefs()) / "events" / "syscalls"
    try:
        if not base.is_dir():
            raise NotSupported(f"{base} does not exist: this kernel lacks CONFIG_FTRACE_SYSCALLS")
    except PermissionError:
        raise PermissionNeeded(f"cannot read {base}: tracefs needs root") from None
    return base


def parse_event_format(text: str) -> list[Argument]:
    """Arguments from a sys_enter format file: the fields after ``__syscall_nr``."""
    args: list[Argument] = []
    seen_nr = False
    for line in text.splitlines():
        match = _FIELD.match(line)
        if not match:
            continue
        decl = match["decl"].strip()
        # The field name is the last identifier of the declaration ("const char * oldname").
        name_match = re.search(r"(\w+)\s*(\[[^\]]*\])?$", decl)
        if name_match is None:
            continue
        name = name_match[1]
        if name == "__syscall_nr":
            seen_nr = True
            continue
        if not seen_nr:
            continue  # common_* header fields
        ctype = decl[: name_match.start()].strip()
        args.append(Argument(len(args), name, ctype, int(match["size"]), match["signed"] == "1"))
    return args


def arguments_from_tracefs(name: str, root: Path | None = None) -> list[Argument]:
    """Argument names and types of system call ``name`` (a SYSCALL_DEFINE name: ``rename``).

    Raises NotSupported when tracefs or the event is missing, PermissionNeeded when unreadable.
    """
    path = _syscalls_dir(root) / f"sys_enter_{name}" / "format"
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise NotSupported(f"the running kernel has no trace event sys_enter_{name} ({path})") from None
    except PermissionError:
        raise PermissionNeeded(f"cannot read {path}: tracefs needs root") from None
    except OSError as exc:
        raise NotSupported(f"cannot read {path}: {exc.strerror}") from None
    return parse_event_format(text)


def syscall_names_in_running_kernel(root: Path | None = None) -> set[str]:
    """SYSCALL_DEFINE names the running kernel has trace events for (``sys_enter_<name>``)."""
    base = _syscalls_dir(root)
    try:
        entries = os.listdir(base)
    except PermissionError:
        raise PermissionNeeded(f"cannot list {base}: tracefs needs root") from None
    return {e[len("sys_enter_") :] for e in entries if e.startswith("sys_enter_")}
