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
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import os

__all__ = [
    "BadInput",
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
    """

    exit_code = 1

    def __init__(
        self,
        message: str = "",
        *,
        path: str | os.PathLike[str] | None = None,
        pid: int | None = None,
        errno: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path: str | None = os.fspath(path) if path is not None else None
        self.pid: int | None = pid
        self._errno = errno

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


class BadInput(KernlabError):
    """A file, ELF image, address or argument that cannot be used as given."""

    exit_code = 3


class NoSuchProcess(KernlabError):
    """The process does not exist, or exited while it was being read."""

    exit_code = 4

    def __init__(self, pid: int, detail: str = "") -> None:
        msg = f"no process with PID {pid}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg, pid=pid)
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
