"""What `kernlab elf`'s figures mean: the file(1)-like line, each segment's purpose, the summary.

Every sentence is made here, from the report's keys and numbers, when the view asks for it, so
it comes out in the language in force at that moment.
"""

from __future__ import annotations

from kernlab.catalog import say
from kernlab.elf.model import ElfSummary, LoadSegment, Segment
from kernlab.explain import count
from kernlab.units import format_bytes

__all__ = ["file_line", "kind_words", "segment_meaning", "summary_sentence"]


def kind_words(summary: ElfSummary) -> str:
    """What sort of file it is, in words: "position-independent executable", "core dump", ..."""
    return say(f"elf.kind.{summary.kind}", type=summary.type)


def file_line(summary: ElfSummary) -> str:
    """The one-line description, as file(1) writes it."""
    bits = "64-bit" if summary.elf_class == "ELF64" else "32-bit"
    order = "LSB" if summary.endianness == "little endian" else "MSB"
    parts = [f"ELF {bits} {order} {kind_words(summary)}", summary.machine]
    if summary.dynamically_linked is not None:
        parts.append("dynamically linked" if summary.dynamically_linked else "statically linked")
    if summary.interpreter:
        parts.append(f"interpreter {summary.interpreter}")
    if summary.build_id:
        parts.append(f"BuildID={summary.build_id}")
    if summary.type != "CORE":
        parts.append("stripped" if summary.stripped else "not stripped")
    if summary.inner:
        parts.append(f"inside a compressed image ({summary.inner})")
    return ", ".join(parts)


def segment_meaning(seg: Segment) -> str:
    """What one segment is for: its permissions and what its sections are, with sizes and address."""
    key = seg.meaning
    contents = seg.contents
    if key in LOAD_KEYS and not contents:
        key = "segment.load_bare"  # no section header describes it (sstrip, or a gap in the file)
    return say(
        f"elf.{key}",
        filesz=format_bytes(seg.filesz),
        memsz=format_bytes(seg.memsz),
        bss=format_bytes(max(seg.memsz - seg.filesz, 0)),
        vaddr=f"{seg.vaddr:#x}",
        flags=seg.flags.strip() or "-",
        access=say(f"elf.access.{seg.access or 'none'}"),
        contents=_join([say(f"elf.content.{c}") for c in contents]),
        interp=seg.interpreter or "?",
        align=format_bytes(seg.align),
        sections=", ".join(seg.sections) if seg.sections else say("elf.content.no_sections"),
    )


LOAD_KEYS = frozenset({"segment.load", "segment.load_bss", "segment.load_zero"})


def _load_phrase(load: LoadSegment) -> str:
    return say(
        f"elf.load.{load.kind}",
        flags=load.flags.strip() or "no access",
        size=format_bytes(load.memsz),
        bss=format_bytes(max(load.memsz - load.filesz, 0)),
    )


def _join(parts: list[str]) -> str:
    if not parts:
        return say("elf.load.none")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + say("elf.load.join_last") + parts[-1]


def summary_sentence(summary: ElfSummary) -> str:
    """The closing sentence: what the file is and how the kernel starts or uses it."""
    process = summary.process
    fields: dict[str, object] = {
        "kind": kind_words(summary),
        "kind_a": say(f"elf.kind_a.{summary.kind}", type=summary.type),
        "arch": summary.arch,
        "nload": count("elf.n.load", len(summary.loads)),
        "loads": _join([_load_phrase(load) for load in summary.loads]),
        "interp": summary.interpreter,
        "entry": f"{summary.entry:#x}",
        "soname": summary.soname or "no soname",
        "nexport": summary.exported_symbols,
        "nsec": count("elf.n.section", summary.section_count),
        "nseg": count("elf.n.segment", summary.segment_count),
        "nsym": count("elf.n.symbol", summary.symbol_count),
        "memory": format_bytes(sum(load.memsz for load in summary.loads)),
        "nnote": count("elf.n.note", summary.note_count),
        "start_kernel": f"{summary.start_kernel:#x}" if summary.start_kernel is not None else "",
        "section": summary.start_kernel_section or "",
        "type": summary.type,
    }
    if process is not None:
        fields.update(command=process.command, pid=process.pid, args=process.args or process.command)
    sentence = say(f"elf.{summary.meaning}", **fields)
    if summary.inner:
        how, _, where = summary.inner.partition(" at offset ")
        sentence = say("elf.summary.inner", sentence=sentence, how=how, offset=where, path=summary.path)
    return sentence
