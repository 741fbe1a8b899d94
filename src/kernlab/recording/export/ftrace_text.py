"""Render a recording in ftrace's text form, the lines ``cat trace`` prints.

Each line is the kernel's context prefix (``trace_print_context()``: comm-pid, [cpu], the
irq/preempt flags, seconds.microseconds) then ``event: `` and the event's text, rendered from
the event's own ``print fmt``: its argument expressions are evaluated by
:mod:`kernlab.recording.export.printfmt` (casts, arithmetic, ternaries, ``__print_flags``,
``__print_symbolic``, ``__get_str``); an event whose print fmt leaves that subset falls back to
``field=value`` pairs. A uprobe event is printed as the kernel's ``print_uprobe_event()`` prints
it, not as its print fmt says: ``(0x<address>)`` for an entry probe and ``(0x<return address> <-
0x<function>)`` for a return probe (the print fmt has ``(%lx)`` and ``(%lx <- %lx)`` with the
function first), then the fetched arguments from the rest of the print fmt.

The function probes' own buffer (``cpus/functions/``, recording/probe_buffer.py) holds the probe
hits of every process that ran the probed file: given :class:`ProbeRecords`, the records of the
traced tasks are merged by time stamp with the recording's own, as `cat trace` of both instances
sorted by time would show them.
"""

from __future__ import annotations

import heapq
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kernlab.recording.export.printfmt import Unsupported, compile_argument
from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.reader import Event, Recording
from kernlab.tracing.formats import EventFormat
from kernlab.tracing.ringbuf import CpuEvents

# common_flags bits (enum trace_flag_type, kernel/trace/trace.h) -> the letters trace prints
IRQS_OFF = 0x01
NEED_RESCHED_LAZY = 0x02  # Linux 6.13+ (TRACE_FLAG_IRQS_NOSUPPORT before, never set on x86/arm64)
NEED_RESCHED = 0x04
HARDIRQ = 0x08
SOFTIRQ = 0x10
PREEMPT_RESCHED = 0x20
NMI = 0x40
BH_OFF = 0x80

__all__ = ["ProbeRecords", "compile_printer", "flag_letters", "ftrace_lines", "kept_probe_records"]

PROBE_GROUPS = ("uprobes", "kernlab_")
"""Systems whose ``__probe_ip`` / ``__probe_func`` events are uprobes: the kernel's default group
and kernlab's own (a kprobe has the same fields but prints a kernel symbol)."""
_ENTRY_HEAD = ("(%lx)", ["REC->__probe_ip"])
_RETURN_HEAD = ("(%lx <- %lx)", ["REC->__probe_func", "REC->__probe_ret_ip"])


@dataclass(frozen=True)
class ProbeRecords:
    """The function probes' own buffer as the exports hold it: the records of ``tids`` (the
    traced tasks, :func:`kernlab.reports.replay.traced_tids`) only."""

    tids: frozenset[int]
    page_size: int = 0
    """That buffer's ring-buffer page size (``functions.json``); 0: the recording's."""
    name: str = "functions"
    """The buffer's role, the name trace.dat gives its second buffer."""


def kept_probe_records(rec: Recording, probes: ProbeRecords) -> list[tuple[CpuEvents, list[int]]]:
    """Each CPU of the probe buffer with the indices of its records that ``probes`` keeps."""
    out: list[tuple[CpuEvents, list[int]]] = []
    cpus = rec.probe_events(probes.page_size)
    if not cpus:
        return out
    any_fmt = next(iter(rec.formats.values()))
    pid_field = any_fmt.field("common_pid")
    word = struct.Struct(("<" if any_fmt.endian == "<" else ">") + "i")
    need = pid_field.offset + 4
    tids = probes.tids
    for cpu in cpus:
        raw, offsets, lengths = cpu.raw, cpu.offsets, cpu.lengths
        kept = [
            i
            for i in range(len(cpu))
            if lengths[i] >= need and word.unpack_from(raw, offsets[i] + pid_field.offset)[0] in tids
        ]
        out.append((cpu, kept))
    return out


def _probe_events(rec: Recording, probes: ProbeRecords) -> Iterator[Event]:
    """The kept probe records as :class:`Event`, in time order over every CPU."""

    def one(cpu: CpuEvents, kept: list[int]) -> Iterator[Event]:
        stamps, offsets = cpu.timestamps, cpu.offsets
        for i in kept:
            fmt = rec.formats.get(cpu.types[i])
            if fmt is None:
                yield Event(stamps[i], cpu.cpu, -1, f"unknown:{cpu.types[i]}", {})
                continue
            values = fmt.decode(cpu.raw, offsets[i], cpu.lengths[i])
            pid = values.get("common_pid")
            yield Event(stamps[i], cpu.cpu, pid if isinstance(pid, int) else -1, fmt.full_name, values)

    streams = [one(cpu, kept) for cpu, kept in kept_probe_records(rec, probes)]
    yield from heapq.merge(*streams, key=lambda e: (e.ts, e.cpu))


_SPEC = re.compile(
    r"%(?P<flags>[-+ #0]*)(?P<width>\d*)(?:\.(?P<prec>\d+))?"
    r"(?P<len>hh|h|ll|l|z|L)?(?P<conv>[diouxXcsp%])(?P<ext>[sSFfBR])?"
)


def _split_args(text: str) -> list[str]:
    args: list[str] = []
    current: list[str] = []
    depth, quote = 0, False
    for ch in text:
        if ch == '"':
            quote = not quote
        if not quote:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 0:
                args.append("".join(current).strip())
                current = []
                continue
        current.append(ch)
    if "".join(current).strip():
        args.append("".join(current).strip())
    return args


def _parse_print_fmt(print_fmt: str) -> tuple[str, list[str]] | None:
    """(format string, argument expressions) of a ``print fmt:`` value, or None."""
    pieces = []
    pos = 0
    text = print_fmt.strip()
    while pos < len(text) and text[pos] == '"':
        end = pos + 1
        while end < len(text) and (text[end] != '"' or text[end - 1] == "\\"):
            end += 1
        pieces.append(text[pos + 1 : end])
        pos = end + 1
        while pos < len(text) and text[pos] in " \t":
            pos += 1
    if not pieces:
        return None
    fmt = "".join(pieces).encode().decode("unicode_escape")
    rest = text[pos:].lstrip()
    args = _split_args(rest[1:]) if rest.startswith(",") else []
    return fmt, args


def compile_printer(fmt: EventFormat, ksyms: KernelSymbols) -> Callable[[dict[str, Any]], str]:
    """A function that renders one decoded record's text, from the event's print fmt."""
    parsed = _parse_print_fmt(fmt.print_fmt)

    def fallback(values: dict[str, Any]) -> str:
        return " ".join(
            f"{k}={v:#x}" if isinstance(v, int) and v > 0xFFFF else f"{k}={v}"
            for k, v in values.items()
            if not k.startswith("common_")
        )

    if parsed is None:
        return fallback
    text, args = parsed
    names = {f.name for f in fmt.fields}
    if fmt.system.startswith(PROBE_GROUPS):
        probe = _uprobe_printer(text, args, names, ksyms, fallback)
        if probe is not None:
            return probe
    return _fmt_printer(text, args, names, ksyms, fallback)


def _uprobe_printer(
    text: str,
    args: list[str],
    names: set[str],
    ksyms: KernelSymbols,
    fallback: Callable[[dict[str, Any]], str],
) -> Callable[[dict[str, Any]], str] | None:
    """print_uprobe_event() (kernel/trace/trace_uprobe.c): ``(0x%lx)`` of the probe's address, or
    ``(0x%lx <- 0x%lx)`` of the return address and the function, then the arguments as the rest
    of the print fmt has them; None when the print fmt does not start like a uprobe's."""
    head, head_args = next(
        ((h, a) for h, a in (_RETURN_HEAD, _ENTRY_HEAD) if text.startswith(h) and args[: len(a)] == a),
        ("", []),
    )
    if not head:
        return None
    rest = _fmt_printer(text[len(head) :], args[len(head_args) :], names, ksyms, fallback)
    # A return probe's record holds the function, then the return address; the kernel prints
    # them the other way round (vaddr[1] <- vaddr[0]).
    fields = [a.removeprefix("REC->") for a in reversed(head_args)]

    def render(values: dict[str, Any]) -> str:
        addresses = [values.get(f) for f in fields]
        if not all(isinstance(a, int) for a in addresses):
            return fallback(values)
        shown = " <- ".join(f"0x{a:x}" for a in addresses)
        return f"({shown}){rest(values)}"

    return render


def _fmt_printer(
    text: str,
    args: list[str],
    names: set[str],
    ksyms: KernelSymbols,
    fallback: Callable[[dict[str, Any]], str],
) -> Callable[[dict[str, Any]], str]:
    """The print fmt's format string ``text`` with its arguments ``args``, rendered."""
    try:
        getters = [compile_argument(arg, names) for arg in args]
    except (Unsupported, ValueError, IndexError):
        return fallback
    specs = [m for m in _SPEC.finditer(text) if m.group("conv") != "%"]
    if len(specs) != len(getters):
        return fallback

    def render(values: dict[str, Any]) -> str:
        out, last = [], 0
        for spec, get in zip(specs, getters, strict=True):
            out.append(text[last : spec.start()])
            last = spec.end()
            try:
                value = get(values)
            except (TypeError, ValueError, ZeroDivisionError):
                return fallback(values)  # a damaged record (a field missing): show what is there
            out.append(_convert(spec, value, ksyms))
        out.append(text[last:])
        return "".join(out).replace("%%", "%")

    return render


def _convert(spec: re.Match[str], value: Any, ksyms: KernelSymbols) -> str:
    conv, ext = spec.group("conv"), spec.group("ext")
    if value is None:
        return "?"
    if conv == "p":
        if ext in ("s", "S", "F", "f", "B", "R") and isinstance(value, int):
            name = ksyms.name(value)
            if name:
                return name.split("+")[0] if ext in ("s", "f") else name
            return f"{value:#x}"
        return f"{value:#x}" if isinstance(value, int) else str(value)
        # (pointer hashing of plain %p is a kernel privacy feature; a recording keeps the value)
    if conv == "s":
        return str(value)
    if not isinstance(value, int):
        return str(value)
    py = "%" + (spec.group("flags") or "") + (spec.group("width") or "")
    if spec.group("prec"):
        py += "." + spec.group("prec")
    bits = 64 if spec.group("len") in ("l", "ll", "z", "L") else 32
    if conv in "di":
        value &= (1 << bits) - 1
        if value >> (bits - 1):
            value -= 1 << bits
        return (py + "d") % value
    value &= (1 << bits) - 1
    if conv == "c":
        return chr(value & 0xFF)
    return (py + conv) % value


# (need_resched, need_resched_lazy, preempt_resched) -> the letter trace_print_lat_fmt() prints
_RESCHED = {
    (True, True, True): "B",
    (True, False, True): "N",
    (False, True, True): "L",
    (True, True, False): "b",
    (True, False, False): "n",
    (False, False, True): "p",
    (False, True, False): "l",
    (False, False, False): ".",
}


def flag_letters(flags: int, preempt: int) -> str:
    """The five lat-format letters: irqs-off, need-resched, hard/softirq, preempt depth, migrate."""
    irq = (
        "D"
        if flags & IRQS_OFF and flags & BH_OFF
        else "d"
        if flags & IRQS_OFF
        else "b"
        if flags & BH_OFF
        else "."
    )
    resched = _RESCHED[
        (bool(flags & NEED_RESCHED), bool(flags & NEED_RESCHED_LAZY), bool(flags & PREEMPT_RESCHED))
    ]
    hard, soft, nmi = flags & HARDIRQ, flags & SOFTIRQ, flags & NMI
    ctx = (
        "Z"
        if nmi and hard
        else "z"
        if nmi
        else "H"
        if hard and soft
        else "h"
        if hard
        else "s"
        if soft
        else "."
    )
    depth = preempt & 0xF
    migrate = (preempt >> 4) & 0xF
    return irq + resched + ctx + (f"{depth:x}" if depth else ".") + (f"{migrate:x}" if migrate else ".")


def ftrace_lines(rec: Recording, comms: dict[int, str], probes: ProbeRecords | None = None) -> Iterator[str]:
    """Every record of the recording as one (or, for stack traces, several) ftrace text lines;
    with ``probes``, the kept records of the function probes' own buffer merged in by time."""
    ksyms = KernelSymbols(rec.kallsyms_path)
    printers: dict[int, Callable[[dict[str, Any]], str]] = {}
    yield "# tracer: nop"
    yield "#"
    yield "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION"
    yield "#              | |         |   |||||     |         |"
    events: Iterator[Event] = rec.iter_events()
    if probes is not None:
        # heapq.merge is stable: at one time stamp the recording's own record comes first.
        events = heapq.merge(events, _probe_events(rec, probes), key=lambda e: e.ts)
    for event in events:
        values = event.fields
        pid = event.pid
        comm = "<idle>" if pid == 0 else comms.get(pid, "<...>")
        usecs = (event.ts + 500) // 1000
        prefix = (
            f"{comm:>16}-{pid:<7} [{event.cpu:03d}] "
            f"{flag_letters(values.get('common_flags', 0) or 0, values.get('common_preempt_count', 0) or 0)} "
            f"{usecs // 1_000_000:5d}.{usecs % 1_000_000:06d}: "
        )
        name = event.name.split(":", 1)[1]
        if name == "kernel_stack":
            yield prefix + "<stack trace>"
            for addr in values.get("caller", [])[: values.get("size", 0) or None]:
                yield f" => {ksyms.name(addr) or hex(addr)}".split("+")[0]
            continue
        type_id = values.get("common_type", -1)
        printer = printers.get(type_id)
        if printer is None:
            fmt = rec.formats.get(type_id)
            printer = compile_printer(fmt, ksyms) if fmt else (lambda v: "")
            printers[type_id] = printer
        if event.name == "ftrace:print":
            # trace_print_print() shows a trace_marker line without the event's name, and the
            # kernel stored the line with its newline: one text line, as `cat trace` prints it.
            yield prefix + printer(values).rstrip("\n")
            continue
        yield f"{prefix}{name}: {printer(values)}"
