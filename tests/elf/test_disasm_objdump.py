"""kernlab's disassembler against objdump -d, instruction by instruction.

x86 output is compared with GNU objdump exactly (whitespace normalised): addresses, mnemonics,
operands, call/jump targets with their <symbol> and the RIP-relative comments. GNU objdump on
this machine may not know AArch64, so AArch64 is compared with llvm-objdump, numbers normalised
(the two spell immediates differently) but mnemonics, registers and branch targets exact.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kernlab.elf.disasm import disassemble_function, disassemble_range
from kernlab.elf.disasm.libc import find_libc
from kernlab.elf.plt import plt_entries
from kernlab.elf.reader import open_elf
from tests.conftest import PROGRAMS, need_tool, run_kernlab

LIBC_FUNCTIONS = (
    "rename",
    "renameat",
    "getpid",
    "write",
    "read",
    "close",
    "openat",
    "mmap",
    "pipe2",
    "gettid",
)
PROGRAM_FUNCTIONS = ("main", "pick", "raw_getpid", "copy_name", "mix")
UNISTD_64 = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
UNISTD_32 = Path("/usr/include/x86_64-linux-gnu/asm/unistd_32.h")


def normalise(text: str) -> str:
    return " ".join(text.split())


def readelf_function(path: Path | str, symbol: str) -> tuple[int, int]:
    """(value, size) of the defined FUNC ``symbol``, as readelf -sW lists it."""
    need_tool("readelf")
    out = subprocess.run(
        ["readelf", "-sW", "--dyn-syms", str(path)], capture_output=True, text=True, check=True
    )
    for line in out.stdout.splitlines():
        parts = line.split()
        defined_function = len(parts) >= 8 and parts[3] in ("FUNC", "IFUNC") and parts[6] != "UND"
        if defined_function and re.sub(r"@.*", "", parts[7]) == symbol:
            return int(parts[1], 16), int(parts[2], 0)
    pytest.fail(f"readelf lists no function {symbol} in {path}")


def objdump_function(path: Path | str, symbol: str, objdump: str = "objdump") -> list[tuple[int, str]]:
    """(address, text) of each instruction objdump prints for the range readelf gives ``symbol``
    (a range, because objdump labels an address with only one of its aliases)."""
    start, size = readelf_function(path, symbol)
    return objdump_range(path, start, size, objdump)


def objdump_range(path: Path | str, start: int, size: int, objdump: str = "objdump") -> list[tuple[int, str]]:
    """(address, text) of each instruction objdump prints from ``start`` for ``size`` bytes."""
    out = subprocess.run(
        [
            objdump,
            "-d",
            "--no-show-raw-insn",
            f"--start-address={start:#x}",
            f"--stop-address={start + size:#x}",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = []
    for line in out.splitlines():
        match = re.match(r"\s+([0-9a-f]+):\s+(.*)$", line)
        if match:
            lines.append((int(match[1], 16), normalise(match[2])))
    return lines


def ours(path: Path | str, symbol: str, syntax: str = "att") -> list[tuple[int, str]]:
    return [
        (i.address, normalise(i.text)) for i in disassemble_function(str(path), symbol, syntax).instructions
    ]


def assert_same(path: Path | str, symbol: str) -> None:
    theirs = objdump_function(path, symbol)
    assert theirs, f"objdump shows no {symbol} in {path}"
    mine = ours(path, symbol)
    for (a_addr, a_text), (b_addr, b_text) in zip(mine, theirs, strict=False):
        assert (a_addr, a_text) == (b_addr, b_text), f"{symbol} at {a_addr:#x}"
    assert len(mine) == len(theirs), symbol


def header_number(header: Path, name: str) -> int:
    if not header.exists():
        pytest.skip(f"{header} is missing (linux-libc-dev provides it)")
    match = re.search(rf"^#define __NR_{name}\s+(\d+)$", header.read_text(), re.M)
    assert match
    return int(match[1])


@pytest.fixture(scope="module")
def libc() -> str:
    need_tool("objdump")
    path = find_libc()
    if open_elf(path).arch != "x86_64":
        pytest.skip("these libc checks read an x86_64 libc")
    return path


@pytest.fixture(scope="module")
def calls_program(tmp_path_factory) -> Path:
    need_tool("gcc")
    out = tmp_path_factory.mktemp("disasm") / "disasm_calls"
    subprocess.run(["gcc", "-O2", "-o", str(out), str(PROGRAMS / "disasm_calls.c")], check=True)
    return out


@pytest.mark.parametrize("name", LIBC_FUNCTIONS)
def test_libc_functions_match_objdump(libc, name):
    assert_same(libc, name)


@pytest.mark.parametrize("name", PROGRAM_FUNCTIONS)
def test_gcc_built_functions_match_objdump(calls_program, name):
    need_tool("objdump")
    assert_same(calls_program, name)


def test_hello_main_calls_puts_through_the_plt(build_c):
    need_tool("objdump")
    hello = build_c("hello", ["-O0"])
    assert_same(hello, "main")
    calls = [i for i in disassemble_function(str(hello), "main").instructions if i.mnemonic == "call"]
    assert any(i.target_name == "puts@plt" for i in calls)
    rip = [i for i in disassemble_function(str(hello), "main").instructions if i.comment]
    assert rip and all(i.comment.startswith("# ") for i in rip)


def test_32bit_functions_match_objdump(build_c):
    need_tool("objdump")
    try:
        program = build_c("disasm_calls", ["-m32", "-O2"], "disasm_calls32")
    except RuntimeError as exc:
        pytest.skip(f"gcc -m32 does not work here (gcc-multilib): {exc}")
    for name in PROGRAM_FUNCTIONS:
        assert_same(program, name)
    trap = [i for i in disassemble_function(str(program), "raw_getpid").instructions if i.syscall]
    assert trap and trap[0].syscall.number == header_number(UNISTD_32, "getpid")
    assert trap[0].syscall.name == "getpid"


def test_plt_names_match_objdump(calls_program, libc, build_c):
    paths = [calls_program, libc]
    # .plt.sec (IBT) and a non-PIE i386 PLT (jmp *abs32) when the toolchain can build them.
    for flags, name in (
        (["-O1", "-fcf-protection=full", "-Wl,-z,ibtplt"], "disasm_ibt"),
        (["-m32", "-O1", "-fno-pie", "-no-pie"], "disasm_nopie32"),
    ):
        try:
            paths.append(build_c("disasm_calls", flags, name))
        except RuntimeError:
            continue
    for path in paths:
        dump = subprocess.run(["objdump", "-d", str(path)], capture_output=True, text=True, check=True).stdout
        theirs = {int(a, 16): n for a, n in re.findall(r"^([0-9a-f]+) <(.+@plt)>:$", dump, re.M)}
        mine = {e.address: e.name for e in plt_entries(open_elf(str(path)))}
        assert mine == theirs, path


def test_syscall_annotation_uses_the_header_number(libc):
    for name in ("rename", "getpid", "write"):
        number = header_number(UNISTD_64, name)
        dis = disassemble_function(libc, name)
        traps = [i for i in dis.instructions if i.syscall is not None]
        assert traps, name
        assert traps[0].mnemonic == "syscall"
        assert traps[0].syscall.number == number and traps[0].syscall.name == name
        loaded = next(i for i in dis.instructions if i.address == traps[0].syscall.loaded_at)
        assert loaded.loads_syscall_number
    raw = disassemble_function(str(find_libc()), "rename")
    assert raw.syscalls[0].number == header_number(UNISTD_64, "rename")


@pytest.mark.parametrize("length", [24, 7, 1, 40])
def test_address_range_matches_objdump(calls_program, length):
    """--address/--length is objdump's --start-address/--stop-address: an instruction the end
    cuts is written as its first byte (``.byte 0xf``) and decoding goes on at the next."""
    need_tool("objdump")
    start = disassemble_function(str(calls_program), "main").start
    dis = disassemble_range(str(calls_program), start, length)
    theirs = objdump_range(calls_program, start, length)
    rows = list(dis.instructions)
    while rows and not any(rows[-1].raw) and rows[-1].address > theirs[-1][0]:
        rows.pop()  # zero bytes at the end: objdump writes "..." (one instruction at a time: no "...")
    assert [(i.address, normalise(i.text)) for i in rows] == theirs
    assert sum(len(i.raw) for i in dis.instructions) == length


@pytest.mark.parametrize("name", ["main", "pick", "mix", "copy_name"])
def test_intel_syntax_matches_objdump(calls_program, name):
    need_tool("objdump")
    start, size = readelf_function(calls_program, name)
    out = subprocess.run(
        [
            "objdump",
            "-d",
            "-M",
            "intel",
            "--no-show-raw-insn",
            f"--start-address={start:#x}",
            f"--stop-address={start + size:#x}",
            str(calls_program),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = [(int(a, 16), normalise(t)) for a, t in re.findall(r"^\s+([0-9a-f]+):\s+(.*)$", out, re.M)]
    assert ours(calls_program, name, "intel") == theirs


# --------------------------------------------------------------------------- AArch64


def _cross_objdump(triple: str = "aarch64-linux-gnu") -> str:
    """An objdump that knows ``triple``'s machine: GNU's cross binutils, else llvm-objdump."""
    gnu = shutil.which(f"{triple}-objdump")
    if gnu:
        return gnu
    candidates = [shutil.which("llvm-objdump")]
    candidates += [shutil.which(f"llvm-objdump-{v}") for v in range(20, 12, -1)]
    candidates += sorted(glob.glob("/usr/lib/llvm-*/bin/llvm-objdump"), reverse=True)
    llvm = next((c for c in candidates if c), None)
    if llvm is None:
        pytest.skip(f"no objdump that knows {triple} (binutils-{triple} or llvm)")
    return llvm


@pytest.fixture(scope="module")
def a64_program(tmp_path_factory) -> Path:
    for tool in ("clang", "ld.lld"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    out = tmp_path_factory.mktemp("a64")
    cc = ["clang", "--target=aarch64-linux-gnu", "-O1", "-ffreestanding", "-fno-stack-protector"]
    subprocess.run(
        [*cc, "-fPIC", "-c", str(PROGRAMS / "disasm_a64_lib.c"), "-o", str(out / "lib.o")], check=True
    )
    subprocess.run(["ld.lld", "-shared", "-o", str(out / "libdisasm_a64.so"), str(out / "lib.o")], check=True)
    subprocess.run(
        [*cc, "-fno-pic", "-c", str(PROGRAMS / "disasm_a64.c"), "-o", str(out / "prog.o")], check=True
    )
    subprocess.run(
        [
            "ld.lld",
            "-e",
            "_start",
            "-o",
            str(out / "disasm_a64"),
            str(out / "prog.o"),
            str(out / "libdisasm_a64.so"),
        ],
        check=True,
    )
    return out / "disasm_a64"


def _numbers_normalised(text: str) -> str:
    """Turn every number (#0x10, #16, 0x210430, 210430) into decimal and drop '#'/comments, so
    GNU and LLVM spellings compare equal."""
    text = re.sub(r"\s*//.*$", "", text)
    text = re.sub(r"<[^>]*>", "", text)
    text = re.sub(r"#?(-?)0x([0-9a-f]+)", lambda m: str(int(m[2], 16) * (-1 if m[1] else 1)), text)
    text = re.sub(r"#(-?\d+)", r"\1", text)
    return normalise(text).replace(" ,", ",")


def test_aarch64_functions_match_objdump(a64_program):
    objdump = _cross_objdump()
    for name in ("main", "a64_write", "a64_getpid", "a64_loop", "_start"):
        out = subprocess.run(
            [objdump, "-d", "--no-show-raw-insn", f"--disassemble-symbols={name}", str(a64_program)]
            if "llvm" in objdump
            else [objdump, "-d", "--no-show-raw-insn", f"--disassemble={name}", str(a64_program)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        theirs = [(int(a, 16), t) for a, t in re.findall(r"^\s+([0-9a-f]+):\s+(.*)$", out, re.M)]
        mine = disassemble_function(str(a64_program), name).instructions
        assert len(mine) == len(theirs), name
        for ins, (address, text) in zip(mine, theirs, strict=True):
            assert ins.address == address
            mnemonic = text.split()[0]
            assert ins.mnemonic == mnemonic, (name, hex(address))
            if mnemonic in ("adr", "adrp"):
                continue  # llvm-objdump 14 prints adr as a pc-relative offset, objdump as the address
            mine_text = ins.text
            if ins.target is not None:  # GNU writes a branch target as bare hex, LLVM with 0x
                mine_text = mine_text.replace(f" {ins.target:x}", f" {ins.target:#x}", 1)
            assert _numbers_normalised(mine_text) == _numbers_normalised(text), (name, hex(address))
            target = re.search(r"<([^>+]+)>", text)
            if mnemonic in ("bl", "b") and target:
                assert ins.target_name == target[1]


def test_aarch64_syscalls_are_named_from_the_header(a64_program):
    header = Path("/usr/aarch64-linux-gnu/include/asm-generic/unistd.h")
    if not header.exists():
        pytest.skip(f"{header} is missing (linux-libc-dev-arm64-cross provides it)")
    text = header.read_text()
    numbers = {n: int(v) for n, v in re.findall(r"^#define __NR_(write|getpid|exit)\s+(\d+)$", text, re.M)}
    for function, call in (("a64_write", "write"), ("a64_getpid", "getpid"), ("_start", "exit")):
        notes = disassemble_function(str(a64_program), function).syscalls
        assert [n.name for n in notes][-1:] == [call], function
        assert notes[-1].number == numbers[call]
    entries = {e.name for e in plt_entries(open_elf(str(a64_program)))}
    assert entries == {"helper_add@plt", "helper_puts@plt"}


# --------------------------------------------------------------------------- the command


def test_cli_json_is_one_document(calls_program):
    result = run_kernlab("disasm", str(calls_program), "raw_getpid", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["function"] == "raw_getpid" and doc["arch"] == "x86_64"
    number = header_number(UNISTD_64, "getpid")
    assert doc["syscalls"][0]["number"] == number
    assert all(isinstance(i["address"], int) for i in doc["instructions"])
    human = run_kernlab("disasm", str(calls_program), "raw_getpid")
    flat = normalise(human.stdout)
    assert f"getpid(2), nr {number} = {number:#x}" in flat
    assert "→" in human.stdout.splitlines()[-1] or "→" in human.stdout


# --------------------------------------------------------------------------- RISC-V


@pytest.fixture(scope="module")
def riscv_program(tmp_path_factory) -> Path:
    for tool in ("clang", "ld.lld"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    out = tmp_path_factory.mktemp("riscv")
    cc = ["clang", "--target=riscv64-linux-gnu", "-O1", "-ffreestanding", "-fno-stack-protector", "-fno-pic"]
    subprocess.run([*cc, "-c", str(PROGRAMS / "disasm_riscv.c"), "-o", str(out / "prog.o")], check=True)
    subprocess.run(
        ["ld.lld", "-e", "_start", "-o", str(out / "disasm_riscv"), str(out / "prog.o")], check=True
    )
    return out / "disasm_riscv"


def test_riscv_branch_targets_and_syscalls(riscv_program):
    objdump = _cross_objdump("riscv64-linux-gnu")
    header = Path("/usr/aarch64-linux-gnu/include/asm-generic/unistd.h")  # RISC-V shares it
    if not header.exists():
        pytest.skip(f"{header} is missing (linux-libc-dev-arm64-cross provides it)")
    numbers = {
        n: int(v)
        for n, v in re.findall(r"^#define __NR_(write|getpid|exit)\s+(\d+)$", header.read_text(), re.M)
    }
    for function, call in (("rv_write", "write"), ("rv_getpid", "getpid")):
        notes = disassemble_function(str(riscv_program), function).syscalls
        assert [(n.name, n.number) for n in notes] == [(call, numbers[call])]
    out = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", str(riscv_program)], capture_output=True, text=True, check=True
    ).stdout
    theirs = {
        int(a, 16): int(t, 16)
        for a, t in re.findall(r"^\s+([0-9a-f]+):\s+\S+\s.*?(?:0x)?([0-9a-f]+) <", out, re.M)
    }
    mine = disassemble_function(str(riscv_program), "rv_loop").instructions
    branches = [i for i in mine if i.target is not None]
    assert branches
    for ins in branches:
        assert ins.target == theirs[ins.address], hex(ins.address)
