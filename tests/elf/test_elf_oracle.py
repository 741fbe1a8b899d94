"""kernlab's ELF reader against GNU readelf, field by field, on files of this machine and on
objects built here for many architectures.

readelf's text is parsed in the test (header, program headers, section-to-segment mapping,
section headers, symbols, dynamic entries, notes) and compared with the library (for the
200-file sample, in-process) or with `kernlab elf --json` (for the built objects).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kernlab.elf.reader import open_elf
from tests.conftest import need_tool, run_kernlab

# --- readelf's text, parsed ------------------------------------------------------------------


@dataclass
class ReadelfView:
    header: dict[str, str] = field(default_factory=dict)
    segments: list[dict] = field(default_factory=list)
    interpreter: str | None = None
    mapping: list[list[str]] = field(default_factory=list)
    sections: list[dict] = field(default_factory=list)
    symbols: dict[str, list[dict]] = field(default_factory=dict)
    dynamic: list[tuple[int, str, str]] = field(default_factory=list)
    notes: list[tuple[str, str, str]] = field(default_factory=list)


SECTION_RE = re.compile(
    r"^\s*\[\s*(\d+)\] (.*?)\s+(\S+(?: SECTION INDICES)?)\s+([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+) "
    r"([0-9a-f]+) +([A-Za-z]*) +(\d+) +(\d+) +(\d+)$"
)
SEGMENT_RE = re.compile(
    r"^  (\S.*?)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) "
    r"0x([0-9a-f]+) 0x([0-9a-f]+) (.{3}) (0x[0-9a-f]+|0)$"
)
MAPPING_RE = re.compile(r"^   (\d\d)     ?(.*)$")
SYMBOL_RE = re.compile(
    r"^\s*(\d+): ([0-9a-f]+)\s+(\d+|0x[0-9a-f]+) (<[^>]+>: \d+|\S+)\s+(<[^>]+>: \d+|\S+)\s+(\S+)"
    r"(?: \[[^\]]*\])?\s+(\S+) ?(.*)$"
)
DYNAMIC_RE = re.compile(r"^ 0x([0-9a-f]+) \((\S+)\)\s+(.*)$")
NOTE_RE = re.compile(r"^  (\S.*?)\s+0x[0-9a-f]{8}\t(.*?)\s*(?:\t\s*(.*))?$")


def parse_readelf(text: str) -> dict[str, ReadelfView]:
    """readelf's output for one or many files → one view per file."""
    views: dict[str, ReadelfView] = {}
    current = ReadelfView()
    name = ""
    mode = ""
    table = ""
    for line in text.splitlines():
        if line.startswith("File: "):
            name = line[6:].strip()
            current = views.setdefault(name, ReadelfView())
            mode = ""
            continue
        if not name:
            name = "<single>"
            views[name] = current
        if line.startswith("ELF Header:"):
            mode = "header"
            continue
        if line.startswith("Program Headers:"):
            mode = "segments"
            continue
        if line.startswith(" Section to Segment mapping:"):
            mode = "mapping"
            continue
        if line.startswith("Section Headers:"):
            mode = "sections"
            continue
        if line.startswith("Symbol table '"):
            mode = "symbols"
            table = line.split("'")[1]
            current.symbols[table] = []
            continue
        if line.startswith("Dynamic section at offset"):
            mode = "dynamic"
            continue
        if line.startswith("Displaying notes found"):
            mode = "notes"
            continue
        if mode == "header" and ":" in line:
            key, _, value = line.strip().partition(":")
            current.header.setdefault(key.strip(), value.strip())
        elif mode == "segments":
            if "[Requesting program interpreter:" in line:
                current.interpreter = line.split(": ", 1)[1].rstrip("]")
            elif m := SEGMENT_RE.match(line):
                current.segments.append(
                    {
                        "type": m[1],
                        "offset": int(m[2], 16),
                        "vaddr": int(m[3], 16),
                        "paddr": int(m[4], 16),
                        "filesz": int(m[5], 16),
                        "memsz": int(m[6], 16),
                        "flags": m[7],
                        "align": int(m[8], 16),
                    }
                )
        elif mode == "mapping":
            if m := MAPPING_RE.match(line):
                current.mapping.append(m[2].split())
        elif mode == "sections":
            if m := SECTION_RE.match(line):
                current.sections.append(
                    {
                        "index": int(m[1]),
                        "name": m[2],
                        "type": m[3],
                        "address": int(m[4], 16),
                        "offset": int(m[5], 16),
                        "size": int(m[6], 16),
                        "entsize": int(m[7], 16),
                        "flags": m[8],
                        "link": int(m[9]),
                        "info": int(m[10]),
                        "align": int(m[11]),
                    }
                )
        elif mode == "symbols":
            if m := SYMBOL_RE.match(line):
                size = int(m[3], 16) if m[3].startswith("0x") else int(m[3])
                current.symbols[table].append(
                    {
                        "index": int(m[1]),
                        "value": int(m[2], 16),
                        "size": size,
                        "type": m[4],
                        "bind": m[5],
                        "visibility": m[6],
                        "shndx": m[7],
                        "name": m[8],
                    }
                )
        elif mode == "dynamic":
            if m := DYNAMIC_RE.match(line):
                current.dynamic.append((int(m[1], 16), m[2], m[3].strip()))
        elif mode == "notes" and (m := NOTE_RE.match(line)) and m[1] != "Owner":
            current.notes.append((m[1], m[2], (m[3] or "").strip()))
    return views


def readelf(flags: list[str], files: list[str]) -> dict[str, ReadelfView]:
    proc = subprocess.run(["readelf", *flags, *files], capture_output=True, text=True, errors="replace")
    views = parse_readelf(proc.stdout)
    if len(files) == 1:
        views = {files[0]: views.get("<single>", ReadelfView())}
    return views


# --- comparisons ---------------------------------------------------------------------------


def compare_header(h: dict, ref: ReadelfView, where: str) -> None:
    r = ref.header
    assert h["entry"] == int(r["Entry point address"], 16), where
    assert h["elf_class"] == r["Class"], where
    assert h["data_readelf"] == r["Data"], where
    type_text = f"{h['type']} ({h['type_description']})" if h["type_description"] else h["type"]
    assert type_text == r["Type"], where
    assert h["machine"] == r["Machine"], where
    assert h["os_abi"] == r["OS/ABI"], where
    assert h["flags"] == int(r["Flags"].split(",")[0], 16), where
    assert h["phoff"] == int(r["Start of program headers"].split()[0]), where
    assert h["shoff"] == int(r["Start of section headers"].split()[0]), where
    assert h["ehsize"] == int(r["Size of this header"].split()[0]), where
    # Extended numbering shows "0 (70000)": the real count is in parentheses.
    assert h["phnum"] == int(r["Number of program headers"].split()[-1].strip("()")), where
    assert h["shnum"] == int(r["Number of section headers"].split()[-1].strip("()")), where
    assert h["shstrndx"] == int(r["Section header string table index"].split()[-1].strip("()")), where
    if h["flags_text"]:
        assert r["Flags"] == f"{h['flags']:#x}, {h['flags_text']}", where


def compare_segments(segments: list[dict], ref: ReadelfView, where: str) -> None:
    assert len(segments) == len(ref.segments), where
    for ours, theirs in zip(segments, ref.segments, strict=True):
        for key in ("type", "offset", "vaddr", "paddr", "filesz", "memsz", "flags", "align"):
            assert ours[key] == theirs[key], f"{where}: segment {ours['index']} {key}"
    if ref.mapping:
        assert [list(s["sections"]) for s in segments] == ref.mapping, f"{where}: section-to-segment mapping"
    interps = [s["interpreter"] for s in segments if s["interpreter"]]
    assert (interps[0] if interps else None) == ref.interpreter, where


def compare_sections(sections: list[dict], ref: ReadelfView, where: str) -> None:
    assert len(sections) == len(ref.sections), where
    for ours, theirs in zip(sections, ref.sections, strict=True):
        for key in theirs:
            if key == "name" and theirs[key] != ours[key]:
                # readelf -W still cuts nothing, but shows control characters as ^X.
                assert not ours[key].isprintable(), f"{where}: section {ours['index']} name"
                continue
            assert ours[key] == theirs[key], f"{where}: section {ours['index']} {key}: {ours[key]!r}"


def display_name(sym: dict) -> str:
    if sym["type"] == "SECTION" and not sym["name"] and sym["section"]:
        return sym["section"]
    if sym["version"] is None:
        return sym["name"]
    if sym.get("version_index") is not None:
        return f"{sym['name']}@{sym['version']} ({sym['version_index']})"
    return f"{sym['name']}{'@' if sym['version_hidden'] else '@@'}{sym['version']}"


def compare_symbols(symbols: list[dict], ref: ReadelfView, where: str) -> None:
    by_table: dict[str, list[dict]] = {}
    for s in symbols:
        by_table.setdefault(s["table"], []).append(s)
    assert set(by_table) == {t for t, rows in ref.symbols.items() if rows} | (
        set(by_table) & {t for t, rows in ref.symbols.items() if not rows}
    ), where
    for table, rows in ref.symbols.items():
        ours = by_table.get(table, [])
        assert len(ours) == len(rows), f"{where}: {table} count"
        for o, t in zip(ours, rows, strict=True):
            w = f"{where}: {table}[{t['index']}]"
            assert o["value"] == t["value"], w
            assert o["size"] == t["size"], w
            assert o["type"] == t["type"], w
            assert o["bind"] == t["bind"], w
            assert o["visibility"] == t["visibility"], w
            assert o["shndx"] == t["shndx"], w
            assert display_name(o) == t["name"], w


def compare_dynamic(entries: list[dict], ref: ReadelfView, where: str) -> None:
    assert [(e["tag_value"], e["tag"]) for e in entries] == [(t, n) for t, n, _ in ref.dynamic], where
    for e, (_, tag, text) in zip(entries, ref.dynamic, strict=True):
        if tag in ("NEEDED", "SONAME", "RPATH", "RUNPATH"):
            assert text.endswith(f"[{e['text']}]"), where
        elif tag == "FLAGS":
            assert text == e["text"], where
        elif tag == "FLAGS_1":
            assert text == f"Flags: {e['text']}", where


def compare_notes(notes: list[dict], ref: ReadelfView, where: str) -> None:
    assert len(notes) == len(ref.notes), where
    for n, (owner, _, _) in zip(notes, ref.notes, strict=True):
        if n["owner"][:2] == "GA" and n["owner"][2:3] in ("*", "$", "!", "+"):
            # GNU build-attribute notes: readelf rewrites the owner ("GA$<version>3a1").
            assert owner.startswith(n["owner"][:3]), where
        else:
            assert n["owner"] == owner, where
    for n, (_, kind, desc) in zip(notes, ref.notes, strict=True):
        assert kind.startswith(n["type"]), where
        if n["type"] == "NT_GNU_BUILD_ID":
            assert desc == f"Build ID: {n['description']}", where
        elif n["type"] == "NT_GNU_ABI_TAG":
            assert desc == n["description"], where


def as_dicts(objs: list) -> list[dict]:
    from kernlab.render.jsonout import to_jsonable

    return [to_jsonable(o) for o in objs]


# --- the sample of this machine's files ------------------------------------------------------

SAMPLE_DIRS = ("/usr/bin", "/usr/lib/x86_64-linux-gnu")
SAMPLE_SIZE = 200


def sample_files() -> list[str]:
    """A deterministic sample of ELF files: every k-th of the sorted regular files."""
    candidates = []
    for folder in SAMPLE_DIRS:
        if not os.path.isdir(folder):
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            try:
                if not entry.is_file(follow_symlinks=False) or entry.stat().st_size > 40 << 20:
                    continue
                with open(entry.path, "rb") as fh:
                    if fh.read(4) == b"\x7fELF":
                        candidates.append(entry.path)
            except OSError:
                continue
    if len(candidates) <= SAMPLE_SIZE:
        return candidates
    step = len(candidates) / SAMPLE_SIZE
    return [candidates[int(i * step)] for i in range(SAMPLE_SIZE)]


@pytest.fixture(scope="module")
def machine_sample() -> list[str]:
    need_tool("readelf")
    files = sample_files()
    if len(files) < 50:
        pytest.skip(f"only {len(files)} ELF files found under {', '.join(SAMPLE_DIRS)}")
    return files


def _batches(files: list[str], n: int) -> list[list[str]]:
    return [files[i : i + n] for i in range(0, len(files), n)]


def _readelf_all(flags: list[str], files: list[str]) -> dict[str, ReadelfView]:
    views: dict[str, ReadelfView] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for part in pool.map(lambda b: readelf(flags, b), _batches(files, 25)):
            views.update(part)
    return views


@pytest.mark.slow
def test_machine_sample_headers_segments_sections(machine_sample):
    views = _readelf_all(["-hlSW"], machine_sample)
    for path in machine_sample:
        image = open_elf(path)
        ref = views[path]
        from kernlab.render.jsonout import to_jsonable

        compare_header(to_jsonable(image.header), ref, path)
        compare_segments(as_dicts(image.segments), ref, path)
        compare_sections(as_dicts(image.sections), ref, path)


@pytest.mark.slow
def test_machine_sample_symbols(machine_sample):
    views = _readelf_all(["-sW"], machine_sample)
    for path in machine_sample:
        compare_symbols(as_dicts(open_elf(path).symbols()), views[path], path)


@pytest.mark.slow
def test_machine_sample_dynamic_and_notes(machine_sample):
    views = _readelf_all(["-dnW"], machine_sample)
    for path in machine_sample:
        image = open_elf(path)
        compare_dynamic(as_dicts(image.dynamic()), views[path], path)
        compare_notes(as_dicts(image.notes()), views[path], path)
        if image.build_id:
            assert any(n[2] == f"Build ID: {image.build_id}" for n in views[path].notes), path


# --- objects built here ------------------------------------------------------------------------

TLS_PROGRAM = "elf_tls"


def _check_cli_against_readelf(path: Path) -> dict:
    result = run_kernlab("elf", "--json", str(path))
    assert result.code == 0, result.stderr
    doc = result.json()
    where = str(path)
    ref = readelf(["-hlSW"], [str(path)])[str(path)]
    compare_header(doc["header"], ref, where)
    compare_segments(doc["segments"], ref, where)
    compare_sections(doc["sections"], ref, where)
    compare_symbols(doc["symbols"], readelf(["-sW"], [str(path)])[str(path)], where)
    dn = readelf(["-dnW"], [str(path)])[str(path)]
    compare_dynamic(doc["dynamic"], dn, where)
    compare_notes(doc["notes"], dn, where)
    return doc


GCC_VARIANTS = {
    "pie": ["-O1", "-pie", "-fPIE"],
    "nopie": ["-O1", "-no-pie"],
    "static": ["-O1", "-static"],
    "shared": ["-O1", "-shared", "-fPIC", "-Wl,-soname,libkernlabtls.so.1", "-Wl,-rpath,/opt/kl"],
    "object": ["-O1", "-c"],
    "m32": ["-O1", "-m32"],
    "relro_now": ["-O1", "-Wl,-z,relro,-z,now", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib"],
}


@pytest.mark.parametrize("variant", list(GCC_VARIANTS))
def test_gcc_builds_match_readelf(variant, build_c):
    need_tool("readelf")
    path = build_c(TLS_PROGRAM, GCC_VARIANTS[variant], out_name=f"{TLS_PROGRAM}_{variant}")
    doc = _check_cli_against_readelf(path)
    if variant not in ("object",):
        assert any(s["type"] == "TLS" for s in doc["segments"]), "a __thread variable makes a PT_TLS"
        tls = next(s for s in doc["segments"] if s["type"] == "TLS")
        assert ".tbss" in tls["sections"]
    if variant == "shared":
        assert doc["summary"]["kind"] == "shared"


CLANG_TARGETS = (
    "aarch64-linux-gnu",
    "riscv64-linux-gnu",
    "riscv32-linux-gnu",
    "mips-linux-gnu",
    "mipsel-linux-gnu",
    "mips64-linux-gnuabi64",
    "powerpc64-linux-gnu",
    "powerpc64le-linux-gnu",
    "powerpc-linux-gnu",
    "s390x-linux-gnu",
    "armv7-linux-gnueabihf",
    "armv7-linux-gnueabi",
    "armebv7-linux-gnueabihf",
    "aarch64_be-linux-gnu",
    "sparcv9-linux-gnu",
    "i386-linux-gnu",
    "x86_64-linux-gnu",
)
CROSS_C = (
    "int counter = 7;\n__thread int per_thread;\nstatic char zeros[4096];\n"
    "int get(int i) { return zeros[i] + counter + per_thread; }\nint _start(void) { return get(1); }\n"
)


@pytest.mark.parametrize("target", CLANG_TARGETS)
def test_clang_cross_objects_match_readelf(target, tmp_path):
    need_tool("clang")
    need_tool("readelf")
    src = tmp_path / "cross.c"
    src.write_text(CROSS_C)
    obj = tmp_path / f"{target}.o"
    proc = subprocess.run(
        ["clang", f"--target={target}", "-O1", "-fPIC", "-c", str(src), "-o", str(obj)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"clang cannot build for {target}: {proc.stderr.strip()[:200]}")
    _check_cli_against_readelf(obj)
    if shutil.which("ld.lld") is None:
        return
    exe = tmp_path / f"{target}.exe"
    linked = subprocess.run(
        ["ld.lld", "-e", "_start", "-o", str(exe), str(obj)], capture_output=True, text=True
    )
    if linked.returncode == 0:
        doc = _check_cli_against_readelf(exe)
        assert doc["segments"], "a linked executable has program headers"
        so = tmp_path / f"{target}.so"
        if (
            subprocess.run(["ld.lld", "-shared", "-o", str(so), str(obj)], capture_output=True).returncode
            == 0
        ):
            _check_cli_against_readelf(so)


def test_core_file_matches_readelf(tmp_path, build_c):
    need_tool("readelf")
    gcore = shutil.which("gcore")
    prog = build_c(TLS_PROGRAM, ["-O0"], out_name="elf_tls_core")
    core = tmp_path / "core.elf"
    if gcore is None:
        # Without gdb, ask the kernel: a crash with a core limit and a plain core_pattern.
        pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
        if pattern.startswith("|"):
            pytest.skip(f"no gcore, and core_pattern pipes cores to a helper ({pattern.split()[0]})")
        proc = subprocess.run(
            ["sh", "-c", 'ulimit -c unlimited && exec "$0" crash', str(prog)],
            cwd=tmp_path,
            capture_output=True,
        )
        cores = [p for p in tmp_path.iterdir() if p.name.startswith("core")]
        if proc.returncode >= 0 or not cores:
            pytest.skip(f"the kernel wrote no core file into {tmp_path} (core_pattern {pattern!r})")
        cores[0].rename(core)
    else:
        started = subprocess.Popen([str(prog), "wait"], stdout=subprocess.PIPE)
        try:
            started.stdout.readline()
            subprocess.run(
                [gcore, "-o", str(tmp_path / "core"), str(started.pid)], capture_output=True, check=True
            )
        finally:
            started.kill()
            started.wait()
        next(tmp_path.glob("core.*")).rename(core)
    doc = _check_cli_against_readelf(core)
    assert doc["header"]["type"] == "CORE"
    assert doc["summary"]["kind"] == "core"
    # NT_PRPSINFO names the process: the PID we dumped, and the command file(1) reports.
    image = open_elf(core)
    command, pid, args = image.core_process
    assert command == prog.name[:15]
    if gcore is not None:
        assert pid == started.pid
    assert doc["summary"]["process"]["pid"] == pid
    from kernlab.explain.elf import summary_sentence
    from kernlab.reports.elf import build

    assert f"PID {pid}" in summary_sentence(build(core).summary)
    if shutil.which("file"):
        described = subprocess.run(["file", str(core)], capture_output=True, text=True).stdout
        assert f"from '{args}'" in described
    signals = [n["description"] for n in doc["notes"] if n["type"] == "NT_SIGINFO"]
    assert signals and signals[0].startswith("signal ")


LARGE_LIBRARIES = (
    "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so",
    "/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1",
    "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
)


@pytest.mark.slow
def test_large_library_json_matches_readelf():
    # Past 1000 symbols the JSON is written compactly; it must hold the same data.
    need_tool("readelf")
    path = next((p for p in LARGE_LIBRARIES if os.path.exists(p)), None)
    if path is None:
        pytest.skip(f"none of {', '.join(LARGE_LIBRARIES)} is installed")
    result = run_kernlab("elf", "--json", "-s", "-l", path)
    assert result.code == 0, result.stderr
    doc = result.json()
    compare_symbols(doc["symbols"], readelf(["-sW"], [path])[path], path)
    compare_segments(doc["segments"], readelf(["-lW"], [path])[path], path)


def test_file_without_section_headers_matches_readelf(build_c, tmp_path):
    # As sstrip leaves a file: only program headers; dynamic entries, interpreter and notes
    # must then come from PT_DYNAMIC, PT_INTERP and PT_NOTE.
    need_tool("readelf")
    data = bytearray(build_c(TLS_PROGRAM, ["-O1"], out_name="elf_tls_noshdr").read_bytes())
    struct.pack_into("<Q", data, 40, 0)  # e_shoff
    struct.pack_into("<HHH", data, 58, 64, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    bare = tmp_path / "no-section-headers"
    bare.write_bytes(bytes(data))
    doc = _check_cli_against_readelf(bare)
    assert doc["sections"] == []
    assert doc["dynamic"] and doc["summary"]["interpreter"]
    assert doc["summary"]["build_id"] is not None


@pytest.mark.slow
def test_extended_section_numbering_matches_readelf(tmp_path):
    # More than 65,279 sections: e_shnum is 0 and the count, like e_shstrndx, lives in
    # section header 0; symbols of the high sections use SHN_XINDEX and .symtab_shndx.
    need_tool("as")
    need_tool("readelf")
    count = 65_400
    source = tmp_path / "many.s"
    source.write_text(
        "".join(f'.section .s{i},"a"\n.globl sym{i}\nsym{i}: .byte {i % 256}\n' for i in range(count))
    )
    obj = tmp_path / "many.o"
    subprocess.run(["as", str(source), "-o", str(obj)], check=True, capture_output=True)
    image = open_elf(obj)
    assert len(image.sections) > 0xFF00
    from kernlab.render.jsonout import to_jsonable

    views = readelf(["-hSW"], [str(obj)])
    compare_header(to_jsonable(image.header), views[str(obj)], str(obj))
    compare_sections(as_dicts(image.sections), views[str(obj)], str(obj))
    compare_symbols(as_dicts(image.symbols()), readelf(["-sW"], [str(obj)])[str(obj)], str(obj))
    high = next(s for s in image.symbols() if s.name == f"sym{count - 1}")
    assert high.section == f".s{count - 1}"
