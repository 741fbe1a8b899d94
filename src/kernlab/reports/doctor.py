"""`kernlab doctor`: what this kernel and this user allow, each found by trying it, and whether
`kernlab record` can work.

The tracing probes are tracing facts (:mod:`kernlab.tracing.capabilities`). The doctor adds what
other layers need — ptrace as the recorder uses it, the kernel's BTF, /proc files — and names
the event groups `kernlab record` offers.
"""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import mmap
import os
import signal
import struct
from dataclasses import dataclass

from kernlab.errors import KernlabError, NotSupported, PermissionNeeded
from kernlab.recording import ptrace
from kernlab.recording.events import DEFAULT_GROUPS, EVENT_GROUPS
from kernlab.source.btf import VMLINUX_BTF, load_btf
from kernlab.tracing.capabilities import (
    Capability,
    EventGroup,
    guarded,
    probe_bpf,
    probe_paranoid,
    probe_perf_callchain,
    probe_tracing,
    why_refused,
)
from kernlab.tracing.instance import StaleCleanup, clean_stale

__all__ = ["PROBED_GROUPS", "DoctorReport", "build", "recording_refusal"]

PROBED_GROUPS = ("syscalls", "faults", "sched", "pagecache", "block", "fs", "kmem")
REQUIRED_GROUP = "syscalls"  # without system-call events there is no recording


@dataclass(frozen=True)
class DoctorReport:
    """All capabilities, and whether ``kernlab record`` can work."""

    euid: int
    kernel_release: str
    tracefs: str
    capabilities: tuple[Capability, ...]
    can_record: bool
    reason: str
    """Why recording is impossible ("" when it is possible)."""
    cleaned: StaleCleanup | None = None

    @property
    def missing(self) -> tuple[str, ...]:
        """Names of the features that answered no."""
        return tuple(cap.name for cap in self.capabilities if not cap.ok)


def build(clean: bool = False) -> DoctorReport:
    """Probe everything afresh (nothing is cached) and say whether recording can work."""
    cleaned = None
    if clean:
        with contextlib.suppress(KernlabError):
            cleaned = clean_stale()
    tracing = probe_tracing(_event_groups())
    caps = list(tracing.capabilities)
    caps += guarded("ptrace", probe_ptrace)
    caps += guarded("BPF", lambda: probe_bpf(_btf_function_id))
    caps += guarded("perf sampling + call chains", probe_perf_callchain)
    caps += guarded("perf_event_paranoid", probe_paranoid)
    caps += guarded("BTF", probe_btf)
    caps += guarded("/proc/config.gz", probe_config)
    caps += guarded("pagemap PFNs", probe_pagemap)
    caps += guarded("/proc/kpageflags", probe_kpageflags)
    reason = tracing.failure or _required_events_refused(caps)
    return DoctorReport(
        euid=os.geteuid(),
        kernel_release=os.uname().release,
        tracefs=tracing.tracefs,
        capabilities=tuple(caps),
        can_record=not reason,
        reason=reason,
        cleaned=cleaned,
    )


def recording_refusal(report: DoctorReport) -> KernlabError | None:
    """The error `kernlab doctor` exits with when recording is impossible (None when it works):
    a permission problem for a user who is not root, else a kernel that lacks something."""
    if report.can_record:
        return None
    message = f"recording is impossible: {report.reason}"
    if report.euid != 0 and ("root" in report.reason or "permission" in report.reason.lower()):
        return PermissionNeeded(
            message, key="errors.report.recording_impossible", fields={"reason": report.reason}
        )
    return NotSupported(message, key="errors.report.recording_impossible", fields={"reason": report.reason})


def _event_groups() -> tuple[EventGroup, ...]:
    return tuple(
        EventGroup(
            group,
            EVENT_GROUPS[group],
            (f"record ({group}, default)",) if group in DEFAULT_GROUPS else (f"record -e {group}",),
        )
        for group in PROBED_GROUPS
    )


def _required_events_refused(caps: list[Capability]) -> str:
    needed = next((cap for cap in caps if cap.name == f"events: {REQUIRED_GROUP}"), None)
    if needed is None or needed.ok:
        return ""
    return f"system-call events cannot be enabled: {needed.detail}"


def _btf_function_id(name: str) -> int | None:
    func = load_btf().find(name, "FUNC")
    return None if func is None else func.id


# ------------------------------------------------------------------------------------------------
# what the recorder and the other commands need besides tracing


def probe_ptrace() -> Capability:
    """Seize a child of ours the way the recorder does (yama ptrace_scope 3 forbids it)."""
    enables = ("maps snapshots at exec and exit in recordings",)
    pid = os.fork()
    if pid == 0:
        try:
            signal.pause()
        finally:
            os._exit(0)
    try:
        ptrace.seize(pid)
        detail, ok = "PTRACE_SEIZE with exec/fork/clone/exit stops works", True
    except OSError as exc:
        detail, ok = why_refused(exc), False
    finally:
        os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return Capability("ptrace", ok, detail, enables, area="process")


def probe_btf() -> Capability:
    enables = ("kernlab struct (kernel structure layouts)", "BPF CO-RE")
    path = VMLINUX_BTF
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        return Capability("BTF", False, f"{path}: {exc.strerror}", enables, area="files")
    ok = magic in (b"\x9f\xeb", b"\xeb\x9f")
    return Capability("BTF", ok, path if ok else f"{path} has no BTF magic", enables, area="files")


def probe_config() -> Capability:
    enables = ("kernlab kernel (config facts)", "config facts in recordings")
    path = "/proc/config.gz"
    try:
        with gzip.open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        return Capability("/proc/config.gz", False, f"{exc.strerror or exc}", enables, area="files")
    return Capability("/proc/config.gz", bool(head), "readable", enables, area="files")


def probe_pagemap() -> Capability:
    enables = ("kernlab vtop (physical frame numbers)",)
    page = mmap.mmap(-1, mmap.PAGESIZE)
    try:
        page[0:1] = b"x"  # touch it so it has a frame
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        with open("/proc/self/pagemap", "rb") as fh:
            fh.seek(address // mmap.PAGESIZE * 8)
            (entry,) = struct.unpack("<Q", fh.read(8))
    except OSError as exc:
        return Capability("pagemap PFNs", False, f"/proc/self/pagemap: {exc.strerror}", enables, area="files")
    finally:
        with contextlib.suppress(BufferError):
            page.close()
    pfn = entry & ((1 << 55) - 1)
    if entry >> 63 and pfn:
        return Capability("pagemap PFNs", True, "frame numbers visible", enables, area="files")
    return Capability(
        "pagemap PFNs", False, "frame numbers read as 0 (needs CAP_SYS_ADMIN)", enables, area="files"
    )


def probe_kpageflags() -> Capability:
    enables = ("page flags in kernlab vtop",)
    try:
        with open("/proc/kpageflags", "rb") as fh:
            ok = len(fh.read(8)) == 8
    except OSError as exc:
        return Capability("/proc/kpageflags", False, f"{exc.strerror}", enables, area="files")
    return Capability("/proc/kpageflags", ok, "readable", enables, area="files")
