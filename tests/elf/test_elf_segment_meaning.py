"""Each segment is described from its own p_flags and from what its sections really are, checked
against readelf's program headers, section headers and section-to-segment mapping on real files:
/usr/bin, /usr/lib/x86_64-linux-gnu and a kernel-like ELF with an RWE segment (like vmlinuz's
init segment)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kernlab.catalog import say
from kernlab.elf.reader import open_elf
from kernlab.explain.elf import segment_meaning
from tests.conftest import need_tool
from tests.elf.test_elf_kimage import KERNEL_LINK_FLAGS

# What readelf's section list must show for a content word to appear in the sentence.
SHF_FLAGS = re.compile(r"^[WAXMSILOGTCxoEDlypR]*$")


def _sections(path: Path) -> dict[str, tuple[str, str]]:
    """name -> (type, flags) from readelf -SW."""
    out = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True).stdout
    found: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        m = re.match(
            r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+\s+(\S*)\s+\d",
            line,
        )
        if m and SHF_FLAGS.match(m.group(3)):
            found[m.group(1)] = (m.group(2), m.group(3))
    return found


def _segments(path: Path) -> tuple[list[tuple[str, str]], list[tuple[str, ...]]]:
    """[(type, flags)] and the section-to-segment mapping from readelf -lW."""
    out = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True).stdout
    headers: list[tuple[str, str]] = []
    part = out.split("Program Headers:", 1)[1].split("Section to Segment mapping:", 1)
    for line in part[0].splitlines():
        m = re.match(
            r"\s+([A-Za-z_0-9+]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(.{3})\s+0x",
            line,
        )
        if m:
            headers.append((m.group(1), m.group(2)))
    mapping = []
    for line in part[1].splitlines()[2:] if len(part) > 1 else []:
        m = re.match(r"\s+(\d+)\s*(.*)$", line)
        if m:
            mapping.append(tuple(m.group(2).split()))
    return headers, mapping


def _access(flags: str) -> str:
    key = "".join(c.lower() for c, bit in zip(flags, "RWE", strict=True) if c == bit).replace("e", "x")
    return key or "none"


def _requirement(content: str, sections: dict[str, tuple[str, str]], names: tuple[str, ...]) -> bool:
    """Whether readelf shows, among the segment's sections, one that is ``content``."""
    kinds = [sections.get(n, ("?", "")) for n in names]
    if content == "code" or content == "plt":
        return any("X" in f for _, f in kinds)
    if content == "unwind":
        return any(n.startswith((".eh_frame", ".gcc_except", ".sframe", ".orc_")) for n in names) or any(
            t in ("X86_64_UNWIND", "ARM_EXIDX") for t, _ in kinds
        )
    if content == "dynsym":
        return any(
            t in ("DYNSYM", "GNU_HASH", "HASH", "VERSYM", "VERDEF", "VERNEED") or n == ".dynstr"
            for n, (t, _) in zip(names, kinds, strict=False)
        )
    if content == "relocs":
        return any(t in ("REL", "RELA", "RELR") for t, _ in kinds)
    if content == "bss":
        return any(t == "NOBITS" and "T" not in f for t, f in kinds)
    if content == "tls":
        return any("T" in f for _, f in kinds)
    if content == "notes":
        return any(t == "NOTE" for t, _ in kinds)
    if content == "dynamic":
        return any(t == "DYNAMIC" for t, _ in kinds)
    if content == "data":
        return any("W" in f and t == "PROGBITS" for t, f in kinds)
    if content == "rodata":
        return any("W" not in f and "X" not in f and t == "PROGBITS" for t, f in kinds)
    if content == "interp":
        return ".interp" in names
    if content == "got":
        return any(n.startswith((".got", ".igot")) for n in names)
    if content == "init_array":
        return any(
            t in ("INIT_ARRAY", "FINI_ARRAY", "PREINIT_ARRAY") or n in (".ctors", ".dtors")
            for n, (t, _) in zip(names, kinds, strict=False)
        )
    if content == "relro":
        return any(n.startswith(".data.rel.ro") for n in names)
    return True  # headers and "other" are not sections readelf types


def _check(path: Path) -> int:
    image = open_elf(path)
    headers, mapping = _segments(path)
    sections = _sections(path)
    assert len(headers) == len(image.segments)
    checked = 0
    for seg, (_ptype, flags), mapped in zip(image.segments, headers, mapping, strict=False):
        assert seg.sections == mapped, (path, seg.index)
        assert seg.access == _access(flags), (path, seg.index, flags)
        sentence = segment_meaning(seg)
        if seg.type == "LOAD":
            assert sentence.startswith(f"loaded {say(f'elf.access.{_access(flags)}')} at "), sentence
            for content in seg.contents:
                assert _requirement(content, sections, mapped), (path, seg.index, content, mapped)
            # The list of what it holds is exactly its own contents, nothing guessed from the type.
            words = [say(f"elf.content.{c}") for c in seg.contents]
            listed = ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)
            if words:
                assert f": {listed}, " in sentence, (path, seg.index, sentence)
        checked += 1
    return checked


def _real_files() -> list[Path]:
    picked: list[Path] = []
    for folder, pattern in (("/usr/bin", "*"), ("/usr/lib/x86_64-linux-gnu", "*.so*")):
        files = sorted(p for p in Path(folder).glob(pattern) if p.is_file() and not p.is_symlink())
        elves = [p for p in files if p.read_bytes()[:4] == b"\x7fELF"] if len(files) < 60 else []
        if not elves:
            elves = [p for p in files[:: max(1, len(files) // 60)] if p.open("rb").read(4) == b"\x7fELF"]
        picked += elves[:40]
    return picked


def test_every_segment_of_real_files_names_only_its_sections_and_permissions():
    need_tool("readelf")
    files = _real_files()
    assert len(files) >= 10
    assert sum(_check(p) for p in files) > 100


def test_rwe_segment_of_a_kernel_like_image_is_not_read_only_code(tmp_path):
    need_tool("gcc")
    need_tool("readelf")
    src = Path(__file__).parents[1] / "programs" / "elf_kernel_like.c"
    out = tmp_path / "vmlinux"
    # -N (--omagic): text and data in one RWE segment, as a kernel's .init segment is.
    proc = subprocess.run(
        [*KERNEL_LINK_FLAGS, "-Wl,-N", "-o", str(out), str(src)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot link a kernel-like ELF: {proc.stderr.strip()[:200]}")
    headers, _ = _segments(out)
    assert any(t == "LOAD" and f == "RWE" for t, f in headers), headers
    _check(out)
    image = open_elf(out)
    rwe = next(s for s in image.segments if s.type == "LOAD" and s.flags_value == 7)
    sentence = segment_meaning(rwe)
    assert say("elf.access.rwx") in sentence and "read-only and executable" not in sentence
    assert "code" in rwe.contents and "bss" in rwe.contents  # start_kernel and init_stack


def test_rodata_and_unwind_segment_is_not_called_symbol_or_relocation_tables():
    need_tool("readelf")
    for path in _real_files():
        image = open_elf(path)
        for seg in image.segments:
            if (
                seg.type == "LOAD"
                and set(seg.sections) <= {".rodata", ".eh_frame_hdr", ".eh_frame", ".gcc_except_table"}
                and seg.sections
            ):
                sentence = segment_meaning(seg)
                assert "symbol" not in sentence and "relocation" not in sentence and "headers" not in sentence
                assert say("elf.content.unwind") in sentence or ".eh_frame" not in seg.sections
                return
    pytest.skip("no file with a .rodata/.eh_frame-only segment")


def test_core_file_segments_are_process_memory(tmp_path):
    need_tool("gcore")
    proc = subprocess.Popen(["sleep", "30"])
    try:
        core = tmp_path / "core"
        run = subprocess.run(["gcore", "-o", str(core), str(proc.pid)], capture_output=True, text=True)
        if run.returncode != 0:
            pytest.skip(f"gcore failed: {run.stderr.strip()[:200]}")
    finally:
        proc.kill()
        proc.wait()
    path = next(tmp_path.glob("core*"))
    headers, _ = _segments(path)
    image = open_elf(path)
    for seg, (_, flags) in zip(image.segments, headers, strict=True):
        if seg.type == "LOAD":
            assert seg.meaning.startswith("segment.core_memory")
            assert say(f"elf.access.{_access(flags)}") in segment_meaning(seg)
