"""reports.disasm: the listing's call targets and system calls, checked against objdump -d."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kernlab.elf.disasm.libc import find_libc
from kernlab.elf.reader import open_elf
from kernlab.errors import BadInput
from kernlab.reports import disasm
from tests.conftest import PROGRAMS, need_tool

UNISTD_64 = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


@pytest.fixture(scope="module")
def calls_program(tmp_path_factory) -> Path:
    need_tool("gcc")
    out = tmp_path_factory.mktemp("report_disasm") / "disasm_calls"
    subprocess.run(["gcc", "-O2", "-o", str(out), str(PROGRAMS / "disasm_calls.c")], check=True)
    if open_elf(str(out)).arch != "x86_64":
        pytest.skip("objdump's call and syscall mnemonics are read for x86_64 code")
    return out


def objdump_lines(path: Path | str, symbol: str) -> list[str]:
    need_tool("objdump")
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", f"--disassemble={symbol}", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [" ".join(t.split()) for t in re.findall(r"^\s+[0-9a-f]+:\s+(.*)$", out, re.M)]


def header_number(name: str) -> int:
    if not UNISTD_64.exists():
        pytest.skip(f"{UNISTD_64} is missing (linux-libc-dev provides it)")
    match = re.search(rf"^#define __NR_{name}\s+(\d+)$", UNISTD_64.read_text(), re.M)
    assert match, name
    return int(match[1])


def test_calls_are_objdumps_named_call_targets(calls_program):
    report = disasm.build(str(calls_program), "main")
    theirs = {
        m[1]
        for line in objdump_lines(calls_program, "main")
        if (m := re.match(r"call \S+ <([^+>-]+)>$", line))
    }
    assert theirs, "main calls functions by name"
    assert set(report.calls) == theirs
    assert list(report.calls) == sorted(report.calls)


def test_raw_syscall_site_has_the_header_number(calls_program):
    report = disasm.build(str(calls_program), "raw_getpid")
    traps = [line for line in objdump_lines(calls_program, "raw_getpid") if line == "syscall"]
    assert [(s.number, s.name, s.places) for s in report.syscall_sites] == [
        (header_number("getpid"), "getpid", len(traps))
    ]
    assert report.calls == ()


def test_libc_wrapper_site_and_json_keys_of_the_listing():
    libc = find_libc()
    if open_elf(libc).arch != "x86_64":
        pytest.skip("reads an x86_64 libc")
    report = disasm.build(libc, "rename")
    assert report.syscall_sites[0].number == header_number("rename")
    assert report.syscall_sites[0].places == objdump_lines(libc, "rename").count("syscall")
    # The report is the disassembly itself plus its summary: the listing's fields are all there.
    assert report.function is not None and report.function.startswith("rename")
    assert report.instructions and report.instructions[0].address == report.start


def test_range_has_the_bytes_asked_for(calls_program):
    start = disasm.build(str(calls_program), "main").start
    report = disasm.build(str(calls_program), address=start, length=16)
    assert report.start == start and report.size == 16
    assert sum(len(i.raw) for i in report.instructions) >= 16


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"symbol": "main", "address": 0x1000},
        {"symbol": "main", "length": 4},
    ],
)
def test_conflicting_requests_are_bad_input(calls_program, kwargs):
    symbol = kwargs.pop("symbol", None)
    with pytest.raises(BadInput):
        disasm.build(str(calls_program), symbol, **kwargs)


@pytest.fixture(scope="module")
def hello(tmp_path_factory) -> Path:
    need_tool("gcc")
    out = tmp_path_factory.mktemp("report_disasm_hello") / "hello"
    subprocess.run(["gcc", "-O0", "-o", str(out), str(PROGRAMS / "hello.c")], check=True)
    if open_elf(str(out)).arch != "x86_64":
        pytest.skip("reads objdump's x86_64 call lines")
    return out


def test_start_calls_through_the_got_not_a_plt_stub(hello):
    """_start's `call *0x…(%rip)  # 3fc0 <__libc_start_main@GLIBC_2.34>` reads a GOT slot that a
    dynamic relocation fills: an indirect call through the GOT, and no name@plt note."""
    from kernlab import explain
    from kernlab.explain import disasm as sentences

    report = disasm.build(str(hello), "_start")
    indirect = [
        m
        for line in objdump_lines(hello, "_start")
        if (m := re.match(r"call \*\S+\(%rip\) # ([0-9a-f]+) <([^>]+)>$", line))
    ]
    assert indirect, "gcc's _start calls __libc_start_main through its GOT slot"
    relocations = subprocess.run(["readelf", "-rW", str(hello)], capture_output=True, text=True).stdout
    assert [(g.slot, g.name) for g in report.got_calls] == [(int(m[1], 16), m[2]) for m in indirect]
    for call in report.got_calls:
        assert f"{call.slot:016x}" in relocations  # ld.so fills it: a dynamic relocation does
    assert report.plt_calls == ()
    explain.set_language("en")
    said = " ".join(sentences.sentences(report))
    assert "PLT stub:" not in said and "name@plt" not in said
    assert "__libc_start_main" in said and "ld.so" in said


def test_plt_note_only_for_calls_to_a_plt_stub(hello):
    from kernlab.explain import disasm as sentences

    report = disasm.build(str(hello), "main")
    theirs = {
        m[1] for line in objdump_lines(hello, "main") if (m := re.match(r"call \S+ <(\S+@plt)>$", line))
    }
    assert theirs and set(report.plt_calls) == theirs
    assert report.got_calls == ()
    said = sentences.sentences(report)
    assert any("PLT stub" in s and "puts@plt" in s for s in said)
