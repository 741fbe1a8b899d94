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
from dataclasses import dataclass

from kernlab.errors import KernlabError, NotSupported, PermissionNeeded
from kernlab.kernel.kvm_probe import KVM_DEVICE, KvmProbe, probe_kvm
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
    guarded,
    perf_event_open,
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
    """Why recording is impossible ("" when it is possible)."""
    cleaned: StaleCleanup | None = None
    machine: MachineFacts | None = None
    """None only in reports built by hand (tests); build() always fills it."""

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
        can_record=not reason,
        reason=reason,
        cleaned=cleaned,
        machine=machine_facts(),
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


# ------------------------------------------------------------------------------------------------
# the kernel's memory, its image, hardware branch records and tracing, KVM


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, "error")


def probe_kcore() -> Capability:
    """Open /proc/kcore and read its ELF header: it must be an ELF core file (e_type ET_CORE)."""
    enables = ("reading live kernel memory (gdb or drgn on /proc/kcore)",)
    path = "/proc/kcore"
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        detail = f"{exc.strerror} ({_errno_name(exc)})"
        if exc.errno == errno.ENOENT:
            detail += ": the kernel is built without CONFIG_PROC_KCORE"
        elif exc.errno in (errno.EPERM, errno.EACCES):
            lockdown = _lockdown()
            if lockdown and lockdown != "none":
                detail += f": kernel lockdown is {lockdown}"
        return Capability(path, False, detail, enables, area="files")
    if head[:4] != b"\x7fELF" or len(head) < 18:
        return Capability(path, False, "readable, but not an ELF file", enables, area="files")
    (e_type,) = struct.unpack_from("<H" if head[5] == 1 else ">H", head, 16)
    if e_type != 4:
        return Capability(path, False, f"readable, but ELF type {e_type}, not a core", enables, area="files")
    return Capability(path, True, "readable ELF core", enables, area="files")


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
    enables = ("kernlab kernel --image and kernlab disasm on the running kernel's image",)
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
        maps = f"System.map-{release} present" if has_map else f"no System.map-{release}"
        return Capability(name, True, f"{path} readable; {maps}", enables, area="files")
    if refused is not None:
        detail = f"{refused.filename}: {why_refused(refused)}"
        return Capability(name, False, detail, enables, area="files")
    others = sorted(
        entry.removeprefix("vmlinuz-")
        for entry in _listdir(boot)
        if entry.startswith("vmlinuz-") and not entry.endswith(".old")
    )
    detail = f"no {boot}/vmlinuz-{release}"
    if has_map:
        detail += f" (System.map-{release} is there)"
    if others:
        detail += f"; {boot} holds {', '.join(others)}"
    return Capability(name, False, detail, enables, area="files")


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

# What perf_event_open's errno means for a hardware event (kernel/events/core.c, arch/x86/events).
PERF_ERRNO_MEANING = {
    errno.ENOENT: "no hardware PMU event of this kind here",
    errno.ENODEV: "no PMU for it on this CPU",
    errno.EOPNOTSUPP: "this CPU or hypervisor has no branch stack",
    errno.EINVAL: "the kernel rejects the request",
    errno.EACCES: "not permitted (perf_event_paranoid or missing CAP_PERFMON)",
    errno.EPERM: "not permitted (perf_event_paranoid or missing CAP_PERFMON)",
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


def _perf_refusal(err: OSError) -> str:
    meaning = PERF_ERRNO_MEANING.get(err.errno or 0)
    return why_refused(err) + (f": {meaning}" if meaning else "")


def probe_lbr() -> Capability:
    """Open a hardware cycles event on this process sampling the branch stack (any branch in user
    space), as `perf record -b` does; first the plain cycles event, to tell a missing PMU apart."""
    name = "LBR branch stacks"
    enables = ("taken-branch records (perf record -b, AutoFDO and BOLT profiles)",)
    plain = perf_event_open(_perf_attr(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES))
    if plain is not None:
        detail = f"the hardware cycles event is {_perf_refusal(plain)}"
        if plain.errno == errno.ENOENT:
            detail = f"the hardware cycles event is {why_refused(plain)}: no hardware PMU is exposed here"
        return Capability(name, False, detail, enables, area="perf")
    err = perf_event_open(
        _perf_attr(
            PERF_TYPE_HARDWARE,
            PERF_COUNT_HW_CPU_CYCLES,
            PERF_SAMPLE_IP | PERF_SAMPLE_BRANCH_STACK,
            PERF_SAMPLE_BRANCH_ANY | PERF_SAMPLE_BRANCH_USER,
        )
    )
    if err is None:
        return Capability(
            name, True, "cycles sampling with a user-space branch stack works", enables, area="perf"
        )
    return Capability(name, False, f"branch stack {_perf_refusal(err)}", enables, area="perf")


INTEL_PT_TYPE = "/sys/bus/event_source/devices/intel_pt/type"


def probe_intel_pt(type_file: str = INTEL_PT_TYPE) -> Capability:
    """The intel_pt PMU's type from sysfs, then a perf event of that type on this process."""
    name = "Intel PT"
    enables = ("instruction-level control-flow traces (perf record -e intel_pt//)",)
    try:
        with open(type_file, encoding="ascii") as fh:
            pmu_type = int(fh.read().strip())
    except FileNotFoundError:
        return Capability(
            name, False, "no intel_pt PMU (not in /sys/bus/event_source/devices)", enables, area="perf"
        )
    except (OSError, ValueError) as exc:
        return Capability(name, False, f"{type_file}: {exc}", enables, area="perf")
    err = perf_event_open(_perf_attr(pmu_type, 0, sample_type=0))
    if err is not None:
        return Capability(
            name, False, f"intel_pt PMU (type {pmu_type}) {_perf_refusal(err)}", enables, area="perf"
        )
    return Capability(name, True, f"opened an intel_pt event (PMU type {pmu_type})", enables, area="perf")


KVM_MSR_CHECK = "KVM MSR 0x10a (qemu)"


def probe_kvm_capabilities() -> list[Capability]:
    """Run one vCPU to a hlt, and set MSR 0x10a as qemu does (kernlab.kernel.kvm_probe)."""
    probe = probe_kvm()
    return [
        Capability("KVM", *kvm_detail(probe), KVM_ENABLES, area="virtualization"),
        Capability(KVM_MSR_CHECK, *kvm_msr_detail(probe), QEMU_ENABLES, area="virtualization"),
    ]


KVM_ENABLES = ("hardware-accelerated virtual machines (Firecracker, cloud-hypervisor, qemu)",)
QEMU_ENABLES = ("qemu -enable-kvm (it sets IA32_ARCH_CAPABILITIES on every vCPU)",)


def kvm_detail(probe: KvmProbe) -> tuple[bool, str]:
    """Whether a vCPU ran, and if not, which step failed and why."""
    if probe.ran:
        return True, "a vCPU ran guest code to its hlt (KVM_RUN exit KVM_EXIT_HLT)"
    if probe.exit_reason is not None:
        return False, f"KVM_RUN stopped with exit reason {probe.exit_reason}, not KVM_EXIT_HLT (5)"
    if probe.error is None:
        return False, f"{probe.failed_step} failed"
    if probe.failed_step == f"open {KVM_DEVICE}" and probe.error == errno.ENOENT:
        return False, f"no {KVM_DEVICE} (kvm module not loaded, or no VT-x/AMD-V here)"
    return False, f"{probe.failed_step} refused: {os.strerror(probe.error)} ({probe.error_name})"


def kvm_msr_detail(probe: KvmProbe) -> tuple[bool, str]:
    """Whether the vCPU took the IA32_ARCH_CAPABILITIES value KVM offers, as qemu sets it."""
    if probe.msr_set:
        return True, f"KVM_SET_MSRS took 0x10a = {probe.msr_value:#x}, the value KVM offers"
    if probe.msr_set is None:
        return False, "not tried: no vCPU to set it on"
    step = probe.msr_failed_step or "?"
    if step == "KVM_SET_MSRS" and probe.msr_error is None:
        value = "" if probe.msr_value is None else f" to {probe.msr_value:#x} (what KVM offers)"
        prefix = "vCPUs run, but" if probe.ran else "even before a vCPU runs,"
        return False, (
            f"{prefix} setting MSR 0x10a (IA32_ARCH_CAPABILITIES){value} is refused: "
            "qemu -enable-kvm fails here"
        )
    why = "" if probe.msr_error is None else f": {os.strerror(probe.msr_error)}"
    return False, f"{step} failed{why}"
