"""Name the addresses in a recording: user instruction pointers and kernel addresses.

User addresses go through the process's saved ``/proc/PID/maps``: the VMA holding the address
gives the mapped file and its offset (``vm_pgoff``), the file offset gives the ELF virtual address
(through the PT_LOAD segment that covers it), and the ELF symbol tables name it. Kernel addresses
are looked up in the recording's copy of ``/proc/kallsyms`` by bisection.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernlab.errors import KernlabError
from kernlab.proc.maps import Vma, classify_vmas, find_vma, parse_maps
from kernlab.recording.reader import Recording


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
        for vmas in self.vmas_for(pid):
            vma = find_vma(vmas, address)
            if vma is not None:
                return vma
        return None


class ElfSymbols:
    """Opened ELF images by path (each file parsed once), naming file offsets."""

    def __init__(self) -> None:
        self._images: dict[str, Any] = {}

    def _image(self, path: str) -> Any:
        if path not in self._images:
            try:
                from kernlab.elf.reader import open_elf

                self._images[path] = open_elf(path)
            except (KernlabError, OSError, ImportError):
                self._images[path] = None
        return self._images[path]

    def name(self, path: str, file_offset: int) -> tuple[str, int] | None:
        image = self._image(path)
        if image is None:
            return None
        try:
            vaddr = image.vaddr_for_offset(file_offset)
            if vaddr is None:
                return None
            found = image.symbolize(vaddr)
        except (KernlabError, ValueError, IndexError):
            return None
        if not found:
            return None
        symbol, offset = found
        if symbol.size and offset >= symbol.size:
            return None  # past the symbol's end: a stripped binary's nearest export is not the answer
        return symbol.name, offset


class UserSymbolizer:
    """User address -> :class:`Location`, through maps snapshots and ELF symbols (cached)."""

    def __init__(self, maps: ProcessMaps, elves: ElfSymbols | None = None) -> None:
        self.maps = maps
        self.elves = elves or ElfSymbols()
        self._cache: dict[tuple[int, int], Location] = {}

    def locate(self, pid: int, address: int, with_symbol: bool = True) -> Location:
        key = (pid, address)
        hit = self._cache.get(key)
        if hit is not None and (hit.symbol is not None or not with_symbol or hit.path is None):
            return hit
        vma = self.maps.find(pid, address)
        if vma is None:
            loc = Location(address, "unknown", None, None, None, None)
        else:
            file_offset = address - vma.start + vma.offset if vma.path else None
            symbol = None
            if with_symbol and vma.path and file_offset is not None:
                symbol = self.elves.name(vma.path, file_offset)
            loc = Location(
                address,
                vma.kind,
                vma.path or vma.label,
                file_offset,
                symbol[0] if symbol else None,
                symbol[1] if symbol else None,
            )
        self._cache[key] = loc
        return loc


class KernelSymbols:
    """Kernel text symbols from a kallsyms-format file, looked up by bisection."""

    def __init__(self, path: Path | None) -> None:
        self._addrs: list[int] = []
        self._names: list[str] = []
        if path is None:
            return
        rows: list[tuple[int, str]] = []
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) < 3 or parts[1] not in ("t", "T", "w", "W"):
                        continue
                    try:
                        addr = int(parts[0], 16)
                    except ValueError:
                        continue
                    if addr:
                        rows.append((addr, parts[2]))
        except OSError:
            return
        rows.sort()
        self._addrs = [a for a, _ in rows]
        self._names = [n for _, n in rows]

    def __bool__(self) -> bool:
        return bool(self._addrs)

    def name(self, address: int) -> str | None:
        """``handle_mm_fault+0x1a4``; None before the first symbol or without kallsyms."""
        index = bisect.bisect_right(self._addrs, address) - 1
        if index < 0:
            return None
        return f"{self._names[index]}+{address - self._addrs[index]:#x}"
