"""The errors a user can cause, each with its own exit code.

Every reader raises one of these (never a bare OSError or a parser's exception) so the CLI
can print one line and exit with a code that says what kind of problem it was.

Exit codes (also in docs/CLI.md):
    0  success
    1  OSFailure and any KernlabError not covered below (I/O errors, internal limits)
    2  usage error (bad option or argument; click's own code)
    3  BadInput: a file, ELF image, address or argument that cannot be used
    4  NoSuchProcess: the PID does not exist or exited while being read
    5  PermissionNeeded: root or a capability is required
    6  NotSupported: the kernel or machine lacks a feature (option, file, tracer)
    7  TracingError: tracefs refused or failed during a recording
    8  an empty answer (ksrc queries that found nothing)
    9  DiskFull: the disk filled up during a recording or an export
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = [
    "BadInput",
    "DiskFull",
    "KernlabError",
    "NoSuchProcess",
    "NotSupported",
    "OSFailure",
    "PermissionNeeded",
    "TracingError",
]


class KernlabError(Exception):
    """Base of every error kernlab reports to a user.

    Besides its one-line message an error carries what a program needs to act on it: the
    ``path`` or ``pid`` it is about and the OS ``errno`` (from the OSError it was raised from,
    when it was: raise these ``from exc`` so the cause and its errno are kept).

    ``key`` and ``fields`` name the same message as a catalog sentence (``"errors.no_such_file"``
    filled with ``{"path": …}``), so the CLI can say it in the language asked for; ``str(error)``
    stays the English text, the one logs and tests see. An error raised without a key is said in
    English in every language. A field whose name ends in ``_key`` holds a catalog key itself
    (``what_key="errors.what.elf_file"``), said in the same language and given to the sentence
    without the suffix (``{what}``). This module is below the catalog: it only carries the key.
    """

    exit_code = 1

    def __init__(
        self,
        message: str = "",
        *,
        path: str | os.PathLike[str] | None = None,
        pid: int | None = None,
        errno: int | None = None,
        key: str | None = None,
        fields: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.fields: dict[str, object] = dict(fields or {})
        # A message's own path or pid field is what the error is about, when not said apart.
        if path is None and isinstance(self.fields.get("path"), (str, os.PathLike)):
            path = self.fields["path"]  # type: ignore[assignment]
        if pid is None and type(self.fields.get("pid")) is int and self.fields["pid"] > 0:  # type: ignore[operator]
            pid = self.fields["pid"]  # type: ignore[assignment]
        self.path: str | None = os.fspath(path) if path is not None else None
        self.pid: int | None = pid
        self._errno = errno
        self.key: str | None = key

    @property
    def errno(self) -> int | None:
        """The OS error number behind this error, if an OSError caused it."""
        if self._errno is not None:
            return self._errno
        cause = self.__cause__
        while cause is not None:
            if isinstance(cause, OSError) and cause.errno is not None:
                return cause.errno
            cause = cause.__cause__
        return None


class OSFailure(KernlabError):
    """The system failed an operation kernlab needed (an I/O error, no memory, a worker died).

    Not the user's input and not a missing feature: exit code 1, with the path and errno.
    """


class DiskFull(KernlabError):
    """The disk filled up during a recording or an export: tracing stopped, what fit is kept."""

    exit_code = 9


class BadInput(KernlabError):
    """A file, ELF image, address or argument that cannot be used as given."""

    exit_code = 3


class NoSuchProcess(KernlabError):
    """The process does not exist, or exited while it was being read."""

    exit_code = 4

    def __init__(
        self,
        pid: int,
        detail: str = "",
        *,
        key: str | None = None,
        fields: Mapping[str, object] | None = None,
    ) -> None:
        msg = f"no process with PID {pid}"
        if detail:
            msg += f" ({detail})"
        # Without a detail the sentence is the catalog's; a detail given as English text only
        # has no key of its own, so the whole line stays English rather than lose the detail.
        if key is None and not detail:
            key = "errors.no_such_process"
        super().__init__(msg, pid=pid, key=key, fields={"pid": pid, **(fields or {})})
        self.pid: int = pid


class PermissionNeeded(KernlabError):
    """The operation needs root or a capability; the message says which."""

    exit_code = 5


class NotSupported(KernlabError):
    """The kernel or machine lacks a feature; the message names the option or file."""

    exit_code = 6


class TracingError(KernlabError):
    """tracefs refused or failed while setting up, running or tearing down a recording."""

    exit_code = 7
