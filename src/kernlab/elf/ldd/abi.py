"""Which ABI a file is for, as glibc's loader tells ABIs apart (ELF class, machine, ARM float ABI)."""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass

__all__ = ["ABIS", "Abi", "ElfIdentity", "abi_of", "native_abi", "read_identity"]


@dataclass(frozen=True)
class Abi:
    """What one ELF ABI means to glibc's loader (sysdeps/.../dl-cache.h and the kernel's vDSO)."""

    name: str
    cache_default: int  # _DL_CACHE_DEFAULT_ID
    cache_accepted: frozenset[int]  # flags _dl_cache_check_flags lets through
    vdso: str | None  # the vDSO's DT_SONAME, as ldd prints it
    interpreter: str  # the standard PT_INTERP path
    platform: str  # what $PLATFORM expands to (AT_PLATFORM)
    triplet: str  # Debian multiarch directory name


# (e_machine, ELF class, variant) -> Abi. Variant tells ABIs sharing a machine apart (e_flags).
ABIS: dict[tuple[int, int, str], Abi] = {
    (62, 64, ""): Abi(
        "x86-64",
        0x0303,
        frozenset({0x0303}),
        "linux-vdso.so.1",
        "/lib64/ld-linux-x86-64.so.2",
        "x86_64",
        "x86_64-linux-gnu",
    ),
    (62, 32, ""): Abi(
        "x32",
        0x0803,
        frozenset({0x0803}),
        "linux-vdso.so.1",
        "/libx32/ld-linux-x32.so.2",
        "x86_64",
        "x86_64-linux-gnux32",
    ),
    (3, 32, ""): Abi(
        "i386",
        0x0003,
        frozenset({0x0001, 0x0003}),
        "linux-gate.so.1",
        "/lib/ld-linux.so.2",
        "i686",
        "i386-linux-gnu",
    ),
    (183, 64, ""): Abi(
        "AArch64",
        0x0A03,
        frozenset({0x0A03}),
        "linux-vdso.so.1",
        "/lib/ld-linux-aarch64.so.1",
        "aarch64",
        "aarch64-linux-gnu",
    ),
    (40, 32, "hard-float"): Abi(
        "ARM hard-float",
        0x0903,
        frozenset({0x0903, 0x0003}),
        "linux-vdso.so.1",
        "/lib/ld-linux-armhf.so.3",
        "v7l",
        "arm-linux-gnueabihf",
    ),
    (40, 32, "soft-float"): Abi(
        "ARM soft-float",
        0x0B03,
        frozenset({0x0B03, 0x0003}),
        "linux-vdso.so.1",
        "/lib/ld-linux.so.3",
        "v5l",
        "arm-linux-gnueabi",
    ),
    (243, 64, ""): Abi(
        "RISC-V 64",
        0x1003,
        frozenset({0x1003}),
        "linux-vdso.so.1",
        "/lib/ld-linux-riscv64-lp64d.so.1",
        "riscv64",
        "riscv64-linux-gnu",
    ),
    (21, 64, ""): Abi(
        "PowerPC 64",
        0x0503,
        frozenset({0x0503}),
        "linux-vdso64.so.1",
        "/lib64/ld64.so.2",
        "powerpc64le",
        "powerpc64le-linux-gnu",
    ),
    (22, 64, ""): Abi(
        "s390x",
        0x0403,
        frozenset({0x0403}),
        "linux-vdso64.so.1",
        "/lib/ld64.so.1",
        "z196",
        "s390x-linux-gnu",
    ),
    (258, 64, ""): Abi(
        "LoongArch 64",
        0x1203,
        frozenset({0x1203}),
        "linux-vdso.so.1",
        "/lib64/ld-linux-loongarch-lp64d.so.1",
        "loongarch64",
        "loongarch64-linux-gnu",
    ),
}
_EF_ARM_ABI_FLOAT_HARD = 0x400

# os.uname().machine -> the key of the ABI this machine runs natively.
_NATIVE_KEYS: dict[str, tuple[int, int, str]] = {
    "x86_64": (62, 64, ""),
    "i686": (3, 32, ""),
    "aarch64": (183, 64, ""),
    "riscv64": (243, 64, ""),
    "ppc64le": (21, 64, ""),
    "s390x": (22, 64, ""),
    "loongarch64": (258, 64, ""),
}


@dataclass(frozen=True)
class ElfIdentity:
    """The fields ld.so checks before it maps a file (elf/dl-load.c open_verify)."""

    elf_class: int  # 32 or 64
    little_endian: bool
    machine: int
    type: int
    flags: int


def read_identity(path: str) -> ElfIdentity | None:
    """The ELF identity of a regular file, or None if it is not a readable ELF file."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return None
        with open(path, "rb") as f:
            head = f.read(52)
    except OSError:
        return None
    if len(head) < 52 or head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    order = "<" if head[5] == 1 else ">"
    e_type, machine = struct.unpack_from(order + "HH", head, 16)
    flags_at = 36 if head[4] == 1 else 48
    if head[4] == 2:
        with open(path, "rb") as f:
            head = f.read(64)
        if len(head) < 64:
            return None
    (flags,) = struct.unpack_from(order + "I", head, flags_at)
    return ElfIdentity(32 if head[4] == 1 else 64, head[5] == 1, machine, e_type, flags)


def abi_of(ident: ElfIdentity) -> Abi:
    variant = ""
    if ident.machine == 40:
        variant = "hard-float" if ident.flags & _EF_ARM_ABI_FLOAT_HARD else "soft-float"
    found = ABIS.get((ident.machine, ident.elf_class, variant))
    if found is not None:
        return found
    # An ABI glibc has no special cache flags for: plain libc6 entries, the generic vDSO name.
    return Abi(
        f"e_machine {ident.machine}", 0x0003, frozenset({0x0001, 0x0003}), "linux-vdso.so.1", "", "", ""
    )


def native_abi() -> Abi | None:
    """The ABI of this machine's own programs (None on a machine kernlab has no table for)."""
    key = _NATIVE_KEYS.get(os.uname().machine)
    return ABIS.get(key) if key else None
