"""Every file kernlab exports is written whole or not at all.

The bytes go to a temporary file in the target's own folder (so the rename cannot cross a file
system), which replaces the target only once every byte is written and synced. A full disk or
an interruption leaves the target as it was, never a half file that looks whole.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from kernlab.errors import BadInput
from kernlab.recording.state import DiskFull, is_disk_full

__all__ = ["atomic_output", "temporary_name"]

# The catalog key of each ``what`` the exporters pass, so an error says it in the user's language.
_WHAT_KEYS = {
    "the trace.dat": "errors.what.trace_dat",
    "the text": "errors.what.text_export",
    "the Chrome trace": "errors.what.chrome_trace",
    "the Perfetto trace": "errors.what.perfetto_trace",
    "the folded stacks": "errors.what.folded_stacks",
    "the HTML page": "errors.what.html_page",
}


def _what_key(what: str) -> str:
    return _WHAT_KEYS.get(what, "errors.what.output_file")


def temporary_name(target: Path) -> Path:
    """Where ``target`` is written until it is complete (hidden, beside it)."""
    return target.with_name(f".{target.name}.kernlab-{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_output(target: Path, what: str, *, binary: bool) -> Iterator[IO[Any]]:
    """A file object that becomes ``target`` when the block ends without an error.

    ``what`` names the file in errors ("the trace.dat"). BadInput for a target that cannot be
    written; DiskFull (exit 9) when the disk fills: the partial file is removed either way.
    """
    target = Path(target)
    if target.is_dir():
        raise BadInput(
            f"{target} is a directory; give a file name for {what}",
            path=target,
            key="errors.export.is_directory",
            fields={"path": str(target), "what_key": _what_key(what)},
        )
    tmp = temporary_name(target)
    try:
        fh: IO[Any] = open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise _error(target, what, exc) from exc
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _error(target, what, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _error(target: Path, what: str, exc: OSError) -> BadInput | DiskFull:
    if is_disk_full(exc):
        return DiskFull(
            f"the disk holding {target} is full: {what} was not written ({exc.strerror}); "
            "the partial file was removed",
            path=target,
            key="errors.export.disk_full",
            fields={"path": str(target), "what_key": _what_key(what), "reason": exc.strerror},
        )
    return BadInput(
        f"cannot write {target}: {exc.strerror or exc}",
        path=target,
        key="errors.export.cannot_write",
        fields={"path": str(target), "reason": exc.strerror or str(exc)},
    )
