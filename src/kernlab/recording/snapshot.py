"""What the recorder saves besides raw events: maps snapshots, binaries' build-ids, kallsyms.

Every value here is read from /proc or from the files themselves:

* /proc/<pid>/maps (copied verbatim), /proc/<pid>/comm, /proc/<pid>/exe, the fault counters
  minflt/majflt (fields 10 and 12 of /proc/<pid>/stat) and whether it still runs (field 3);
* the GNU build-id note (NT_GNU_BUILD_ID in a PT_NOTE segment) of each mapped executable file;
* the text symbols of /proc/kallsyms, so kernel addresses in the recording can be named later.
"""

from __future__ import annotations

import os
import re
import struct
import time
from collections.abc import Iterable
from pathlib import Path

from kernlab.recording.layout import Binary, MapsSnapshot, maps_path

NT_GNU_BUILD_ID = 3
PT_NOTE = 4
ELF_MAGIC = b"\x7fELF"


def _stat_faults(pid: int) -> tuple[int, int, int]:
    """(minflt, majflt, ppid) from /proc/<pid>/stat; zeros when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read()
    except OSError:
        return 0, 0, 0
    rest = text[text.rfind(b")") + 2 :].split()
    try:
        # After the comm: state(3) ppid(4) ... minflt(10) cminflt(11) majflt(12)
        return int(rest[7]), int(rest[9]), int(rest[1])
    except (IndexError, ValueError):
        return 0, 0, 0


def read_comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def read_exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def read_argv(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]] if raw else []


def take_maps_snapshot(root: Path, pid: int, seq: int, when: str) -> MapsSnapshot | None:
    """Copy /proc/<pid>/maps into the recording; None when the process is already gone."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    target = maps_path(root, pid, seq, when)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    minflt, majflt, _ = _stat_faults(pid)
    return MapsSnapshot(
        pid=pid,
        when=when,
        path=str(target.relative_to(root)),
        comm=read_comm(pid),
        exe=read_exe(pid),
        minflt=minflt,
        majflt=majflt,
        time_ns=time.monotonic_ns(),
    )


def process_faults(pid: int) -> tuple[int, int]:
    minflt, majflt, _ = _stat_faults(pid)
    return minflt, majflt


def process_ppid(pid: int) -> int:
    return _stat_faults(pid)[2]


def process_running(pid: int) -> bool:
    """False once ``pid`` is gone or a zombie (its parent, not us, may reap it much later)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state not in (b"Z", b"X")


def read_build_id(path: str) -> str:
    """The GNU build-id of an ELF file as hex, or "" when it has none or is not ELF."""
    try:
        with open(path, "rb") as fh:
            ident = fh.read(64)
            if len(ident) < 52 or ident[:4] != ELF_MAGIC:
                return ""
            is64 = ident[4] == 2
            end = "<" if ident[5] == 1 else ">"
            if is64:
                phoff, phentsize, phnum = (
                    struct.unpack_from(end + "Q", ident, 32)[0],
                    *struct.unpack_from(end + "HH", ident, 54),
                )
            else:
                phoff, phentsize, phnum = (
                    struct.unpack_from(end + "I", ident, 28)[0],
                    *struct.unpack_from(end + "HH", ident, 42),
                )
            if phnum == 0 or phentsize == 0 or phnum > 4096:
                return ""
            fh.seek(phoff)
            table = fh.read(phentsize * phnum)
            for i in range(phnum):
                entry = table[i * phentsize : (i + 1) * phentsize]
                if len(entry) < (56 if is64 else 32):
                    break
                if struct.unpack_from(end + "I", entry, 0)[0] != PT_NOTE:
                    continue
                if is64:
                    offset, filesz = (
                        struct.unpack_from(end + "Q", entry, 8)[0],
                        struct.unpack_from(end + "Q", entry, 32)[0],
                    )
                else:
                    offset, filesz = (
                        struct.unpack_from(end + "I", entry, 4)[0],
                        struct.unpack_from(end + "I", entry, 16)[0],
                    )
                fh.seek(offset)
                found = _find_build_id(fh.read(min(filesz, 1 << 16)), end)
                if found:
                    return found
    except (OSError, struct.error):
        return ""
    return ""


def _find_build_id(notes: bytes, end: str) -> str:
    pos = 0
    while pos + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from(end + "III", notes, pos)
        pos += 12
        name = notes[pos : pos + namesz]
        pos += (namesz + 3) & ~3
        desc = notes[pos : pos + descsz]
        pos += (descsz + 3) & ~3
        if ntype == NT_GNU_BUILD_ID and name.rstrip(b"\0") == b"GNU":
            return desc.hex()
    return ""


def executable_paths(maps_text: str) -> list[str]:
    """Files mapped with execute permission in a /proc/<pid>/maps text, in order of appearance."""
    seen: dict[str, None] = {}
    for line in maps_text.split("\n"):  # only "\n" ends a maps line (a name may hold \x85)
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and "x" in parts[1] and parts[5].startswith("/"):
            path = parts[5]
            if not path.endswith(" (deleted)"):
                seen.setdefault(path, None)
    return list(seen)


def describe_binaries(paths: Iterable[str]) -> list[Binary]:
    """Build-id, size and mtime of each file (files that vanished are skipped)."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        out.append(Binary(path=path, build_id=read_build_id(path), size=st.st_size, mtime_ns=st.st_mtime_ns))
    return out


# "ffffffff81000000 T _stext [module]": code symbols only (types t, T, w, W).
_TEXT_SYMBOL = re.compile(rb"^[0-9a-fA-F]+ [tTwW] [^\n]*\n", re.M)


def save_kernel_text_symbols(target: Path, source: str = "/proc/kallsyms") -> int:
    """Copy the code symbols of kallsyms (types t, T, w, W) to ``target``; return how many.

    Kernel addresses in events (fault ips, stack traces) point into code, so data symbols are
    left out; the lines keep kallsyms' own format (``address type name [module]``).
    Returns 0 when kallsyms is unreadable or its addresses are hidden (all zero).
    """
    try:
        with open(source, "rb") as fh:
            data = fh.read()
    except OSError:
        return 0
    kept = _TEXT_SYMBOL.findall(data)
    if not kept or all(not line[: line.find(b" ")].strip(b"0") for line in kept[:50]):
        return 0
    target.write_bytes(b"".join(kept))
    return len(kept)
