"""The machine under the kernel: architecture, CPU model and flags, CPUs online, and whether it is
a virtual machine (and which hypervisor, when something says so).

Every fact is read from where the kernel publishes it: ``uname``, /proc/cpuinfo, the CPU lists
in /sys/devices/system/cpu, the firmware's DMI strings in /sys/class/dmi/id (absent on guests
without firmware tables, such as Firecracker's) and the clock sources the kernel found.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

__all__ = [
    "CPUINFO",
    "RELEVANT_CPU_FLAGS",
    "MachineInfo",
    "count_cpu_list",
    "hypervisor_from_clocksources",
    "hypervisor_from_dmi",
    "read_machine",
]

CPUINFO = "/proc/cpuinfo"
CPU_ONLINE = "/sys/devices/system/cpu/online"
DMI_DIR = "/sys/class/dmi/id"
CLOCKSOURCES = "/sys/devices/system/clocksource/clocksource0/available_clocksource"

# CPU flags a kernlab user asks about, in the order they are shown: vector units, 5-level paging,
# 1 GiB pages, the kernel's page-table isolation and branch tracking, hardware tracing and branch
# records, and hardware virtualization (Intel VT-x, AMD-V).
RELEVANT_CPU_FLAGS = (
    "avx2",
    "avx512f",
    "la57",
    "pdpe1gb",
    "pti",
    "ibt",
    "intel_pt",
    "arch_lbr",
    "amd_lbr_v2",
    "vmx",
    "svm",
)

# DMI sys_vendor / product_name spellings of the common hypervisors (systemd-detect-virt's table).
_DMI_HYPERVISORS = (
    ("QEMU", "QEMU"),
    ("KVM", "KVM"),
    ("Amazon EC2", "Amazon EC2 (Nitro, KVM)"),
    ("VMware", "VMware"),
    ("VirtualBox", "VirtualBox"),
    ("innotek GmbH", "VirtualBox"),
    ("Xen", "Xen"),
    ("Microsoft Corporation", "Hyper-V"),
    ("Google", "Google Compute Engine (KVM)"),
    ("Parallels", "Parallels"),
    ("Bochs", "Bochs"),
    ("BHYVE", "bhyve"),
    ("OpenStack", "OpenStack (KVM)"),
    ("Firecracker", "Firecracker (KVM)"),
)

# Paravirtual clock sources a kernel registers only when it runs under that hypervisor.
_CLOCKSOURCE_HYPERVISORS = (
    ("kvm-clock", "KVM"),
    ("xen", "Xen"),
    ("hyperv_clocksource_tsc_page", "Hyper-V"),
    ("hyperv_clocksource_msr", "Hyper-V"),
)


@dataclass(frozen=True)
class MachineInfo:
    """What the kernel says about the machine it runs on."""

    architecture: str  # uname -m
    cpu_model: str | None  # /proc/cpuinfo "model name" (x86), None where it has no such line
    cpu_flags: frozenset[str] | None  # the first CPU's flags; None when cpuinfo lists none
    cpus_online: int | None  # CPUs in /sys/devices/system/cpu/online
    cpus_usable: int  # CPUs this process may run on (sched_getaffinity, what nproc counts)
    dmi_vendor: str | None  # /sys/class/dmi/id/sys_vendor, None when absent or unreadable
    dmi_product: str | None  # /sys/class/dmi/id/product_name
    clocksources: tuple[str, ...]  # the clock sources the kernel registered

    @property
    def hypervisor_flag(self) -> bool | None:
        """The ``hypervisor`` CPU flag (x86: CPUID.1:ECX bit 31); None without CPU flags."""
        return None if self.cpu_flags is None else "hypervisor" in self.cpu_flags


def count_cpu_list(text: str) -> int:
    """How many CPUs a kernel CPU list such as ``0-3,8,10-11`` names."""
    total = 0
    for part in text.strip().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        total += int(last or first) - int(first) + 1
    return total


def hypervisor_from_dmi(vendor: str | None, product: str | None) -> str | None:
    """The hypervisor the firmware's DMI strings name (None when they name none)."""
    for text in (vendor, product):
        for needle, name in _DMI_HYPERVISORS:
            if text and needle.lower() in text.lower():
                return name
    return None


def hypervisor_from_clocksources(clocksources: tuple[str, ...]) -> tuple[str, str] | None:
    """(hypervisor, clock source) when the kernel registered a hypervisor's paravirtual clock."""
    for source, name in _CLOCKSOURCE_HYPERVISORS:
        if source in clocksources:
            return name, source
    return None


def read_machine() -> MachineInfo:
    model, flags = _cpuinfo()
    return MachineInfo(
        architecture=os.uname().machine,
        cpu_model=model,
        cpu_flags=flags,
        cpus_online=_cpus_online(),
        cpus_usable=len(os.sched_getaffinity(0)),
        dmi_vendor=_read_small(f"{DMI_DIR}/sys_vendor"),
        dmi_product=_read_small(f"{DMI_DIR}/product_name"),
        clocksources=tuple((_read_small(CLOCKSOURCES) or "").split()),
    )


def _cpuinfo(path: str = CPUINFO) -> tuple[str | None, frozenset[str] | None]:
    """The first CPU's model name and flags."""
    model: str | None = None
    flags: frozenset[str] | None = None
    with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            name, sep, value = line.partition(":")
            if not sep:
                if model is not None or flags is not None:
                    break  # the blank line after the first CPU
                continue
            key = name.strip()
            if key == "model name" and model is None:
                model = value.strip()
            elif key == "flags" and flags is None:
                flags = frozenset(value.split())
    return model, flags


def _cpus_online() -> int | None:
    text = _read_small(CPU_ONLINE)
    if text is None:
        return None
    try:
        return count_cpu_list(text)
    except ValueError:
        return None


def _read_small(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(4096).strip()
    except OSError:
        return None
    return text or None
