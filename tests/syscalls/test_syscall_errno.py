"""`kernlab syscall --errno` against the kernel's errno headers and strace's error text."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kernlab.errors import BadInput
from kernlab.syscalls.errnos import lookup_errno
from tests.conftest import assert_clean_error, need_tool, run_kernlab

HEADERS = (Path("/usr/include/asm-generic/errno-base.h"), Path("/usr/include/asm-generic/errno.h"))


def header_errnos() -> dict[str, int]:
    """``#define EXXX N`` and ``#define EALIAS EXXX`` of the kernel's uapi errno headers."""
    defines: dict[str, str] = {}
    for header in HEADERS:
        if not header.exists():
            pytest.skip(f"{header} is missing (linux-libc-dev provides it)")
        defines.update(re.findall(r"^#define\s+(E\w+)\s+(\w+)", header.read_text(), re.M))
    out = {}
    for name, value in defines.items():
        while not value.isdigit():
            value = defines[value]
        out[name] = int(value)
    return out


def test_every_header_errno_has_the_same_number_and_back():
    expected = header_errnos()
    assert len(expected) > 100
    for name, number in expected.items():
        err = lookup_errno(name)
        assert err.number == number, name
        assert err.returned_as == -number
        by_number = lookup_errno(number)
        assert name in (by_number.name, *by_number.aliases)


def test_message_is_what_strace_prints(tmp_path):
    need_tool("strace")
    missing = tmp_path / "does-not-exist"
    proc = subprocess.run(
        ["strace", "-e", "trace=openat", "cat", str(missing)], capture_output=True, text=True
    )
    line = next(ln for ln in proc.stderr.splitlines() if str(missing) in ln and "= -1" in ln)
    match = re.search(r"= -1 (E\w+) \((.*)\)$", line)
    assert match
    err = lookup_errno(match[1])
    assert err.message == match[2]
    result = run_kernlab("syscall", "--errno", match[1], "--json")
    assert result.code == 0 and result.json()["message"] == match[2]
    human = run_kernlab("syscall", "--errno", str(err.number))
    assert match[1] in human.stdout and f"returns -{err.number}" in " ".join(human.stdout.split())


def test_unknown_errors_are_bad_input():
    with pytest.raises(BadInput):
        lookup_errno("ENOTANERROR")
    with pytest.raises(BadInput):
        lookup_errno(99999)
    assert_clean_error(run_kernlab("syscall", "--errno", "EBOGUS"), 3)
    assert_clean_error(run_kernlab("syscall", "read", "--errno", "2"), 3)
