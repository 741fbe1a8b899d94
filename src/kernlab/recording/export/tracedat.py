"""Write a recording as a trace-cmd ``trace.dat`` file, version 6.

Version 6 (described in the trace-cmd.dat.v6(5) man page) is the simplest layout every
trace-cmd and KernelShark still reads: a header with the ring-buffer page and event-header
descriptions, every event format, kallsyms, printk formats and saved cmdlines, then each CPU's
raw ring-buffer pages exactly as ``trace_pipe_raw`` gave them, page aligned ("flyrecord").
Numbers are little-endian here, matching the x86_64/arm64 recordings kernlab makes; the file's
endian byte says so.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from kernlab.errors import BadInput
from kernlab.recording import layout
from kernlab.recording.export.atomic import atomic_output
from kernlab.recording.reader import FileDamage, Recording
from kernlab.recording.state import Completeness
from kernlab.tracing import tracefs
from kernlab.tracing.formats import EventFormat

MAGIC = b"\x17\x08\x44tracing"
VERSION = b"6\0"
FLYRECORD = b"flyrecord\0"
OPTIONS = b"options  \0"
OPTION_DONE = 0
# trace-cmd's TRACECMD_OPTION_TRACECLOCK: lets `trace-cmd report` print the clock's name.
OPTION_TRACECLOCK = 4

__all__ = ["TraceDatResult", "build_header", "write_trace_dat"]


@dataclass(frozen=True)
class TraceDatResult:
    """What went into the written file."""

    path: str
    size: int
    cpus: int
    formats: int
    events: int
    notes: list[str] = field(default_factory=list)
    completeness: Completeness | None = None
    """Whether the recording exported was complete (cut short: why, and the span)."""
    damage: list[FileDamage] = field(default_factory=list)
    """Raw files that could not be read whole (their pages are copied as they are)."""


def _read_optional(root: Path, name: str) -> bytes | None:
    try:
        return (root / name).read_bytes()
    except OSError:
        return None


def build_header(rec: Recording, notes: list[str]) -> bytes:
    """Everything before the CPU offsets table, ending with the number of CPUs."""
    u32 = struct.Struct("<I").pack
    u64 = struct.Struct("<Q").pack
    parts: list[bytes] = [MAGIC, VERSION]
    long_size = 8 if rec.header.commit_size == 8 else 4
    parts.append(bytes([0, long_size]))
    parts.append(u32(rec.page_size))
    header_page = rec.header.text.encode()
    parts += [b"header_page\0", u64(len(header_page)), header_page]
    header_event = _read_optional(rec.root, layout.HEADER_EVENT) or b""
    parts += [b"header_event\0", u64(len(header_event)), header_event]
    ftrace = [f for f in rec.formats.values() if f.system == "ftrace"]
    others: dict[str, list[EventFormat]] = {}
    for fmt in sorted(rec.formats.values(), key=lambda f: (f.system, f.id)):
        if fmt.system != "ftrace":
            others.setdefault(fmt.system, []).append(fmt)
    parts.append(u32(len(ftrace)))
    for fmt in sorted(ftrace, key=lambda f: f.id):
        text = fmt.text.encode()
        parts += [u64(len(text)), text]
    parts.append(u32(len(others)))
    for system, fmts in others.items():
        parts += [system.encode() + b"\0", u32(len(fmts))]
        for fmt in fmts:
            text = fmt.text.encode()
            parts += [u64(len(text)), text]
    kallsyms = _read_optional(rec.root, layout.KALLSYMS) or b""
    parts += [u32(len(kallsyms)), kallsyms]
    printk = _read_optional(rec.root, layout.PRINTK_FORMATS)
    if printk is None:
        # An older recording: this machine's table, which the dump's sentence owns up to.
        printk = tracefs.read_live_file("printk_formats") or b""
        notes.append("printk_formats")
    parts += [u32(len(printk)), printk]
    cmdlines = _read_optional(rec.root, layout.SAVED_CMDLINES) or _cmdlines_from_meta(rec)
    parts += [u64(len(cmdlines)), cmdlines]
    return b"".join(parts)


def _cmdlines_from_meta(rec: Recording) -> bytes:
    names = {p.pid: p.comm for p in rec.meta.processes if p.comm}
    names.update({m.pid: m.comm for m in rec.meta.maps if m.comm})
    return "".join(f"{pid} {comm}\n" for pid, comm in sorted(names.items())).encode()


def write_trace_dat(rec: Recording, path: Path) -> TraceDatResult:
    """Write ``rec`` to ``path`` as trace.dat v6; BadInput when the path cannot be written."""
    notes: list[str] = []
    header = build_header(rec, notes)
    cpu_files = dict(rec.cpu_files())
    ncpus = (max(cpu_files) + 1) if cpu_files else 0
    clock = (rec.meta.clock or "local").encode()
    # TRACECLOCK option: the clock list as trace_clock prints it, the chosen one in brackets.
    clock_opt = struct.pack("<HI", OPTION_TRACECLOCK, len(clock) + 3) + b"[" + clock + b"]\0"
    prefix = (
        header + struct.pack("<I", ncpus) + OPTIONS + clock_opt + struct.pack("<H", OPTION_DONE) + FLYRECORD
    )
    table_size = 16 * ncpus
    page = rec.page_size
    position = len(prefix) + table_size
    sizes = []
    for cpu in range(ncpus):
        p = cpu_files.get(cpu)
        # Whole pages only: a torn last page (a crash, a full disk) would be misread as one.
        sizes.append(p.stat().st_size // page * page if p is not None else 0)
    offsets = []
    for size in sizes:
        position = (position + page - 1) // page * page
        offsets.append(position)
        position += size
    table = b"".join(struct.pack("<QQ", o, s) for o, s in zip(offsets, sizes, strict=True))
    target = Path(path)
    with atomic_output(target, "the trace.dat", binary=True) as fh:
        fh.write(prefix + table)
        for cpu, (offset, size) in enumerate(zip(offsets, sizes, strict=True)):
            fh.write(b"\0" * (offset - fh.tell()))
            if size:
                try:
                    with open(cpu_files[cpu], "rb") as src:
                        left = size
                        while left and (chunk := src.read(min(1 << 20, left))):
                            fh.write(chunk)
                            left -= len(chunk)
                except OSError as exc:  # a source that cannot be read is not the target's fault
                    raise BadInput(
                        f"cannot read {cpu_files[cpu]}: {exc.strerror or exc}",
                        key="errors.recording.cannot_read",
                        fields={"path": str(cpu_files[cpu]), "reason": exc.strerror or str(exc)},
                    ) from exc
        total = fh.tell()
    return TraceDatResult(
        path=os.fspath(target),
        size=total,
        cpus=ncpus,
        formats=len(rec.formats),
        events=rec.event_total,
        notes=notes,
        completeness=rec.completeness(),
        damage=rec.damage(),
    )
