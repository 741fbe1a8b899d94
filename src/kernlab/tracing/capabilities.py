"""What this kernel and this user allow for tracing, each found by trying it.

A tracefs file can exist and still refuse a write (the function tracer and set_ftrace_filter do
on kernels locked down by a security policy), so every probe here makes the real request —
enable an event, add a probe, load a BPF program, open a perf event — and undoes it at once.
Probes work in a private instance or with kernlab-named probes, never on global settings.

These are the tracing facts only; ``kernlab doctor`` (:mod:`kernlab.reports.doctor`) adds the
probes of other layers (ptrace, BTF, /proc files) and decides whether recording can work.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import KernlabError, NotSupported, PermissionNeeded
from kernlab.libc import libc
from kernlab.tracing.instance import Instance, owner_tag
from kernlab.tracing.toplevel import TopLevelBusy, top_level_changes
from kernlab.tracing.tracefs import available_events, read_text, tracefs_root, try_write

__all__ = [
    "Capability",
    "EventGroup",
    "TracingProbes",
    "bpf_load",
    "elf_entry_offset",
    "guarded",
    "perf_event_open",
    "probe_bpf",
    "probe_bpf_fentry",
    "probe_paranoid",
    "probe_perf_callchain",
    "probe_tracing",
    "why_refused",
]


@dataclass(frozen=True)
class Capability:
    """One feature, whether it works here, why (or why not), and what kernlab gets from it."""

    name: str
    ok: bool
    detail: str
    enables: tuple[str, ...] = ()
    area: str = "tracing"
    in_instance: bool | None = None
    """Works inside a private tracefs instance (None: not a question for this feature)."""
    top_level: bool | None = None
    """Works at the top level of tracefs (None: not tried, e.g. because an instance sufficed)."""


@dataclass(frozen=True)
class EventGroup:
    """Events tried together (``system:event``, or ``system:*`` for one event of the system)."""

    name: str
    specs: tuple[str, ...]
    enables: tuple[str, ...]


@dataclass(frozen=True)
class TracingProbes:
    """What the tracefs probes found."""

    capabilities: tuple[Capability, ...]
    tracefs: str  # "" when tracefs could not be found
    failure: str  # why tracefs or its instances are unusable ("" when they work)


def why_refused(exc: OSError | None) -> str:
    """The word "works", or the errno the kernel answered a probe with."""
    if exc is None:
        return "works"
    name = errno.errorcode.get(exc.errno or 0, "error")
    return f"refused: {exc.strerror} ({name})"


def guarded(name: str, probe: Callable[[], Capability | list[Capability]]) -> list[Capability]:
    """Run one probe; a failure of the probe itself becomes a not-ok line, never a crash."""
    try:
        result = probe()
    except (KernlabError, OSError) as exc:
        return [Capability(name, False, str(exc))]
    return result if isinstance(result, list) else [result]


# ------------------------------------------------------------------------------------------------
# tracefs probes (in a private instance)


def _probe_group(instance: Instance, group: EventGroup, available: dict[str, list[str]]) -> Capability:
    specs, enables = group.specs, group.enables
    events = []
    for spec in specs:
        system, _, event = spec.partition(":")
        if event == "*":
            events += [(system, e) for e in sorted(available.get(system, []))[:1]]
        elif event in available.get(system, []):
            events.append((system, event))
    name = f"events: {group.name}"
    if not events:
        return Capability(name, False, f"no such events on this kernel ({', '.join(specs)})", enables)
    for system, event in events:
        path = instance.file(f"events/{system}/{event}/enable")
        err = try_write(path, "1")
        try_write(path, "0")
        if err is not None:
            return Capability(name, False, f"{system}:{event} {why_refused(err)}", enables)
    return Capability(name, True, f"enabled {', '.join(f'{s}:{e}' for s, e in events)}", enables)


def _probe_write_restore(path: Path, value: str, restore: str) -> OSError | None:
    err = try_write(path, value)
    try_write(path, restore)
    return err


def _probe_tracer(instance: Instance, root: Path, tracer: str, enables: tuple[str, ...]) -> Capability:
    """A tracer in a private instance first; where the instance lacks it, at the top level.

    Debian's 6.1 offers function_graph only at the top level. There it is tried fenced in (a
    pid filter on this process, one filtered function, depth 1) and only when no other tool is
    using the top level, and every file is restored, even after a SIGKILL (tracing/toplevel.py):
    unfiltered function_graph at the top level hung a 2-CPU guest for ten minutes.
    """
    name = f"{tracer} tracer"
    in_instance = tracer in instance.read("available_tracers").split()
    err = _probe_write_restore(instance.file("current_tracer"), tracer, "nop") if in_instance else None
    if in_instance and err is None:
        return Capability(name, True, "works in a private instance", enables, in_instance=True)
    instance_said = why_refused(err) if in_instance else "not offered in a private instance"
    if tracer not in read_text(root / "available_tracers").split():
        suffix = "" if in_instance else " (not in available_tracers)"
        detail = (why_refused(err) if in_instance else "refused") + suffix
        return Capability(name, False, detail, enables, in_instance=False, top_level=False)
    top = _try_top_level_tracer(root, tracer)
    if top is None:
        detail = (
            f"available at the top level only ({instance_said}); tried there with a pid and function filter"
        )
        return Capability(name, True, detail, enables, in_instance=False, top_level=True)
    return Capability(
        name, False, f"{instance_said}; at the top level: {top}", enables, in_instance=False, top_level=False
    )


def _try_top_level_tracer(root: Path, tracer: str) -> str | None:
    """Switch the top-level tracer on and off, fenced in; None when it worked, else why not."""
    function = _one_filter_function(root)
    changes = [("set_ftrace_pid", str(os.getpid()))]
    if function:
        changes.append(("set_ftrace_filter", function))
    if (root / "max_graph_depth").exists():
        changes.append(("max_graph_depth", "1"))
    try:
        with top_level_changes(root, changes):
            err = _probe_write_restore(root / "current_tracer", tracer, "nop")
    except TopLevelBusy as exc:
        return f"not tried: {exc}"
    except OSError as exc:
        return f"{why_refused(exc)} reading {Path(exc.filename or '').name or 'a setting'}"
    except KernlabError as exc:
        if isinstance(exc.__cause__, OSError) and exc.path is not None:
            # The file and the kernel's answer, not the value written (our own pid).
            return f"{why_refused(exc.__cause__)} writing {Path(exc.path).name}"
        return str(exc)
    return None if err is None else why_refused(err)


def _one_filter_function(root: Path) -> str | None:
    with contextlib.suppress(OSError), open(root / "available_filter_functions", encoding="utf-8") as fh:
        first = fh.readline().split()
        return first[0] if first else None
    return None


def _probe_ftrace_filter(instance: Instance, root: Path) -> Capability:
    enables = ("limiting the function tracer to chosen functions",)
    path = instance.file("set_ftrace_filter")
    if not path.exists():
        return Capability("set_ftrace_filter", False, "absent (no dynamic ftrace)", enables)
    name = "schedule"
    with contextlib.suppress(OSError), open(root / "available_filter_functions", encoding="utf-8") as fh:
        first = fh.readline().split()
        name = first[0] if first else name
    err = try_write(path, name)
    try_write(path, "")
    return Capability("set_ftrace_filter", err is None, why_refused(err), enables)


def _probe_stacktrace(instance: Instance) -> Capability:
    enables = ("record --kstack (kernel stack of chosen events)",)
    err = _probe_write_restore(instance.file("options/stacktrace"), "1", "0")
    if err is not None:
        return Capability("kernel stack traces", False, f"options/stacktrace {why_refused(err)}", enables)
    trigger = instance.file("events/sched/sched_switch/trigger")
    if trigger.exists():
        err = try_write(trigger, "stacktrace", append=True)
        try_write(trigger, "!stacktrace", append=True)
        if err is not None:
            return Capability("kernel stack traces", False, f"stacktrace trigger {why_refused(err)}", enables)
    return Capability(
        "kernel stack traces", True, "options/stacktrace and the stacktrace trigger work", enables
    )


def _probe_event_fork(instance: Instance) -> Capability:
    enables = ("following children of a recorded command",)
    err = _probe_write_restore(instance.file("options/event-fork"), "1", "0")
    return Capability("options/event-fork", err is None, why_refused(err), enables)


def elf_entry_offset(path: str) -> int | None:
    """File offset of an ELF executable's entry point (where a uprobe on it would go)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if head[:4] != b"\x7fELF":
                return None
            is64, end = head[4] == 2, "<" if head[5] == 1 else ">"
            if is64:
                entry, phoff = struct.unpack_from(end + "QQ", head, 24)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 54)
            else:
                entry, phoff = struct.unpack_from(end + "II", head, 24)
                phentsize, phnum = struct.unpack_from(end + "HH", head, 42)
            fh.seek(phoff)
            table = fh.read(phentsize * phnum)
    except (OSError, struct.error):
        return None
    for i in range(phnum):
        ph = table[i * phentsize : (i + 1) * phentsize]
        if is64:
            ptype, _flags, offset, vaddr, _paddr, filesz = struct.unpack_from(end + "IIQQQQ", ph)
        else:
            ptype, offset, vaddr, _paddr, filesz = struct.unpack_from(end + "IIIII", ph)
        if ptype == 1 and vaddr <= entry < vaddr + filesz:
            return entry - vaddr + offset
    return None


def _probe_dynamic(
    root: Path, kind: str, target: str, enables: tuple[str, ...], instance: Instance | None = None
) -> Capability:
    """Add and delete a kernlab-named kprobe or uprobe in the global *_events file.

    Dynamic events are defined only at the top level; with ``instance``, the new event is also
    enabled and disabled inside that private instance, which is how kernlab would use it.
    """
    path = root / f"{kind}_events"
    name = f"{kind[0]}probes"
    if not path.exists():
        return Capability(
            name, False, f"{path.name} is absent (CONFIG_{kind.upper()}_EVENTS off)", enables, top_level=False
        )
    pid, start = owner_tag()
    group = f"kernlab_{pid}_{start}"
    spec = f"{group}/doctor"
    err = try_write(path, f"p:{spec} {target}", append=True)
    if err is not None:
        return Capability(name, False, why_refused(err), enables, top_level=False)
    in_instance: bool | None = None
    try:
        if instance is not None:
            enable = instance.file(f"events/{group}/doctor/enable")
            in_instance = _probe_write_restore(enable, "1", "0") is None if enable.exists() else False
    finally:
        try_write(path, f"-:{spec}", append=True)
    detail = f"added and removed a probe on {target} (defined at the top level, in {path.name})"
    if in_instance is not None:
        detail += "; enabled in a private instance" if in_instance else "; cannot be enabled in an instance"
    return Capability(name, True, detail, enables, in_instance=in_instance, top_level=True)


def _probe_uprobes(root: Path) -> Capability:
    enables = ("user-space function entry events (uprobes)",)
    binary = next((p for p in ("/bin/true", "/usr/bin/true") if os.path.exists(p)), None)
    offset = elf_entry_offset(binary) if binary else None
    if binary is None or offset is None:
        return Capability("uprobes", False, "no ELF /bin/true to place a test probe on", enables)
    return _probe_dynamic(root, "uprobe", f"{binary}:0x{offset:x}", enables)


def _probe_kprobes(root: Path, instance: Instance | None = None) -> Capability:
    enables = ("kernel function entry events (kprobes)",)
    return _probe_dynamic(root, "kprobe", "vfs_read", enables, instance)


# ------------------------------------------------------------------------------------------------
# system calls through libc: bpf(2), perf_event_open(2)


def _syscall_number(name: str) -> int | None:
    try:
        from kernlab.syscalls.tables import lookup, normalize_arch

        return lookup(name, normalize_arch(platform.machine())).number
    except (KernlabError, ValueError, KeyError):
        return None


# prog type -> (name, expected_attach_type, what it enables)
BPF_PROG_TYPES: dict[int, tuple[str, str]] = {
    1: ("socket_filter", "BPF at all (the simplest program type)"),
    2: ("kprobe", "BPF on kprobes/uprobes"),
    5: ("tracepoint", "BPF on trace events"),
    7: ("perf_event", "BPF sampling programs"),
    17: ("raw_tracepoint", "BPF on raw tracepoints"),
}
BPF_PROG_LOAD = 5


BPF_PROG_TYPE_TRACING = 26
BPF_TRACE_FENTRY = 24


def bpf_load(prog_type: int, attach_type: int = 0, attach_btf_id: int = 0) -> OSError | None:
    number = _syscall_number("bpf")
    if number is None:
        return OSError(errno.ENOSYS, "no bpf system-call number known for this architecture")
    # r0 = 0; exit
    insns = struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)
    insn_buf = ctypes.create_string_buffer(insns)
    license_buf = ctypes.create_string_buffer(b"GPL")
    attr = ctypes.create_string_buffer(128)
    release = os.uname().release.split("-")[0].split(".")
    try:
        kver = (
            (int(release[0]) << 16)
            | (int(release[1]) << 8)
            | min(int(release[2]) if len(release) > 2 else 0, 255)
        )
    except ValueError:
        kver = 0
    struct.pack_into(
        "=IIQQIIQI",
        attr,
        0,
        prog_type,
        2,
        ctypes.addressof(insn_buf),
        ctypes.addressof(license_buf),
        0,
        0,
        0,
        kver,
    )
    # union bpf_attr (BPF_PROG_LOAD): expected_attach_type at 68, attach_btf_id at 108
    struct.pack_into("=I", attr, 68, attach_type)
    struct.pack_into("=I", attr, 108, attach_btf_id)
    lib = libc()
    fd = lib.syscall(ctypes.c_long(number), ctypes.c_long(BPF_PROG_LOAD), attr, ctypes.c_uint(128))
    if fd < 0:
        err = ctypes.get_errno()
        return OSError(err, os.strerror(err))
    os.close(fd)
    return None


BtfFunctionId = Callable[[str], int | None]
"""The BTF type id of a kernel function (None when BTF lacks it); raises when there is no BTF."""


def probe_bpf(btf_function_id: BtfFunctionId) -> list[Capability]:
    out = []
    for prog_type, (name, enables) in BPF_PROG_TYPES.items():
        err = bpf_load(prog_type)
        out.append(Capability(f"BPF {name} programs", err is None, why_refused(err), (enables,), area="bpf"))
    out.append(probe_bpf_fentry(btf_function_id))
    return out


def probe_bpf_fentry(btf_function_id: BtfFunctionId) -> Capability:
    """Load an fentry program on vfs_read, whose BTF id comes from the kernel's BTF."""
    enables = ("BPF fentry/fexit (cheap function entry hooks, bpftrace kfunc:)",)
    name = "BPF fentry programs"
    try:
        func_id = btf_function_id("vfs_read")
    except (KernlabError, OSError) as exc:
        return Capability(name, False, f"no kernel BTF to attach to: {exc}", enables, area="bpf")
    if func_id is None:
        return Capability(name, False, "vfs_read is not in the kernel's BTF", enables, area="bpf")
    err = bpf_load(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, func_id)
    return Capability(name, err is None, why_refused(err), enables, area="bpf")


PERF_TYPE_SOFTWARE = 1
PERF_COUNT_SW_CPU_CLOCK = 0
PERF_SAMPLE_IP = 1 << 0
PERF_SAMPLE_TID = 1 << 1
PERF_SAMPLE_CALLCHAIN = 1 << 5
ATTR_DISABLED = 1 << 0
ATTR_EXCLUDE_KERNEL = 1 << 5
PERF_ATTR_SIZE_VER0 = 64


def perf_event_open(attr: bytes) -> OSError | None:
    """Open a perf event on this process (any CPU) with the packed ``perf_event_attr`` and close
    it at once; None when the kernel accepted it, else the error it answered with."""
    number = _syscall_number("perf_event_open")
    if number is None:
        return OSError(errno.ENOSYS, "no perf_event_open number known for this architecture")
    buf = ctypes.create_string_buffer(attr, len(attr))
    fd = libc().syscall(
        ctypes.c_long(number), buf, ctypes.c_int(0), ctypes.c_int(-1), ctypes.c_int(-1), ctypes.c_ulong(0)
    )
    if fd < 0:
        err = ctypes.get_errno()
        return OSError(err, os.strerror(err))
    os.close(fd)
    return None


def _perf_open(flags: int) -> OSError | None:
    attr = struct.pack(
        "=IIQQQQQ",
        PERF_TYPE_SOFTWARE,
        PERF_ATTR_SIZE_VER0,
        PERF_COUNT_SW_CPU_CLOCK,
        100_000,
        PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN,
        0,
        flags,
    )
    return perf_event_open(attr.ljust(PERF_ATTR_SIZE_VER0, b"\0"))


def probe_perf_callchain() -> Capability:
    enables = ("CPU-clock sampling with call chains (perf record -g)",)
    err = _perf_open(ATTR_DISABLED)
    if err is None:
        return Capability("perf sampling + call chains", True, "user and kernel stacks", enables, area="perf")
    user_only = _perf_open(ATTR_DISABLED | ATTR_EXCLUDE_KERNEL)
    if user_only is None:
        return Capability(
            "perf sampling + call chains",
            True,
            f"user stacks only; with kernel {why_refused(err)}",
            enables,
            area="perf",
        )
    return Capability("perf sampling + call chains", False, why_refused(err), enables, area="perf")


PARANOID_MEANING: dict[int, str] = {
    -1: "no restrictions",
    0: "unprivileged users may trace CPUs, not raw tracepoints",
    1: "unprivileged users may profile their own processes, kernel included",
    2: "unprivileged users may profile their own processes, user space only",
}


def probe_paranoid() -> Capability:
    path = "/proc/sys/kernel/perf_event_paranoid"
    try:
        value = int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return Capability("perf_event_paranoid", False, f"{path} unreadable", (), area="perf")
    meaning = PARANOID_MEANING.get(value, "unprivileged users may not use perf events at all")
    if os.geteuid() == 0:
        meaning += "; root is not limited by it"
    return Capability(
        "perf_event_paranoid", True, f"{value}: {meaning}", ("perf for non-root users",), area="perf"
    )


# ------------------------------------------------------------------------------------------------


def probe_tracing(groups: Sequence[EventGroup]) -> TracingProbes:
    """tracefs, its instances, each event group, tracers, triggers and dynamic probes."""
    caps: list[Capability] = []
    try:
        root = tracefs_root()
    except (PermissionNeeded, NotSupported) as exc:
        caps.append(Capability("tracefs", False, str(exc), ("kernlab record", "every report")))
        return TracingProbes(tuple(caps), "", str(exc))
    caps.append(Capability("tracefs", True, f"mounted at {root}", ("kernlab record",)))
    try:
        instance = Instance.create(root, purpose="doctor")
    except KernlabError as exc:
        caps.append(Capability("tracefs instances", False, str(exc), ("kernlab record",)))
        return TracingProbes(tuple(caps), str(root), str(exc))
    with instance:
        caps.append(Capability("tracefs instances", True, "created and removed one", ("kernlab record",)))
        available = available_events(root)
        caps += [_probe_group(instance, group, available) for group in groups]
        caps.append(_probe_event_fork(instance))
        caps += guarded("kernel stack traces", lambda: _probe_stacktrace(instance))
        caps += guarded(
            "function tracer", lambda: _probe_tracer(instance, root, "function", ("function call tracing",))
        )
        caps += guarded(
            "function_graph tracer",
            lambda: _probe_tracer(instance, root, "function_graph", ("function call graphs with durations",)),
        )
        caps += guarded("set_ftrace_filter", lambda: _probe_ftrace_filter(instance, root))
        caps += guarded("kprobes", lambda: _probe_kprobes(root, instance))
    caps += guarded("uprobes", lambda: _probe_uprobes(root))
    return TracingProbes(tuple(caps), str(root), "")
