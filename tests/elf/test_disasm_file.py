"""`kernlab disasm FILE` with no symbol: the whole listing, line for line as `objdump -d` prints it.

The only differences allowed are kernlab's own additions: the `   → name(2), nr N = 0xN` note
after a trap instruction and the closing sentences (lines starting with "→ "). Everything else
— the file-format line, section headers, `<symbol>:` labels, address padding, raw-byte columns
and continuation lines, `...` for runs of zeros, each instruction's text — must be identical.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernlab.elf.disasm.libc import find_libc
from kernlab.elf.reader import open_elf
from tests.conftest import PROGRAMS, need_tool, run_kernlab

ANNOTATION = re.compile(r"   → .*$")


def kernlab_lines(stdout: str) -> list[str]:
    """kernlab's listing without its annotations and sentences."""
    return [ANNOTATION.sub("", line) for line in stdout.splitlines() if not line.startswith("→ ")]


def objdump_lines(path: Path | str, *extra: str) -> list[str]:
    need_tool("objdump")
    out = subprocess.run(["objdump", "-d", *extra, str(path)], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def first_difference(theirs: list[str], ours: list[str]) -> str:
    for i, (a, b) in enumerate(zip(theirs, ours, strict=False)):
        if a != b:
            return f"line {i + 1}: objdump {a!r} != kernlab {b!r}"
    return f"objdump has {len(theirs)} lines, kernlab {len(ours)}"


@pytest.fixture(scope="module")
def hello(tmp_path_factory) -> Path:
    need_tool("gcc")
    out = tmp_path_factory.mktemp("disasm_file") / "hello"
    subprocess.run(["gcc", "-O0", "-o", str(out), str(PROGRAMS / "hello.c")], check=True)
    if open_elf(str(out)).arch not in ("x86_64", "i386"):
        pytest.skip("objdump here decodes x86 only")
    return out


def x86_file(path: str) -> str:
    if not Path(path).exists():
        pytest.skip(f"{path} is missing")
    if open_elf(path).arch not in ("x86_64", "i386"):
        pytest.skip("objdump here decodes x86 only")
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_hello_is_objdumps_listing(hello, jobs):
    result = run_kernlab("disasm", str(hello), "--jobs", jobs)
    assert result.code == 0, result.stderr
    theirs = objdump_lines(hello)
    ours = kernlab_lines(result.stdout)
    assert ours == theirs, first_difference(theirs, ours)
    assert any(line.startswith("→ ") for line in result.stdout.splitlines())  # the sentences


def relocation_names(path: str) -> dict[int, str]:
    """Address -> symbol of each dynamic relocation, as readelf -rW lists them."""
    out = subprocess.run(["readelf", "-rW", path], capture_output=True, text=True, check=True).stdout
    return {
        int(m[1], 16): m[2]
        for m in re.finditer(r"^([0-9a-f]{8,16})\s+[0-9a-f]+\s+R_\w+\s+[0-9a-f]+\s+(\S+)", out, re.M)
    }


COMMENT = re.compile(r"^(?P<head>.*# (?P<slot>[0-9a-f]+)) <(?P<name>[^>]*)>$")


@pytest.mark.parametrize("path", ["/bin/ls", "libc"])
def test_big_files_are_objdumps_listing(path):
    """Line for line, except one known objdump quirk: in some stripped files objdump names a
    GOT slot after the nearest symbol (``<_obstack_memory_used@@Base+0xf4a8>``) in .text but
    after the slot's dynamic relocation (``<free@GLIBC_2.2.5>``) elsewhere; kernlab always
    uses the relocation, which readelf -r must confirm."""
    path = x86_file(find_libc() if path == "libc" else path)
    result = run_kernlab("disasm", path, "--quiet", timeout=300)
    assert result.code == 0, result.stderr
    theirs = objdump_lines(path)
    ours = kernlab_lines(result.stdout)
    assert len(ours) == len(theirs), first_difference(theirs, ours)
    relocations = relocation_names(path)
    quirks = 0
    for a, b in zip(theirs, ours, strict=True):
        if a == b:
            continue
        mine, objdumps = COMMENT.match(b), COMMENT.match(a)
        assert mine and objdumps and mine["head"] == objdumps["head"], f"objdump {a!r} != kernlab {b!r}"
        slot = int(mine["slot"], 16)
        assert relocations.get(slot) == mine["name"].split("@")[0] or relocations.get(slot) == mine["name"], b
        quirks += 1
    assert quirks <= len(theirs) // 1000


def test_trap_annotations_name_the_call_objdump_shows(hello):
    """Every annotated trap of libc is a `syscall` line of objdump's listing, at that address."""
    libc = x86_file(find_libc())
    result = run_kernlab("disasm", libc, "--quiet", timeout=300)
    traps = {
        line.split(":")[0].strip() for line in objdump_lines(libc) if line.rstrip().endswith("\tsyscall")
    }
    annotated = [line for line in result.stdout.splitlines() if "   → " in line]
    assert annotated
    for line in annotated:
        assert line.split(":")[0].strip() in traps, line
        assert re.search(r"→ \w+\(2\), nr (\d+) = 0x[0-9a-f]+$", line), line


@pytest.mark.parametrize("section", [".plt", ".text"])
def test_one_section_is_objdump_j(hello, section):
    result = run_kernlab("disasm", str(hello), "--section", section)
    assert result.code == 0, result.stderr
    theirs = objdump_lines(hello, "-j", section)
    ours = kernlab_lines(result.stdout)
    assert ours == theirs, first_difference(theirs, ours)


def test_libc_plt_section_is_objdump_j():
    libc = x86_file(find_libc())
    if open_elf(libc).section_by_name(".plt") is None:
        pytest.skip("this libc has no .plt")
    result = run_kernlab("disasm", libc, "--section", ".plt", "-q")
    theirs = objdump_lines(libc, "-j", ".plt")
    assert kernlab_lines(result.stdout) == theirs, first_difference(theirs, kernlab_lines(result.stdout))


def test_data_section_or_missing_section_is_bad_input(hello):
    for name in (".data", ".nosuch"):
        result = run_kernlab("disasm", str(hello), "--section", name)
        assert result.code == 3 and result.stderr.startswith("kernlab: error:"), (name, result.stderr)
        assert "Traceback" not in result.stderr
    both = run_kernlab("disasm", str(hello), "main", "--section", ".text")
    assert both.code == 3


@pytest.mark.parametrize("jobs", [[], ["--jobs", "1"], ["--jobs", "2"]])
def test_listing_streams_and_a_closed_pipe_ends_quietly(jobs):
    """The first lines arrive while libc is still being decoded, and closing the pipe after them
    (`| head`) ends kernlab with status 0 and nothing on stderr, listed by one process or two."""
    libc = x86_file(find_libc())
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "disasm", libc, *jobs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    head = [proc.stdout.readline() for _ in range(8)]
    still_running = proc.poll() is None
    proc.stdout.close()
    code = proc.wait(timeout=120)
    stderr = proc.stderr.read().decode()
    assert b"Disassembly of section" in b"".join(head)
    assert still_running, "the whole listing was produced before the first lines were written"
    assert code == 0, stderr
    assert stderr == ""


def test_json_lists_every_instruction(hello):
    result = run_kernlab("disasm", str(hello), "--section", ".text", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert isinstance(doc, dict)
    theirs = [line for line in objdump_lines(hello, "-j", ".text") if line.count("\t") == 2]
    rows = [row for block in doc["blocks"] for row in block["rows"]]
    assert [row[0] for row in rows] == [int(line.split(":")[0], 16) for line in theirs]
    assert doc["tally"]["instructions"] == len(rows)


def test_32bit_program_is_objdumps_listing(tmp_path):
    """An i386 build (gcc -m32, where the multilib is installed): 32-bit operands, absolute
    addresses, and gcc's padding `lea 0x0(%esi,%eiz,1),%esi` whose SIB byte has no index."""
    need_tool("gcc")
    out = tmp_path / "hello32"
    built = subprocess.run(
        ["gcc", "-m32", "-O2", "-o", str(out), str(PROGRAMS / "hello.c")], capture_output=True, text=True
    )
    if built.returncode != 0:
        pytest.skip("gcc -m32 cannot link here (no 32-bit libc)")
    result = run_kernlab("disasm", str(out), "--quiet")
    assert result.code == 0, result.stderr
    theirs = objdump_lines(out)
    ours = kernlab_lines(result.stdout)
    assert ours == theirs, first_difference(theirs, ours)


def test_parts_listed_side_by_side_are_one_listing():
    """--jobs 2 and 3 (forked children listing later parts of the file) write libc's listing
    and its sentences byte for byte as one process does."""
    libc = x86_file(find_libc())
    one = run_kernlab("disasm", libc, "--jobs", "1")
    assert one.code == 0, one.stderr
    for jobs in ("2", "3"):
        parts = run_kernlab("disasm", libc, "--jobs", jobs)
        assert parts.code == 0, parts.stderr
        assert parts.stdout == one.stdout, (
            f"--jobs {jobs}: {first_difference(one.stdout.splitlines(), parts.stdout.splitlines())}"
        )
    assert "instructions in" in one.stdout


def _session_members(sid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[4]) == sid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_an_interrupted_listing_leaves_no_process_behind(how):
    """Ctrl-C or SIGTERM to kernlab while its child lists the second half: both are gone."""
    import signal

    libc = x86_file(find_libc())
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "disasm", libc, "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the signal goes to kernlab alone, as `kill PID` sends it
    )
    assert proc.stdout is not None
    assert proc.stdout.readline()  # listing under way, the child forked
    proc.send_signal(getattr(signal, how))
    proc.stdout.close()
    proc.wait(timeout=60)
    assert proc.returncode != 0
    deadline = time.monotonic() + 10
    while _session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _session_members(proc.pid) == []


def test_jobs_goes_with_a_whole_file_only(hello):
    done = run_kernlab("disasm", str(hello), "main", "--jobs", "2")
    assert done.code == 3  # bad input, as --section with a SYMBOL
    assert "--jobs lists a whole file" in done.stderr


CUT_AT_SYMBOLS = """
.text
.globl f
.type f,@function
f:
  nop
  .byte 0xb8
.size f, .-f
.globl g
.type g,@function
g:
  .byte 1,2,3,4
.size g, .-g
.globl h
.type h,@function
h:
  nop
  .byte 0x48
.size h, .-h
.globl k
.type k,@function
k:
  .byte 0x89, 0xe5
  ret
"""


def test_an_instruction_cut_by_the_next_symbol_is_objdumps(tmp_path):
    """objdump never decodes past the symbol it lists: `b8` before the next symbol is
    `.byte 0xb8`, a REX byte `rex.W`, in the whole listing (AT&T and Intel) and in one
    function's (objdump --disassemble=f)."""
    need_tool("gcc")
    need_tool("ld")
    source = tmp_path / "cut.s"
    source.write_text(CUT_AT_SYMBOLS)
    subprocess.run(["gcc", "-c", str(source), "-o", str(tmp_path / "cut.o")], check=True)
    binary = tmp_path / "cut"
    subprocess.run(["ld", "-e", "f", "-o", str(binary), str(tmp_path / "cut.o")], check=True)
    for extra in ([], ["--intel"]):
        result = run_kernlab("disasm", str(binary), *extra)
        assert result.code == 0, result.stderr
        theirs = objdump_lines(binary, *(["-M", "intel"] if extra else []))
        ours = kernlab_lines(result.stdout)
        assert ours == theirs, first_difference(theirs, ours)
    for name, last in (("f", ".byte 0xb8"), ("h", "rex.W")):
        objdump = subprocess.run(
            ["objdump", "-d", f"--disassemble={name}", str(binary)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert objdump.rstrip().splitlines()[-1].split("\t")[-1] == last
        listed = run_kernlab("disasm", str(binary), name, "--json").json()
        assert isinstance(listed, dict)
        final = listed["instructions"][-1]
        assert f"{final['mnemonic']} {final['operands']}".strip() == last
