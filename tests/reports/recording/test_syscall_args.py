"""Argument decoding of `kernlab syscalls` against strace's own decoding of the same workload,
and the print-fmt evaluator on the kernel's real helper semantics."""

from __future__ import annotations

import re
import subprocess

from kernlab.recording.export.printfmt import compile_argument, print_flags, print_symbolic
from kernlab.reports.recording.syscall_args import OPEN_FLAGS, bit_names
from tests.conftest import need_tool, run_kernlab
from tests.reports.recording.capture import capture, tracefs_or_skip

EVENTS = ["raw_syscalls/sys_enter", "raw_syscalls/sys_exit", "sched/sched_process_exec"]
# (syscall, position of the argument in strace's output, our argument name)
FLAG_ARGS = [("openat", 2, "flags"), ("mmap", 2, "prot"), ("mmap", 3, "flags"), ("mprotect", 2, "prot")]


def _split_top(args: str) -> list[str]:
    parts, depth, cur, quote = [], 0, "", False
    for ch in args:
        if ch == '"' and not cur.endswith("\\"):
            quote = not quote
        if not quote and ch in "([{":
            depth += 1
        if not quote and ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    parts.append(cur.strip())
    return parts


def test_flags_equal_straces_decoding(tmp_path):
    tracefs_or_skip()
    strace = need_tool("strace")
    argv = ["/usr/bin/ls", "-la", "/usr"]
    capture(tmp_path / "rec", argv, EVENTS, keep_text=False)
    out = tmp_path / "strace.txt"
    subprocess.run(
        [strace, "-f", "-e", "trace=openat,mmap,mprotect", "-o", str(out), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    theirs: dict[str, list[list[str]]] = {}
    for line in out.read_text().splitlines():
        m = re.match(r"^(?:\d+\s+)?(\w+)\((.*)\)\s+= ", line)
        if m:
            theirs.setdefault(m.group(1), []).append(_split_top(m.group(2)))
    doc = run_kernlab(
        "syscalls", "-d", str(tmp_path / "rec"), "-e", "openat", "-e", "mmap", "-e", "mprotect", "--json"
    )
    ours: dict[str, list[dict[str, str]]] = {}
    for ln in doc.json()["lines"]:
        ours.setdefault(ln["name"], []).append(dict(kv.split("=", 1) for kv in ln["args_text"].split(", ")))
    for name, position, arg in FLAG_ARGS:
        assert len(ours[name]) == len(theirs[name]), name
        for mine, strace_args in zip(ours[name], theirs[name], strict=True):
            assert set(mine[arg].split("|")) == set(strace_args[position].split("|")), (
                name,
                mine,
                strace_args,
            )


def test_bit_names_leave_unknown_bits_in_hex():
    assert bit_names(0o2000000 | 0x80000000, OPEN_FLAGS) == ["O_CLOEXEC", "0x80000000"]


def test_print_helpers_follow_the_kernel():
    table = [(1, "S"), (2, "D"), (4, "T")]
    assert print_flags(3, "|", table) == "S|D"
    assert print_flags(9, "|", table) == "S|0x8"
    assert print_symbolic(2, table) == "D"
    assert print_symbolic(7, table) == "0x7"
    expr = compile_argument(
        'REC->state & 3 ? __print_flags(REC->state & 3, "|", {1, "S"}, {2, "D"}) : "R"', {"state"}
    )
    assert expr({"state": 0}) == "R" and expr({"state": 2}) == "D"
    cast = compile_argument("((unsigned int) ((REC->s_dev) >> 20))", {"s_dev"})
    assert cast({"s_dev": (253 << 20) | 1}) == 253
    assert compile_argument("(int)REC->x", {"x"})({"x": 0xFFFFFFFF}) == -1
