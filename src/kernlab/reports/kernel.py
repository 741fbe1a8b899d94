"""`kernlab kernel`: the running kernel in one record — release, the config facts other commands
depend on, the paging mode, the KASLR offset and the addresses of the symbols a system call
passes through."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kernlab.errors import KernlabError
from kernlab.kernel.config import find_kernel_config, read_kernel_config
from kernlab.kernel.cpu import cpu_flags
from kernlab.kernel.image import KernelSymbols, kernel_symbols, read_boot_header
from kernlab.kernel.kallsyms import (
    KALLSYMS,
    KallsymsAccess,
    addresses_hidden,
    kallsyms_access,
    lookup_kallsyms,
    read_kptr_restrict,
)
from kernlab.kernel.kaslr import KaslrOffset, kaslr_offset
from kernlab.kernel.release import KernelRelease, read_release
from kernlab.mm.paging import detect_paging
from kernlab.syscalls.tables import table_info

if TYPE_CHECKING:
    from kernlab.elf.reader import ElfImage

__all__ = [
    "CONFIG_FACTS",
    "DEFAULT_SYMBOLS",
    "SYMBOLS",
    "ConfigFact",
    "ImageSymbolSource",
    "KernelImageReport",
    "KernelReport",
    "Paging",
    "SymbolAddress",
    "build",
    "build_image",
    "image_symbols",
]

# Config options later commands depend on (the meaning of each is in catalog/<lang>/kernel.toml
# under config.<OPTION>).
CONFIG_FACTS: tuple[str, ...] = (
    "CONFIG_PGTABLE_LEVELS",
    "CONFIG_X86_5LEVEL",
    "CONFIG_RANDOMIZE_BASE",
    "CONFIG_KALLSYMS_ALL",
    "CONFIG_IKCONFIG_PROC",
    "CONFIG_FTRACE_SYSCALLS",
    "CONFIG_FUNCTION_TRACER",
    "CONFIG_FUNCTION_GRAPH_TRACER",
    "CONFIG_DYNAMIC_FTRACE",
    "CONFIG_KPROBES",
    "CONFIG_KPROBE_EVENTS",
    "CONFIG_UPROBES",
    "CONFIG_UPROBE_EVENTS",
    "CONFIG_DEBUG_INFO_BTF",
    "CONFIG_BPF_SYSCALL",
    "CONFIG_TRANSPARENT_HUGEPAGE",
    "CONFIG_IA32_EMULATION",
    "CONFIG_PROC_PAGE_MONITOR",
)

# The symbols on the road of a system call on each architecture, in the order it is taken.
SYMBOLS: dict[str, tuple[str, ...]] = {
    "x86_64": (
        "_text",
        "_stext",
        "start_kernel",
        "entry_SYSCALL_64",
        "do_syscall_64",
        "x64_sys_call",
        "sys_call_table",
    ),
    "aarch64": ("_text", "_stext", "start_kernel", "vectors", "el0_svc", "invoke_syscall", "sys_call_table"),
    "riscv64": ("_text", "_stext", "start_kernel", "handle_exception", "do_trap_ecall_u", "sys_call_table"),
}
DEFAULT_SYMBOLS = ("_text", "_stext", "start_kernel", "sys_call_table")

# The table kernlab falls back on for an architecture it ships no table for.
FALLBACK_TABLE_ARCH = "x86_64"


@dataclass(frozen=True)
class ConfigFact:
    option: str
    value: str | None  # "y", "m", "n", a number; None when the config does not mention it


@dataclass(frozen=True)
class SymbolAddress:
    name: str
    address: int | None  # None when kallsyms lacks it or hides it
    type: str | None  # nm's letter; None when kallsyms lacks the symbol


@dataclass(frozen=True)
class Paging:
    """Page-table levels: configured, and in use when kernlab.mm.paging could detect it."""

    configured_levels: int | None
    levels_in_use: int | None
    cpu_la57: bool | None
    method: str


@dataclass(frozen=True)
class KernelReport:
    release: KernelRelease
    config_source: str | None  # /proc/config.gz or /boot/config-<release>
    config_error: str | None  # why the config could not be read
    config: tuple[ConfigFact, ...]
    paging: Paging
    kallsyms_path: str
    kallsyms_hidden: bool
    kallsyms_error: str | None
    symbols: tuple[SymbolAddress, ...]
    kaslr: KaslrOffset
    kptr_restrict: int | None  # kernel.kptr_restrict; None when unreadable
    syscall_table_version: str  # the Linux release kernlab's system-call table comes from
    # kallsyms_show_value() applied to this process: whether, and why, it sees addresses
    access: KallsymsAccess | None = None

    def symbol(self, name: str) -> SymbolAddress | None:
        return next((s for s in self.symbols if s.name == name), None)

    def address(self, name: str) -> int | None:
        found = self.symbol(name)
        return None if found is None else found.address

    def config_value(self, option: str) -> str | None:
        return next((f.value for f in self.config if f.option == option), None)

    @property
    def missing_symbols(self) -> tuple[str, ...]:
        """Symbols kallsyms does not list (nothing is missing when it hides every address)."""
        if self.kallsyms_hidden:
            return ()
        return tuple(s.name for s in self.symbols if s.type is None)


def build(kallsyms_path: str | None = None, config_path: str | None = None) -> KernelReport:
    """Everything ``kernlab kernel`` shows, read from uname, the config and kallsyms.

    With the default files a missing or unreadable one is reported in the result; a file the
    caller names explicitly must be readable, else its error is raised.
    """
    release = read_release()
    if config_path is not None:
        read_kernel_config(config_path)  # raises for a file the user named
    if kallsyms_path is not None:
        addresses_hidden(kallsyms_path, strict=True)
    kallsyms_path = kallsyms_path or KALLSYMS
    config: dict[str, str] = {}
    source: str | None = None
    config_error: str | None = None
    try:
        source = config_path or find_kernel_config(release.release)
        config = read_kernel_config(source)
    except KernlabError as exc:
        config_error = str(exc)
        source = None
    facts = tuple(ConfigFact(option, config.get(option)) for option in CONFIG_FACTS) if config else ()

    names = SYMBOLS.get(release.machine, DEFAULT_SYMBOLS)
    kallsyms_error = None
    try:
        found = lookup_kallsyms(names, kallsyms_path)
        hidden = addresses_hidden(kallsyms_path)
    except KernlabError as exc:
        found, hidden, kallsyms_error = dict.fromkeys(names), False, str(exc)
    symbols = tuple(
        SymbolAddress(name, None if (e is None or hidden) else e.address, None if e is None else e.type)
        for name, e in ((n, found.get(n)) for n in names)
    )
    text = found.get("_text")
    kaslr = kaslr_offset(release.machine, config, None if text is None else text.address, hidden)
    return KernelReport(
        release=release,
        config_source=source,
        config_error=config_error,
        config=facts,
        paging=_paging(config, release.machine),
        kallsyms_path=os.fspath(kallsyms_path),
        kallsyms_hidden=hidden,
        kallsyms_error=kallsyms_error,
        symbols=symbols,
        kaslr=kaslr,
        kptr_restrict=read_kptr_restrict(),
        syscall_table_version=_table_version(release.machine),
        access=kallsyms_access(),
    )


def _paging(config: dict[str, str], machine: str) -> Paging:
    raw = config.get("CONFIG_PGTABLE_LEVELS")
    configured = int(raw) if raw and raw.isdigit() else None
    try:
        mode = detect_paging()
    except (KernlabError, OSError):
        # Without the detector, say what config and CPU allow; `kernlab vtop` tells the mode in use.
        flags = cpu_flags() if machine == "x86_64" else None
        la57 = None if flags is None else "la57" in flags
        return Paging(configured, None, la57, "CONFIG_PGTABLE_LEVELS and the la57 CPU flag only")
    return Paging(configured, mode.levels, mode.cpu_la57, mode.method)


def _table_version(machine: str) -> str:
    try:
        return table_info(machine).kernel_version
    except KernlabError:
        return table_info(FALLBACK_TABLE_ARCH).kernel_version


# ------------------------------------------------------------------------------ kernel images


@dataclass(frozen=True)
class ImageSymbolSource:
    """Where the names of a stripped kernel image's code come from."""

    source: str  # "system_map", "kallsyms_table" (the image's own tables) or "none"
    path: str | None  # the System.map read
    count: int  # symbols
    placeholder: str | None  # a System.map beside the image that holds no symbols
    placeholder_note: str | None  # what that placeholder says instead

    @classmethod
    def of(cls, found: KernelSymbols) -> ImageSymbolSource:
        return cls(found.source, found.path, len(found.entries), found.placeholder, found.placeholder_note)


def needs_kernel_symbols(image: ElfImage) -> bool:
    """A kernel whose file has no symbol table of its own (a vmlinux stripped by the
    distribution, or decompressed from a vmlinuz)."""
    return image.is_kernel and not any(s.name == ".symtab" for s in image.sections)


def image_symbols(path: str, image: ElfImage, system_map: str | None = None) -> KernelSymbols:
    """The symbols of the kernel image at ``path`` (``image`` is its ELF, decompressed): from
    ``system_map``, a real System.map-<release> beside it, or its own kallsyms tables."""
    release = None
    if image.inner is not None:
        from kernlab.elf.filemap import map_file

        data, _size = map_file(path)
        header = read_boot_header(data)
        release = header.release if header is not None else None
    return kernel_symbols(path, release, _rodata(image), image.read, system_map, image.is_little_endian)


@dataclass(frozen=True)
class KernelImageReport:
    """Which kernel an image file is, how it is packed, and whether it is the one running."""

    path: str
    file_size: int
    format: str  # "bzImage" (x86 boot header), "compressed" (a compressed vmlinux without one), "vmlinux"
    boot_protocol: str | None  # "2.15"
    header_version: str | None  # the boot header's kernel_version string
    release: str | None  # uname -r of that kernel
    build: str | None  # uname -v of that kernel ("#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (...)")
    banner: str | None  # linux_banner: what /proc/version prints while it runs
    compression: str | None  # "xz", "zstd", "gzip", ...; None for a plain vmlinux
    payload_offset: int | None  # where the compressed vmlinux starts in the file
    compressed_size: int | None  # its size (the boot header's payload_length when there is one)
    decompressed_size: int  # the vmlinux ELF's size
    init_size: int | None  # memory the boot code reserves to decompress and run it
    arch: str
    entry: int  # the vmlinux's ELF entry point (a physical address on x86)
    running_release: str  # uname -r
    running_version: str | None  # /proc/version
    running: bool  # the image is the kernel running now
    same_release: bool  # its release is uname -r (maybe another build of it)
    symbols: ImageSymbolSource
    config: str | None  # /boot/config-<release> beside the image, when there is one


def build_image(
    path: str, system_map: str | None = None, running: KernelRelease | None = None
) -> KernelImageReport:
    """What the kernel image at ``path`` is: its identity from the boot header and banner, its
    packing, its symbols, and whether it is the running kernel (``running``: uname and
    /proc/version, read here when not given)."""
    from kernlab.elf import kimage
    from kernlab.elf.filemap import map_file
    from kernlab.elf.reader import ELF_MAGIC, open_elf_bytes
    from kernlab.errors import BadInput
    from kernlab.kernel.image import banner_in, release_of

    data, size = map_file(path)
    header = read_boot_header(data)
    if bytes(data[:4]) == ELF_MAGIC:
        elf, payload = bytes(data), None
    else:
        payload = kimage.find_payload(data, path)
        if payload is None:
            what = "an x86 boot header but no compressed vmlinux" if header else "no x86 boot header"
            raise BadInput(
                f"{path}: not a Linux kernel image ({what}, no compressed ELF inside, not a vmlinux)",
                key="errors.report.not_kernel_image_boot" if header else "errors.report.not_kernel_image",
                fields={"path": str(path)},
            )
        elf = payload.elf
    image = open_elf_bytes(elf, path)
    if not image.is_kernel:
        raise BadInput(
            f"{path}: an ELF file, but not a Linux kernel (no start_kernel, no __ksymtab and .init.text)",
            key="errors.report.elf_not_kernel",
            fields={"path": str(path)},
        )
    found = (
        kernel_symbols(
            path,
            header.release if header else None,
            _rodata(image),
            image.read,
            system_map,
            image.is_little_endian,
        )
        if needs_kernel_symbols(image) or system_map
        else None
    )
    entries = found.entries if found is not None else ()
    if found is None:
        # A vmlinux with its own .symtab: its linux_banner is found there.
        from kernlab.kernel.kallsyms import KallsymsEntry

        entries = tuple(KallsymsEntry(s.value, "D", s.name, None) for s in image.find_symbols("linux_banner"))
    rodata = _rodata(image)
    banner = banner_in(rodata[0], rodata[1], image.read, entries) if rodata else None
    release = (header.release if header else None) or (release_of(banner) if banner else None)
    build = header.build if header else None
    if build is None and banner:
        match = re.search(r"#\d.*$", banner)
        build = match.group(0) if match else None
    now = running or read_release()
    same_release = release == now.release
    if banner and now.proc_version:
        is_running = banner.strip() == now.proc_version.strip()
    else:
        is_running = same_release and build is not None and build == now.version
    config = os.path.join(os.path.dirname(os.path.abspath(path)), f"config-{release}") if release else None
    compressed = None
    if payload is not None:
        compressed = header.payload_length if header and header.payload_length else size - payload.offset
    return KernelImageReport(
        path=path,
        file_size=size,
        format="bzImage" if header else ("compressed" if payload else "vmlinux"),
        boot_protocol=header.protocol if header else None,
        header_version=header.version if header else None,
        release=release,
        build=build,
        banner=banner,
        compression=payload.compression if payload else None,
        payload_offset=payload.offset if payload else None,
        compressed_size=compressed,
        decompressed_size=len(elf),
        init_size=header.init_size if header else None,
        arch=image.arch,
        entry=image.header.entry,
        running_release=now.release,
        running_version=now.proc_version,
        running=is_running,
        same_release=same_release,
        symbols=ImageSymbolSource.of(found)
        if found is not None
        else ImageSymbolSource("symtab", path, len(image.symbols()), None, None),
        config=config if config and os.path.isfile(config) else None,
    )


def _rodata(image: ElfImage) -> tuple[memoryview, int] | None:
    section = image.section_by_name(".rodata")
    return None if section is None else (image.section_data(section), section.address)
