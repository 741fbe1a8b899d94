"""Whether this kernel runs a virtual CPU for this user, found by running one (x86 only).

The probe does what a minimal VMM does (Documentation/virt/kvm/api.rst): open /dev/kvm, check
``KVM_GET_API_VERSION`` is 12, ``KVM_CREATE_VM``, give the guest one page of memory at
guest-physical 0x1000 holding ``hlt`` (0xf4), ``KVM_CREATE_VCPU``, point CS:RIP at 0:0x1000
in real mode and ``KVM_RUN`` once: the vCPU must come back with ``KVM_EXIT_HLT``.

It also does what qemu does before its first run and what fails in some nested setups: give the
vCPU the CPUID KVM supports (``KVM_GET_SUPPORTED_CPUID``, ``KVM_SET_CPUID2``) and set the
feature MSR IA32_ARCH_CAPABILITIES (0x10a) to the value KVM offers for it (``KVM_GET_MSRS`` on
/dev/kvm, ``KVM_SET_MSRS`` on the vCPU). ``qemu -enable-kvm`` stops with "failed to set MSR
0x10a" when that last step is refused.

The probe runs in a forked child so that a vCPU that does not stop cannot hang the caller: the
parent waits at most ``timeout`` seconds and then kills it. Every file descriptor is closed and
every mapping unmapped on every path (and the child's exit would release them in any case).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import mmap
import os
import signal
import struct
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from kernlab.libc import MAP_FAILED, libc

__all__ = [
    "KVM_DEVICE",
    "STEP_ARCHITECTURE",
    "STEP_CHILD",
    "STEP_NOT_A_FEATURE_MSR",
    "KvmProbe",
    "probe_kvm",
]

KVM_DEVICE = "/dev/kvm"
KVM_API_VERSION = 12
KVM_EXIT_HLT = 5
MSR_IA32_ARCH_CAPABILITIES = 0x10A

GUEST_ADDRESS = 0x1000
PAGE = 0x1000
HLT = b"\xf4"

# Steps that are not an ioctl or a system call (``KvmProbe.failed_step`` names those as they are
# spelt: "open /dev/kvm", "KVM_RUN", "mmap kvm_run"):
STEP_ARCHITECTURE = "architecture"  # the guest code is x86; this machine is not (ENOSYS)
STEP_CHILD = "child"  # the child that ran the probe sent no answer that could be read (EIO)
STEP_NOT_A_FEATURE_MSR = "not a feature MSR"  # 0x10a is not among KVM's feature MSRs


def _ioc(direction: int, number: int, size: int) -> int:
    """The _IOC() encoding of a KVM ioctl (type 0xAE)."""
    return (direction << 30) | (size << 16) | (0xAE << 8) | number


_NONE, _WRITE, _READ = 0, 1, 2
KVM_GET_API_VERSION = _ioc(_NONE, 0x00, 0)
KVM_CREATE_VM = _ioc(_NONE, 0x01, 0)
KVM_GET_VCPU_MMAP_SIZE = _ioc(_NONE, 0x04, 0)
KVM_GET_SUPPORTED_CPUID = _ioc(_READ | _WRITE, 0x05, 8)  # struct kvm_cpuid2
KVM_GET_MSR_FEATURE_INDEX_LIST = _ioc(_READ | _WRITE, 0x0A, 4)  # struct kvm_msr_list
KVM_CREATE_VCPU = _ioc(_NONE, 0x41, 0)
KVM_SET_USER_MEMORY_REGION = _ioc(_WRITE, 0x46, 32)  # struct kvm_userspace_memory_region
KVM_RUN = _ioc(_NONE, 0x80, 0)
KVM_GET_REGS = _ioc(_READ, 0x81, 144)  # struct kvm_regs: 18 u64
KVM_SET_REGS = _ioc(_WRITE, 0x82, 144)
KVM_GET_SREGS = _ioc(_READ, 0x83, 312)  # struct kvm_sregs
KVM_SET_SREGS = _ioc(_WRITE, 0x84, 312)
KVM_GET_MSRS = _ioc(_READ | _WRITE, 0x88, 8)  # struct kvm_msrs
KVM_SET_MSRS = _ioc(_WRITE, 0x89, 8)
KVM_SET_CPUID2 = _ioc(_WRITE, 0x90, 8)

_REGS_RIP, _REGS_RFLAGS = 16 * 8, 17 * 8  # offsets in struct kvm_regs
_SREGS_CS_BASE, _SREGS_CS_SELECTOR = 0, 12  # cs is the first struct kvm_segment of kvm_sregs
_RUN_EXIT_REASON = 8  # offset of exit_reason in struct kvm_run
_CPUID_ENTRY_SIZE, _MAX_CPUID_ENTRIES = 40, 256


@dataclass(frozen=True)
class KvmProbe:
    """What running one vCPU showed. ``failed_step`` names the ioctl (or other step) that failed
    and ``error`` its errno; both are None when the vCPU ran to its ``hlt``. A KVM_RUN that did
    not come back is ``failed_step`` "KVM_RUN" with ``error`` ETIME and ``timeout`` set."""

    ran: bool
    failed_step: str | None = None
    error: int | None = None
    api_version: int | None = None
    exit_reason: int | None = None  # what KVM_RUN returned with, when it was not KVM_EXIT_HLT
    # The qemu-like MSR check: None when it was not reached, True when KVM_SET_MSRS took 0x10a.
    msr_set: bool | None = None
    msr_failed_step: str | None = None  # the step of that check that failed
    msr_error: int | None = None
    msr_value: int | None = None  # the IA32_ARCH_CAPABILITIES value KVM offers
    timeout: float | None = None  # seconds waited for a KVM_RUN that did not come back

    @property
    def error_name(self) -> str | None:
        return None if self.error is None else errno.errorcode.get(self.error, str(self.error))


class _StepFailed(Exception):
    def __init__(self, step: str, err: int | None) -> None:
        super().__init__(step)
        self.step, self.err = step, err


def probe_kvm(timeout: float = 5.0, device: str = KVM_DEVICE) -> KvmProbe:
    """Run the probe in a child and return what it saw (a timeout is a failed KVM_RUN)."""
    if os.uname().machine not in ("x86_64", "i686", "i386"):
        return KvmProbe(False, STEP_ARCHITECTURE, errno.ENOSYS)
    try:
        os.stat(device)
    except OSError as exc:
        return KvmProbe(False, f"open {device}", exc.errno)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: probe, report as JSON, leave without running any cleanup of the parent
        code = 1
        try:
            os.close(read_end)
            os.write(write_end, json.dumps(asdict(_probe(device))).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    data = None
    try:
        data = _wait_for_child(pid, read_end, timeout)
    finally:
        os.close(read_end)
        if data is None:  # still running (or the wait failed): stop it and reap it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    if data is None:
        return KvmProbe(False, "KVM_RUN", errno.ETIME, timeout=timeout)
    try:
        return KvmProbe(**json.loads(data))
    except (ValueError, TypeError):
        return KvmProbe(False, STEP_CHILD, errno.EIO)


def _wait_for_child(pid: int, fd: int, timeout: float) -> bytes | None:
    """What the child wrote to the pipe once it has exited; None when it is still running after
    ``timeout`` (its answer is a few hundred bytes, which a pipe holds without blocking it).

    Polling waitpid rather than select(): doctor also runs as a user whose interpreter may not
    be able to load more extension modules, and this needs none beyond what kernlab loads."""
    deadline = time.monotonic() + timeout
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.002)
    chunks: list[bytes] = []
    os.set_blocking(fd, False)
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _ioctl(fd: int, request: int, arg: int | bytearray, step: str) -> int:
    """ioctl(2) through libc (``arg``: a number, or a buffer the kernel reads and may fill)."""
    if isinstance(arg, bytearray):
        buffer = (ctypes.c_char * len(arg)).from_buffer(arg)
        result = libc().ioctl(fd, ctypes.c_ulong(request), buffer)
        del buffer  # release the export of ``arg``
    else:
        result = libc().ioctl(fd, ctypes.c_ulong(request), ctypes.c_ulong(arg))
    if result < 0:
        raise _StepFailed(step, ctypes.get_errno())
    return int(result)


@contextlib.contextmanager
def _fd(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def _guest_page() -> Iterator[int]:
    """One anonymous page of this process to serve as guest memory; its address."""
    lib = libc()
    prot, flags = mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    address = lib.mmap(None, PAGE, prot, flags, -1, 0)
    if address is None or address == MAP_FAILED:
        raise _StepFailed("mmap", ctypes.get_errno())
    try:
        yield int(address)
    finally:
        lib.munmap(address, PAGE)


def _probe(device: str) -> KvmProbe:
    api: int | None = None
    msr: dict[str, Any] = {}
    try:
        try:
            kvm_fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            raise _StepFailed(f"open {device}", exc.errno) from exc
        with _fd(kvm_fd) as kvm:
            api = _ioctl(kvm, KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION")
            if api != KVM_API_VERSION:  # api_version says what it answered
                raise _StepFailed("KVM_GET_API_VERSION", None)
            with _fd(_ioctl(kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM")) as vm, _guest_page() as page:
                run_size = _ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE")
                ctypes.memmove(page, HLT, len(HLT))
                region = bytearray(struct.pack("=IIQQQ", 0, 0, GUEST_ADDRESS, PAGE, page))
                _ioctl(vm, KVM_SET_USER_MEMORY_REGION, region, "KVM_SET_USER_MEMORY_REGION")
                with _fd(_ioctl(vm, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU")) as vcpu:
                    msr = _arch_capabilities_msr(kvm, vcpu)
                    exit_reason = _run_to_hlt(vcpu, run_size)
    except _StepFailed as failed:
        return KvmProbe(False, failed.step, failed.err, api, **msr)
    if exit_reason != KVM_EXIT_HLT:
        return KvmProbe(False, "KVM_RUN", None, api, exit_reason, **msr)
    return KvmProbe(True, None, None, api, **msr)


def _run_to_hlt(vcpu: int, run_size: int) -> int:
    """Point the vCPU at the hlt in real mode, run it once, return kvm_run.exit_reason."""
    try:
        run = mmap.mmap(vcpu, run_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError as exc:
        raise _StepFailed("mmap kvm_run", exc.errno) from exc
    try:
        sregs = bytearray(312)
        _ioctl(vcpu, KVM_GET_SREGS, sregs, "KVM_GET_SREGS")
        struct.pack_into("=Q", sregs, _SREGS_CS_BASE, 0)
        struct.pack_into("=H", sregs, _SREGS_CS_SELECTOR, 0)
        _ioctl(vcpu, KVM_SET_SREGS, sregs, "KVM_SET_SREGS")
        regs = bytearray(144)
        _ioctl(vcpu, KVM_GET_REGS, regs, "KVM_GET_REGS")
        regs[:] = bytes(144)
        struct.pack_into("=QQ", regs, _REGS_RIP, GUEST_ADDRESS, 2)
        _ioctl(vcpu, KVM_SET_REGS, regs, "KVM_SET_REGS")
        _ioctl(vcpu, KVM_RUN, 0, "KVM_RUN")
        return int(struct.unpack_from("=I", run, _RUN_EXIT_REASON)[0])
    finally:
        run.close()


def _arch_capabilities_msr(kvm: int, vcpu: int) -> dict[str, Any]:
    """qemu's first steps with a vCPU: the supported CPUID, then IA32_ARCH_CAPABILITIES set to
    the value KVM offers. The fields of KvmProbe that describe it."""
    step = "KVM_GET_SUPPORTED_CPUID"
    value: int | None = None
    try:
        cpuid = bytearray(8 + _CPUID_ENTRY_SIZE * _MAX_CPUID_ENTRIES)
        struct.pack_into("=I", cpuid, 0, _MAX_CPUID_ENTRIES)
        _ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid, step)
        step = "KVM_SET_CPUID2"
        _ioctl(vcpu, KVM_SET_CPUID2, cpuid, step)
        step = "KVM_GET_MSR_FEATURE_INDEX_LIST"
        if MSR_IA32_ARCH_CAPABILITIES not in _feature_msrs(kvm, step):
            return {"msr_set": False, "msr_failed_step": STEP_NOT_A_FEATURE_MSR}
        step = "KVM_GET_MSRS"
        msrs = bytearray(struct.pack("=IIIIQ", 1, 0, MSR_IA32_ARCH_CAPABILITIES, 0, 0))
        if _ioctl(kvm, KVM_GET_MSRS, msrs, step) != 1:
            raise _StepFailed(step, None)
        value = struct.unpack_from("=Q", msrs, 16)[0]
        step = "KVM_SET_MSRS"
        if _ioctl(vcpu, KVM_SET_MSRS, msrs, step) != 1:
            raise _StepFailed(step, None)  # KVM sets none and says 0
    except _StepFailed as failed:
        return {"msr_set": False, "msr_failed_step": failed.step, "msr_error": failed.err, "msr_value": value}
    return {"msr_set": True, "msr_value": value}


def _feature_msrs(kvm: int, step: str) -> set[int]:
    head = bytearray(4)
    try:
        _ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, head, step)
    except _StepFailed as failed:
        if failed.err != errno.E2BIG:  # E2BIG: the count it needs is now in head
            raise
    (count,) = struct.unpack("=I", head)
    listing = bytearray(struct.pack("=I", count) + bytes(4 * count))
    _ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, listing, step)
    (count,) = struct.unpack_from("=I", listing)
    return set(struct.unpack_from(f"={count}I", listing, 4))
