"""ELF notes (``Elf_Nhdr`` + name + descriptor), decoded as readelf -n does: build-id, ABI tag,
GNU properties, and what the kernel's core dumper records in a core file."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Literal

from kernlab.elf import descriptions as d
from kernlab.elf.headers import RawElf
from kernlab.elf.layout import align_up
from kernlab.elf.model import Note, Section
from kernlab.errors import BadInput

NT_PRPSINFO = 3
NT_SIGINFO = 0x53494749
NT_FILE = 0x46494C45


def read_notes(raw: RawElf, sections: list[Section]) -> list[Note]:
    """Every note, from SHT_NOTE sections (or PT_NOTE segments when there are no sections)."""
    out: list[Note] = []
    note_sections = [s for s in sections if s.type_value == d.SHT_NOTE]
    if note_sections:
        for s in note_sections:
            out.extend(_parse_notes(raw, raw.section_bytes(s.index), s.name, s.align))
    else:
        for p in raw.phdrs:
            if p.type == d.PT_NOTE and p.filesz:
                data = raw.file_bytes(p.offset, p.filesz, "PT_NOTE segment")
                out.extend(_parse_notes(raw, data, None, p.align))
    return out


def _parse_notes(raw: RawElf, data: memoryview, section: str | None, align: int) -> Iterator[Note]:
    align = 8 if align == 8 else 4
    hdr = struct.Struct(raw.endian + "III")
    off = 0
    while off + hdr.size <= len(data):
        namesz, descsz, ntype = hdr.unpack_from(data, off)
        name_start = off + hdr.size
        desc_start = align_up(name_start + namesz, align)
        end = desc_start + descsz
        if end > len(data):
            raise BadInput(
                f"{raw.source}: a note in {section or 'a PT_NOTE segment'} runs past its end",
                key="errors.elf.note_past_end",
                fields={"path": raw.source, "part": section or "PT_NOTE"},
            )
        owner = bytes(data[name_start : name_start + namesz]).split(b"\0", 1)[0].decode("utf-8", "replace")
        desc = bytes(data[desc_start:end])
        yield Note(
            section=section,
            owner=owner,
            type=_note_type_name(raw, owner, ntype),
            description=_note_description(raw, owner, ntype, desc),
            type_value=ntype,
            data_size=descsz,
        )
        off = align_up(end, align)


def _note_type_name(raw: RawElf, owner: str, ntype: int) -> str:
    # readelf chooses the table by owner first, then by whether this is a core file.
    name = d.NOTE_TYPES.get((owner, ntype))
    if name is None and owner not in d.NOTE_OWNERS:
        table = d.CORE_NOTE_TYPES if raw.e_type == 4 else d.GENERIC_NOTE_TYPES
        name = table.get(ntype)
    return name if name is not None else f"Unknown note type: (0x{ntype:08x})"


FDO_PACKAGING_METADATA = 0xCAFE1A7E
NT_STAPSDT = 3
# GNU build-attribute notes (annobin, gcc -fplugin=annobin): owner "GA" + one of these.
BUILD_ATTRIBUTE_MARKS = "*$!+"


def _note_description(raw: RawElf, owner: str, ntype: int, desc: bytes) -> str:
    if raw.e_type == 4 and owner == "CORE":
        return _core_note_description(raw, ntype, desc)
    if owner == "GNU":
        return _gnu_note_description(raw, ntype, desc)
    if owner == "stapsdt" and ntype == NT_STAPSDT:
        return _stapsdt_description(raw, desc)
    if owner == "FDO":
        # systemd's package note: a JSON object naming the package the file came from.
        return desc.split(b"\0", 1)[0].decode("utf-8", "replace") if ntype == FDO_PACKAGING_METADATA else ""
    if _is_build_attribute(owner, ntype) or raw.e_type == 4:
        # Build attributes need readelf's running state across notes; a core file's register
        # and state notes are binary blobs whose bytes say nothing read as hex.
        return ""
    # Any other note (the kernel's "Linux" notes in a module, Go's build ID ...): its bytes,
    # as readelf's "description data" shows them.
    return desc.hex(" ")


def _is_build_attribute(owner: str, ntype: int) -> bool:
    # readelf tests strchr("*$!+", c), which also finds the NUL ending a short owner; Python's
    # `"" in "*$!+"` is True as well, so "GA" and "" count, as they do for readelf.
    marked = (owner.startswith("GA") and owner[2:3] in BUILD_ATTRIBUTE_MARKS) or (
        owner[:1] in BUILD_ATTRIBUTE_MARKS
    )
    return marked and ntype in (0x100, 0x101)


def _gnu_note_description(raw: RawElf, ntype: int, desc: bytes) -> str:
    if ntype == 3:
        return desc.hex()
    if ntype == 1:
        if len(desc) < 16:
            return ""
        os_, major, minor, sub = struct.unpack(raw.endian + "4I", desc[:16])
        return f"OS: {d.NOTE_GNU_ABI_OS.get(os_, f'Unknown {os_}')}, ABI: {major}.{minor}.{sub}"
    if ntype == 5:
        return _gnu_properties(raw, desc)
    if ntype == 4:
        return desc.split(b"\0", 1)[0].decode("utf-8", "replace")
    if ntype == 2:
        if len(desc) < 8:
            return ""
        entries, mask = struct.unpack_from(raw.endian + "II", desc)
        return f"num entries: {entries}, enabled mask: {mask:x}"
    return desc.hex(" ")


def _stapsdt_description(raw: RawElf, desc: bytes) -> str:
    """A SystemTap/USDT probe (sys/sdt.h): its address, the base it was linked against, its
    semaphore, then provider, name and argument format as NUL-terminated strings."""
    word = raw.lay.addr
    if len(desc) <= 3 * word.size:
        return ""
    pc, base, semaphore = (word.unpack_from(desc, i * word.size)[0] for i in range(3))
    strings = desc[3 * word.size :].split(b"\0")
    if len(strings) < 4:  # provider, name and arguments each need their terminating NUL
        return ""
    provider, name, arguments = (part.decode("utf-8", "replace") for part in strings[:3])
    digits = 2 * word.size
    return (
        f"Provider: {provider} Name: {name} Location: 0x{pc:0{digits}x}, Base: 0x{base:0{digits}x}, "
        f"Semaphore: 0x{semaphore:0{digits}x} Arguments: {arguments}"
    )


def _core_note_description(raw: RawElf, ntype: int, desc: bytes) -> str:
    """What the kernel's core dumper (fs/binfmt_elf.c fill_psinfo, fill_siginfo_note,
    fill_files_note) recorded: the command, the signal, the mapped files."""
    if ntype == NT_PRPSINFO:
        info = process_info_from(raw.endian, desc)
        if info is not None:
            return f"{info[0]} (PID {info[1]}): {info[2]}"
    elif ntype == NT_SIGINFO and len(desc) >= 4:  # siginfo_t, si_signo first
        signo = struct.unpack_from(raw.endian + "i", desc)[0]
        return f"signal {signo} ({_signal_name(signo)})"
    elif ntype == NT_FILE:  # count, page size, then (start, end, offset) each
        word = raw.lay.addr
        if len(desc) >= 2 * word.size:
            count = word.unpack_from(desc)[0]
            return f"{count} mapped files"
    return ""


def _signal_name(signo: int) -> str:
    import signal

    try:
        return signal.Signals(signo).name
    except ValueError:
        return "unknown signal"


def process_info_from(endian: str, desc: bytes) -> tuple[str, int, str] | None:
    """(command, PID, arguments) from an NT_PRPSINFO descriptor (struct elf_prpsinfo).

    The layout depends on the word size: 136 bytes on 64-bit machines (pr_flag a long,
    32-bit uid and gid), 124 on i386 (16-bit uid and gid).
    """
    layouts = {136: (24, 40), 124: (16, 28)}  # size -> (pr_pid offset, pr_fname offset)
    if len(desc) not in layouts:
        return None
    pid_at, fname_at = layouts[len(desc)]
    pid = struct.unpack_from(endian + "i", desc, pid_at)[0]
    fname = desc[fname_at : fname_at + 16].split(b"\0", 1)[0].decode("utf-8", "replace")
    args = desc[fname_at + 16 : fname_at + 96].split(b"\0", 1)[0].decode("utf-8", "replace")
    return fname, pid, args.strip()


def core_process(raw: RawElf) -> tuple[str, int, str] | None:
    """For a core file: (command, PID, arguments) of the process it is the memory of."""
    if raw.e_type != 4:
        return None
    for p in raw.phdrs:
        if p.type == d.PT_NOTE and p.offset + p.filesz <= raw.size:
            found = _prpsinfo_in(raw, p.offset, p.filesz)
            if found is not None:
                return found
    return None


def _prpsinfo_in(raw: RawElf, offset: int, size: int) -> tuple[str, int, str] | None:
    data = bytes(raw.view[offset : offset + size])
    hdr = struct.Struct(raw.endian + "III")
    off = 0
    while off + hdr.size <= len(data):
        namesz, descsz, ntype = hdr.unpack_from(data, off)
        desc_start = align_up(off + hdr.size + namesz, 4)
        if ntype == NT_PRPSINFO and data[off + hdr.size : off + hdr.size + 4] == b"CORE":
            return process_info_from(raw.endian, data[desc_start : desc_start + descsz])
        off = align_up(desc_start + descsz, 4)
    return None


def _gnu_properties(raw: RawElf, desc: bytes) -> str:
    step = 8 if raw.wide else 4
    byteorder: Literal["little", "big"] = "little" if raw.endian == "<" else "big"
    parts = []
    off = 0
    while off + 8 <= len(desc):
        ptype, size = struct.unpack_from(raw.endian + "II", desc, off)
        body = desc[off + 8 : off + 8 + size]
        value = int.from_bytes(body[:4], byteorder) if len(body) >= 4 else 0
        parts.append(_gnu_property(raw.e_machine, ptype, value))
        off = align_up(off + 8 + size, step)
    return "; ".join(parts)


def _gnu_property(machine: int, ptype: int, value: int) -> str:
    if machine in (d.EM_X86_64, d.EM_386):
        if ptype == d.GNU_PROPERTY_X86_FEATURE_1_AND:
            return "x86 feature: " + (d.flag_words(value, d.X86_FEATURE_1_WORDS) or "<None>")
        if ptype == d.GNU_PROPERTY_X86_ISA_1_NEEDED:
            return "x86 ISA needed: " + (d.flag_words(value, d.X86_ISA_1_WORDS) or "<None>")
        if ptype == d.GNU_PROPERTY_X86_ISA_1_USED:
            return "x86 ISA used: " + (d.flag_words(value, d.X86_ISA_1_WORDS) or "<None>")
        if ptype == d.GNU_PROPERTY_X86_FEATURE_2_USED:
            return "x86 feature used: " + (d.flag_words(value, d.X86_FEATURE_2_WORDS) or "<None>")
    if machine == d.EM_AARCH64 and ptype == d.GNU_PROPERTY_AARCH64_FEATURE_1_AND:
        return "AArch64 feature: " + (d.flag_words(value, d.AARCH64_FEATURE_1_WORDS) or "<None>")
    if ptype == 2:
        return "stack size: " + hex(value)
    if ptype == 3:
        return "no copy on protected"
    return f"<unknown property 0x{ptype:x}>"
