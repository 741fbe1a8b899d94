"""How the running kernel pages: how many page-table levels, their names, and bits per level.

The answer is *detected*, not assumed. A kernel may be built for 5-level paging
(``CONFIG_PGTABLE_LEVELS=5``) yet run 4 levels because the CPU lacks LA57 or because it was
booted with ``no5lvl``; only the running kernel knows. On x86_64 the kernel hands out user
addresses above 2^47 only when 5-level paging is in use and the caller asks for one with an
mmap hint (arch/x86/mm/mmap.c, Documentation/arch/x86/x86_64/5level-paging.rst), so kernlab
asks for one and looks at what it gets back.
"""

from __future__ import annotations

import gzip
import mmap
import os
import platform
import resource
from dataclasses import dataclass, field
from functools import cache

from kernlab.errors import BadInput
from kernlab.libc import MAP_FAILED, libc

# Level names from the top, by number of levels in use. The kernel folds the levels it does
# not use, P4D first, then PUD, then PMD (include/asm-generic/pgtable-nop4d.h, -nopud.h, -nopmd.h).
LEVEL_NAMES: dict[int, tuple[str, ...]] = {
    2: ("PGD", "PTE"),
    3: ("PGD", "PMD", "PTE"),
    4: ("PGD", "PUD", "PMD", "PTE"),
    5: ("PGD", "P4D", "PUD", "PMD", "PTE"),
}

# Above this address a user mapping exists only under 5-level paging (x86_64: 47-bit user half).
X86_64_4LEVEL_USER_TOP = 1 << 47
_PROBE_HINT = 1 << 52


@dataclass(frozen=True)
class MmapProbe:
    """What the kernel answered to an mmap hint above the 4-level user address space."""

    hint: int
    above_4level_top: bool  # the address granted lies above 2^47: 5-level paging is in use
    # The address granted below 2^47 moves with ASLR on every run, so it stays out of --json
    # (a document that must be the same from one run to the next).
    _granted: int


@dataclass(frozen=True)
class PagingMode:
    """The page-table layout the running kernel uses for user addresses.

    ``bits_per_level`` lists, from the top level down, how many address bits index each
    table; the low ``page_shift`` bits are the offset within a page.
    """

    arch: str
    levels: int
    level_names: tuple[str, ...]
    bits_per_level: tuple[int, ...]
    page_shift: int
    va_bits: int
    configured_levels: int | None  # CONFIG_PGTABLE_LEVELS from /proc/config.gz, if readable
    cpu_la57: bool | None  # x86_64: the "la57" flag in /proc/cpuinfo; None elsewhere
    method: str  # how the level count was found, in a few words
    evidence: tuple[str, ...] = field(default=())  # the observations behind ``method``
    probe: MmapProbe | None = None  # x86_64: the mmap probe's answer, when it ran

    def evidence_text(self) -> tuple[str, ...]:
        """``evidence`` with the probe's answer, each one observation in a few words."""
        if self.probe is None:
            return self.evidence
        p = self.probe
        where = "above" if p.above_4level_top else "below"
        return (*self.evidence, f"mmap hint {p.hint:#x} returned {p._granted:#x} ({where} 2^47)")

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    def level_shift(self, name: str) -> int:
        """The address bit at which the index of level ``name`` starts (PTE: page_shift)."""
        shift = self.page_shift
        for level, bits in zip(reversed(self.level_names), reversed(self.bits_per_level), strict=True):
            if level == name:
                return shift
            shift += bits
        raise KeyError(name)

    def entry_span(self, name: str) -> int:
        """Bytes of address space one entry of level ``name`` maps (PMD on x86_64: 2 MiB)."""
        return 1 << self.level_shift(name)


@dataclass(frozen=True)
class LevelIndex:
    """The index into one page-table level, and which address bits it came from."""

    level: str
    index: int
    shift: int
    bits: int

    def __iter__(self):  # allows ``for name, index in split.indices``
        yield self.level
        yield self.index


@dataclass(frozen=True)
class AddressSplit:
    """An address cut into page-table indices (top level first) and the offset in its page."""

    address: int
    indices: tuple[LevelIndex, ...]
    offset: int
    page_shift: int

    def __iter__(self):  # allows ``indices, offset = split_address(...)``
        yield list(self.indices)
        yield self.offset


def split_address(address: int, mode: PagingMode) -> AddressSplit:
    """Cut ``address`` into one index per level in use and the page offset.

    Bits above ``mode.va_bits`` (the sign extension of a canonical address) are not part of
    any index, as in the kernel's ``pgd_index()``.
    """
    if address < 0 or address >= 1 << 64:
        raise BadInput(
            f"{address:#x} is not a 64-bit address",
            key="errors.not_64bit_address",
            fields={"address": f"{address:#x}"},
        )
    indices = []
    shift = mode.page_shift
    for name, bits in zip(reversed(mode.level_names), reversed(mode.bits_per_level), strict=True):
        indices.append(LevelIndex(name, (address >> shift) & ((1 << bits) - 1), shift, bits))
        shift += bits
    indices.reverse()
    return AddressSplit(address, tuple(indices), address & ((1 << mode.page_shift) - 1), mode.page_shift)


@cache
def kernel_config() -> dict[str, str]:
    """CONFIG_* values of the running kernel from /proc/config.gz (empty when absent)."""
    try:
        with gzip.open("/proc/config.gz", "rt", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    config = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, _, value = line.partition("=")
            config[key] = value.strip('"')
    return config


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def _levels_for(va_bits: int, page_shift: int, entry_bits: int = 3) -> tuple[int, ...]:
    """Bits per level when each table fills one page of 2**entry_bits-byte entries.

    The top level takes what is left over (arm64 with 16 KiB pages and 48-bit VA: 1 bit).
    """
    per_level = page_shift - entry_bits
    remaining = va_bits - page_shift
    bits: list[int] = []
    while remaining > 0:
        take = min(per_level, remaining)
        bits.append(take)
        remaining -= take
    bits.reverse()  # the short level, if any, is the top one
    return tuple(bits)


def probe_high_mmap(hint: int = _PROBE_HINT) -> int | None:
    """Ask for an anonymous page at ``hint`` and return the address the kernel chose.

    Without MAP_FIXED the hint is only a wish: on x86_64 the kernel grants an address above
    2^47 only under 5-level paging. Returns None when mmap itself fails.
    """
    lib = libc()
    size = resource.getpagesize()
    addr = lib.mmap(hint, size, mmap.PROT_READ, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if addr is None or addr == MAP_FAILED:
        return None
    lib.munmap(addr, size)
    return int(addr)


def _detect_x86_64(page_shift: int, configured: int | None) -> PagingMode:
    la57 = "la57" in _cpu_flags()
    evidence = [
        f"CONFIG_PGTABLE_LEVELS={configured}" if configured else "CONFIG_PGTABLE_LEVELS unknown",
        "CPU flag la57 present" if la57 else "CPU flag la57 absent",
    ]
    got = probe_high_mmap()
    probe = None
    if got is not None:
        five = got >= X86_64_4LEVEL_USER_TOP
        probe = MmapProbe(_PROBE_HINT, five, got)
        method = "mmap probe above 2^47"
    else:
        # The probe could not run (seccomp, no memory): fall back to what config and CPU allow.
        five = la57 and (configured or 4) >= 5
        evidence.append("mmap probe failed")
        method = "CONFIG_PGTABLE_LEVELS and CPU flag la57"
    levels = 5 if five else 4
    va_bits = 57 if five else 48
    return PagingMode(
        arch="x86_64",
        levels=levels,
        level_names=LEVEL_NAMES[levels],
        bits_per_level=(9,) * levels,
        page_shift=page_shift,
        va_bits=va_bits,
        configured_levels=configured,
        cpu_la57=la57,
        method=method,
        evidence=tuple(evidence),
        probe=probe,
    )


def _detect_generic(arch: str, page_shift: int, configured: int | None) -> PagingMode:
    config = kernel_config()
    evidence = [f"CONFIG_PGTABLE_LEVELS={configured}" if configured else "CONFIG_PGTABLE_LEVELS unknown"]
    va_bits: int | None = None
    entry_bits = 3
    if arch == "aarch64" and config.get("CONFIG_ARM64_VA_BITS"):
        va_bits = int(config["CONFIG_ARM64_VA_BITS"])
        evidence.append(f"CONFIG_ARM64_VA_BITS={va_bits}")
        method = "CONFIG_ARM64_VA_BITS and page size"
    elif arch == "riscv64":
        # Sv39/Sv48/Sv57 are chosen at boot; the "mmu" line of /proc/cpuinfo names it.
        mmu = _cpuinfo_value("mmu")
        if mmu and mmu.startswith("sv") and mmu[2:].isdigit():
            va_bits = int(mmu[2:])
            evidence.append(f"/proc/cpuinfo mmu: {mmu}")
            method = "/proc/cpuinfo mmu"
        else:
            method = "CONFIG_PGTABLE_LEVELS"
    elif arch in ("i386", "i686", "x86"):
        pae = "CONFIG_X86_PAE" in config
        if pae:
            bits: tuple[int, ...] = (2, 9, 9)
            evidence.append("CONFIG_X86_PAE=y")
            return PagingMode(
                arch,
                3,
                LEVEL_NAMES[3],
                bits,
                page_shift,
                32,
                configured,
                None,
                "CONFIG_X86_PAE",
                tuple(evidence),
            )
        evidence.append("no CONFIG_X86_PAE")
        return PagingMode(
            arch,
            2,
            LEVEL_NAMES[2],
            (10, 10),
            page_shift,
            32,
            configured,
            None,
            "CONFIG_X86_PAE absent",
            tuple(evidence),
        )
    else:
        method = "CONFIG_PGTABLE_LEVELS"
    if va_bits is None:
        levels = configured or 4
        va_bits = page_shift + levels * (page_shift - entry_bits)
        evidence.append(f"VA bits assumed to fill {levels} levels")
    bits = _levels_for(va_bits, page_shift, entry_bits)
    levels = len(bits)
    return PagingMode(
        arch,
        levels,
        LEVEL_NAMES.get(levels, LEVEL_NAMES[5][-levels:]),
        bits,
        page_shift,
        va_bits,
        configured,
        None,
        method,
        tuple(evidence),
    )


def _cpuinfo_value(key: str) -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                name, sep, value = line.partition(":")
                if sep and name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


@cache
def detect_paging() -> PagingMode:
    """The paging mode of the running kernel, found by asking it (see the module docstring)."""
    page_shift = resource.getpagesize().bit_length() - 1
    raw = kernel_config().get("CONFIG_PGTABLE_LEVELS")
    configured = int(raw) if raw and raw.isdigit() else None
    arch = platform.machine() or os.uname().machine
    if arch == "x86_64":
        return _detect_x86_64(page_shift, configured)
    return _detect_generic(arch, page_shift, configured)
