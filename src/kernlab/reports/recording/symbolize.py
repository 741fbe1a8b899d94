"""Name the addresses in a recording: user instruction pointers and kernel addresses.

User addresses go through the process's saved ``/proc/PID/maps``: the VMA holding the address
gives the mapped file and its load bias (``kernlab.mm.elfplace``), the bias gives the ELF virtual
address, and the ELF symbol tables name it — those of the file's separate debug file when the
distribution installed one (found by build-id under /usr/lib/debug, as gdb does), else the
file's own. Kernel addresses are named by :mod:`kernlab.recording.kallsyms`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernlab.errors import KernlabError
from kernlab.mm.elfplace import elf_place
from kernlab.proc.maps import Vma, classify_vmas, find_vma, parse_maps
from kernlab.recording.reader import Recording

__all__ = [
    "DEBUG_DIRS",
    "ElfSymbols",
    "Location",
    "ProcessMaps",
    "SymbolImage",
    "UserSymbolizer",
    "debug_file_for",
    "page_size_of",
]


@dataclass(frozen=True)
class Location:
    """Where an address is: its VMA's class and file, and the symbol when one is known."""

    address: int
    vma_kind: str
    """A class from kernlab.proc.maps.KINDS (binary-text, shared-lib, heap, ...) or ``unknown``."""
    path: str | None
    """The mapped file, or the VMA's [name]."""
    file_offset: int | None
    symbol: str | None
    symbol_offset: int | None

    @property
    def text(self) -> str:
        """``/usr/bin/ls:main+0x12``, ``libc.so.6+0x1234`` or ``[heap]``."""
        where = os.path.basename(self.path) if self.path and self.path.startswith("/") else (self.path or "?")
        if self.symbol:
            return f"{where}:{self.symbol}+{self.symbol_offset:#x}"
        if self.file_offset is not None and self.path and self.path.startswith("/"):
            return f"{where}+{self.file_offset:#x}"
        return where


class ProcessMaps:
    """The VMAs of each traced process, from the recording's snapshots (classified)."""

    def __init__(self, rec: Recording, parents: dict[int, int] | None = None) -> None:
        self._rec = rec
        self._parents = parents or {}
        self._cache: dict[int, list[list[Vma]]] = {}

    def _load(self, pid: int) -> list[list[Vma]]:
        if pid in self._cache:
            return self._cache[pid]
        layers: list[list[Vma]] = []
        # The last snapshot (exit/end) knows the most areas; earlier ones cover what was unmapped.
        for snap in reversed(self._rec.snapshots_of(pid)):
            text = self._rec.maps_text(snap)
            if not text:
                continue
            try:
                vmas = parse_maps(text)
            except KernlabError:
                continue
            layers.append(classify_vmas(vmas, snap.exe or None))
        self._cache[pid] = layers
        return layers

    def vmas_for(self, pid: int) -> list[list[Vma]]:
        """Snapshots for ``pid``, or those of the nearest ancestor that has some (a thread or a
        forked child that did not exec shares or copies its parent's mappings)."""
        seen = set()
        while pid not in seen:
            seen.add(pid)
            layers = self._load(pid)
            if layers:
                return layers
            parent = self._parents.get(pid)
            if parent is None:
                break
            pid = parent
        return []

    def find(self, pid: int, address: int) -> Vma | None:
        found = self.find_in_layer(pid, address)
        return found[1] if found else None

    def find_in_layer(self, pid: int, address: int) -> tuple[list[Vma], Vma] | None:
        """The VMA holding ``address`` and the snapshot it is from (elf_place needs both)."""
        for vmas in self.vmas_for(pid):
            vma = find_vma(vmas, address)
            if vma is not None:
                return vmas, vma
        return None


DEBUG_DIRS: tuple[Path, ...] = (Path("/usr/lib/debug"),)
"""Where distributions install separate debug files, found by build-id as gdb and addr2line
do: ``<dir>/.build-id/<first two hex digits>/<the rest>.debug`` (Debian's *-dbg / -dbgsym)."""


def debug_file_for(build_id: str, debug_dirs: tuple[Path, ...] = DEBUG_DIRS) -> Path | None:
    """The separate debug file of ``build_id`` (hex), or None when none is installed."""
    if len(build_id) < 3:
        return None
    for base in debug_dirs:
        path = base / ".build-id" / build_id[:2] / f"{build_id[2:]}.debug"
        if path.is_file():
            return path
    return None


class SymbolImage:
    """An ELF image as :func:`kernlab.mm.elfplace.elf_place` reads it, with better symbols.

    Segments and sections come from the mapped file itself; symbols come from its separate
    debug file when one is installed (a stripped library keeps only .dynsym, which lacks every
    local function), else from the file. A symbol is only named when the address lies inside
    its size: the nearest export before an unnamed local function is not where the code is.
    """

    def __init__(self, image: Any, debug: Any | None) -> None:
        self.image = image
        self.debug = debug
        self.segments = image.segments

    def section_for_address(self, vaddr: int) -> Any:
        return self.image.section_for_address(vaddr)

    def symbolize(self, vaddr: int) -> tuple[Any, int] | None:
        for source in (self.debug, self.image):
            if source is None:
                continue
            try:
                found = source.symbolize(vaddr)
            except (KernlabError, ValueError, IndexError):
                continue
            if found is not None:
                symbol, offset = found
                if not symbol.size or offset < symbol.size:
                    return symbol, offset
        return None


class ElfSymbols:
    """Opened ELF images, one per (path, build-id), with their separate debug files.

    ``build_ids`` are those the recorder saw (meta.binaries): when the file at that path now
    has another build-id, it is not the one that ran, and only a debug file of the recorded
    build-id may name its addresses.
    """

    def __init__(
        self, build_ids: dict[str, str] | None = None, debug_dirs: tuple[Path, ...] = DEBUG_DIRS
    ) -> None:
        self.build_ids = build_ids or {}
        self.debug_dirs = debug_dirs
        self._images: dict[tuple[str, str], SymbolImage | None] = {}

    def open(self, path: str) -> SymbolImage | None:
        """The image of ``path`` for elf_place(), or None (not ELF, gone, or changed)."""
        recorded = self.build_ids.get(path, "")
        key = (path, recorded)
        if key not in self._images:
            self._images[key] = self._open(path, recorded)
        return self._images[key]

    def _open(self, path: str, recorded: str) -> SymbolImage | None:
        try:
            from kernlab.elf.reader import open_elf
        except ImportError:
            return None
        try:
            image = open_elf(path)
            found = image.build_id or ""
        except (KernlabError, OSError):
            return None
        build_id = recorded or found
        debug_path = debug_file_for(build_id, self.debug_dirs) if build_id else None
        debug = None
        if debug_path is not None:
            try:
                debug = open_elf(debug_path)
            except (KernlabError, OSError):
                debug = None
        if recorded and found and recorded != found:
            # Replaced since the recording: its own symbols would name the wrong code.
            return SymbolImage(image, debug) if debug is not None else None
        return SymbolImage(image, debug)


def page_size_of(rec: Recording) -> int:
    """The traced machine's page size (arm64 kernels may use 16 or 64 KiB pages)."""
    shift = rec.meta.config.get("CONFIG_ARM64_PAGE_SHIFT")
    if shift and str(shift).isdigit():
        return 1 << int(shift)
    return 4096


class UserSymbolizer:
    """User address -> :class:`Location`, through maps snapshots and ELF symbols (cached).

    The ELF side is :func:`kernlab.mm.elfplace.elf_place` (load bias from the file's first
    mapping, PT_LOAD, section, symbol), the same code ``kernlab vtop`` uses.
    """

    def __init__(self, maps: ProcessMaps, elves: ElfSymbols | None = None) -> None:
        self.maps = maps
        rec = maps._rec
        self.elves = elves or ElfSymbols({b.path: b.build_id for b in rec.meta.binaries if b.build_id})
        self.page_size = page_size_of(rec)
        self._cache: dict[tuple[int, int], Location] = {}

    def locate(self, pid: int, address: int, with_symbol: bool = True) -> Location:
        key = (pid, address)
        hit = self._cache.get(key)
        if hit is not None and (hit.symbol is not None or not with_symbol or hit.path is None):
            return hit
        found = self.maps.find_in_layer(pid, address)
        if found is None:
            loc = Location(address, "unknown", None, None, None, None)
        else:
            vmas, vma = found
            file_offset = address - vma.start + vma.offset if vma.path else None
            place = None
            if with_symbol and vma.path:
                place = elf_place(vmas, vma, address, self.page_size, self.elves.open)
            symbol = place.symbol if place is not None else None
            loc = Location(
                address,
                vma.kind,
                vma.path or vma.label,
                file_offset,
                symbol,
                place.symbol_offset if symbol and place is not None else None,
            )
        self._cache[key] = loc
        return loc
