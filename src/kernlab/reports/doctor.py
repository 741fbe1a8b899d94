"""`kernlab doctor`: the machine, what this kernel and this user allow, each found by trying it,
and whether `kernlab record` can work.

The tracing probes are tracing facts (:mod:`kernlab.tracing.capabilities`). The doctor adds what
other layers need — ptrace as the recorder uses it, the kernel's BTF, /proc files, hardware
branch records and tracing, KVM — and names the event groups `kernlab record` offers. The
machine section (:class:`MachineFacts`) gathers the readers' facts about the hardware.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gzip
import mmap
import os
import signal
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from kernlab.errors import KernlabError, NotSupported, PermissionNeeded
from kernlab.kernel.kvm_probe import (
    KVM_API_VERSION,
    KVM_DEVICE,
    KVM_EXIT_HLT,
    STEP_ARCHITECTURE,
    STEP_CHILD,
    STEP_NOT_A_FEATURE_MSR,
    KvmProbe,
    probe_kvm,
)
from kernlab.kernel.machine import (
    RELEVANT_CPU_FLAGS,
    MachineInfo,
    hypervisor_from_clocksources,
    hypervisor_from_dmi,
    read_machine,
)
from kernlab.mm.paging import detect_paging
from kernlab.proc.meminfo import read_meminfo
from kernlab.recording import ptrace
from kernlab.recording.events import DEFAULT_GROUPS, EVENT_GROUPS
from kernlab.source.btf import VMLINUX_BTF, load_btf
from kernlab.tracing.capabilities import (
    Capability,
    EventGroup,
    FieldValue,
    Phrase,
    enabling,
    error_phrase,
    guarded,
    os_fields,
    perf_event_open,
    phrase,
    probe_bpf,
    probe_paranoid,
    probe_perf_callchain,
    probe_tracing,
    why_refused,
)
from kernlab.tracing.instance import StaleCleanup, clean_stale

__all__ = ["PROBED_GROUPS", "DoctorReport", "MachineFacts", "build", "machine_facts", "recording_refusal"]

PROBED_GROUPS = ("syscalls", "faults", "sched", "pagecache", "block", "fs", "kmem")
REQUIRED_GROUP = "syscalls"  # without system-call events there is no recording


@dataclass(frozen=True)
class MachineFacts:
    """The machine the kernel runs on, as the kernel describes it."""

    architecture: str  # uname -m
    cpu_model: str | None  # /proc/cpuinfo "model name"; None where there is none (arm64)
    cpus_online: int | None  # /sys/devices/system/cpu/online
    cpus_usable: int  # CPUs this process may run on (what nproc says)
    memory_total: int | None  # bytes: MemTotal of /proc/meminfo
    virtual_machine: bool | None  # the "hypervisor" CPU flag (or DMI naming one); None: unknown
    hypervisor: str | None  # which one, when something names it
    hypervisor_source: str | None  # what named it: "DMI sys_vendor", "clocksource kvm-clock", …
    cpu_features: tuple[str, ...]  # the flags of RELEVANT_CPU_FLAGS this CPU has, in that order
    cpu_features_absent: tuple[str, ...]  # those it lacks (empty when the CPU lists no flags)
    paging_levels: int | None  # page-table levels in use (kernlab.mm.paging); None: not detected
    paging_method: str | None  # how the levels were found


@dataclass(frozen=True)
class DoctorReport:
    """The machine, all capabilities, and whether ``kernlab record`` can work."""

    euid: int
    kernel_release: str
    tracefs: str
    capabilities: tuple[Capability, ...]
    can_record: bool
    reason: str
    """Why recording is impossible ("" when it is possible), in English (``reason_key`` with
    ``reason_fields`` is the same reason for explain/ to word)."""
    cleaned: StaleCleanup | None = None
    machine: MachineFacts | None = None
    """None only in reports built by hand (tests); build() always fills it."""
    reason_key: str = ""
    reason_fields: Mapping[str, FieldValue] = field(default_factory=dict)

    @property
    def why_not(self) -> Phrase:
        """The reason as a phrase (key "" when it was given as text only)."""
        return Phrase(self.reason_key, self.reason_fields, self.reason)

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
    caps += guarded("LBR branch stacks", probe_lbr)
    caps += guarded("Intel PT", probe_intel_pt)
    caps += guarded("BTF", probe_btf)
    caps += guarded("/proc/config.gz", probe_config)
    caps += guarded("pagemap PFNs", probe_pagemap)
    caps += guarded("/proc/kpageflags", probe_kpageflags)
    caps += guarded("/proc/kcore", probe_kcore)
    caps += guarded("kernel image in /boot", probe_boot_image)
    caps += guarded("KVM", probe_kvm_capabilities)
    reason = tracing.failure or _required_events_refused(caps)
    return DoctorReport(
        euid=os.geteuid(),
        kernel_release=os.uname().release,
        tracefs=tracing.tracefs,
        capabilities=tuple(caps),
        can_record=reason is None,
        reason="" if reason is None else str(reason),
        cleaned=cleaned,
        machine=machine_facts(),
        reason_key="" if reason is None else reason.key,
        reason_fields={} if reason is None else reason.fields,
    )


def machine_facts(info: MachineInfo | None = None) -> MachineFacts:
    """The machine section: the readers' facts, memory from /proc/meminfo, paging from
    kernlab.mm.paging (its mmap probe, not an assumption)."""
    info = read_machine() if info is None else info
    try:
        memory: int | None = read_meminfo().get("MemTotal") * 1024
    except KernlabError:
        memory = None
    try:
        mode = detect_paging()
        levels, method = mode.levels, mode.method
    except (KernlabError, OSError):
        levels, method = None, None
    flags = info.cpu_flags
    hypervisor, source = _hypervisor(info)
    virtual = info.hypervisor_flag
    if hypervisor is not None and source is not None and source.startswith("DMI"):
        virtual = True
    return MachineFacts(
        architecture=info.architecture,
        cpu_model=info.cpu_model,
        cpus_online=info.cpus_online,
        cpus_usable=info.cpus_usable,
        memory_total=memory,
        virtual_machine=virtual,
        hypervisor=hypervisor if virtual is not False else None,
        hypervisor_source=source if virtual is not False else None,
        cpu_features=tuple(f for f in RELEVANT_CPU_FLAGS if flags and f in flags),
        cpu_features_absent=tuple(f for f in RELEVANT_CPU_FLAGS if flags and f not in flags),
        paging_levels=levels,
        paging_method=method,
    )


def _hypervisor(info: MachineInfo) -> tuple[str | None, str | None]:
    dmi = hypervisor_from_dmi(info.dmi_vendor, None)
    if dmi is not None:
        return dmi, "DMI sys_vendor"
    dmi = hypervisor_from_dmi(None, info.dmi_product)
    if dmi is not None:
        return dmi, "DMI product_name"
    clock = hypervisor_from_clocksources(info.clocksources)
    if clock is not None:
        return clock[0], f"clocksource {clock[1]}"
    return None, None


def recording_refusal(report: DoctorReport) -> KernlabError | None:
    """The error `kernlab doctor` exits with when recording is impossible (None when it works):
    a permission problem for a user who is not root, else a kernel that lacks something."""
    if report.can_record:
        return None
    message = f"recording is impossible: {report.reason}"
    # The reason as a phrase, so that the error line says it in the language asked for too.
    fields = {"reason": report.why_not}
    if report.euid != 0 and ("root" in report.reason or "permission" in report.reason.lower()):
        return PermissionNeeded(message, key="errors.report.recording_impossible", fields=fields)
    return NotSupported(message, key="errors.report.recording_impossible", fields=fields)


def _event_groups() -> tuple[EventGroup, ...]:
    return tuple(
        EventGroup(
            group,
            EVENT_GROUPS[group],
            (enabling("record_default" if group in DEFAULT_GROUPS else "record_group", group=group),),
        )
        for group in PROBED_GROUPS
    )


def _required_events_refused(caps: list[Capability]) -> Phrase | None:
    needed = next((cap for cap in caps if cap.name == f"events: {REQUIRED_GROUP}"), None)
    if needed is None or needed.ok:
        return None
    return phrase(
        "doctor.detail.no_syscall_events", "system-call events cannot be enabled: {reason}", reason=needed.why
    )


def _btf_function_id(name: str) -> int | None:
    func = load_btf().find(name, "FUNC")
    return None if func is None else func.id


# ------------------------------------------------------------------------------------------------
# what the recorder and the other commands need besides tracing


def probe_ptrace() -> Capability:
    """Seize a child of ours the way the recorder does (yama ptrace_scope 3 forbids it)."""
    enables = (enabling("maps_snapshots"),)
    pid = os.fork()
    if pid == 0:
        try:
            signal.pause()
        finally:
            os._exit(0)
    try:
        ptrace.seize(pid)
        why = phrase(
            "doctor.detail.ptrace_works",
            "{request} with exec/fork/clone/exit stops works",
            request="PTRACE_SEIZE",
        )
        ok = True
    except OSError as exc:
        why, ok = why_refused(exc), False
    finally:
        os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return Capability.found("ptrace", ok, why, enables, area="process")


def probe_btf() -> Capability:
    enables = (enabling("struct"), enabling("bpf_core"))
    path = VMLINUX_BTF
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        return Capability.found("BTF", False, _path_error(path, exc), enables, area="files")
    if magic in (b"\x9f\xeb", b"\xeb\x9f"):
        return Capability.found(
            "BTF",
            True,
            phrase("doctor.detail.btf_found", "{path} holds BTF", path=path),
            enables,
            area="files",
        )
    why = phrase("doctor.detail.no_btf_magic", "{path} has no BTF magic", path=path)
    return Capability.found("BTF", False, why, enables, area="files")


def _path_error(path: str, exc: OSError) -> Phrase:
    return phrase("doctor.detail.path_error", "{path}: {strerror} ({errno})", path=path, **os_fields(exc))


def _readable() -> Phrase:
    return phrase("doctor.detail.readable", "readable")


def probe_config() -> Capability:
    enables = (enabling("kernel_config"), enabling("config_in_recordings"))
    path = "/proc/config.gz"
    try:
        with gzip.open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        return Capability.found(path, False, error_phrase(exc), enables, area="files")
    if not head:
        return Capability.found(
            path, False, phrase("doctor.detail.empty", "{path} is empty", path=path), enables, area="files"
        )
    return Capability.found(path, True, _readable(), enables, area="files")


def probe_pagemap() -> Capability:
    enables = (enabling("vtop_frames"),)
    page = mmap.mmap(-1, mmap.PAGESIZE)
    try:
        page[0:1] = b"x"  # touch it so it has a frame
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        with open("/proc/self/pagemap", "rb") as fh:
            fh.seek(address // mmap.PAGESIZE * 8)
            (entry,) = struct.unpack("<Q", fh.read(8))
    except OSError as exc:
        why = _path_error("/proc/self/pagemap", exc)
        return Capability.found("pagemap PFNs", False, why, enables, area="files")
    finally:
        with contextlib.suppress(BufferError):
            page.close()
    pfn = entry & ((1 << 55) - 1)
    if entry >> 63 and pfn:
        why = phrase("doctor.detail.frames_visible", "frame numbers visible")
        return Capability.found("pagemap PFNs", True, why, enables, area="files")
    why = phrase(
        "doctor.detail.frames_hidden",
        "frame numbers read as 0 (needs {capability})",
        capability="CAP_SYS_ADMIN",
    )
    return Capability.found("pagemap PFNs", False, why, enables, area="files")


def probe_kpageflags() -> Capability:
    enables = (enabling("vtop_page_flags"),)
    path = "/proc/kpageflags"
    try:
        with open(path, "rb") as fh:
            ok = len(fh.read(8)) == 8
    except OSError as exc:
        return Capability.found(path, False, _os_error(exc), enables, area="files")
    if not ok:
        return Capability.found(
            path, False, phrase("doctor.detail.empty", "{path} is empty", path=path), enables, area="files"
        )
    return Capability.found(path, True, _readable(), enables, area="files")


def _os_error(exc: OSError) -> Phrase:
    return phrase("doctor.detail.os_error", "{strerror} ({errno})", **os_fields(exc))


# ------------------------------------------------------------------------------------------------
# the kernel's memory, its image, hardware branch records and tracing, KVM


def probe_kcore() -> Capability:
    """Open /proc/kcore and read its ELF header: it must be an ELF core file (e_type ET_CORE)."""
    enables = (enabling("kcore"),)
    path = "/proc/kcore"
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        why = _os_error(exc)
        if exc.errno == errno.ENOENT:
            why = phrase(
                "doctor.detail.kcore_not_built",
                "{strerror} ({errno}): the kernel is built without {config}",
                config="CONFIG_PROC_KCORE",
                **os_fields(exc),
            )
        elif exc.errno in (errno.EPERM, errno.EACCES):
            lockdown = _lockdown()
            if lockdown and lockdown != "none":
                why = phrase(
                    "doctor.detail.kcore_lockdown",
                    "{strerror} ({errno}): kernel lockdown is {mode}",
                    mode=lockdown,
                    **os_fields(exc),
                )
        return Capability.found(path, False, why, enables, area="files")
    if head[:4] != b"\x7fELF" or len(head) < 18:
        why = phrase("doctor.detail.not_elf", "readable, but not an ELF file")
        return Capability.found(path, False, why, enables, area="files")
    (e_type,) = struct.unpack_from("<H" if head[5] == 1 else ">H", head, 16)
    if e_type != 4:
        why = phrase("doctor.detail.not_core", "readable, but ELF type {type}, not a core", type=e_type)
        return Capability.found(path, False, why, enables, area="files")
    return Capability.found(
        path, True, phrase("doctor.detail.elf_core", "readable ELF core"), enables, area="files"
    )


def _lockdown() -> str | None:
    """The active mode of /sys/kernel/security/lockdown ("none", "integrity", …), if readable."""
    try:
        with open("/sys/kernel/security/lockdown", encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else None


BOOT = "/boot"


def probe_boot_image(boot: str = BOOT, release: str | None = None) -> Capability:
    """Read the first bytes of /boot/vmlinuz-<release> (or vmlinux-) and look for System.map."""
    name = "kernel image in /boot"
    enables = (enabling("boot_image"),)
    release = os.uname().release if release is None else release
    system_map = os.path.join(boot, f"System.map-{release}")
    has_map = os.path.exists(system_map)
    refused: OSError | None = None
    for image in (f"vmlinuz-{release}", f"vmlinux-{release}"):
        path = os.path.join(boot, image)
        try:
            with open(path, "rb") as fh:
                fh.read(512)
        except FileNotFoundError:
            continue
        except OSError as exc:
            refused = exc
            continue
        map_name = f"System.map-{release}"
        if has_map:
            why = phrase(
                "doctor.detail.boot_image_map", "{path} readable; {map} present", path=path, map=map_name
            )
        else:
            why = phrase(
                "doctor.detail.boot_image_no_map", "{path} readable; no {map}", path=path, map=map_name
            )
        return Capability.found(name, True, why, enables, area="files")
    if refused is not None:
        why = phrase(
            "doctor.detail.path_refused",
            "{path}: refused: {strerror} ({errno})",
            path=os.fsdecode(refused.filename or ""),
            **os_fields(refused),
        )
        return Capability.found(name, False, why, enables, area="files")
    others = sorted(
        entry.removeprefix("vmlinuz-")
        for entry in _listdir(boot)
        if entry.startswith("vmlinuz-") and not entry.endswith(".old")
    )
    fields: dict[str, FieldValue] = {"path": f"{boot}/vmlinuz-{release}", "map": f"System.map-{release}"}
    if others:
        fields.update(boot=boot, others=", ".join(others))
        if has_map:
            why = phrase(
                "doctor.detail.no_boot_image_map_others",
                "no {path} ({map} is there); {boot} holds {others}",
                **fields,
            )
        else:
            why = phrase("doctor.detail.no_boot_image_others", "no {path}; {boot} holds {others}", **fields)
    elif has_map:
        why = phrase("doctor.detail.no_boot_image_map", "no {path} ({map} is there)", **fields)
    else:
        why = phrase("doctor.detail.no_boot_image", "no {path}", path=fields["path"])
    return Capability.found(name, False, why, enables, area="files")


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


PERF_TYPE_HARDWARE = 0
PERF_COUNT_HW_CPU_CYCLES = 0
PERF_SAMPLE_IP = 1 << 0
PERF_SAMPLE_BRANCH_STACK = 1 << 11
PERF_SAMPLE_BRANCH_USER = 1 << 0
PERF_SAMPLE_BRANCH_ANY = 1 << 3
PERF_ATTR_SIZE_VER2 = 80  # the first size with branch_sample_type
ATTR_DISABLED, ATTR_EXCLUDE_KERNEL, ATTR_EXCLUDE_HV = 1 << 0, 1 << 5, 1 << 6

# What perf_event_open's errno means for a hardware event (kernel/events/core.c, arch/x86/events):
# a doctor.perf_errno key, and its English as the catalog says it.
PERF_ERRNO_MEANING = {
    errno.ENOENT: ("no_event", "no hardware PMU event of this kind here"),
    errno.ENODEV: ("no_pmu", "no PMU for it on this CPU"),
    errno.EOPNOTSUPP: ("no_branch_stack", "this CPU or hypervisor has no branch stack"),
    errno.EINVAL: ("rejected", "the kernel rejects the request"),
    errno.EACCES: ("not_permitted", "not permitted (perf_event_paranoid or missing CAP_PERFMON)"),
    errno.EPERM: ("not_permitted", "not permitted (perf_event_paranoid or missing CAP_PERFMON)"),
}


def _perf_attr(
    pmu_type: int, config: int, sample_type: int = PERF_SAMPLE_IP, branch_sample_type: int = 0
) -> bytes:
    """A perf_event_attr (ABI version 2): user space only, disabled, sampling every 100000."""
    flags = ATTR_DISABLED | ATTR_EXCLUDE_KERNEL | ATTR_EXCLUDE_HV
    return struct.pack(
        "=IIQQQQQIIQQQ",
        pmu_type,
        PERF_ATTR_SIZE_VER2,
        config,
        100_000,
        sample_type,
        0,
        flags,
        0,
        0,
        0,
        0,
        branch_sample_type,
    )


def _perf_refusal(err: OSError, meaning: tuple[str, str] | None = None) -> Phrase:
    """refused: strerror (ERRNO), with what that errno means for a hardware event where known."""
    meaning = meaning or PERF_ERRNO_MEANING.get(err.errno or 0)
    if meaning is None:
        return why_refused(err)
    return phrase(
        "doctor.detail.perf_refused",
        "refused: {strerror} ({errno}): {meaning}",
        meaning=Phrase(f"doctor.perf_errno.{meaning[0]}", {}, meaning[1]),
        **os_fields(err),
    )


def probe_lbr() -> Capability:
    """Open a hardware cycles event on this process sampling the branch stack (any branch in user
    space), as `perf record -b` does; first the plain cycles event, to tell a missing PMU apart."""
    name = "LBR branch stacks"
    enables = (enabling("lbr"),)
    plain = perf_event_open(_perf_attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES))
    if plain is not None:
        no_pmu = (
            ("no_pmu_exposed", "no hardware PMU is exposed here") if plain.errno == errno.ENOENT else None
        )
        why = phrase(
            "doctor.detail.cycles_refused",
            "the hardware {event} event is {refusal}",
            event="cycles",
            refusal=_perf_refusal(plain, no_pmu),
        )
        return Capability.found(name, False, why, enables, area="perf")
    err = perf_event_open(
        _perf_attr(
            PERF_TYPE_HARDWARE,
            PERF_COUNT_HW_CPU_CYCLES,
            PERF_SAMPLE_IP | PERF_SAMPLE_BRANCH_STACK,
            PERF_SAMPLE_BRANCH_ANY | PERF_SAMPLE_BRANCH_USER,
        )
    )
    if err is None:
        why = phrase(
            "doctor.detail.branch_stack_works",
            "{event} sampling with a user-space branch stack works",
            event="cycles",
        )
        return Capability.found(name, True, why, enables, area="perf")
    why = phrase("doctor.detail.branch_stack_refused", "branch stack {refusal}", refusal=_perf_refusal(err))
    return Capability.found(name, False, why, enables, area="perf")


INTEL_PT_TYPE = "/sys/bus/event_source/devices/intel_pt/type"


def probe_intel_pt(type_file: str = INTEL_PT_TYPE) -> Capability:
    """The intel_pt PMU's type from sysfs, then a perf event of that type on this process."""
    name = "Intel PT"
    enables = (enabling("intel_pt"),)
    try:
        with open(type_file, encoding="ascii") as fh:
            pmu_type = int(fh.read().strip())
    except FileNotFoundError:
        why = phrase(
            "doctor.detail.no_pmu",
            "no {pmu} PMU (not in {path})",
            pmu="intel_pt",
            path="/sys/bus/event_source/devices",
        )
        return Capability.found(name, False, why, enables, area="perf")
    except OSError as exc:
        return Capability.found(name, False, _path_error(type_file, exc), enables, area="perf")
    except ValueError:
        why = phrase("doctor.detail.not_a_number", "{path} does not hold a number", path=type_file)
        return Capability.found(name, False, why, enables, area="perf")
    err = perf_event_open(_perf_attr(pmu_type, 0, sample_type=0))
    if err is not None:
        why = phrase(
            "doctor.detail.pmu_refused",
            "{pmu} PMU (type {type}) {refusal}",
            pmu="intel_pt",
            type=pmu_type,
            refusal=_perf_refusal(err),
        )
        return Capability.found(name, False, why, enables, area="perf")
    why = phrase(
        "doctor.detail.pmu_opened", "opened an {pmu} event (PMU type {type})", pmu="intel_pt", type=pmu_type
    )
    return Capability.found(name, True, why, enables, area="perf")


KVM_MSR_CHECK = "KVM MSR 0x10a (qemu)"


def probe_kvm_capabilities() -> list[Capability]:
    """Run one vCPU to a hlt, and set MSR 0x10a as qemu does (kernlab.kernel.kvm_probe)."""
    probe = probe_kvm()
    return [
        Capability.found("KVM", *kvm_detail(probe), KVM_ENABLES, area="virtualization"),
        Capability.found(KVM_MSR_CHECK, *kvm_msr_detail(probe), QEMU_ENABLES, area="virtualization"),
    ]


KVM_ENABLES = (enabling("kvm"),)
QEMU_ENABLES = (enabling("qemu_kvm"),)


def _errno_fields(number: int) -> dict[str, FieldValue]:
    return os_fields(OSError(number, os.strerror(number)))


def kvm_detail(probe: KvmProbe) -> tuple[bool, Phrase]:
    """Whether a vCPU ran, and if not, which step failed and why."""
    if probe.ran:
        return True, phrase(
            "doctor.detail.kvm_ran",
            "a vCPU ran guest code to its hlt ({ioctl} exit {exit})",
            ioctl="KVM_RUN",
            exit="KVM_EXIT_HLT",
        )
    if probe.exit_reason is not None:
        return False, phrase(
            "doctor.detail.kvm_exit_reason",
            "{ioctl} stopped with exit reason {reason}, not {exit} ({hlt})",
            ioctl="KVM_RUN",
            reason=probe.exit_reason,
            exit="KVM_EXIT_HLT",
            hlt=KVM_EXIT_HLT,
        )
    step = probe.failed_step or "?"
    if step == "KVM_GET_API_VERSION" and probe.error is None and probe.api_version is not None:
        return False, phrase(
            "doctor.detail.kvm_api_version",
            "{ioctl} answered {version}, not {expected}",
            ioctl=step,
            version=probe.api_version,
            expected=KVM_API_VERSION,
        )
    if probe.error is None:
        return False, phrase("doctor.detail.step_failed", "{step} failed", step=step)
    if step == f"open {KVM_DEVICE}" and probe.error == errno.ENOENT:
        return False, phrase(
            "doctor.detail.kvm_no_device",
            "no {device} (kvm module not loaded, or no VT-x/AMD-V here)",
            device=KVM_DEVICE,
        )
    if step == STEP_ARCHITECTURE:
        return False, phrase("doctor.detail.kvm_not_x86", "the probe runs x86 guest code only")
    if step == STEP_CHILD:
        return False, phrase(
            "doctor.detail.kvm_child_failed",
            "the probe's child process gave no answer ({errno})",
            errno=_errno_fields(probe.error)["errno"],
        )
    if probe.error == errno.ETIME and probe.timeout is not None:
        return False, phrase(
            "doctor.detail.kvm_timeout",
            "{ioctl} gave no answer within {seconds} s",
            ioctl=step,
            seconds=f"{probe.timeout:g}",
        )
    return False, phrase(
        "doctor.detail.step_refused",
        "{step} refused: {strerror} ({errno})",
        step=step,
        **_errno_fields(probe.error),
    )


def kvm_msr_detail(probe: KvmProbe) -> tuple[bool, Phrase]:
    """Whether the vCPU took the IA32_ARCH_CAPABILITIES value KVM offers, as qemu sets it."""
    value = "?" if probe.msr_value is None else f"{probe.msr_value:#x}"
    if probe.msr_set:
        return True, phrase(
            "doctor.detail.kvm_msr_set",
            "{ioctl} took 0x10a = {value}, the value KVM offers",
            ioctl="KVM_SET_MSRS",
            value=value,
        )
    if probe.msr_set is None:
        return False, phrase("doctor.detail.kvm_msr_no_vcpu", "not tried: no vCPU to set it on")
    step = probe.msr_failed_step or "?"
    if step == STEP_NOT_A_FEATURE_MSR:
        return False, phrase(
            "doctor.detail.kvm_msr_not_offered",
            "0x10a is not among the feature MSRs KVM lists ({ioctl})",
            ioctl="KVM_GET_MSR_FEATURE_INDEX_LIST",
        )
    if step == "KVM_SET_MSRS" and probe.msr_error is None:
        if probe.ran:
            return False, phrase(
                "doctor.detail.kvm_msr_refused",
                "vCPUs run, but setting MSR 0x10a ({msr}) to {value} (what KVM offers) is refused: "
                "{command} fails here",
                msr="IA32_ARCH_CAPABILITIES",
                value=value,
                command="qemu -enable-kvm",
            )
        return False, phrase(
            "doctor.detail.kvm_msr_refused_before_run",
            "even before a vCPU runs, setting MSR 0x10a ({msr}) to {value} (what KVM offers) is refused: "
            "{command} fails here",
            msr="IA32_ARCH_CAPABILITIES",
            value=value,
            command="qemu -enable-kvm",
        )
    if probe.msr_error is None:
        return False, phrase("doctor.detail.step_failed", "{step} failed", step=step)
    return False, phrase(
        "doctor.detail.step_failed_errno",
        "{step} failed: {strerror} ({errno})",
        step=step,
        **_errno_fields(probe.msr_error),
    )
