"""What this kernel and this user allow for tracing, each found by trying it.

A tracefs file can exist and still refuse a write (the function tracer and set_ftrace_filter do
on kernels locked down by a security policy), so every probe here makes the real request —
enable an event, add a probe, load a BPF program, open a perf event — and undoes it at once.
Probes work in a private instance or with kernlab-named probes, never on global settings.

These are the tracing facts only; ``kernlab doctor`` (:mod:`kernlab.reports.doctor`) adds the
probes of other layers (ptrace, BTF, /proc files) and decides whether recording can work.

What a probe found is a :class:`Phrase`: a catalog key (``doctor.detail.*``) and its fields —
paths, event names, numbers, errno names — which explain/ words in the language asked for. Each
phrase also keeps its English wording (the catalog's English sentence, repeated here and checked
against the catalog by tests/tracing/test_capability_phrases.py), which is the ``detail`` of the
JSON and of logs. What a feature enables is a phrase too (``doctor.enables.*``), without English.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from kernlab.errors import KernlabError, NotSupported, PermissionNeeded
from kernlab.libc import libc
from kernlab.tracing.instance import Instance, owner_tag
from kernlab.tracing.toplevel import TopLevelBusy, top_level_changes
from kernlab.tracing.tracefs import available_events, read_text, tracefs_root, try_write

__all__ = [
    "Capability",
    "EventGroup",
    "FieldValue",
    "Phrase",
    "TracingProbes",
    "bpf_load",
    "elf_entry_offset",
    "enabling",
    "error_phrase",
    "guarded",
    "os_fields",
    "perf_event_open",
    "probe_bpf",
    "probe_bpf_fentry",
    "probe_paranoid",
    "probe_perf_callchain",
    "probe_tracing",
    "why_refused",
]

FieldValue: TypeAlias = "str | int | Phrase"
"""A fact a phrase is said with: a path, a name, a number, or a part said in its own words."""


@dataclass(frozen=True)
class Phrase:
    """A catalog key and the facts it is said with; explain/ words it in the language asked for.

    ``str(phrase)`` is its English wording (empty for phrases that have none here, such as what a
    feature enables); the JSON holds only the key and the fields.
    """

    key: str
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    _english: str = field(default="", compare=False, repr=False)

    def __str__(self) -> str:
        return self._english


def phrase(key: str, english: str, /, **fields: FieldValue) -> Phrase:
    """The phrase ``key`` with ``fields``; ``english`` is the catalog's English sentence for it."""
    return Phrase(key, fields, english.format(**fields))


def enabling(name: str, /, **fields: FieldValue) -> Phrase:
    """What a feature enables: the catalog's ``doctor.enables.<name>``."""
    return Phrase(f"doctor.enables.{name}", fields)


@dataclass(frozen=True)
class Capability:
    """One feature, whether it works here, why (or why not), and what kernlab gets from it.

    ``detail`` is the English wording of ``detail_key`` with ``detail_fields`` (a detail given
    as text only, with no key, is said as it is in every language).
    """

    name: str
    ok: bool
    detail: str
    enables: tuple[Phrase, ...] = ()
    area: str = "tracing"
    in_instance: bool | None = None
    """Works inside a private tracefs instance (None: not a question for this feature)."""
    top_level: bool | None = None
    """Works at the top level of tracefs (None: not tried, e.g. because an instance sufficed)."""
    detail_key: str = ""
    detail_fields: Mapping[str, FieldValue] = field(default_factory=dict)

    @classmethod
    def found(
        cls,
        name: str,
        ok: bool,
        why: Phrase,
        enables: Sequence[Phrase] = (),
        *,
        area: str = "tracing",
        in_instance: bool | None = None,
        top_level: bool | None = None,
    ) -> Capability:
        """The capability whose detail is the phrase ``why``."""
        return cls(
            name,
            ok,
            str(why),
            tuple(enables),
            area,
            in_instance,
            top_level,
            detail_key=why.key,
            detail_fields=why.fields,
        )

    @property
    def why(self) -> Phrase:
        """The detail as a phrase (key "" when it was given as text only)."""
        return Phrase(self.detail_key, self.detail_fields, self.detail)


@dataclass(frozen=True)
class EventGroup:
    """Events tried together (``system:event``, or ``system:*`` for one event of the system)."""

    name: str
    specs: tuple[str, ...]
    enables: tuple[Phrase, ...]


@dataclass(frozen=True)
class TracingProbes:
    """What the tracefs probes found."""

    capabilities: tuple[Capability, ...]
    tracefs: str  # "" when tracefs could not be found
    failure: Phrase | None  # why tracefs or its instances are unusable (None when they work)


def os_fields(exc: OSError) -> dict[str, FieldValue]:
    """The errno name (``EPERM``) and the C library's English text for it (``strerror``), which
    explain/ replaces by the catalog's wording of that errno where it has one."""
    number = exc.errno or 0
    return {
        "errno": errno.errorcode.get(number, str(number)),
        "strerror": exc.strerror or os.strerror(number),
    }


def why_refused(exc: OSError | None) -> Phrase:
    """ "works", or the errno the kernel answered a probe with."""
    if exc is None:
        return phrase("doctor.detail.works", "works")
    return phrase("doctor.detail.refused", "refused: {strerror} ({errno})", **os_fields(exc))


def error_phrase(exc: BaseException) -> Phrase:
    """A failure as a phrase: a kernlab error's own catalog key and fields, an OS error's errno."""
    if isinstance(exc, KernlabError) and exc.key:
        fields: dict[str, FieldValue] = {
            name: value if isinstance(value, int) else str(value) for name, value in exc.fields.items()
        }
        return Phrase(exc.key, fields, str(exc))
    if isinstance(exc, OSError) and exc.errno:
        if exc.filename:
            return phrase(
                "doctor.detail.path_error",
                "{path}: {strerror} ({errno})",
                path=os.fsdecode(exc.filename),
                **os_fields(exc),
            )
        return phrase("doctor.detail.os_error", "{strerror} ({errno})", **os_fields(exc))
    return phrase("doctor.detail.text", "{text}", text=str(exc))


def guarded(name: str, probe: Callable[[], Capability | list[Capability]]) -> list[Capability]:
    """Run one probe; a failure of the probe itself becomes a not-ok line, never a crash."""
    try:
        result = probe()
    except (KernlabError, OSError) as exc:
        return [Capability.found(name, False, error_phrase(exc))]
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
        why = phrase(
            "doctor.detail.no_events", "no such events on this kernel ({events})", events=", ".join(specs)
        )
        return Capability.found(name, False, why, enables)
    for system, event in events:
        path = instance.file(f"events/{system}/{event}/enable")
        err = try_write(path, "1")
        try_write(path, "0")
        if err is not None:
            why = phrase(
                "doctor.detail.event_refused",
                "{event} refused: {strerror} ({errno})",
                event=f"{system}:{event}",
                **os_fields(err),
            )
            return Capability.found(name, False, why, enables)
    listed = ", ".join(f"{s}:{e}" for s, e in events)
    return Capability.found(
        name, True, phrase("doctor.detail.events_enabled", "enabled {events}", events=listed), enables
    )


def _probe_write_restore(path: Path, value: str, restore: str) -> OSError | None:
    err = try_write(path, value)
    try_write(path, restore)
    return err


def _probe_tracer(instance: Instance, root: Path, tracer: str, enables: tuple[Phrase, ...]) -> Capability:
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
        works = phrase("doctor.detail.works_in_instance", "works in a private instance")
        return Capability.found(name, True, works, enables, in_instance=True)
    instance_said = (
        why_refused(err)
        if in_instance
        else phrase("doctor.detail.not_in_instance", "not offered in a private instance")
    )
    if tracer not in read_text(root / "available_tracers").split():
        why = (
            instance_said
            if in_instance
            else phrase(
                "doctor.detail.tracer_not_available", "not offered (not in {file})", file="available_tracers"
            )
        )
        return Capability.found(name, False, why, enables, in_instance=False, top_level=False)
    top = _try_top_level_tracer(root, tracer)
    if top is None:
        why = phrase(
            "doctor.detail.top_level_only",
            "available at the top level only ({instance}); tried there with a pid and function filter",
            instance=instance_said,
        )
        return Capability.found(name, True, why, enables, in_instance=False, top_level=True)
    why = phrase(
        "doctor.detail.refused_everywhere",
        "{instance}; at the top level: {top}",
        instance=instance_said,
        top=top,
    )
    return Capability.found(name, False, why, enables, in_instance=False, top_level=False)


def _try_top_level_tracer(root: Path, tracer: str) -> Phrase | None:
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
        return phrase("doctor.detail.not_tried", "not tried: {reason}", reason=error_phrase(exc))
    except OSError as exc:
        return phrase(
            "doctor.detail.refused_reading",
            "refused: {strerror} ({errno}) reading {file}",
            file=Path(exc.filename or "").name or "-",
            **os_fields(exc),
        )
    except KernlabError as exc:
        if isinstance(exc.__cause__, OSError) and exc.path is not None:
            # The file and the kernel's answer, not the value written (our own pid).
            return phrase(
                "doctor.detail.refused_writing",
                "refused: {strerror} ({errno}) writing {file}",
                file=Path(exc.path).name,
                **os_fields(exc.__cause__),
            )
        return error_phrase(exc)
    return None if err is None else why_refused(err)


def _one_filter_function(root: Path) -> str | None:
    with contextlib.suppress(OSError), open(root / "available_filter_functions", encoding="utf-8") as fh:
        first = fh.readline().split()
        return first[0] if first else None
    return None


def _probe_ftrace_filter(instance: Instance, root: Path) -> Capability:
    enables = (enabling("ftrace_filter"),)
    path = instance.file("set_ftrace_filter")
    if not path.exists():
        why = phrase("doctor.detail.no_dynamic_ftrace", "absent (no dynamic ftrace)")
        return Capability.found("set_ftrace_filter", False, why, enables)
    name = "schedule"
    with contextlib.suppress(OSError), open(root / "available_filter_functions", encoding="utf-8") as fh:
        first = fh.readline().split()
        name = first[0] if first else name
    err = try_write(path, name)
    try_write(path, "")
    return Capability.found("set_ftrace_filter", err is None, why_refused(err), enables)


def _probe_stacktrace(instance: Instance) -> Capability:
    name = "kernel stack traces"
    enables = (enabling("kstack"),)
    err = _probe_write_restore(instance.file("options/stacktrace"), "1", "0")
    if err is not None:
        why = phrase(
            "doctor.detail.file_refused",
            "{file} refused: {strerror} ({errno})",
            file="options/stacktrace",
            **os_fields(err),
        )
        return Capability.found(name, False, why, enables)
    trigger = instance.file("events/sched/sched_switch/trigger")
    if trigger.exists():
        err = try_write(trigger, "stacktrace", append=True)
        try_write(trigger, "!stacktrace", append=True)
        if err is not None:
            why = phrase(
                "doctor.detail.trigger_refused",
                "the {trigger} trigger refused: {strerror} ({errno})",
                trigger="stacktrace",
                **os_fields(err),
            )
            return Capability.found(name, False, why, enables)
    why = phrase(
        "doctor.detail.stacktrace_works",
        "{option} and the {trigger} trigger work",
        option="options/stacktrace",
        trigger="stacktrace",
    )
    return Capability.found(name, True, why, enables)


def _probe_event_fork(instance: Instance) -> Capability:
    enables = (enabling("follow_children"),)
    err = _probe_write_restore(instance.file("options/event-fork"), "1", "0")
    return Capability.found("options/event-fork", err is None, why_refused(err), enables)


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
    root: Path, kind: str, target: str, enables: tuple[Phrase, ...], instance: Instance | None = None
) -> Capability:
    """Add and delete a kernlab-named kprobe or uprobe in the global *_events file.

    Dynamic events are defined only at the top level; with ``instance``, the new event is also
    enabled and disabled inside that private instance, which is how kernlab would use it.
    """
    path = root / f"{kind}_events"
    name = f"{kind[0]}probes"
    if not path.exists():
        why = phrase(
            "doctor.detail.probe_file_absent",
            "{file} is absent ({config} off)",
            file=path.name,
            config=f"CONFIG_{kind.upper()}_EVENTS",
        )
        return Capability.found(name, False, why, enables, top_level=False)
    pid, start = owner_tag()
    group = f"kernlab_{pid}_{start}"
    spec = f"{group}/doctor"
    err = try_write(path, f"p:{spec} {target}", append=True)
    if err is not None:
        return Capability.found(name, False, why_refused(err), enables, top_level=False)
    in_instance: bool | None = None
    try:
        if instance is not None:
            enable = instance.file(f"events/{group}/doctor/enable")
            in_instance = _probe_write_restore(enable, "1", "0") is None if enable.exists() else False
    finally:
        try_write(path, f"-:{spec}", append=True)
    if in_instance is None:
        why = phrase(
            "doctor.detail.probe_added",
            "added and removed a probe on {target} (defined at the top level, in {file})",
            target=target,
            file=path.name,
        )
    elif in_instance:
        why = phrase(
            "doctor.detail.probe_added_instance",
            "added and removed a probe on {target} (defined at the top level, in {file}); "
            "enabled in a private instance",
            target=target,
            file=path.name,
        )
    else:
        why = phrase(
            "doctor.detail.probe_added_not_instance",
            "added and removed a probe on {target} (defined at the top level, in {file}); "
            "cannot be enabled in an instance",
            target=target,
            file=path.name,
        )
    return Capability.found(name, True, why, enables, in_instance=in_instance, top_level=True)


def _probe_uprobes(root: Path) -> Capability:
    enables = (enabling("uprobes"),)
    binary = next((p for p in ("/bin/true", "/usr/bin/true") if os.path.exists(p)), None)
    offset = elf_entry_offset(binary) if binary else None
    if binary is None or offset is None:
        why = phrase(
            "doctor.detail.no_probe_target", "no ELF {path} to place a test probe on", path="/bin/true"
        )
        return Capability.found("uprobes", False, why, enables)
    return _probe_dynamic(root, "uprobe", f"{binary}:0x{offset:x}", enables)


def _probe_kprobes(root: Path, instance: Instance | None = None) -> Capability:
    enables = (enabling("kprobes"),)
    return _probe_dynamic(root, "kprobe", "vfs_read", enables, instance)


# ------------------------------------------------------------------------------------------------
# system calls through libc: bpf(2), perf_event_open(2)


def _syscall_number(name: str) -> int | None:
    try:
        from kernlab.syscalls.tables import lookup, normalize_arch

        return lookup(name, normalize_arch(platform.machine())).number
    except (KernlabError, ValueError, KeyError):
        return None


# prog type -> (name, what it enables: a doctor.enables key)
BPF_PROG_TYPES: dict[int, tuple[str, str]] = {
    1: ("socket_filter", "bpf_any"),
    2: ("kprobe", "bpf_kprobe"),
    5: ("tracepoint", "bpf_tracepoint"),
    7: ("perf_event", "bpf_perf_event"),
    17: ("raw_tracepoint", "bpf_raw_tracepoint"),
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
        out.append(
            Capability.found(
                f"BPF {name} programs", err is None, why_refused(err), (enabling(enables),), area="bpf"
            )
        )
    out.append(probe_bpf_fentry(btf_function_id))
    return out


def probe_bpf_fentry(btf_function_id: BtfFunctionId) -> Capability:
    """Load an fentry program on vfs_read, whose BTF id comes from the kernel's BTF."""
    enables = (enabling("bpf_fentry"),)
    name = "BPF fentry programs"
    try:
        func_id = btf_function_id("vfs_read")
    except (KernlabError, OSError) as exc:
        why = phrase("doctor.detail.no_btf", "no kernel BTF to attach to: {reason}", reason=error_phrase(exc))
        return Capability.found(name, False, why, enables, area="bpf")
    if func_id is None:
        why = phrase("doctor.detail.not_in_btf", "{function} is not in the kernel's BTF", function="vfs_read")
        return Capability.found(name, False, why, enables, area="bpf")
    err = bpf_load(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, func_id)
    return Capability.found(name, err is None, why_refused(err), enables, area="bpf")


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
    name = "perf sampling + call chains"
    enables = (enabling("perf_callchains"),)
    err = _perf_open(ATTR_DISABLED)
    if err is None:
        why = phrase("doctor.detail.user_and_kernel_stacks", "user and kernel stacks")
        return Capability.found(name, True, why, enables, area="perf")
    user_only = _perf_open(ATTR_DISABLED | ATTR_EXCLUDE_KERNEL)
    if user_only is None:
        why = phrase(
            "doctor.detail.user_stacks_only",
            "user stacks only; with kernel refused: {strerror} ({errno})",
            **os_fields(err),
        )
        return Capability.found(name, True, why, enables, area="perf")
    return Capability.found(name, False, why_refused(err), enables, area="perf")


# perf_event_paranoid -> (its meaning, a doctor.paranoid key; English as the catalog says it)
PARANOID_MEANING: dict[int, tuple[str, str]] = {
    -1: ("no_restrictions", "no restrictions"),
    0: ("cpus", "unprivileged users may trace CPUs, not raw tracepoints"),
    1: ("kernel", "unprivileged users may profile their own processes, kernel included"),
    2: ("user", "unprivileged users may profile their own processes, user space only"),
}
PARANOID_NONE = ("none", "unprivileged users may not use perf events at all")


def probe_paranoid() -> Capability:
    name = "perf_event_paranoid"
    path = "/proc/sys/kernel/perf_event_paranoid"
    try:
        value = int(Path(path).read_text().strip())
    except (OSError, ValueError):
        why = phrase("doctor.detail.unreadable", "{path} unreadable", path=path)
        return Capability.found(name, False, why, (), area="perf")
    key, english = PARANOID_MEANING.get(value, PARANOID_NONE)
    meaning = Phrase(f"doctor.paranoid.{key}", {}, english)
    if os.geteuid() == 0:
        why = phrase(
            "doctor.detail.paranoid_root",
            "{value}: {meaning}; root is not limited by it",
            value=value,
            meaning=meaning,
        )
    else:
        why = phrase("doctor.detail.paranoid", "{value}: {meaning}", value=value, meaning=meaning)
    return Capability.found(name, True, why, (enabling("perf_non_root"),), area="perf")


# ------------------------------------------------------------------------------------------------


def probe_tracing(groups: Sequence[EventGroup]) -> TracingProbes:
    """tracefs, its instances, each event group, tracers, triggers and dynamic probes."""
    caps: list[Capability] = []
    record = (enabling("record"),)
    try:
        root = tracefs_root()
    except (PermissionNeeded, NotSupported) as exc:
        failure = error_phrase(exc)
        caps.append(Capability.found("tracefs", False, failure, (*record, enabling("every_report"))))
        return TracingProbes(tuple(caps), "", failure)
    mounted = phrase("doctor.detail.mounted", "mounted at {path}", path=str(root))
    caps.append(Capability.found("tracefs", True, mounted, record))
    try:
        instance = Instance.create(root, purpose="doctor")
    except KernlabError as exc:
        failure = error_phrase(exc)
        caps.append(Capability.found("tracefs instances", False, failure, record))
        return TracingProbes(tuple(caps), str(root), failure)
    with instance:
        created = phrase("doctor.detail.instance_created", "created and removed one")
        caps.append(Capability.found("tracefs instances", True, created, record))
        available = available_events(root)
        caps += [_probe_group(instance, group, available) for group in groups]
        caps.append(_probe_event_fork(instance))
        caps += guarded("kernel stack traces", lambda: _probe_stacktrace(instance))
        caps += guarded(
            "function tracer",
            lambda: _probe_tracer(instance, root, "function", (enabling("function_calls"),)),
        )
        caps += guarded(
            "function_graph tracer",
            lambda: _probe_tracer(instance, root, "function_graph", (enabling("function_graphs"),)),
        )
        caps += guarded("set_ftrace_filter", lambda: _probe_ftrace_filter(instance, root))
        caps += guarded("kprobes", lambda: _probe_kprobes(root, instance))
    caps += guarded("uprobes", lambda: _probe_uprobes(root))
    return TracingProbes(tuple(caps), str(root), None)
