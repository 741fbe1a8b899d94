"""/proc/PID/cmdline and task names, made printable the way procps-ng prints them.

procps-ng (library/readproc.c ``read_unvectored`` and library/escape.c ``escape_str``) turns the
NUL separators and newlines of the argument vector into spaces, reads at most 128 KiB − 1 bytes,
and then replaces every byte a terminal would act on with ``?``: ASCII control characters, DEL,
and bytes that are not valid UTF-8. ps and pmap print names and arguments that way, so a
process whose name holds a newline cannot break a listing line in two.
"""

from __future__ import annotations

import os

from kernlab.errors import KernlabError
from kernlab.proc.errors import proc_errors, require_process

__all__ = ["CMDLINE_MAX_BYTES", "cmdline_text", "decode_name", "hex_escaped", "printable", "read_cmdline"]

CMDLINE_MAX_BYTES = 128 * 1024 - 1
"""procps-ng reads /proc/PID/cmdline into a MAX_BUFSZ (128 KiB) buffer and keeps one byte for NUL."""

_INVALID = "\ufffd"


def decode_name(raw: bytes) -> str:
    """Kernel text (a task name, an argument) as str, each byte that is not UTF-8 as U+FFFD.

    One replacement character per byte, as procps prints one ``?`` per byte; a name the kernel cut at
    15 bytes in the middle of a multi-byte character ends that way. Replacing, rather than keeping
    the bytes as surrogates, keeps JSON output valid UTF-8.
    """
    text = raw.decode("utf-8", "surrogateescape")
    if text.isascii() or not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return "".join(_INVALID if "\udc80" <= c <= "\udcff" else c for c in text)


def printable(text: str) -> str:
    """``text`` with control characters, DEL and undecodable bytes as ``?``, as ps prints names."""
    if text.isprintable() and _INVALID not in text:
        return text
    # A C1 control (U+0080-U+009F) is two bytes in UTF-8, and procps-ng 4 replaces each of them.
    return "".join(
        "??"
        if "\x80" <= c <= "\x9f"
        else "?"
        if c < " " or c == "\x7f" or c == _INVALID or "\udc80" <= c <= "\udcff"
        else c
        for c in text
    )


def hex_escaped(text: str) -> str:
    """``text`` with control characters and undecodable bytes as ``\\xHH``, as fincore prints names.

    util-linux prints a file name through libsmartcols, which escapes what a terminal would act on
    ("new\\x0aline"); a path is shown, not parsed, so the escape may keep the byte's value.
    """
    if text.isprintable():
        return text
    out = []
    for c in text:
        if "\udc80" <= c <= "\udcff":
            out.append(f"\\x{ord(c) - 0xDC00:02x}")  # a byte surrogateescape kept
        elif c < " " or c == "\x7f":
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    return "".join(out)


def _read_raw(pid: int) -> bytes:
    path = f"/proc/{pid}/cmdline"
    chunks: list[bytes] = []
    size = 0
    with proc_errors(pid, path):
        fd = os.open(path, os.O_RDONLY)
        try:
            # A process can set its argument area to any length; procps stops at its buffer.
            while size < CMDLINE_MAX_BYTES:
                chunk = os.read(fd, CMDLINE_MAX_BYTES - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    return b"".join(chunks)


def cmdline_text(raw: bytes) -> str:
    """The raw bytes of /proc/PID/cmdline as pmap's first line and ``ps -o args`` show them."""
    raw = raw[:CMDLINE_MAX_BYTES]
    trimmed = raw.rstrip(b"\0")
    joined = trimmed.replace(b"\0", b" ").replace(b"\n", b" ")
    # read_unvectored drops one trailing blank only when no NUL ended the buffer (it looks at the
    # last byte read, which is a NUL whenever the arguments ended normally).
    if joined[-1:] == b" " and len(trimmed) == len(raw):
        joined = joined[:-1]
    return printable(decode_name(joined))


def read_cmdline(pid: int) -> str:
    """The arguments joined by spaces and made printable, as pmap and ps print them.

    Empty for kernel threads and zombies, and when the process exited or cannot be read.
    """
    try:
        require_process(pid)
        return cmdline_text(_read_raw(pid))
    except KernlabError:
        return ""
