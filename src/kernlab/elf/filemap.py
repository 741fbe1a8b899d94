"""The bytes of a file to read as ELF: an mmap of a regular file, refusing anything that could
block (a FIFO, a device) or is empty, with every OS error turned into BadInput/PermissionNeeded."""

from __future__ import annotations

import mmap
import os
import stat

from kernlab.errors import BadInput
from kernlab.fileio import file_error


def map_file(path: str) -> tuple[mmap.mmap | bytes, int]:
    """The bytes of a regular file (an mmap) and its size."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise file_error(exc, path, "an ELF file") from exc
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise BadInput(
                f"{path}: is a directory, not an ELF file",
                path=path,
                key="errors.is_directory",
                fields={"path": path, "what_key": "errors.what.elf_file"},
            )
        if not stat.S_ISREG(st.st_mode):
            kind = file_kind(st.st_mode)
            raise BadInput(
                f"{path}: is a {kind}, not a regular file; kernlab reads only regular files",
                path=path,
                key="errors.elf.not_regular",
                fields={"path": path, "kind_key": _kind_key(kind)},
            )
        if st.st_size == 0:
            raise BadInput(
                f"{path}: is empty (0 bytes), not an ELF file",
                path=path,
                key="errors.empty_file",
                fields={"path": path},
            )
        try:
            return mmap.mmap(fd, 0, access=mmap.ACCESS_READ), st.st_size
        except (OSError, ValueError):
            pass  # some filesystems cannot be mapped: read the file instead
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data:
            raise BadInput(
                f"{path}: is empty (0 bytes), not an ELF file",
                path=path,
                key="errors.empty_file",
                fields={"path": path},
            )
        return data, len(data)
    except OSError as exc:
        raise file_error(exc, path, "an ELF file") from exc
    finally:
        os.close(fd)


def _kind_key(kind: str) -> str:
    """The catalog key of a :func:`file_kind` word: "character device" → …character_device."""
    return "errors.file_kind." + kind.split(" (")[0].lower().replace(" ", "_")


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    kinds = (
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    )
    for test, name in kinds:
        if test(mode):
            return name
    return "special file"
