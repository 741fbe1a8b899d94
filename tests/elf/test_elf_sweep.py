"""Regression tests for the differences a sweep of this machine's ELF files found between
kernlab and readelf/ldd/file(1). Each builds (or patches) a small input and runs the oracle in
the test: nothing here is a hard-coded figure.

* a symbol whose st_shndx points past the section header table (BOLT-rewritten libraries);
* DT_BIND_NOW, whose value readelf -d leaves blank;
* notes readelf decodes that kernlab left blank: SystemTap probes, systemd's package metadata,
  the kernel's "Linux" notes of a module, Go's build ID, GNU notes of unknown type;
* ldd: a library not found is searched for again by every object that needs it; $ORIGIN in
  LD_LIBRARY_PATH; a bare file name; a file whose section header table is cut off;
* bad input: `kernlab ldd` says what `kernlab elf` says about the same broken file;
* a shared library that can also be run (libc.so.6) is a shared object, as readelf says.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_clean_error, need_tool, run_kernlab

BAD_INPUT = 3
ADDRESS = re.compile(r"\s*\(0x[0-9a-f]+\)$")


def _gcc(tmp_path: Path, source: str, out: str, flags: list[str], suffix: str = ".c") -> Path:
    need_tool("gcc")
    src = tmp_path / f"{out}{suffix}"
    src.write_text(source)
    target = tmp_path / out
    # The source before the flags: with --as-needed a library named before it would be dropped.
    done = subprocess.run(["gcc", "-o", str(target), str(src), *flags], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"gcc {' '.join(flags)} cannot build {out} here: {done.stderr.strip()[:200]}")
    return target


def _readelf(*args: str) -> str:
    need_tool("readelf")
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, check=True).stdout


def _elf_json(path: Path, *flags: str) -> dict:
    result = run_kernlab("elf", "--json", *flags, str(path))
    assert result.code == 0, result.stderr
    doc = result.json()
    assert isinstance(doc, dict)
    return doc


# --- symbols -------------------------------------------------------------------------------

READELF_SYMBOL = re.compile(
    r"^\s*(\d+): [0-9a-f]+\s+\S+ \S+\s+\S+\s+\S+\s+(bad section index\[\s*\d+\]|\S+) (.*)$"
)


def test_symbol_section_index_past_the_table_matches_readelf(tmp_path):
    # BOLT leaves .dynsym entries whose st_shndx is beyond e_shnum: readelf does not print
    # a number that looks like a section there, and neither may kernlab.
    lib = _gcc(tmp_path, "int api(void) { return 1; }\nint other = 2;\n", "libidx.so", ["-shared", "-fPIC"])
    data = bytearray(lib.read_bytes())
    (shoff,) = struct.unpack_from("<Q", data, 40)
    shentsize, shnum = struct.unpack_from("<HH", data, 58)
    dynsym = next(
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
        for i in range(shnum)
        if struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] == 11  # SHT_DYNSYM
    )
    offset, size, entsize = dynsym[4], dynsym[5], dynsym[9]
    patched = 0
    for at in range(offset + entsize, offset + size, entsize):
        if struct.unpack_from("<H", data, at + 6)[0] not in (0, 0xFFF1):  # a defined symbol
            struct.pack_into("<H", data, at + 6, shnum + 5)
            patched += 1
    assert patched, "the library defines symbols in its sections"
    bad = tmp_path / "libbadidx.so"
    bad.write_bytes(bytes(data))

    theirs = {}
    for line in _readelf("--dyn-syms", str(bad)).splitlines():
        if m := READELF_SYMBOL.match(line):
            theirs[int(m[1])] = m[2].strip()
    ours = {s["index"]: s for s in _elf_json(bad, "-s")["symbols"] if s["table"] == ".dynsym"}
    assert set(ours) == set(theirs)
    for index, ndx in theirs.items():
        assert ours[index]["shndx"] == ndx, index
    assert sum(1 for s in ours.values() if s["shndx"].startswith("bad section index")) == patched
    assert all(s["section"] is None for s in ours.values() if s["shndx"].startswith("bad"))


# --- dynamic section -----------------------------------------------------------------------

DYNAMIC_LINE = re.compile(r"^ 0x[0-9a-f]+ \((\S+)\)\s+(.*?)\s*$")
LABELS = ("Shared library: ", "Library soname: ", "Library rpath: ", "Library runpath: ", "Flags: ")


def test_dynamic_values_as_printed_match_readelf(tmp_path):
    # -z now with old-style tags gives DT_BIND_NOW, whose value readelf leaves out; every
    # other entry's value must read as readelf prints it too.
    prog = _gcc(
        tmp_path,
        '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n',
        "bindnow",
        ["-Wl,-z,now", "-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/kl"],
    )
    theirs = []
    for line in _readelf("-d", str(prog)).splitlines():
        if m := DYNAMIC_LINE.match(line):
            value = m[2]
            for label in LABELS:
                if value.startswith(label):
                    value = value[len(label) :].strip("[]")
            theirs.append((m[1], value))
    if "BIND_NOW" not in [tag for tag, _ in theirs]:
        pytest.skip("this linker writes no DT_BIND_NOW for -z now --disable-new-dtags")
    from kernlab.render.views.elf import _dynamic_value
    from kernlab.reports.elf import build

    ours = [(e.tag, _dynamic_value(e)) for e in build(prog, ("dynamic",)).dynamic or ()]
    assert ours == theirs
    shown = run_kernlab("elf", "-d", "-q", str(prog))
    assert shown.code == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if line.split()[:1] == ["BIND_NOW"])
    assert row.split() == ["BIND_NOW"]


# --- notes ---------------------------------------------------------------------------------

NOTE_HEAD = re.compile(r"^  (\S.*?)\s+0x([0-9a-f]{8})\t(.*?)\s*(?:\t\s*(.*))?$")
PREFIXES = (
    "Build ID: ",
    "Properties: ",
    "Version: ",
    "Packaging Metadata: ",
    "description data: ",
    "Description data: ",
)


def readelf_notes(path: Path) -> list[tuple[str, int, str, str]]:
    """(owner, size, type, description) per note; readelf's labels dropped, lines joined."""
    notes: list[list] = []
    for line in _readelf("-n", str(path)).splitlines():
        m = NOTE_HEAD.match(line)
        if m and m[1] != "Owner":
            notes.append([m[1], int(m[2], 16), m[3], [m[4].strip()] if m[4] else []])
        elif notes and line.startswith("    ") and line.strip():
            notes[-1][3].append(line.strip())
    out = []
    for owner, size, kind, lines in notes:
        text = " ".join(lines)
        for prefix in PREFIXES:
            text = text.removeprefix(prefix)
        out.append((owner, size, kind, text.strip()))
    return out


def _words(text: str) -> list[str]:
    # kernlab joins what readelf prints on several lines with ", " or "; "
    return text.replace(", ", " ").replace("; ", " ").split()


NOTES_ASM = r"""
.section .note.package,"a",@note
.balign 4
.long 2f-1f, 4f-3f, 0xcafe1a7e
1: .asciz "FDO"
2: .balign 4
3: .asciz "{\"type\":\"deb\",\"name\":\"kernlab-test\",\"version\":\"1.0\"}"
4: .balign 4
.section .note.Linux,"a",@note
.balign 4
.long 6f-5f, 8f-7f, 0x100
5: .asciz "Linux"
6: .balign 4
7: .asciz "6.1.0-test"
8: .balign 4
.long 10f-9f, 12f-11f, 0x101
9: .asciz "Linux"
10: .balign 4
11: .long 0
12: .balign 4
.section .note.gnu.odd,"a",@note
.balign 4
.long 14f-13f, 16f-15f, 0x99
13: .asciz "GNU"
14: .balign 4
15: .byte 1, 2, 3, 4, 5, 6
16: .balign 4
.section .note.go.buildid,"a",@note
.balign 4
.long 18f-17f, 20f-19f, 4
17: .asciz "Go"
18: .balign 4
19: .ascii "abc/def"
20: .balign 4
"""

# A SystemTap/USDT probe as <sys/sdt.h> writes it: address, base, semaphore, then strings.
SDT_C = r"""
int main(void) {
    __asm__ volatile(
        ".pushsection .note.stapsdt,\"?\",\"note\"\n"
        ".balign 4\n"
        ".4byte 992f-991f, 994f-993f, 3\n"
        "991: .asciz \"stapsdt\"\n"
        "992: .balign 4\n"
        "993: " ADDR " 995f\n"
        ADDR " 0\n"
        ADDR " 0\n"
        ".asciz \"kernlab\"\n"
        ".asciz \"probe__one\"\n"
        ".asciz \"-4@%eax 8@%rdi\"\n"
        "994: .balign 4\n"
        ".popsection\n"
        "995: nop\n");
    return 0;
}
"""


def _compare_notes(path: Path) -> list[dict]:
    ours = _elf_json(path, "-n")["notes"]
    theirs = readelf_notes(path)
    assert len(ours) == len(theirs), path
    for note, (owner, size, kind, text) in zip(ours, theirs, strict=True):
        where = f"{path.name}: {owner} {kind}"
        assert note["owner"] == owner, where
        assert note["data_size"] == size, where
        assert kind == note["type"] or kind.startswith(note["type"] + " "), where
        assert _words(note["description"]) == _words(text), where
    return ours


def test_undecoded_notes_match_readelf(tmp_path):
    need_tool("as")
    source = tmp_path / "notes.s"
    source.write_text(NOTES_ASM)
    obj = tmp_path / "notes.o"
    subprocess.run(["as", str(source), "-o", str(obj)], check=True, capture_output=True)
    notes = _compare_notes(obj)
    assert {n["owner"] for n in notes} == {"FDO", "Linux", "GNU", "Go"}
    assert all(n["description"] for n in notes), "readelf shows something for every one of them"


@pytest.mark.parametrize("bits", [64, 32])
def test_stapsdt_notes_match_readelf(tmp_path, bits):
    addr = ".8byte" if bits == 64 else ".4byte"
    flags = ["-O0", f'-DADDR="{addr}"'] + (["-m32"] if bits == 32 else [])
    source = SDT_C.replace("%rdi", "%rdi" if bits == 64 else "%edi")
    prog = _gcc(tmp_path, source, f"sdt{bits}", flags)
    notes = [n for n in _compare_notes(prog) if n["type"] == "NT_STAPSDT"]
    assert notes and "Name: probe__one" in notes[0]["description"]


# --- ldd -----------------------------------------------------------------------------------


def real_ldd_lines(path: str, ld_library_path: str | None = None, cwd: Path | None = None) -> list[str]:
    """ldd's lines exactly as printed, load addresses dropped (no paths made real: kernlab must
    print the same strings)."""
    need_tool("ldd")
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    if ld_library_path is not None:
        env["LD_LIBRARY_PATH"] = ld_library_path
    proc = subprocess.run(["ldd", path], capture_output=True, text=True, env=env, cwd=cwd, timeout=60)
    return [ADDRESS.sub("", ln.strip()) for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]


def kernlab_ldd_lines(path: str, ld_library_path: str | None = None) -> list[str]:
    from kernlab.render.views.ldd import ldd_lines
    from kernlab.reports.ldd import build

    return [ln.strip() for ln in ldd_lines(build(path, ld_library_path=ld_library_path))]


def _library(tmp_path: Path, name: str, source: str, folder: str, flags: list[str] = ()) -> Path:
    where = tmp_path / folder
    where.mkdir(exist_ok=True)
    return _gcc(where, source, name, ["-shared", "-fPIC", *flags])


@pytest.fixture
def late_tree(tmp_path):
    """prog needs libx.so (which only liba2.so's RUNPATH reaches), liba2.so and liba.so (whose
    libb.so is nowhere): tmp/prog, tmp/lib/liba*.so, tmp/x/libx.so."""
    _library(tmp_path, "libx.so", "int x(void) { return 2; }\n", "x")
    _library(tmp_path, "libb.so", "int b(void) { return 1; }\n", "hidden")
    lib = tmp_path / "lib"
    _library(
        tmp_path, "liba2.so", "int x(void);\nint a2(void) { return x(); }\n", "lib",
        [f"-L{tmp_path / 'x'}", "-lx", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../x"],
    )  # fmt: skip
    _library(
        tmp_path, "liba.so", "int b(void);\nint a(void) { return b(); }\n", "lib",
        [f"-L{tmp_path / 'hidden'}", "-lb"],
    )  # fmt: skip
    prog = _gcc(
        tmp_path,
        "int a(void); int a2(void);\nint main(void) { return a() + a2(); }\n",
        "prog",
        ["-Wl,--no-as-needed", f"-L{tmp_path / 'x'}", "-lx", f"-L{lib}", "-la2", "-la",
         f"-Wl,-rpath-link,{tmp_path / 'hidden'}", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib"],
    )  # fmt: skip
    return prog


def test_missing_library_is_searched_again_by_each_object(late_tree):
    # ld.so never matches a DT_NEEDED against a library it failed to find (l_faked): libx.so,
    # missed from prog's paths, is found through liba2.so's RUNPATH, and ldd lists both.
    expected = real_ldd_lines(str(late_tree))
    assert "libx.so => not found" in expected and any(ln.startswith("libx.so => /") for ln in expected)
    assert kernlab_ldd_lines(str(late_tree)) == expected
    doc = run_kernlab("ldd", "--json", str(late_tree)).json()
    assert isinstance(doc, dict)
    assert sorted(doc["missing"]) == ["libb.so", "libx.so"]
    # libx.so, missing for the program but found for liba2.so, is one library of those ldd names.
    libraries = {ln.split(" => ")[0] for ln in expected if " => " in ln}
    from kernlab.explain.ldd import ldd_sentence
    from kernlab.reports.ldd import build

    assert f"2 of {len(libraries)} libraries" in ldd_sentence(build(late_tree))


def test_library_missing_for_two_objects_is_listed_twice_counted_once(tmp_path):
    _library(tmp_path, "libgone.so", "int gone(void) { return 1; }\n", "gone")
    _library(
        tmp_path, "libuse.so", "int gone(void);\nint use(void) { return gone(); }\n", "lib",
        [f"-L{tmp_path / 'gone'}", "-lgone"],
    )  # fmt: skip
    prog = _gcc(
        tmp_path,
        "int use(void); int gone(void);\nint main(void) { return use() + gone(); }\n",
        "prog2",
        ["-Wl,--no-as-needed", f"-L{tmp_path / 'gone'}", "-lgone", f"-L{tmp_path / 'lib'}", "-luse",
         "-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib"],
    )  # fmt: skip
    os.remove(tmp_path / "gone" / "libgone.so")
    expected = real_ldd_lines(str(prog))
    assert expected.count("libgone.so => not found") == 2
    assert kernlab_ldd_lines(str(prog)) == expected
    from kernlab.explain.ldd import ldd_sentence
    from kernlab.reports.ldd import build

    report = build(prog)
    assert report.missing == ["libgone.so"]
    found = sum(1 for o in report.objects if o.status == "found")
    assert f"of {found + 1} libraries" in ldd_sentence(report)


def test_origin_in_ld_library_path_matches_ldd(late_tree):
    # ld.so expands $ORIGIN in LD_LIBRARY_PATH against the program.
    for value in ("$ORIGIN/lib", "${ORIGIN}/x:$ORIGIN/lib", "$ORIGIN/x"):
        assert kernlab_ldd_lines(str(late_tree), value) == real_ldd_lines(str(late_tree), value), value


def test_bare_file_name_gives_ldds_paths(late_tree, monkeypatch):
    # ldd runs "./prog" for "prog", so $ORIGIN is "<cwd>/." and the paths say so.
    monkeypatch.chdir(late_tree.parent)
    expected = real_ldd_lines(late_tree.name, cwd=late_tree.parent)
    assert any("/./lib/" in ln for ln in expected), expected
    assert kernlab_ldd_lines(late_tree.name) == expected


def test_ldd_ignores_a_cut_off_section_header_table(tmp_path):
    # ld.so reads program headers only: a file whose section headers are cut off still runs
    # and ldd lists its libraries. `kernlab elf` refuses it in one line (documented).
    prog = _gcc(tmp_path, '#include <stdio.h>\nint main(void) { puts("x"); return 0; }\n', "whole", [])
    data = prog.read_bytes()
    (shoff,) = struct.unpack_from("<Q", data, 40)
    assert shoff + 64 <= len(data)
    cut = tmp_path / "cut"
    cut.write_bytes(data[: shoff + 10])
    cut.chmod(0o755)
    expected = real_ldd_lines(str(cut))
    assert any(ln.startswith("libc.so.6 => ") for ln in expected), expected
    assert kernlab_ldd_lines(str(cut)) == expected
    assert_clean_error(run_kernlab("elf", str(cut)), BAD_INPUT)


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    whole = Path("/bin/true").read_bytes() if os.path.exists("/bin/true") else None
    files = {}
    if whole is not None:
        bad_class = bytearray(whole)
        bad_class[4] = 3
        files["class"] = tmp_path / "bad-class"
        files["class"].write_bytes(bytes(bad_class))
        bad_order = bytearray(whole)
        bad_order[5] = 0
        files["order"] = tmp_path / "bad-order"
        files["order"].write_bytes(bytes(bad_order))
        files["short"] = tmp_path / "short-header"
        files["short"].write_bytes(whole[:40])
    files["empty"] = tmp_path / "empty"
    files["empty"].write_bytes(b"")
    files["fifo"] = tmp_path / "fifo"
    os.mkfifo(files["fifo"])
    return files


@pytest.mark.parametrize("case", ["class", "order", "short", "empty", "fifo"])
def test_ldd_and_elf_say_the_same_about_bad_input(tmp_path, case):
    files = _bad_files(tmp_path)
    if case not in files:
        pytest.skip("no /bin/true to damage")
    elf = run_kernlab("elf", str(files[case]), timeout=30)
    ldd = run_kernlab("ldd", str(files[case]), timeout=30)
    assert_clean_error(elf, BAD_INPUT)
    assert_clean_error(ldd, BAD_INPUT)
    assert ldd.stderr == elf.stderr
    assert "truncated or damaged" not in ldd.stderr or case == "short"


# --- what the file is ----------------------------------------------------------------------


def test_runnable_shared_library_is_a_shared_object(tmp_path):
    # Like libc.so.6: a SONAME and an interpreter, no DF_1_PIE. readelf -h and file(1) call
    # it a shared object; kernlab said "position-independent executable".
    lib = _gcc(
        tmp_path,
        'const char interp[] __attribute__((section(".interp"))) = "/lib64/ld-linux-x86-64.so.2";\n'
        "int run_main(void) { return 0; }\nint api(void) { return 1; }\n",
        "librun.so",
        ["-shared", "-fPIC", "-Wl,-soname,librun.so.1", "-Wl,-e,run_main"],
    )
    header = _readelf("-h", "-l", str(lib))
    if "Requesting program interpreter" not in header:
        pytest.skip("this linker made no PT_INTERP from .interp in a shared object")
    assert "DYN (Shared object file)" in header
    doc = _elf_json(lib)
    assert doc["summary"]["kind"] == "shared"
    assert doc["summary"]["meaning"] == "summary.shared_runnable"
    shown = run_kernlab("elf", "-h", str(lib))
    assert "shared object" in shown.stdout.splitlines()[0]
    if shutil.which("file"):
        assert (
            "shared object" in subprocess.run(["file", "-b", str(lib)], capture_output=True, text=True).stdout
        )
    # A PIE stays an executable.
    pie = _gcc(tmp_path, "int main(void) { return 0; }\n", "pie", ["-pie", "-fPIE"])
    assert _elf_json(pie, "-h")["summary"]["kind"] == "pie"


def test_static_library_is_called_an_archive(tmp_path):
    # readelf reads an ar archive member by member; kernlab reads one ELF file, and says what
    # the file is instead of "not an ELF file".
    need_tool("ar")
    obj = _gcc(tmp_path, "int member(void) { return 1; }\n", "member.o", ["-c"])
    archive = tmp_path / "libmember.a"
    subprocess.run(["ar", "rcs", str(archive), str(obj)], check=True, capture_output=True)
    assert f"File: {archive}(member.o)" in _readelf("-h", str(archive))
    result = run_kernlab("elf", str(archive))
    assert_clean_error(result, BAD_INPUT)
    assert "ar archive" in result.stderr
