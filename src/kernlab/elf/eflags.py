"""e_flags in words, as readelf -h prints them after the number for each machine
(binutils 2.40 ``get_machine_flags``)."""

from __future__ import annotations

from kernlab.elf import descriptions as d

# MIPS (include/elf/mips.h): single bits first, in readelf's order.
_MIPS_BITS = (
    (0x1, "noreorder"),
    (0x2, "pic"),
    (0x4, "cpic"),
    (0x10, "ugen_reserved"),
    (0x20, "abi2"),
    (0x80, "odk first"),
    (0x100, "32bitmode"),
    (0x400, "nan2008"),
    (0x200, "fp64"),
)
# EF_MIPS_MACH (0x00ff0000): the CPU; 0 (no GNU extension) prints nothing.
_MIPS_MACH = {
    0x00810000: "3900",
    0x00820000: "4010",
    0x00830000: "4100",
    0x00880000: "4111",
    0x00870000: "4120",
    0x00850000: "4650",
    0x00910000: "5400",
    0x00980000: "5500",
    0x00920000: "5900",
    0x008A0000: "sb1",
    0x00990000: "9000",
    0x00A00000: "loongson-2e",
    0x00A10000: "loongson-2f",
    0x00A20000: "gs464",
    0x00A30000: "gs464e",
    0x00A40000: "gs264e",
    0x008B0000: "octeon",
    0x008D0000: "octeon2",
    0x008E0000: "octeon3",
    0x008C0000: "xlr",
    0x00930000: "interaptiv-mr2",
}
# EF_MIPS_ABI (0x0000f000), a GNU extension; 0 prints nothing.
_MIPS_ABI = {0x1000: "o32", 0x2000: "o64", 0x3000: "eabi32", 0x4000: "eabi64"}
# EF_MIPS_ARCH_ASE bits
_MIPS_ASE = ((0x08000000, "mdmx"), (0x04000000, "mips16"), (0x02000000, "micromips"))
# EF_MIPS_ARCH (0xf0000000): the ISA level
_MIPS_ARCH = {
    0x00000000: "mips1",
    0x10000000: "mips2",
    0x20000000: "mips3",
    0x30000000: "mips4",
    0x40000000: "mips5",
    0x50000000: "mips32",
    0x70000000: "mips32r2",
    0x90000000: "mips32r6",
    0x60000000: "mips64",
    0x80000000: "mips64r2",
    0xA0000000: "mips64r6",
}
# PowerPC (32-bit): EF_PPC_EMB, EF_PPC_RELOCATABLE, EF_PPC_RELOCATABLE_LIB
_PPC_BITS = ((0x80000000, "emb"), (0x00010000, "relocatable"), (0x00008000, "relocatable-lib"))


def flags_text(machine: int, flags: int) -> str:
    """readelf's words for ``flags`` on ``machine`` ("RVC, double-float ABI"), or ""."""
    if machine == d.EM_RISCV:
        words = [w for bit, w in d.RISCV_FLAG_WORDS if flags & bit]
        words.append(d.RISCV_FLOAT_ABI[flags & 0x6])
        return ", ".join(words)
    if machine == d.EM_ARM and flags >> 24 in (4, 5):
        # As readelf's decode_ARM_machine_flags: the EABI version, then each known bit.
        words = [f"Version{flags >> 24} EABI"]
        known = d.ARM_EABI5_FLAG_WORDS if flags >> 24 == 5 else d.ARM_EABI4_FLAG_WORDS
        rest = flags & 0x00FFFFFF
        while rest:
            bit = rest & -rest
            rest &= ~bit
            if bit not in known:
                words.append("<unknown>")
                break
            words.append(known[bit])
        return ", ".join(words)
    if machine in (d.EM_MIPS, d.EM_MIPS_RS3_LE):
        return ", ".join(_mips_words(flags))
    if machine == d.EM_PPC64:
        # EF_PPC64_ABI (the low two bits): the ELFv1/ELFv2 ABI version
        return f"abiv{flags & 3}" if flags & 3 else ""
    if machine == d.EM_PPC:
        return ", ".join(w for bit, w in _PPC_BITS if flags & bit)
    return ""


def _mips_words(flags: int) -> list[str]:
    words = [w for bit, w in _MIPS_BITS if flags & bit]
    mach = flags & 0x00FF0000
    if mach:
        words.append(_MIPS_MACH.get(mach, "unknown CPU"))
    abi = flags & 0x0000F000
    if abi:
        words.append(_MIPS_ABI.get(abi, "unknown ABI"))
    words.extend(w for bit, w in _MIPS_ASE if flags & bit)
    words.append(_MIPS_ARCH.get(flags & 0xF0000000, "unknown ISA"))
    return words
