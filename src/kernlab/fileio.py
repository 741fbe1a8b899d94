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

# What a file should have been, as the callers word it, and the catalog key saying it in any
# language. A ``what`` not listed here keeps its error English in every language.
WHAT_KEYS: dict[str, str] = {
    "an ELF file": "errors.what.elf_file",
    "a BTF file": "errors.what.btf_file",
    "a kallsyms file": "errors.what.kallsyms_file",
    "a kernel config": "errors.what.kernel_config",
    "an ld.so cache": "errors.what.ld_cache",
    "a copy of /proc/meminfo": "errors.what.meminfo_copy",
}


def _about(key: str, path: str, what: str) -> tuple[str | None, dict[str, object]]:
    """The catalog key and fields of a sentence about ``path`` that names ``what`` it should be."""
    what_key = WHAT_KEYS.get(what)
    if what_key is None:
        return None, {}
    return key, {"path": path, "what_key": what_key}


def file_error(
    exc: OSError,
    path: str,
    what: str,
    missing: Callable[[str], KernlabError] | None = None,
) -> KernlabError:
    """The error to raise for ``exc`` on ``path``, which should have been ``what`` ("an ELF file")."""
    error: KernlabError
    if isinstance(exc, FileNotFoundError):
        error = (
            missing(path)
            if missing is not None
            else BadInput(
                f"{path}: no such file", path=path, key="errors.no_such_file", fields={"path": path}
            )
        )
    elif isinstance(exc, PermissionError):
        error = PermissionNeeded(
            f"{path}: permission denied (cannot open it for reading)",
            path=path,
            key="errors.permission_denied",
            fields={"path": path},
        )
    elif isinstance(exc, IsADirectoryError):
        key, fields = _about("errors.is_directory", path, what)
        error = BadInput(f"{path}: is a directory, not {what}", path=path, key=key, fields=fields)
    else:
        # The OS's own words for the failure ("Input/output error"), as strerror(3) gives them.
        reason = exc.strerror or str(exc)
        error = BadInput(
            f"{path}: cannot read: {reason}",
            path=path,
            key="errors.cannot_read",
            fields={"path": path, "reason": reason},
        )
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
        key, fields = _about("errors.is_directory", path, what)
        raise BadInput(f"{path}: is a directory, not {what}", path=path, key=key, fields=fields)
    if not stat.S_ISREG(st.st_mode):
        key, fields = _about("errors.not_regular", path, what)
        raise BadInput(
            f"{path}: is not a regular file (a FIFO, socket or device), so not {what}",
            path=path,
            key=key,
            fields=fields,
        )
    return st
