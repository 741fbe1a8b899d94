"""The errors a user can cause, each with its own exit code.

Every reader raises one of these (never a bare OSError or a parser's exception) so the CLI
can print one line and exit with a code that says what kind of problem it was.

Exit codes (also in docs/CLI.md):
    0  success
    1  KernlabError not covered below (internal limits, unexpected state)
    2  usage error (bad option or argument; click's own code)
    3  BadInput: a file, ELF image, address or argument that cannot be used
    4  NoSuchProcess: the PID does not exist or exited while being read
    5  PermissionNeeded: root or a capability is required
    6  NotSupported: the kernel or machine lacks a feature (option, file, tracer)
    7  TracingError: tracefs refused or failed during a recording
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations


class KernlabError(Exception):
    """Base of every error kernlab reports to a user."""

    exit_code = 1


class BadInput(KernlabError):
    """A file, ELF image, address or argument that cannot be used as given."""

    exit_code = 3


class NoSuchProcess(KernlabError):
    """The process does not exist, or exited while it was being read."""

    exit_code = 4

    def __init__(self, pid: int, detail: str = "") -> None:
        self.pid = pid
        msg = f"no process with PID {pid}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


class PermissionNeeded(KernlabError):
    """The operation needs root or a capability; the message says which."""

    exit_code = 5


class NotSupported(KernlabError):
    """The kernel or machine lacks a feature; the message names the option or file."""

    exit_code = 6


class TracingError(KernlabError):
    """tracefs refused or failed while setting up, running or tearing down a recording."""

    exit_code = 7
