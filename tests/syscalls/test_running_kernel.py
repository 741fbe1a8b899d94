"""The shipped tables against the running kernel: every system call it has a trace event for
must have a number in kernlab's table, with the number the kernel itself uses; a call the table
cannot know must be named as such, never given an invented name.

The kernel's own data: ``events/syscalls/sys_enter_<name>`` (one per SYSCALL_DEFINE), the
``__x64_sys_<name>`` symbols of /proc/kallsyms, and -- for the calls newer than the installed
headers -- the ``__syscall_nr`` the kernel records when the call is made.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kernlab.errors import BadInput, KernlabError
from kernlab.explain import syscall as explain
from kernlab.kernel.kallsyms import lookup_kallsyms
from kernlab.reports.syscall import describe, list_table, running_kernel_syscalls
from kernlab.syscalls import tables
from kernlab.syscalls.tables import Syscall, lookup, normalize_arch, table, table_info
from kernlab.tracing.instance import Instance

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


def running_events() -> set[str]:
    try:
        names = running_kernel_syscalls()
    except KernlabError as exc:
        pytest.skip(f"tracefs syscall events unreadable: {exc}")
    if not names:
        pytest.skip("this kernel has no syscalls trace events (CONFIG_FTRACE_SYSCALLS)")
    return names


def native_arch() -> str:
    try:
        return normalize_arch(None)
    except BadInput:
        pytest.skip(f"kernlab ships no table for {os.uname().machine}")


def test_every_sys_enter_event_of_the_running_kernel_has_a_number():
    arch = native_arch()
    events = running_events()
    numbered: dict[str, Syscall] = {}
    unnumbered = []
    for name in sorted(events):
        try:
            numbered[name] = lookup(name, arch)  # by SYSCALL_DEFINE name: newstat for stat too
        except BadInput:
            unnumbered.append(name)
    assert unnumbered == [], f"no number in the Linux {table_info(arch).kernel_version} table"
    # The number's row is the call the event is for: its kernel symbol is in kallsyms.
    symbols = {row.symbol for row in numbered.values() if row.symbol}
    found = lookup_kallsyms(sorted(symbols))
    assert sorted(s for s in symbols if found.get(s) is None) == []
    # And kernlab's own listing agrees: nothing the running kernel has is left unnumbered.
    listing = list_table(arch)
    assert listing.only_in_running_kernel == []
    assert all(s.number is not None for s in listing.syscalls)


def test_calls_newer_than_the_installed_headers_have_the_kernels_own_numbers(tmp_path):
    """Make each call the installed headers do not number (so its number came only from the
    shipped table) with invalid arguments, in a child of a traced process, with the event
    filtered on ``__syscall_nr == <table number>``: the event fires only if the kernel's number
    for that name is the table's."""
    if os.uname().machine != "x86_64" or not HEADER.exists():
        pytest.skip("needs an x86_64 kernel and its unistd_64.h")
    if os.geteuid() != 0:
        pytest.skip("tracefs instances need root")
    events = running_events()
    old = set(re.findall(r"^#define __NR_(\w+)\s", HEADER.read_text(), re.M))
    newer = [row for row in table("x86_64") if row.name not in old and row.function in events]
    if not newer:
        pytest.skip("the installed headers already number every call this kernel has")
    # One process forks a child per call (a call such as uretprobe kills its caller with SIGILL
    # when made outside a uprobe trampoline); event-fork traces the children.
    script = (
        "import ctypes, os, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "sys.stdin.readline()\n"
        f"for nr in {[row.number for row in newer]!r}:\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        libc.syscall(nr, -1, -1, -1, -1, -1, -1)\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
    )
    with Instance.create(purpose="nrtest") as inst:
        child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, text=True)
        try:
            inst.set_event_pids([child.pid])
            inst.set_option("event-fork", True)
            for row in newer:
                inst.write(
                    f"events/syscalls/sys_enter_{row.function}/filter", f"__syscall_nr == {row.number}"
                )
                inst.enable_event("syscalls", f"sys_enter_{row.function}")
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.close()
            assert child.wait(timeout=60) == 0
            trace = inst.read("trace")
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    seen = set(re.findall(r": sys_(\w+)\(", trace))
    assert sorted(row.function for row in newer if row.function not in seen) == []


_LOAD = tables._load


def _truncated(arch: str, last: int) -> tuple[tables.TableInfo, tuple[Syscall, ...]]:
    """The shipped table cut after ``last``, claiming to be 6.1's: a table older than the kernel."""
    info, rows = _LOAD(arch)
    kept = tuple(r for r in rows if r.number <= last)
    return dataclasses.replace(info, kernel_version="6.1.99", count=len(kept), last_number=last), kept


def test_calls_newer_than_an_older_table_are_named_as_unknown(monkeypatch):
    """With a table older than the kernel (6.1's ends at 450 on x86_64), each call the kernel
    has past it is listed by name with no number, the sentences name every one of them and say
    the table's version, and asking for one says its number is unknown to kernlab's table."""
    arch = native_arch()
    if arch != "x86_64":
        pytest.skip("the truncation point is x86_64's 6.1 table")
    events = running_events()
    real = {r.function for r in table(arch)} | {r.name for r in table(arch)}
    monkeypatch.setattr(tables, "_load", lambda a: _truncated(a, 450))
    expected = sorted(
        name for name in events if name in real and all(name not in (r.function, r.name) for r in table(arch))
    )
    assert expected, "this kernel has no call newer than Linux 6.1"
    listing = list_table(arch)
    assert listing.only_in_running_kernel == expected
    unnumbered = [s for s in listing.syscalls if not s.in_table]
    assert [s.name for s in unnumbered] == expected and all(s.number is None for s in unnumbered)
    assert explain.not_in_table(listing) == "unknown to kernlab's table (newer than Linux 6.1)"
    sentences = " ".join(explain.list_sentences(listing))
    assert "unknown to kernlab's table (newer than Linux 6.1)" in sentences
    assert all(name in sentences for name in expected)
    with pytest.raises(BadInput) as caught:
        describe(expected[0], arch)
    assert f"sys_enter_{expected[0]}" in str(caught.value)
    assert "unknown to kernlab's table (newer than Linux 6.1)" in str(caught.value)
    with pytest.raises(BadInput) as caught_number:
        describe("451", arch)
    assert "unknown to kernlab's x86_64 table (newer than Linux 6.1)" in str(caught_number.value)
