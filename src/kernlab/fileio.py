"""OS errors met while opening or reading one named file, as the kernlab errors users see.

Every reader of a single file (an ELF image, ld.so.cache, kallsyms, a kernel config, BTF) meets
the same four failures; this keeps their wording and exit codes the same everywhere. Callers
handle "missing" themselves where it means something else (no cache: skip; no kallsyms: the
kernel lacks a feature), via ``missing``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from kernlab.errors import BadInput, KernlabError, PermissionNeeded


def file_error(
    exc: OSError,
    path: str,
    what: str,
    missing: Callable[[str], KernlabError] | None = None,
) -> KernlabError:
    """The error to raise for ``exc`` on ``path``, which should have been ``what`` ("an ELF file")."""
    error: KernlabError
    if isinstance(exc, FileNotFoundError):
        error = missing(path) if missing is not None else BadInput(f"{path}: no such file", path=path)
    elif isinstance(exc, PermissionError):
        error = PermissionNeeded(f"{path}: permission denied (cannot open it for reading)", path=path)
    elif isinstance(exc, IsADirectoryError):
        error = BadInput(f"{path}: is a directory, not {what}", path=path)
    else:
        error = BadInput(f"{path}: cannot read: {exc.strerror or exc}", path=path)
    # Kept on the error itself: a caller's `raise … from None` would drop the cause.
    error._errno = exc.errno
    if error.path is None:
        error.path = path
    return error


def stat_regular_file(path: str, what: str) -> os.stat_result:
    """stat() ``path`` and refuse what cannot be ``what`` ("an ELF file") before any open():
    a directory, or a FIFO, socket or device (whose open or read could block or never end)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise file_error(exc, path, what) from exc
    if stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{path}: is a directory, not {what}", path=path)
    if not stat.S_ISREG(st.st_mode):
        raise BadInput(f"{path}: is not a regular file (a FIFO, socket or device), so not {what}", path=path)
    return st
