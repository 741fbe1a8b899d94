"""Error numbers a system call returns: the kernel hands back -ERRNO in the return register
(a value from -4095 to -1), and libc's wrapper stores ERRNO in ``errno`` and returns -1.

Names and numbers come from the kernel's own include/uapi/asm-generic/errno-base.h and errno.h
(shipped as ``data/errno.json``, written by tools/gen_syscall_tables.py; x86, arm64, riscv and
arm use these generic numbers); the message is the C library's strerror(3) text, the words
perror(3) and strace print.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources

from kernlab.errors import BadInput

# The largest error number a system call may return: values above -MAX_ERRNO are errors
# (include/linux/err.h), which is why libc compares the result with -4095.
MAX_ERRNO = 4095


@dataclass(frozen=True)
class Errno:
    number: int
    name: str  # the name the kernel header defines with a number
    aliases: tuple[str, ...]  # names defined as another name (EWOULDBLOCK -> EAGAIN)
    message: str  # strerror(3) of the running C library
    kernel_comment: str  # the comment beside the #define in the kernel header
    returned_as: int  # what the system call itself returns: -number


@cache
def _table() -> tuple[dict[str, dict], dict[int, list[dict]]]:
    doc = json.loads(resources.files("kernlab.syscalls").joinpath("data", "errno.json").read_text())
    by_name = {row["name"]: row for row in doc["errors"]}
    by_number: dict[int, list[dict]] = {}
    for row in doc["errors"]:
        by_number.setdefault(row["number"], []).append(row)
    return by_name, by_number


def lookup_errno(key: str | int) -> Errno:
    """The error called ``key`` (``ENOENT``) or numbered ``key`` (2, ``"2"``, ``"-2"``)."""
    by_name, by_number = _table()
    text = str(key).strip()
    if text.lstrip("-").isdigit():
        number = abs(int(text))
        if number not in by_number:
            raise BadInput(
                f"no error number {number} (the kernel defines 1 to {max(by_number)})",
                key="errors.syscalls.no_errno_number",
                fields={"number": number, "last": max(by_number)},
            )
    else:
        row = by_name.get(text.upper())
        if row is None:
            raise BadInput(
                f"no error named {text!r} (names look like ENOENT, EACCES)",
                key="errors.syscalls.no_errno_name",
                fields={"name": repr(text)},
            )
        number = row["number"]
    rows = by_number[number]
    primary = next((r for r in rows if r["alias_of"] is None), rows[0])
    aliases = tuple(r["name"] for r in rows if r is not primary)
    return Errno(number, primary["name"], aliases, os.strerror(number), primary["comment"], -number)
