"""A kernel image on disk (``/boot/vmlinuz-<release>``): which kernel it is, and its symbols.

* The x86 boot header (Documentation/arch/x86/boot.rst): ``HdrS`` at 0x202, the boot protocol
  at 0x206, ``kernel_version`` at 0x20e (a pointer, minus 0x200, to the string ``uname -r`` and
  ``uname -v`` print, joined: "6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP ..."),
  and since protocol 2.08 ``payload_offset``/``payload_length`` at 0x248/0x24c (the compressed
  vmlinux, counted from the end of the real-mode setup, ``(setup_sects + 1) * 512`` bytes).
* The banner, ``linux_banner`` in the vmlinux: what /proc/version prints for that kernel.
* Symbols, which a stripped vmlinux lacks: ``System.map-<release>`` next to the image when it is
  a real one (Debian installs a one-line placeholder pointing at the -dbg package), else the
  kernel's own kallsyms tables inside the image (:mod:`kernlab.kernel.kallsyms_table`).

This module reads bytes it is given (the file, the decompressed vmlinux's .rodata and a reader
of its addresses); decompressing is :mod:`kernlab.elf.kimage`'s job.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from kernlab.errors import BadInput, KernlabError
from kernlab.kernel.kallsyms import KallsymsEntry, read_kallsyms
from kernlab.kernel.kallsyms_table import KallsymsTable, decode_kallsyms_table

__all__ = [
    "BootHeader",
    "KernelSymbols",
    "banner_in",
    "kernel_symbols",
    "read_boot_header",
    "read_system_map",
    "release_of",
    "system_map_beside",
]

BANNER_PREFIX = b"Linux version "
HDRS_MAGIC = b"HdrS"
MIN_PROTOCOL_PAYLOAD = 0x208  # payload_offset/payload_length exist from boot protocol 2.08


@dataclass(frozen=True)
class BootHeader:
    """The x86 boot header's facts about the kernel it boots."""

    protocol: str  # "2.15"
    version: str | None  # kernel_version: "<uname -r> (<builder>) <uname -v>"
    setup_size: int  # bytes of real-mode setup before the protected-mode code
    payload_offset: int | None  # file offset of the compressed vmlinux
    payload_length: int | None  # its size in bytes
    init_size: int | None  # memory the kernel needs to decompress and run in place

    @property
    def release(self) -> str | None:
        """``uname -r`` of the kernel: the first word of kernel_version."""
        return self.version.split()[0] if self.version else None

    @property
    def build(self) -> str | None:
        """``uname -v`` of the kernel (``#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (...)``)."""
        if not self.version:
            return None
        match = re.search(r"#\d.*$", self.version)
        return match.group(0) if match else None


def read_boot_header(data: bytes | memoryview | mmap.mmap) -> BootHeader | None:
    """The x86 boot header of a bzImage, or None when ``data`` has none."""
    view = memoryview(data)
    if len(view) < 0x268 or bytes(view[0x202:0x206]) != HDRS_MAGIC:
        return None
    (version_word,) = struct.unpack_from("<H", view, 0x206)
    setup_sects = view[0x1F1] or 4  # 0 means 4 in the oldest protocol
    setup_size = (setup_sects + 1) * 512
    (pointer,) = struct.unpack_from("<H", view, 0x20E)
    version = None
    if pointer and pointer + 0x200 < len(view):
        raw = bytes(view[pointer + 0x200 : pointer + 0x200 + 512]).split(b"\x00", 1)[0]
        version = raw.decode("ascii", "replace").strip() or None
    payload_offset = payload_length = init_size = None
    if version_word >= MIN_PROTOCOL_PAYLOAD:
        offset, payload_length = struct.unpack_from("<II", view, 0x248)
        payload_offset = setup_size + offset
        (init_size,) = struct.unpack_from("<I", view, 0x260)
    return BootHeader(
        f"{version_word >> 8}.{version_word & 0xFF:02d}",
        version,
        setup_size,
        payload_offset,
        payload_length,
        init_size,
    )


def release_of(version_or_banner: str) -> str | None:
    """``6.1.0-57-amd64`` from a banner ("Linux version 6.1.0-57-amd64 (...") or a boot
    header's kernel_version ("6.1.0-57-amd64 (...")."""
    text = version_or_banner.removeprefix("Linux version ").split()
    return text[0] if text else None


def banner_in(
    rodata: bytes | memoryview,
    rodata_address: int,
    read: Callable[[int, int], bytes],
    symbols: tuple[KallsymsEntry, ...] = (),
) -> str | None:
    """The image's banner (what /proc/version prints when it runs): the string at
    ``linux_banner`` when the symbols have it, else the last "Linux version" string in .rodata
    that carries a build number (init/version.o holds an early copy without one)."""
    address = next((e.address for e in symbols if e.name == "linux_banner"), None)
    if address is not None:
        try:
            raw = read(address, 1024).split(b"\x00", 1)[0]
        except KernlabError:
            raw = b""
        if raw.startswith(BANNER_PREFIX):
            return raw.decode("ascii", "replace").rstrip("\n")
    found = [m.group(0) for m in re.finditer(rb"Linux version [^\x00]{1,1000}", bytes(rodata))]
    numbered = [b for b in found if re.search(rb" #\d", b)]
    chosen = numbered or found
    return chosen[-1].decode("ascii", "replace").rstrip("\n") if chosen else None


# ------------------------------------------------------------------------------- System.map


@dataclass(frozen=True)
class SystemMap:
    path: str
    entries: tuple[KallsymsEntry, ...]
    placeholder: str | None  # the text of a file with no symbol line (Debian's pointer to -dbg)


def system_map_beside(image_path: str, release: str | None) -> str | None:
    """``System.map-<release>`` in the image's directory (else the one its file name's suffix
    names: vmlinuz-<x> -> System.map-<x>), when it exists."""
    folder = os.path.dirname(os.path.abspath(image_path))
    names = []
    if release:
        names.append(f"System.map-{release}")
    base = os.path.basename(image_path)
    for prefix in ("vmlinuz-", "vmlinux-", "bzImage-"):
        if base.startswith(prefix):
            names.append(f"System.map-{base[len(prefix) :]}")
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def read_system_map(path: str) -> SystemMap:
    """A System.map (nm's ``address type name`` lines); a file with none is a placeholder."""
    try:
        table = read_kallsyms(path)
    except BadInput:
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                text = handle.read(4096)
        except OSError:
            text = ""
        # Debian's one line: "ffffffffffffffff B The real System.map is in the
        # linux-image-<version>-dbg package".
        words = text.strip().split(None, 2)
        note = words[2] if len(words) == 3 and re.fullmatch(r"[0-9a-fA-F]+", words[0]) else text.strip()
        return SystemMap(path, (), note[:300] or "(empty)")
    return SystemMap(path, tuple(e for e in table.entries if e.module is None), None)


@dataclass(frozen=True)
class KernelSymbols:
    """Where a stripped kernel image's symbols come from, and the symbols."""

    source: str  # "system_map" (a file), "kallsyms_table" (inside the image) or "none"
    path: str | None  # the System.map read, for "system_map"
    entries: tuple[KallsymsEntry, ...]
    placeholder: str | None = None  # a System.map passed over because it holds no symbols
    placeholder_note: str | None = None  # what that placeholder says
    table: KallsymsTable | None = None  # the decoded tables, for "kallsyms_table"


def kernel_symbols(
    image_path: str,
    release: str | None,
    rodata: tuple[bytes | memoryview, int] | None,
    read: Callable[[int, int], bytes],
    system_map: str | None = None,
    little_endian: bool = True,
) -> KernelSymbols:
    """The symbols of a kernel image: from ``system_map`` when given (it must hold symbols and
    belong to this image), else from a real System.map-<release> beside the image, else from
    the kallsyms tables in its .rodata (``(bytes, address)``)."""
    if system_map is not None:
        found = read_system_map(system_map)
        if found.placeholder is not None:
            raise BadInput(
                f"{system_map}: holds no symbol lines (it says: {found.placeholder})",
                key="errors.kernel.system_map_placeholder",
                fields={"path": system_map, "says": found.placeholder},
            )
        _check_belongs(found, read, release)
        return KernelSymbols("system_map", system_map, found.entries)
    table = None
    if release is None and rodata is not None:
        table = decode_kallsyms_table(rodata[0], rodata[1], little_endian)
        if table is not None:
            banner = banner_in(rodata[0], rodata[1], read, table.entries)
            release = release_of(banner) if banner else None
    beside = system_map_beside(image_path, release)
    placeholder = note = None
    if beside is not None:
        found = read_system_map(beside)
        if found.placeholder is None:
            _check_belongs(found, read, release)
            return KernelSymbols("system_map", beside, found.entries)
        placeholder, note = beside, found.placeholder
    if table is None and rodata is not None:
        table = decode_kallsyms_table(rodata[0], rodata[1], little_endian)
    if table is not None:
        return KernelSymbols("kallsyms_table", None, table.entries, placeholder, note, table)
    return KernelSymbols("none", None, (), placeholder, note)


def _check_belongs(found: SystemMap, read: Callable[[int, int], bytes], release: str | None) -> None:
    """A System.map of another build names the wrong code: its linux_banner must point at this
    image's banner."""
    banner = next((e for e in found.entries if e.name == "linux_banner"), None)
    if banner is None:
        return
    try:
        text = read(banner.address, 256).split(b"\x00", 1)[0]
    except KernlabError:
        text = b""
    expected = BANNER_PREFIX + (release or "").encode()
    if not text.startswith(expected if release else BANNER_PREFIX):
        raise BadInput(
            f"{found.path}: belongs to another kernel build (its linux_banner, "
            f"{banner.address:#x}, is not this image's banner)",
            key="errors.kernel.other_build",
            fields={"path": found.path, "address": f"{banner.address:#x}"},
        )
