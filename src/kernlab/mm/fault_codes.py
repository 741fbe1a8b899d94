"""Decode the error code the CPU pushes with a page fault into words.

x86: the bits are those of ``enum x86_pf_error_code`` (arch/x86/include/asm/trap_pf.h); the
tracepoints exceptions:page_fault_user and page_fault_kernel report the code as
``error_code=0x6``. arm64 reports the ESR_EL1 syndrome instead (arch/arm64/include/asm/esr.h);
its data/instruction-abort fields are decoded best-effort.

The tables here only say which bit means what, as catalog keys (``faults.x86.write``); the
words and the one-line summary are made from those keys by :mod:`kernlab.explain.faults`, so
every language reads naturally and a decoded code holds no text.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernlab.errors import NotSupported

__all__ = [
    "ARM64_ABORT_CLASSES",
    "ARM64_FSC_GROUPS",
    "X86_PF_BITS",
    "FaultBit",
    "FaultCode",
    "decode_error_code",
    "fault_cause",
]


@dataclass(frozen=True)
class FaultBit:
    """One bit of a fault error code, and what its value means."""

    name: str  # the kernel's name: P, W, U, RSVD, I, PK, SHSTK, SGX, RMP
    mask: int
    set: bool
    key: str  # catalog key of what this bit's value says, e.g. "faults.x86.write"
    level: int | None = None  # the page-table level an arm64 fault status names


@dataclass(frozen=True)
class FaultCode:
    """An error code and what it says: the bits (as keys) and the four facts of its summary."""

    code: int
    arch: str
    bits: tuple[FaultBit, ...]
    flags: tuple[str, ...]  # names of the set bits, e.g. ("W", "U")
    keys: tuple[str, ...]  # every decoded bit's key, e.g. ("faults.x86.not_present", "faults.x86.write")
    present: bool  # the page was present: a protection fault, not a missing page
    write: bool
    user: bool
    instruction: bool


# (mask, short name, enum x86_pf_error_code name, catalog key when set,
#  catalog key when clear or None when a clear bit says nothing)
X86_PF_BITS: tuple[tuple[int, str, str, str, str | None], ...] = (
    (1 << 0, "P", "X86_PF_PROT", "faults.x86.protection", "faults.x86.not_present"),
    (1 << 1, "W", "X86_PF_WRITE", "faults.x86.write", "faults.x86.read"),
    (1 << 2, "U", "X86_PF_USER", "faults.x86.user", "faults.x86.kernel"),
    (1 << 3, "RSVD", "X86_PF_RSVD", "faults.x86.reserved_bit", None),
    (1 << 4, "I", "X86_PF_INSTR", "faults.x86.instruction", None),
    (1 << 5, "PK", "X86_PF_PK", "faults.x86.protection_key", None),
    (1 << 6, "SHSTK", "X86_PF_SHSTK", "faults.x86.shadow_stack", None),
    (1 << 15, "SGX", "X86_PF_SGX", "faults.x86.sgx", None),
    (1 << 31, "RMP", "X86_PF_RMP", "faults.x86.rmp", None),
)
_X86_KNOWN = sum(row[0] for row in X86_PF_BITS)

# arm64 ESR_EL1: exception class (bits 31:26) -> (instruction fetch?, from user?)
ARM64_ABORT_CLASSES: dict[int, tuple[bool, bool]] = {
    0x20: (True, True),  # instruction abort from a lower exception level (EL0: user)
    0x21: (True, False),  # instruction abort taken without a change of level (kernel)
    0x24: (False, True),  # data abort from a lower exception level
    0x25: (False, False),  # data abort, same level
}
# Fault status code (bits 5:0) groups -> catalog key; the low two bits are the table level.
ARM64_FSC_GROUPS: dict[int, str] = {
    0x04: "faults.arm64.translation",
    0x08: "faults.arm64.access_flag",
    0x0C: "faults.arm64.permission",
}


def decode_error_code(code: int, arch: str = "x86_64") -> FaultCode:
    """What the fault error code ``code`` says: who accessed, how, and why it faulted."""
    if code < 0:
        raise ValueError(f"a fault error code is not negative: {code}")
    if arch in ("x86_64", "i386", "i686", "x86"):
        return _decode_x86(code, arch)
    if arch in ("aarch64", "arm64"):
        return _decode_arm64(code, arch)
    raise NotSupported(
        f"kernlab cannot decode page-fault error codes for {arch} (x86_64 and aarch64 only)",
        key="errors.mm.fault_codes_arch",
        fields={"arch": arch},
    )


def _decode_x86(code: int, arch: str) -> FaultCode:
    bits = []
    for mask, name, _enum, when_set, when_clear in X86_PF_BITS:
        is_set = bool(code & mask)
        key = when_set if is_set else when_clear
        if key is not None:
            bits.append(FaultBit(name, mask, is_set, key))
    unknown = code & ~_X86_KNOWN
    if unknown:
        bits.append(FaultBit(f"{unknown:#x}", unknown, True, "faults.x86.unknown_bits"))
    present = bool(code & 1)
    write = bool(code & 2)
    user = bool(code & 4)
    instruction = bool(code & 16)
    return _fault_code(code, arch, bits, present=present, write=write, user=user, instruction=instruction)


def _fault_code(
    code: int, arch: str, bits: list[FaultBit], *, present: bool, write: bool, user: bool, instruction: bool
) -> FaultCode:
    """The record both architectures' decoders build from their bits and the four facts."""
    return FaultCode(
        code=code,
        arch=arch,
        bits=tuple(bits),
        flags=tuple(b.name for b in bits if b.set),
        keys=tuple(b.key for b in bits),
        present=present,
        write=write,
        user=user,
        instruction=instruction,
    )


def _decode_arm64(code: int, arch: str) -> FaultCode:
    ec = (code >> 26) & 0x3F
    if ec not in ARM64_ABORT_CLASSES:
        raise NotSupported(
            f"ESR {code:#x} has exception class {ec:#x}, not an instruction or data abort",
            key="errors.mm.esr_not_abort",
            fields={"esr": f"{code:#x}", "ec": f"{ec:#x}"},
        )
    instruction, user = ARM64_ABORT_CLASSES[ec]
    write = bool(code & (1 << 6)) and not instruction  # WnR, meaningful for data aborts only
    fsc = code & 0x3F
    group = ARM64_FSC_GROUPS.get(fsc & ~0x3)
    bits = [
        FaultBit("EC", 0x3F << 26, True, "faults.x86.instruction" if instruction else "faults.arm64.data"),
        FaultBit("EL0", 0, user, "faults.x86.user" if user else "faults.x86.kernel"),
    ]
    if not instruction:
        bits.append(FaultBit("WnR", 1 << 6, write, "faults.x86.write" if write else "faults.x86.read"))
    if group:
        bits.append(FaultBit("FSC", 0x3F, True, group, level=fsc & 0x3))
    # A permission fault means the page was mapped; translation and access-flag faults did not.
    present = group == "faults.arm64.permission"
    return _fault_code(code, arch, bits, present=present, write=write, user=user, instruction=instruction)


# What the kernel does with a fault, from the access and the VMA's permissions (the checks of
# access_error() in arch/x86/mm/fault.c, then do_wp_page() in mm/memory.c): catalog keys.
CAUSE_COW = "faults.cause.cow"
"""A write to a present page of a private writable area: copy-on-write (wp_page_copy; the page
was shared since fork, is the zero page, or is a file's page-cache page), or the page is reused
in place when this mapping is its only user (wp_page_reuse)."""
CAUSE_SHARED = "faults.cause.shared_write"
"""A write to a clean present page of a shared writable area: write-notify, the file system's
page_mkwrite marks the page dirty before the kernel makes it writable (wp_page_shared)."""
CAUSE_READ_ONLY = "faults.cause.read_only"
"""A write to an area that is not writable: access_error(), SIGSEGV (SEGV_ACCERR)."""
CAUSE_NOT_EXECUTABLE = "faults.cause.not_executable"
CAUSE_NO_ACCESS = "faults.cause.no_access"
"""A read of a PROT_NONE area."""


def fault_cause(*, present: bool, write: bool, instruction: bool, perms: str) -> str | None:
    """Why a fault of this kind happened in an area with ``perms`` (``rw-p`` as maps prints
    them), as a catalog key; None for an ordinary fault that only brings the page in.

    An access the area does not allow is refused whatever the page's state (access_error():
    SIGSEGV); a permitted write to a present page is a write-protect fault, resolved by
    copy-on-write in a private area and by write-notify (page_mkwrite) in a shared one.
    """
    if len(perms) < 4:
        return None
    if instruction:
        return None if perms[2] == "x" else CAUSE_NOT_EXECUTABLE
    if write:
        if perms[1] != "w":
            return CAUSE_READ_ONLY
        if present:
            return CAUSE_SHARED if perms[3] == "s" else CAUSE_COW
        return None
    return None if perms[0] == "r" or perms[2] == "x" else CAUSE_NO_ACCESS
