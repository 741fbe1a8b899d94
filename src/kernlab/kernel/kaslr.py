"""The KASLR offset: how far the running kernel image sits from the address it was linked at.

vmlinux is linked to run at a fixed virtual address. On x86_64 that is
``__START_KERNEL_map + CONFIG_PHYSICAL_START`` rounded up to ``CONFIG_PHYSICAL_ALIGN``
(arch/x86/include/asm/page_64_types.h, arch/x86/kernel/vmlinux.lds.S): 0xffffffff81000000 with
the default config. With CONFIG_RANDOMIZE_BASE the boot code may move the whole image by a
random multiple of the alignment; every kernel symbol moves by the same amount, so the offset
is the runtime address of ``_text`` (from /proc/kallsyms) minus that link address.
"""

from __future__ import annotations

from dataclasses import dataclass

# Where each architecture's kernel image mapping starts, before PHYSICAL_START is added.
START_KERNEL_MAP: dict[str, int] = {
    "x86_64": 0xFFFFFFFF80000000,  # __START_KERNEL_map
    "i386": 0xC0000000,  # default __PAGE_OFFSET (CONFIG_VMSPLIT_3G)
}
DEFAULT_PHYSICAL_START = 0x1000000
DEFAULT_PHYSICAL_ALIGN = 0x200000


@dataclass(frozen=True)
class KaslrOffset:
    """The image's displacement from its link address, or why it is unknown."""

    offset: int | None
    runtime_text: int | None  # _text from /proc/kallsyms
    link_text: int | None  # computed from the config, see the module docstring
    randomize_base: bool | None  # CONFIG_RANDOMIZE_BASE
    method: str  # how the figures were obtained
    unknown_reason: str | None = None  # key: hidden, no_text, arch (explain/kernel.py says it)


def _config_int(config: dict[str, str], key: str, default: int) -> int:
    try:
        return int(config.get(key, ""), 0)
    except ValueError:
        return default


def link_address(arch: str, config: dict[str, str]) -> int | None:
    """The virtual address vmlinux's ``_text`` is linked at, or None for other architectures."""
    base = START_KERNEL_MAP.get(arch)
    if base is None:
        return None
    start = _config_int(config, "CONFIG_PHYSICAL_START", DEFAULT_PHYSICAL_START)
    align = _config_int(config, "CONFIG_PHYSICAL_ALIGN", DEFAULT_PHYSICAL_ALIGN) or 1
    return base + (start + align - 1) // align * align


def kaslr_offset(arch: str, config: dict[str, str], runtime_text: int | None, hidden: bool) -> KaslrOffset:
    """The offset from ``runtime_text`` (the ``_text`` of kallsyms) and the config."""
    randomize = None if not config else config.get("CONFIG_RANDOMIZE_BASE", "n") == "y"
    link = link_address(arch, config)
    method = "_text in /proc/kallsyms minus __START_KERNEL_map + CONFIG_PHYSICAL_START"
    if hidden:
        return KaslrOffset(None, None, link, randomize, method, "hidden")
    if runtime_text is None:
        return KaslrOffset(None, None, link, randomize, method, "no_text")
    if link is None:
        return KaslrOffset(
            None,
            runtime_text,
            None,
            randomize,
            method,
            "arch",
        )
    return KaslrOffset(runtime_text - link, runtime_text, link, randomize, method)
