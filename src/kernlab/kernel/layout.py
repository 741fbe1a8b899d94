"""Where a virtual address lies in the address space: the user half, the non-canonical hole
between the halves, or the kernel half — and there, which of the kernel's areas.

x86_64's kernel half is laid out in Documentation/arch/x86/x86_64/mm.rst (mm.rst of 6.1:
Documentation/x86/x86_64/mm.rst), one table for 4-level and one for 5-level paging; the
constants are arch/x86/include/asm/pgtable_64_types.h and page_64_types.h. With
CONFIG_RANDOMIZE_MEMORY the direct map, vmalloc and vmemmap areas start at random bases
(page_offset_base, vmalloc_base, vmemmap_base: arch/x86/mm/kaslr.c places them, in that order,
between the direct map's default start and the cpu_entry_area); those bases are kernel
variables, readable only through /proc/kcore. The kernel image's own text is
[_stext, _etext) in /proc/kallsyms, which names the symbol at an address when kallsyms shows
this process addresses at all.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass

from kernlab.errors import BadInput, KernlabError
from kernlab.kernel.config import read_kernel_config
from kernlab.kernel.kallsyms import Kallsyms, KallsymsAccess, kallsyms_access, read_kallsyms

KCORE = "/proc/kcore"
TB = 1 << 40
START_KERNEL_MAP = 0xFFFFFFFF80000000  # __START_KERNEL_map
MODULES_END = 0xFFFFFFFFFF000000
FIXMAP_END = 0xFFFFFFFFFFE00000
VSYSCALL = 0xFFFFFFFFFF600000
CPU_ENTRY_AREA = 0xFFFFFE0000000000  # also KASLR's vaddr_end (without KASAN)

# The areas mm.rst lists below the part both paging modes share: (start, end, key).
_LOW_AREAS: dict[int, tuple[tuple[int, int, str], ...]] = {
    4: (
        (0xFFFF800000000000, 0xFFFF880000000000, "guard_hole"),
        (0xFFFF880000000000, 0xFFFF888000000000, "ldt_remap"),
        (0xFFFF888000000000, 0xFFFFC88000000000, "direct_map"),
        (0xFFFFC90000000000, 0xFFFFE90000000000, "vmalloc"),
        (0xFFFFEA0000000000, 0xFFFFEB0000000000, "vmemmap"),
        (0xFFFFEC0000000000, 0xFFFFFC0000000000, "kasan"),
    ),
    5: (
        (0xFF00000000000000, 0xFF10000000000000, "guard_hole"),
        (0xFF10000000000000, 0xFF11000000000000, "ldt_remap"),
        (0xFF11000000000000, 0xFF91000000000000, "direct_map"),
        (0xFFA0000000000000, 0xFFD2000000000000, "vmalloc"),
        (0xFFD4000000000000, 0xFFD6000000000000, "vmemmap"),
        (0xFFDF000000000000, 0xFFFFFC0000000000, "kasan"),
    ),
}
# vmalloc's size (VMALLOC_SIZE_TB_L4/_L5) and vmemmap's (mm.rst), once their bases are known.
_VMALLOC_SIZE = {4: 32 * TB, 5: 12800 * TB}
_VMEMMAP_SIZE = {4: 1 * TB, 5: 512 * TB}
# The part both modes share (mm.rst: "Identical layout ... from here on").
_HIGH_AREAS: tuple[tuple[int, int, str], ...] = (
    (0xFFFFFE0000000000, 0xFFFFFE8000000000, "cpu_entry_area"),
    (0xFFFFFF0000000000, 0xFFFFFF8000000000, "espfix"),
    (0xFFFFFFEF00000000, 0xFFFFFFFF00000000, "efi"),
)


@dataclass(frozen=True)
class KernelRegion:
    """One area of the kernel half."""

    key: str  # direct_map, vmalloc, vmemmap, randomized, kernel_image, modules, fixmap, vsyscall,
    # cpu_entry_area, espfix, efi, ldt_remap, guard_hole, kasan, unused
    start: int
    end: int  # exclusive
    source: str  # where the bounds come from: "mm.rst", "config", "kcore", "kallsyms"


@dataclass(frozen=True)
class KernelSymbol:
    name: str
    address: int
    offset: int  # address - symbol address
    type: str  # nm's letter
    module: str | None


@dataclass(frozen=True)
class KernelAddress:
    """Which half an address is in and, in the kernel half, what kernlab can tell of it."""

    address: int
    half: str  # user, non_canonical, kernel
    user_top: int  # first address above the user half (2^(va_bits-1) on x86_64)
    kernel_start: int  # first address of the kernel half
    region: KernelRegion | None
    image_part: str | None  # text ([_stext, _etext)), init_text, rodata; None elsewhere
    symbol: KernelSymbol | None
    access: KallsymsAccess | None  # whether kallsyms shows this process addresses, and why
    randomized: bool | None  # CONFIG_RANDOMIZE_MEMORY; None when the config is unreadable
    bases_note: str | None  # key: why page_offset_base & co. could not be read (_randomized_bases)


def _halves(va_bits: int) -> tuple[int, int]:
    top = 1 << (va_bits - 1)
    return top, (1 << 64) - top


def read_kcore_word(address: int, path: str = KCORE) -> int:
    """The 8-byte little-endian word at kernel virtual ``address``, read through /proc/kcore.

    /proc/kcore is an ELF core file whose PT_LOAD segments map kernel virtual addresses to file
    offsets; reading it needs CAP_SYS_RAWIO (root) and CONFIG_PROC_KCORE.
    """
    with open(path, "rb") as f:
        ident = f.read(64)
        if ident[:4] != b"\x7fELF" or ident[4] != 2:
            raise BadInput(
                f"{path} is not a 64-bit ELF core file", key="errors.kernel.not_core", fields={"path": path}
            )
        (phoff,) = struct.unpack_from("<Q", ident, 32)
        phentsize, phnum = struct.unpack_from("<HH", ident, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
        for i in range(phnum):
            p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", table, i * phentsize)
            if p_type == 1 and p_vaddr <= address and address + 8 <= p_vaddr + p_filesz:
                f.seek(p_offset + address - p_vaddr)
                return int.from_bytes(f.read(8), "little")
    raise BadInput(
        f"{address:#x} is in no segment of {path}",
        key="errors.kernel.no_kcore_segment",
        fields={"address": f"{address:#x}", "path": path},
    )


def _randomized_bases(table: Kallsyms | None) -> tuple[dict[str, int], str | None]:
    """page_offset_base, vmalloc_base and vmemmap_base, or the key of why they cannot be read:
    hidden, not_in_kallsyms, no_kcore, kcore_denied, kcore_unreadable."""
    if table is None or table.hidden:
        return {}, "hidden"
    names = ("page_offset_base", "vmalloc_base", "vmemmap_base")
    where = {n: table.get(n) for n in names}
    if any(e is None for e in where.values()):
        return {}, "not_in_kallsyms"
    try:
        return {n: read_kcore_word(e.address) for n, e in where.items() if e is not None}, None
    except FileNotFoundError:
        return {}, "no_kcore"
    except PermissionError:
        return {}, "kcore_denied"
    except (OSError, KernlabError):
        return {}, "kcore_unreadable"


def _x86_64_regions(
    levels: int, config: dict[str, str], bases: dict[str, int]
) -> tuple[list[KernelRegion], bool | None]:
    randomized = None if not config else config.get("CONFIG_RANDOMIZE_MEMORY") == "y"
    kasan = config.get("CONFIG_KASAN") == "y"
    image_size = (1 << 30) if config.get("CONFIG_RANDOMIZE_BASE", "y") == "y" else (512 << 20)
    low = _LOW_AREAS[5 if levels >= 5 else 4]
    regions = [KernelRegion(key, a, b, "mm.rst") for a, b, key in low[:2]]
    start_random = low[2][0]
    end_random = CPU_ENTRY_AREA  # arch/x86/mm/kaslr.c: vaddr_end = CPU_ENTRY_AREA_BASE
    if randomized is False:
        regions += [KernelRegion(key, a, b, "mm.rst") for a, b, key in low[2:5]]
    elif len(bases) == 3:
        direct, vmalloc, vmemmap = bases["page_offset_base"], bases["vmalloc_base"], bases["vmemmap_base"]
        key = 5 if levels >= 5 else 4
        regions += [
            KernelRegion("direct_map", direct, vmalloc, "kcore"),
            KernelRegion("vmalloc", vmalloc, vmalloc + _VMALLOC_SIZE[key], "kcore"),
            KernelRegion("vmemmap", vmemmap, vmemmap + _VMEMMAP_SIZE[key], "kcore"),
        ]
    else:
        regions.append(KernelRegion("randomized", start_random, end_random, "mm.rst"))
    if kasan and randomized is False:
        regions.append(KernelRegion("kasan", low[5][0], low[5][1], "mm.rst"))
    regions += [KernelRegion(key, a, b, "mm.rst") for a, b, key in _HIGH_AREAS]
    modules = START_KERNEL_MAP + image_size
    regions += [
        KernelRegion("kernel_image", START_KERNEL_MAP, modules, "config"),
        KernelRegion("modules", modules, MODULES_END, "config"),
        KernelRegion("fixmap", MODULES_END, VSYSCALL, "mm.rst"),
        KernelRegion("vsyscall", VSYSCALL, VSYSCALL + 0x1000, "mm.rst"),
        KernelRegion("fixmap", VSYSCALL + 0x1000, FIXMAP_END, "mm.rst"),
    ]
    return regions, randomized


def _region_at(address: int, regions: list[KernelRegion], kernel_start: int) -> KernelRegion:
    for region in regions:
        if region.start <= address < region.end:
            return region
    # A hole: name its bounds, the nearest areas' edges.
    below = max((r.end for r in regions if r.end <= address), default=kernel_start)
    above = min((r.start for r in regions if r.start > address), default=1 << 64)
    return KernelRegion("unused", below, above, "mm.rst")


def _nearest_symbol(table: Kallsyms, address: int) -> KernelSymbol | None:
    """The symbol at or below ``address`` when another symbol of the same image or module lies
    above it: beyond the last symbol nothing says the address still belongs to that object."""
    entries = sorted((e for e in table.entries if e.type.lower() != "a"), key=lambda e: e.address)
    addresses = [e.address for e in entries]
    at = bisect.bisect_right(addresses, address) - 1
    if at < 0 or at + 1 >= len(entries) or entries[at + 1].module != entries[at].module:
        return None
    # Several names may share an address (_stext, _text, …): the kernel's own lookup
    # (get_symbol_pos in kernel/kallsyms.c) takes the first of them in kallsyms order, which the
    # stable sort above kept.
    e = entries[bisect.bisect_left(addresses, entries[at].address)]
    return KernelSymbol(e.name, e.address, address - e.address, e.type, e.module)


def _image_part(table: Kallsyms, address: int) -> str | None:
    for part, first, last in (
        ("text", "_stext", "_etext"),
        ("init_text", "_sinittext", "_einittext"),
        ("rodata", "__start_rodata", "__end_rodata"),
    ):
        lo, hi = table.get(first), table.get(last)
        if lo is not None and hi is not None and lo.address <= address < hi.address:
            return part
    return None


def classify_address(address: int, arch: str, levels: int, va_bits: int) -> KernelAddress:
    """Which half ``address`` is in; in the kernel half its area, image part and symbol."""
    user_top, kernel_start = _halves(va_bits)
    if address < user_top:
        return KernelAddress(address, "user", user_top, kernel_start, None, None, None, None, None, None)
    if address < kernel_start:
        return KernelAddress(
            address, "non_canonical", user_top, kernel_start, None, None, None, None, None, None
        )
    access = kallsyms_access()
    try:
        table: Kallsyms | None = read_kallsyms()
    except KernlabError:
        table = None
    visible = table is not None and not table.hidden
    region: KernelRegion | None = None
    randomized: bool | None = None
    note: str | None = None
    if arch == "x86_64":
        try:
            config = read_kernel_config()
        except KernlabError:
            config = {}
        bases: dict[str, int] = {}
        if config.get("CONFIG_RANDOMIZE_MEMORY") == "y":
            bases, note = _randomized_bases(table)
        regions, randomized = _x86_64_regions(levels, config, bases)
        region = _region_at(address, regions, kernel_start)
    symbol = part = None
    if table is not None and visible:
        part = _image_part(table, address)
        if region is None or region.key in ("kernel_image", "modules"):
            symbol = _nearest_symbol(table, address)
    return KernelAddress(
        address, "kernel", user_top, kernel_start, region, part, symbol, access, randomized, note
    )
