"""`kernlab syscall` against the running kernel: kallsyms, tracefs event formats, libc, objdump."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

import pytest

from kernlab.elf.disasm.libc import find_libc
from kernlab.errors import NotSupported
from kernlab.reports.syscall import arguments_from_tracefs, running_kernel_syscalls, syscall_arguments
from kernlab.syscalls.tables import table
from kernlab.tracing.formats import parse_format
from tests.conftest import assert_clean_error, need_tool, run_kernlab

UNISTD_64 = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
EVENTS = Path("/sys/kernel/tracing/events/syscalls")

x86_only = pytest.mark.skipif(
    platform.machine() != "x86_64", reason="checks the x86_64 table on an x86_64 kernel"
)


def header_number(name: str) -> int:
    if not UNISTD_64.exists():
        pytest.skip(f"{UNISTD_64} is missing (linux-libc-dev provides it)")
    match = re.search(rf"^#define __NR_{name}\s+(\d+)$", UNISTD_64.read_text(), re.M)
    assert match, name
    return int(match[1])


def kallsyms_names() -> set[str]:
    try:
        return {
            line.split()[2]
            for line in Path("/proc/kallsyms").read_text().splitlines()
            if len(line.split()) >= 3
        }
    except OSError as exc:
        pytest.skip(f"/proc/kallsyms is not readable: {exc}")


def events_dir() -> Path:
    try:
        if not EVENTS.is_dir():
            pytest.skip(f"{EVENTS} is missing (tracefs not mounted or no CONFIG_FTRACE_SYSCALLS)")
        next(EVENTS.iterdir())
    except PermissionError:
        pytest.skip(f"{EVENTS} is not readable by this user")
    return EVENTS


def format_argument_names(path: Path) -> list[str]:
    """Names of the fields after __syscall_nr, read the plain way: last word before the ';'."""
    names, after_nr = [], False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line.startswith("field:"):
            continue
        name = line.split(";")[0].split()[-1].split("[")[0]
        if name == "__syscall_nr":
            after_nr = True
        elif after_nr:
            names.append(name)
    return names


@x86_only
def test_most_entry_symbols_are_in_kallsyms():
    names = kallsyms_names()
    with_symbol = [s for s in table("x86_64") if s.symbol]
    present = [s for s in with_symbol if s.symbol in names]
    # A newer kernel may drop a few calls (lookup_dcookie went in 6.9); nearly all remain.
    assert len(present) >= 0.9 * len(with_symbol)


def test_arguments_equal_every_event_format():
    base = events_dir()
    checked = 0
    for event in sorted(base.glob("sys_enter_*")):
        name = event.name.removeprefix("sys_enter_")
        ours = [a.name for a in arguments_from_tracefs(name)]
        assert ours == format_argument_names(event / "format"), name
        checked += 1
    assert checked > 100


def test_argument_types_and_positions_from_the_format():
    fmt = (events_dir() / "sys_enter_rename" / "format").read_text()
    args = syscall_arguments(parse_format(fmt, "syscalls"))
    expected = re.findall(r"field:(.+?)\s*\b(\w+);\s*offset:\d+;\s*size:(\d+)", fmt)
    expected = [(t.strip(), n, int(sz)) for t, n, sz in expected]
    after = expected[[n for _, n, _ in expected].index("__syscall_nr") + 1 :]
    assert [(a.type, a.name, a.size) for a in args] == after
    assert [a.position for a in args] == list(range(len(args)))


def test_missing_event_is_not_supported():
    events_dir()
    with pytest.raises(NotSupported):
        arguments_from_tracefs("no_such_call_anywhere")


def test_running_kernel_names_are_the_event_directories():
    base = events_dir()
    expected = {p.name.removeprefix("sys_enter_") for p in base.iterdir() if p.name.startswith("sys_enter_")}
    assert running_kernel_syscalls() == expected


@x86_only
def test_cli_json_matches_header_kallsyms_and_format():
    result = run_kernlab("syscall", "rename", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    number = header_number("rename")
    assert doc["syscall"]["number"] == number
    assert doc["syscall"]["symbol"] == "__x64_sys_rename"
    assert doc["in_kallsyms"] == ("__x64_sys_rename" in kallsyms_names())
    fmt = EVENTS / "sys_enter_rename" / "format"
    if doc["arguments"] is not None:
        assert [a["name"] for a in doc["arguments"]] == format_argument_names(fmt)
        assert [a["register"] for a in doc["arguments"]] == ["rdi", "rsi"]


@x86_only
def test_cli_human_output_by_hex_number_ends_with_a_sentence():
    number = header_number("rename")
    result = run_kernlab("syscall", f"{number:#x}")
    assert result.code == 0, result.stderr
    assert "rename" in result.stdout and "__x64_sys_rename" in result.stdout
    assert f"system call {number} ({number:#x})" in " ".join(result.stdout.split())


@x86_only
def test_cli_list_counts_the_table_and_marks_newer_calls():
    result = run_kernlab("syscall", "--list", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    in_table = [s for s in doc["syscalls"] if s["in_table"]]
    header = (
        set(re.findall(r"^#define __NR_(\w+)\s", UNISTD_64.read_text(), re.M))
        if UNISTD_64.exists()
        else set()
    )
    assert len(in_table) == len(table("x86_64"))
    if header:  # the table comes from a kernel at least as new as the installed headers
        assert header <= {s["name"] for s in in_table}
    extra = [s for s in doc["syscalls"] if not s["in_table"]]
    assert [s["name"] for s in extra] == doc["only_in_running_kernel"]
    if EVENTS.is_dir() and os.access(EVENTS, os.R_OK):
        for s in extra:
            assert (EVENTS / f"sys_enter_{s['name']}").is_dir()
            assert s["number"] is None
    human = run_kernlab("syscall", "--list")
    assert human.code == 0
    if extra:
        assert (
            f"unknown to kernlab's table (newer than Linux {doc['table']['kernel_version'][:3]}"
            in human.stdout
        )


def test_cli_list_for_another_architecture():
    result = run_kernlab("syscall", "--list", "--arch", "aarch64", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["table"]["arch"] == "aarch64"
    assert len(doc["syscalls"]) == len(table("aarch64"))


@x86_only
def test_libc_wrapper_loads_the_header_number_before_syscall():
    need_tool("objdump")
    number = header_number("rename")
    result = run_kernlab("syscall", "rename", "--libc", "--json")
    assert result.code == 0, result.stderr
    libc = result.json()["libc"]
    assert libc["load"]["mnemonic"] == "mov"
    assert libc["load"]["operands"] == f"${number:#x},%eax"
    assert libc["trap"]["mnemonic"] == "syscall"
    assert libc["note"]["number"] == number and libc["note"]["name"] == "rename"
    # objdump shows the same two instructions in libc's rename.
    dump = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", "--disassemble=rename", find_libc()],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [
        " ".join(ln.split("\t", 1)[-1].split()) for ln in dump.splitlines() if re.match(r"\s+[0-9a-f]+:", ln)
    ]
    assert f"mov ${number:#x},%eax" in lines
    assert lines[lines.index(f"mov ${number:#x},%eax") + 1] == "syscall"
    human = run_kernlab("syscall", "rename", "--libc")
    flat = " ".join(human.stdout.split())
    assert f"loads {number:#x} ({number}) into %eax and executes syscall" in flat
    assert f"sys_call_table[{number}]" in flat


@x86_only
def test_libc_wrapper_that_enters_as_another_call():
    # glibc's open(2) wrapper uses the openat system call.
    result = run_kernlab("syscall", "open", "--libc", "--json")
    assert result.code == 0, result.stderr
    libc = result.json()["libc"]
    if libc["note"] is not None and libc["note"]["number"] != header_number("open"):
        assert libc["entered_as"]["number"] == libc["note"]["number"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("syscall", "no_such_call"), 3),
        (("syscall", "99999"), 3),
        (("syscall",), 3),
        (("syscall", "read", "--list"), 3),
        (("syscall", "rename", "--libc", "--libc-path", "/etc/passwd"), 3),
        (("syscall", "rename", "--libc", "--libc-path", "/nonexistent/libc.so.6"), 3),
    ],
)
def test_bad_input_is_one_clean_line(args, code):
    assert_clean_error(run_kernlab(*args), code)


def test_unknown_arch_is_a_usage_error():
    result = run_kernlab("syscall", "read", "--arch", "vax")
    assert result.code == 2 and "Traceback" not in result.stderr


@x86_only
def test_libc_exit_group_number_copied_through_another_register():
    # glibc's _exit keeps exit_group's number in %esi and copies it into %eax before syscall.
    result = run_kernlab("syscall", "exit_group", "--libc", "--json")
    assert result.code == 0, result.stderr
    libc = result.json()["libc"]
    assert libc["note"]["number"] == header_number("exit_group")
    assert libc["note"]["name"] == "exit_group"
    assert libc["trap"]["mnemonic"] == "syscall"
