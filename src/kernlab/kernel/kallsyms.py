"""The kernel's symbol table as /proc/kallsyms shows it.

Each line is ``address type name [module]``; the type letter is nm's (T/t text, D/d data,
R/r read-only data, B/b bss, W weak). When ``/proc/sys/kernel/kptr_restrict`` hides pointers
(kptr_restrict=2, or 1 without CAP_SYSLOG) every address reads as zero: that is detected and
reported rather than shown as if the kernel lived at address 0. Data symbols such as
``sys_call_table`` are listed only when the kernel was built with CONFIG_KALLSYMS_ALL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from kernlab.errors import BadInput, NotSupported
from kernlab.fileio import file_error

KALLSYMS = "/proc/kallsyms"

_LINE = re.compile(r"^([0-9a-fA-F]+) (\w) (\S+)(?:\s+\[(\S+)\])?\s*$", re.M)

# nm's type letters; upper case is global, lower case local.
SYMBOL_TYPES: dict[str, str] = {
    "t": "code (text)",
    "d": "initialised data",
    "r": "read-only data",
    "b": "zero-initialised data (bss)",
    "w": "weak symbol",
    "v": "weak object",
    "a": "absolute value",
    "u": "undefined",
}


@dataclass(slots=True)
class KallsymsEntry:
    """One line of /proc/kallsyms."""

    address: int
    type: str  # nm's letter: T, t, D, d, R, r, B, b, W, ...
    name: str
    module: str | None  # for symbols of loaded modules ("[ext4]" -> "ext4")

    @property
    def is_global(self) -> bool:
        return self.type.isupper()

    @property
    def kind(self) -> str:
        return SYMBOL_TYPES.get(self.type.lower(), "other")


@dataclass
class Kallsyms:
    """Every symbol of /proc/kallsyms, with an index by name."""

    path: str
    entries: list[KallsymsEntry]
    hidden: bool  # every address is 0: kptr_restrict hides them from this user
    _by_name: dict[str, list[KallsymsEntry]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in self.entries:
            self._by_name.setdefault(entry.name, []).append(entry)

    def get(self, name: str) -> KallsymsEntry | None:
        """The symbol called ``name`` (a global one when several share the name), or None."""
        found = self._by_name.get(name)
        if not found:
            return None
        return next((e for e in found if e.is_global), found[0])

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self.entries)


def _open_text(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read()
    except OSError as exc:
        raise file_error(exc, path, "a kallsyms file", missing=_kallsyms_missing) from exc


def _kallsyms_missing(path: str) -> NotSupported:
    if path == KALLSYMS:
        return NotSupported(
            f"{path} does not exist (kernel built without CONFIG_KALLSYMS?)",
            key="errors.kernel.no_kallsyms",
            fields={"path": path},
        )
    return NotSupported(f"{path} does not exist", key="errors.kernel.missing", fields={"path": path})


def _parse_line(line: str) -> KallsymsEntry | None:
    parts = line.split()
    if len(parts) < 3:
        return None
    try:
        address = int(parts[0], 16)
    except ValueError:
        return None
    module = parts[3].strip("[]") if len(parts) > 3 else None
    return KallsymsEntry(address, parts[1], parts[2], module)


def read_kallsyms(path: str = KALLSYMS) -> Kallsyms:
    """All of /proc/kallsyms (about 120,000 lines: one read, one split per line)."""
    entries = [
        KallsymsEntry(int(address, 16), kind, name, module or None)
        for address, kind, name, module in _LINE.findall(_kallsyms_text(path))
    ]
    if not entries:
        raise BadInput(
            f"{path} holds no symbol lines", path=path, key="errors.kernel.no_symbols", fields={"path": path}
        )
    hidden = all(e.address == 0 for e in entries)
    return Kallsyms(path, entries, hidden)


def lookup_kallsyms(names: Iterable[str], path: str = KALLSYMS) -> dict[str, KallsymsEntry | None]:
    """The entries for ``names`` (None for a name kallsyms lacks), from one read of the file.

    Faster than :func:`read_kallsyms` for a few names: each is found by a substring search for
    `` name`` at a line end instead of parsing every line.
    """
    wanted = set(names)
    text = _kallsyms_text(path)
    found: dict[str, KallsymsEntry | None] = dict.fromkeys(wanted)
    if len(wanted) > 64:
        for line in text.splitlines():
            # The name is the third field; test it before building a record.
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[2] in wanted:
                _keep_best(found, _parse_line(line))
        return found
    for name in wanted:
        for end in ("\n", "\t"):
            needle = f" {name}{end}"
            at = text.find(needle)
            while at >= 0:
                start = text.rfind("\n", 0, at) + 1
                stop = text.find("\n", at + 1)
                _keep_best(found, _parse_line(text[start : stop if stop >= 0 else len(text)]))
                at = text.find(needle, at + 1)
    return found


def _keep_best(found: dict[str, KallsymsEntry | None], entry: KallsymsEntry | None) -> None:
    """Keep the first entry of a name, or a global one over a local one."""
    if entry is None or entry.name not in found:
        return
    previous = found[entry.name]
    if previous is None or (entry.is_global and not previous.is_global):
        found[entry.name] = entry


def _kallsyms_text(path: str) -> str:
    # /proc/kallsyms is regenerated by the kernel on every read (~0.2 s for 120,000 lines);
    # within one command it is read once.
    if path == KALLSYMS:
        return _proc_kallsyms_text()
    return _open_text(path)


@lru_cache(maxsize=1)
def _proc_kallsyms_text() -> str:
    return _open_text(KALLSYMS)


def addresses_hidden(path: str = KALLSYMS, strict: bool = False) -> bool:
    """True when kallsyms shows every address as zero (kptr_restrict).

    Only the first lines are looked at: the kernel hides all addresses or none. With
    ``strict`` an unreadable file or one without symbol lines raises instead.
    """
    seen = 0
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            for _, line in zip(range(50), handle, strict=False):
                entry = _parse_line(line)
                if entry is None:
                    continue
                seen += 1
                if entry.address != 0:
                    return False
    except OSError:
        if strict:
            _open_text(path)  # raises the matching KernlabError
        return True
    except UnicodeDecodeError:
        pass
    if strict and not seen:
        raise BadInput(
            f"{path} holds no kallsyms lines (address type name)",
            path=path,
            key="errors.kernel.no_kallsyms_lines",
            fields={"path": path},
        )
    return True


KPTR_RESTRICT = "/proc/sys/kernel/kptr_restrict"


def read_kptr_restrict(path: str = KPTR_RESTRICT) -> int | None:
    """The kernel.kptr_restrict sysctl (0, 1 or 2), or None when it cannot be read.

    It decides whether kallsyms shows this user real addresses or zeros.
    """
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


PERF_EVENT_PARANOID = "/proc/sys/kernel/perf_event_paranoid"
CAP_SYSLOG = 34  # include/uapi/linux/capability.h
# The inode number of the initial user namespace (include/linux/proc_ns.h PROC_USER_INIT_INO):
# the kernel asks for CAP_SYSLOG there (security_capable(cred, &init_user_ns, ...)).
PROC_USER_INIT_INO = 0xEFFFFFFD


@dataclass(frozen=True)
class KallsymsAccess:
    """Whether the kernel shows kallsyms addresses to this process, and why.

    kernel/kallsyms.c, kallsyms_show_value(), decides it once, when the file is opened, from the
    *opener's* credentials (file->f_cred): with kptr_restrict 0 every reader sees addresses
    while perf_event_paranoid is 1 or less (kallsyms_for_perf()); otherwise, and always with
    kptr_restrict 1, only a reader with CAP_SYSLOG in the initial user namespace does; with
    kptr_restrict 2 nobody does.
    """

    kptr_restrict: int | None
    perf_event_paranoid: int | None
    cap_syslog: bool | None  # CAP_SYSLOG in this process's effective set
    init_user_ns: bool | None  # this process is in the initial user namespace
    shown: bool | None  # what the rule above predicts for this process; None when unknowable
    cause: str  # shown_to_all, shown_cap_syslog, paranoid_no_syslog, kptr1_no_syslog, kptr2,
    # syslog_in_userns, unknown


def _read_int(path: str) -> int | None:
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _effective_caps(status: str = "/proc/self/status") -> int | None:
    try:
        with open(status) as handle:
            for line in handle:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return None


def _in_init_user_ns() -> bool | None:
    try:
        link = os.readlink("/proc/self/ns/user")
    except OSError:
        return None
    return link == f"user:[{PROC_USER_INIT_INO}]"


def kallsyms_access(
    kptr_restrict: int | None = None,
    perf_event_paranoid: int | None = None,
    cap_syslog: bool | None = None,
    init_user_ns: bool | None = None,
) -> KallsymsAccess:
    """Apply kallsyms_show_value() to this process (or to the figures given, for other cases)."""
    kptr = read_kptr_restrict() if kptr_restrict is None else kptr_restrict
    paranoid = _read_int(PERF_EVENT_PARANOID) if perf_event_paranoid is None else perf_event_paranoid
    if cap_syslog is None:
        caps = _effective_caps()
        cap_syslog = None if caps is None else bool(caps >> CAP_SYSLOG & 1)
    userns = _in_init_user_ns() if init_user_ns is None else init_user_ns
    syslog_counts = None if cap_syslog is None or userns is None else cap_syslog and userns

    def verdict(shown: bool | None, cause: str) -> KallsymsAccess:
        return KallsymsAccess(kptr, paranoid, cap_syslog, userns, shown, cause)

    if kptr is None:
        return verdict(None, "unknown")
    if kptr >= 2:
        return verdict(False, "kptr2")
    if kptr == 0 and paranoid is not None and paranoid <= 1:
        return verdict(True, "shown_to_all")
    if kptr == 0 and paranoid is None:
        return verdict(None, "unknown")
    if syslog_counts is None:
        return verdict(None, "unknown")
    if syslog_counts:
        return verdict(True, "shown_cap_syslog")
    if cap_syslog:
        return verdict(False, "syslog_in_userns")
    return verdict(False, "paranoid_no_syslog" if kptr == 0 else "kptr1_no_syslog")
