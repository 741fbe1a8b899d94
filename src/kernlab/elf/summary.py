"""What a whole file is, as keys and numbers: :class:`~kernlab.elf.model.ElfSummary`.

The figures behind file(1)'s line and the closing sentence of `kernlab elf`; the words are made
from them by :mod:`kernlab.explain.elf`, in the language in force when they are printed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernlab.elf import descriptions as d
from kernlab.elf.model import CoreProcess, ElfSummary, LoadSegment, Segment

if TYPE_CHECKING:
    from kernlab.elf.reader import ElfImage

__all__ = ["kind_key", "load_kind", "summarize"]


def kind_key(image: ElfImage) -> str:
    """What sort of file it is: "pie", "exec", "static_pie", "shared", "rel", "core", "kernel", "other"."""
    h = image.header
    if image.is_kernel:
        return "kernel"
    if h.type == "EXEC":
        return "exec"
    if h.type == "DYN":
        if h.type_description == d.PIE_DESCRIPTION:
            return "pie" if image.interpreter else "static_pie"
        if _runnable_library(image):
            return "shared"
        return "pie" if image.interpreter else "shared"
    return {"REL": "rel", "CORE": "core"}.get(h.type, "other")


def _runnable_library(image: ElfImage) -> bool:
    """A shared library that can also be run (libc.so.6 prints its version): a DYN file with
    an interpreter and a SONAME but without DF_1_PIE. readelf and file(1) call it a shared
    object; a PIE linked before DF_1_PIE existed has no SONAME, so it stays an executable."""
    h = image.header
    return (
        h.type == "DYN"
        and h.type_description != d.PIE_DESCRIPTION
        and image.interpreter is not None
        and image.soname is not None
    )


def load_kind(seg: Segment) -> str:
    """What one PT_LOAD holds, judged by its permissions: code, data (with .bss) or read-only data."""
    if seg.flags_value & 1:
        return "code"
    if seg.flags_value & 2:
        return "data_bss" if seg.memsz > seg.filesz else "data"
    return "readonly"


def _meaning_key(image: ElfImage, kernel: bool, process: CoreProcess | None) -> str:
    h = image.header
    if kernel:
        return "summary.kernel" if image.start_kernel else "summary.kernel_no_start"
    if h.type == "REL":
        return "summary.rel"
    if h.type == "CORE":
        return "summary.core_named" if process else "summary.core"
    if _runnable_library(image):
        return "summary.shared_runnable"
    if h.type in ("EXEC", "DYN") and image.interpreter:
        return "summary.with_interp"
    if h.type == "DYN" and h.type_description != d.PIE_DESCRIPTION:
        return "summary.shared"
    if h.type in ("EXEC", "DYN"):
        return "summary.static"
    return "summary.other"


def summarize(image: ElfImage) -> ElfSummary:
    """The figures that say what the whole file is, read from its headers and tables."""
    h = image.header
    sk = image.start_kernel
    kernel = image.is_kernel
    loads = tuple(
        LoadSegment(load_kind(s), s.flags, s.filesz, s.memsz) for s in image.segments if s.type == "LOAD"
    )
    # Counted from the symbol rows: no Symbol objects are needed for two numbers.
    nexport = sum(
        1 for c in image.symbol_columns(".dynsym") for w in c.words if w[3] != "UND" and w[1] != "LOCAL"
    )
    found = image.core_process if h.type == "CORE" and not kernel else None
    process = CoreProcess(*found) if found else None
    dynamic = any(s.type == "DYNAMIC" for s in image.segments) if h.type in ("EXEC", "DYN") else None
    return ElfSummary(
        path=image.source,
        inner=image.inner,
        elf_class=h.elf_class,
        endianness=h.data,
        type=h.type,
        kind=kind_key(image),
        machine=h.machine,
        arch=h.arch,
        entry=h.entry,
        interpreter=image.interpreter,
        build_id=image.build_id,
        stripped=image.is_stripped,
        is_kernel=kernel,
        start_kernel=sk.value if sk else None,
        start_kernel_section=(sk.section or sk.shndx) if sk else None,
        meaning=_meaning_key(image, kernel, process),
        dynamically_linked=dynamic,
        soname=image.soname,
        loads=loads,
        exported_symbols=nexport,
        section_count=len(image.sections),
        segment_count=len(image.segments),
        symbol_count=sum(c.count for c in image.symbol_columns()),
        note_count=len(image.notes()) if h.type == "CORE" else 0,
        process=process,
    )
