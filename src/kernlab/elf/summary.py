"""What a whole file is: the file(1)-like line, the closing sentence of meaning, and the
report `kernlab elf` shows (:class:`~kernlab.elf.model.ElfReport`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernlab.elf import descriptions as d
from kernlab.elf.model import ElfReport, ElfSummary, Segment
from kernlab.elf.segments import human_size

if TYPE_CHECKING:
    from kernlab.elf.reader import ElfImage

REPORT_PARTS = ("header", "segments", "sections", "symbols", "dynamic", "notes")


def _kind_key(image: ElfImage, kernel: bool) -> str:
    h = image.header
    if kernel:
        return "kernel"
    if h.type == "EXEC":
        return "exec"
    if h.type == "DYN":
        if h.type_description == d.PIE_DESCRIPTION:
            return "pie" if image.interpreter else "static_pie"
        return "pie" if image.interpreter else "shared"
    return {"REL": "rel", "CORE": "core"}.get(h.type, "other")


def _load_phrase(seg: Segment) -> str:
    from kernlab.catalog import say

    fields = {
        "flags": seg.flags.strip() or "no access",
        "size": human_size(seg.memsz),
        "bss": human_size(max(seg.memsz - seg.filesz, 0)),
    }
    if seg.flags_value & 1:
        return say("elf.load.code", **fields)
    if seg.flags_value & 2:
        return say("elf.load.data_bss" if seg.memsz > seg.filesz else "elf.load.data", **fields)
    return say("elf.load.readonly", **fields)


def _join(parts: list[str]) -> str:
    from kernlab.catalog import say

    if not parts:
        return say("elf.load.none")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + say("elf.load.join_last") + parts[-1]


def summarize(image: ElfImage) -> ElfSummary:
    """The one-line description and the sentence of meaning of the whole file, from its data."""
    from kernlab.catalog import say

    h = image.header
    sk = image.start_kernel
    kernel = image.is_kernel
    kind_key = _kind_key(image, kernel)
    kind = say(f"elf.kind.{kind_key}", type=h.type)
    loads = [s for s in image.segments if s.type == "LOAD"]
    # Counted from the symbol rows: no Symbol objects are needed for two numbers.
    nexport = sum(
        1 for c in image.symbol_columns(".dynsym") for w in c.words if w[3] != "UND" and w[1] != "LOCAL"
    )
    fields = {
        "kind": kind,
        "kind_a": say(f"elf.kind_a.{kind_key}", type=h.type),
        "arch": h.arch,
        "nload": len(loads),
        "loads": _join([_load_phrase(s) for s in loads]),
        "interp": image.interpreter,
        "entry": f"{h.entry:#x}",
        "soname": image.soname or "no soname",
        "nexport": nexport,
        "nsec": len(image.sections),
        "nseg": len(image.segments),
        "nsym": sum(c.count for c in image.symbol_columns()),
        "memory": human_size(sum(s.memsz for s in loads)),
        "nnote": len(image.notes()) if h.type == "CORE" else 0,
        "start_kernel": f"{sk.value:#x}" if sk else "",
        "section": (sk.section or sk.shndx) if sk else "",
        "type": h.type,
    }
    if kernel:
        key = "elf.summary.kernel" if sk else "elf.summary.kernel_no_start"
    elif h.type == "REL":
        key = "elf.summary.rel"
    elif h.type == "CORE":
        process = image.core_process
        key = "elf.summary.core_named" if process else "elf.summary.core"
        if process:
            fields.update(command=process[0], pid=process[1], args=process[2] or process[0])
    elif h.type in ("EXEC", "DYN") and image.interpreter:
        key = "elf.summary.with_interp"
    elif h.type == "DYN" and h.type_description != d.PIE_DESCRIPTION:
        key = "elf.summary.shared"
    elif h.type in ("EXEC", "DYN"):
        key = "elf.summary.static"
    else:
        key = "elf.summary.other"
    sentence = say(key, **fields)
    if image.inner:
        how, _, where = image.inner.partition(" at offset ")
        sentence = say("elf.summary.inner", sentence=sentence, how=how, offset=where, path=image.source)
    return ElfSummary(
        path=image.source,
        inner=image.inner,
        elf_class=h.elf_class,
        endianness=h.data,
        type=h.type,
        kind=kind,
        machine=h.machine,
        arch=h.arch,
        entry=h.entry,
        interpreter=image.interpreter,
        build_id=image.build_id,
        stripped=image.is_stripped,
        is_kernel=kernel,
        start_kernel=sk.value if sk else None,
        start_kernel_section=(sk.section or sk.shndx) if sk else None,
        line=_one_line(image, kind),
        sentence=sentence,
    )


def _one_line(image: ElfImage, kind: str) -> str:
    h = image.header
    bits = "64-bit" if image.is_64bit else "32-bit"
    order = "LSB" if image.is_little_endian else "MSB"
    parts = [f"ELF {bits} {order} {kind}", h.machine]
    if h.type in ("EXEC", "DYN"):
        has_dynamic = any(s.type == "DYNAMIC" for s in image.segments)
        parts.append("dynamically linked" if has_dynamic else "statically linked")
    if image.interpreter:
        parts.append(f"interpreter {image.interpreter}")
    if image.build_id:
        parts.append(f"BuildID={image.build_id}")
    if h.type != "CORE":
        parts.append("stripped" if image.is_stripped else "not stripped")
    if image.inner:
        parts.append(f"inside a compressed image ({image.inner})")
    return ", ".join(parts)


def report(image: ElfImage, parts: frozenset[str] = frozenset(REPORT_PARTS)) -> ElfReport:
    """What `kernlab elf` shows: the summary, and each of ``parts`` (header, segments, sections,
    symbols, dynamic, notes) read from the file."""
    return ElfReport(
        summary=summarize(image),
        header=image.header if "header" in parts else None,
        segments=image.segments if "segments" in parts else None,
        sections=image.sections if "sections" in parts else None,
        symbols=image.symbols() if "symbols" in parts else None,
        dynamic=image.dynamic() if "dynamic" in parts else None,
        notes=image.notes() if "notes" in parts else None,
    )
