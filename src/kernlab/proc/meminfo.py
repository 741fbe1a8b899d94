"""/proc/meminfo: the kernel's memory counters (``meminfo_proc_show`` in fs/proc/meminfo.c).

Each line is ``Name: value [kB]``; most values are pages the kernel counts, shown in KiB. A saved
copy of the file reads the same way, so tests can feed free(1) and kernlab identical numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kernlab.errors import BadInput, NotSupported, OSFailure, PermissionNeeded
from kernlab.fileio import stat_regular_file

MEMINFO_PATH = "/proc/meminfo"
MAX_MEMINFO_BYTES = 1 << 20  # the real file is ~1.5 KiB; anything this large is not meminfo


@dataclass(frozen=True)
class MeminfoField:
    """One line of /proc/meminfo."""

    name: str  # exactly as the kernel spells it: "MemTotal", "Active(anon)", "HugePages_Total"
    value: int
    unit: str  # "kB", or "" for counts such as HugePages_Total


@dataclass(frozen=True)
class Meminfo:
    """One read of /proc/meminfo (or a saved copy), fields in file order."""

    source: str
    fields: tuple[MeminfoField, ...]
    values: dict[str, int] = field(default_factory=dict)  # name -> value, for lookups

    def get(self, name: str, default: int = 0) -> int:
        """The value of ``name`` (KiB for kB fields); ``default`` when this kernel lacks it."""
        return self.values.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self.values


def parse_meminfo(text: str, source: str = MEMINFO_PATH) -> Meminfo:
    """Parse the text of /proc/meminfo; BadInput when it has no MemTotal line."""
    fields: list[MeminfoField] = []
    for line in text.splitlines():
        name, colon, rest = line.partition(":")
        parts = rest.split()
        if not colon or not parts or not name or " " in name:
            continue
        try:
            value = int(parts[0])
        except ValueError:
            continue
        fields.append(MeminfoField(name, value, parts[1] if len(parts) > 1 else ""))
    values = {f.name: f.value for f in fields}
    if "MemTotal" not in values:
        raise BadInput(
            f"{source} has no MemTotal line: it is not a copy of /proc/meminfo",
            key="errors.proc.no_memtotal",
            fields={"path": source},
        )
    return Meminfo(source, tuple(fields), values)


def _read_regular_text(path: str) -> str:
    """Read a small text file, refusing directories, FIFOs and devices before open() can block."""
    stat_regular_file(path, "a copy of /proc/meminfo")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_MEMINFO_BYTES + 1)
    except PermissionError as exc:
        raise PermissionNeeded(
            f"{path}: permission denied",
            path=path,
            key="errors.proc.permission_denied",
            fields={"path": path},
        ) from exc
    except OSError as exc:
        raise BadInput(
            f"{path}: {exc.strerror}",
            path=path,
            key="errors.os_error",
            fields={"path": path, "reason": exc.strerror},
        ) from exc
    if len(data) > MAX_MEMINFO_BYTES:
        raise BadInput(
            f"{path} is larger than 1 MiB: it is not a copy of /proc/meminfo",
            path=path,
            key="errors.proc.meminfo_too_large",
            fields={"path": path},
        )
    return data.decode("utf-8", "replace")


def read_meminfo(path: str | Path | None = None) -> Meminfo:
    """Read /proc/meminfo once (or the saved copy at ``path``)."""
    if path is None:
        try:
            with open(MEMINFO_PATH, "rb") as handle:
                text = handle.read().decode("ascii", "replace")
        except FileNotFoundError as exc:
            raise NotSupported(
                f"{MEMINFO_PATH} does not exist (is /proc mounted?)",
                key="errors.proc.no_proc",
                fields={"path": MEMINFO_PATH},
            ) from exc
        except OSError as exc:
            raise OSFailure(
                f"cannot read {MEMINFO_PATH}: {exc.strerror}",
                path=MEMINFO_PATH,
                key="errors.proc.cannot_read",
                fields={"path": MEMINFO_PATH, "reason": exc.strerror},
            ) from exc
        return parse_meminfo(text, MEMINFO_PATH)
    name = str(path)
    return parse_meminfo(_read_regular_text(name), name)
