"""reports.syscall: one call, the table, libc's wrapper and errno, against the kernel's own files."""

from __future__ import annotations

import errno
import os
import platform
import re
from pathlib import Path

import pytest

from kernlab.errors import BadInput
from kernlab.reports import syscall
from kernlab.reports.syscall import Note
from kernlab.syscalls.errnos import Errno
from kernlab.syscalls.tables import table

UNISTD_64 = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
EVENTS = Path("/sys/kernel/tracing/events/syscalls")

x86_only = pytest.mark.skipif(platform.machine() != "x86_64", reason="reads the x86_64 table on x86_64")


def kallsyms_names() -> set[str]:
    try:
        return {
            p[2]
            for p in (ln.split() for ln in Path("/proc/kallsyms").read_text().splitlines())
            if len(p) >= 3
        }
    except OSError as exc:
        pytest.skip(f"/proc/kallsyms is not readable: {exc}")


def header_number(name: str) -> int:
    if not UNISTD_64.exists():
        pytest.skip(f"{UNISTD_64} is missing (linux-libc-dev provides it)")
    match = re.search(rf"^#define __NR_{name}\s+(\d+)$", UNISTD_64.read_text(), re.M)
    assert match, name
    return int(match[1])


@x86_only
def test_describe_matches_header_kallsyms_and_event_format():
    report = syscall.describe("rename")
    assert report.syscall.number == header_number("rename")
    assert report.machine == os.uname().machine and report.native
    assert report.in_kallsyms == ("__x64_sys_rename" in kallsyms_names())
    fmt = EVENTS / "sys_enter_rename" / "format"
    if report.arguments is None:
        assert report.arguments_note is Note.UNREADABLE and report.arguments_error
    else:
        names = re.findall(r"field:[^;]*?\b(\w+);", fmt.read_text())
        assert [a.name for a in report.arguments] == names[names.index("__syscall_nr") + 1 :]
        assert [a.register for a in report.arguments] == ["rdi", "rsi"]


def test_another_architecture_is_marked_foreign_not_explained():
    arch = "aarch64" if platform.machine() != "aarch64" else "x86_64"
    report = syscall.describe("read", arch)
    assert report.native is False and report.in_kallsyms is None and report.arguments is None
    # Keys, not sentences: the report is the same in every language.
    assert report.kallsyms_note is Note.FOREIGN_KERNEL and report.kallsyms_error is None
    assert report.arguments_note is Note.FOREIGN_KERNEL


def test_list_has_every_row_of_the_table_and_marks_kallsyms():
    listing = syscall.list_table()
    rows = [s for s in listing.syscalls if s.in_table]
    arch = listing.table.arch
    assert [(s.number, s.name) for s in rows] == [(r.number, r.name) for r in table(arch)]
    names = kallsyms_names()
    if any(s.in_kallsyms for s in rows):  # kallsyms was read
        for s in rows:
            if s.symbol:
                assert s.in_kallsyms == (s.symbol in names), s.name
    extra = [s.name for s in listing.syscalls if not s.in_table]
    assert extra == listing.only_in_running_kernel


@x86_only
def test_with_libc_finds_the_trap_and_the_kernel_path():
    result = syscall.build("rename", show_libc=True)
    assert isinstance(result, syscall.SyscallWithWrapper)
    wrapper = result.libc
    number = header_number("rename")
    assert wrapper.note is not None and wrapper.note.number == number
    assert wrapper.load is not None and wrapper.load.operands == f"${number:#x},%eax"
    assert wrapper.number_register == "eax"
    # Every entry symbol named is one the running kernel's kallsyms lists.
    assert set(wrapper.kernel_path) <= kallsyms_names()


def test_errno_is_the_c_librarys():
    err = syscall.build(errno_key="ENOENT")
    assert isinstance(err, Errno)
    assert err.number == errno.ENOENT and err.returned_as == -errno.ENOENT
    assert err.message == os.strerror(errno.ENOENT)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"call": "read", "list_all": True},
        {"call": "read", "errno_key": "ENOENT"},
        {"call": "no_such_call_anywhere"},
    ],
)
def test_bad_requests(kwargs):
    with pytest.raises(BadInput):
        syscall.build(**kwargs)
