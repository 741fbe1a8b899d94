"""Copy the kernel's description tables into a recording, in the background.

A report must never read the machine it runs on: everything the decoder needs is copied here —
the ``format`` of every enabled event (and of ftrace's own records), the text symbols of
``/proc/kallsyms`` (to name kernel addresses), every ``events/syscalls/sys_{enter,exit}_*/format``
(argument names and C types for ``kernlab syscalls``), ``printk_formats`` (for trace.dat) and
the kernel config facts of meta.json. The same process deletes the previous recording that was
in the directory. Together this takes 0.3–0.6 s (kallsyms alone is ~5 MB of kernel-generated
text), so it runs while the instance is set up and the command runs, instead of before the
command starts or after it ends. Event ids are global, so the formats under the top tracefs
``events`` directory are those of any instance.

The copier is a forked process, not a thread: a thread busy filtering 5 MB would hold the GIL
and make every one of the recorder's many small tracefs writes wait up to the interpreter's
switch interval (5 ms) to get it back — a measured 0.15–0.6 s longer set-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kernlab.errors import KernlabError
from kernlab.recording import layout
from kernlab.recording.snapshot import save_kernel_text_symbols

CONFIG_FACTS = (
    "CONFIG_PGTABLE_LEVELS",
    "CONFIG_HZ",
    "CONFIG_PREEMPT",
    "CONFIG_PREEMPT_DYNAMIC",
    "CONFIG_TRANSPARENT_HUGEPAGE",
    "CONFIG_X86_5LEVEL",
    "CONFIG_ARM64_VA_BITS",
    "CONFIG_ARM64_PAGE_SHIFT",
    "CONFIG_RANDOMIZE_BASE",
)


@dataclass
class TablesCopied:
    """What the copier saved (0 / False when the source was unreadable)."""

    event_formats: int = 0
    """Formats of the enabled events saved (ftrace's own are not counted)."""
    kallsyms_symbols: int = 0
    syscall_formats: int = 0
    printk_formats: bool = False
    config: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def copy_event_formats(events_dir: Path, directory: Path, events: list[str]) -> int:
    """Copy the format of each ``system:event`` and of every ftrace record type; return how many
    of ``events`` were copied (one that cannot be read is left out)."""
    copied = 0
    names = [(tuple(e.split(":", 1)), True) for e in events]
    with contextlib.suppress(OSError):
        # ftrace's own records (kernel_stack, print, ...) can appear in any buffer.
        names += [(("ftrace", p.name), False) for p in sorted((events_dir / "ftrace").iterdir())]
    for (system, event), counted in names:
        try:
            text = (events_dir / system / event / "format").read_bytes()
        except OSError:
            continue
        target = layout.format_path(directory, system, event)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)
        copied += counted
    return copied


def config_facts() -> dict[str, str]:
    """The CONFIG_FACTS the running kernel's config sets (empty without /proc/config.gz)."""
    try:
        from kernlab.kernel.config import read_kernel_config

        config = read_kernel_config()
    except (KernlabError, OSError):
        return {}
    return {key: config[key] for key in CONFIG_FACTS if key in config}


def copy_syscall_formats(events_dir: Path, target: Path) -> int:
    """Concatenate every ``syscalls/sys_*/format`` under ``events_dir`` into ``target``.

    One file instead of 700 directories keeps the copy cheap; each format file starts with its
    ``name:`` line, which is how a reader splits them again. Returns how many were copied.
    """
    base = events_dir / "syscalls"
    try:
        names = sorted(p.name for p in base.iterdir() if p.name.startswith("sys_"))
    except OSError:
        return 0
    texts = []
    for name in names:
        with contextlib.suppress(OSError):
            texts.append((base / name / "format").read_bytes())
    if texts:
        target.write_bytes(b"".join(t if t.endswith(b"\n") else t + b"\n" for t in texts))
    return len(texts)


class TablesCopier:
    """Runs the copies in a forked child; :meth:`join` waits and returns what was saved."""

    def __init__(
        self, tracefs: Path, directory: Path, events: list[str], old_recording: Path | None = None
    ) -> None:
        self.tracefs = tracefs
        self.events_dir = tracefs / "events"
        self.directory = directory
        self.events = events
        self.old_recording = old_recording
        self.result = TablesCopied()
        self._pid = 0
        self._result_fd = -1

    @property
    def pid(self) -> int:
        """The copier's process id (0 before :meth:`start`)."""
        return self._pid

    def start(self, close_fds: tuple[int, ...] = (), guard: tuple[int, Path] | None = None) -> TablesCopier:
        """Fork the copier. ``close_fds`` are closed in it (a pipe whose end-of-file another
        child waits for must not stay open in the copier).

        ``guard`` is (pid, FIFO) of a command held before its execve in open() of that FIFO:
        if kernlab dies (SIGKILL) before releasing it, nothing would ever open the other end,
        so the copier, once done, waits for the FIFO to go (the release removes it) and kills
        the held command if kernlab is gone first.
        """
        read_end, write_end = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the copier: copy, report through the pipe, never return into kernlab
            try:
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_IGN)  # kernlab decides when the recording ends
                with contextlib.suppress(OSError):
                    os.nice(10)  # background work: the traced command gets the CPU first
                os.close(read_end)
                for fd in close_fds:
                    with contextlib.suppress(OSError):
                        os.close(fd)
                result = json.dumps(asdict(self.copy())).encode()
                with contextlib.suppress(OSError):  # EPIPE when kernlab died meanwhile
                    os.write(write_end, result)
                if guard is not None:
                    _guard_held_command(parent, *guard)
            finally:
                os._exit(0)
        os.close(write_end)
        self._pid, self._result_fd = pid, read_end
        return self

    def copy(self) -> TablesCopied:
        """Copy the tables now, in this process."""
        out = TablesCopied()
        try:
            out.event_formats = copy_event_formats(self.events_dir, self.directory, self.events)
            out.config = config_facts()
            out.syscall_formats = copy_syscall_formats(
                self.events_dir, self.directory / layout.SYSCALL_FORMATS
            )
            with contextlib.suppress(OSError):
                data = (self.tracefs / "printk_formats").read_bytes()
                (self.directory / layout.PRINTK_FORMATS).write_bytes(data)
                out.printk_formats = True
            out.kallsyms_symbols = save_kernel_text_symbols(self.directory / layout.KALLSYMS)
        except OSError as exc:  # e.g. the recording's disk is full
            out.errors.append(f"{exc.filename or ''} {exc.strerror or exc}".strip())
        if self.old_recording is not None:
            shutil.rmtree(self.old_recording, ignore_errors=True)
        return out

    def join(self) -> TablesCopied:
        """Wait for the copier (at once when it never started) and return its result."""
        if self._result_fd < 0:
            if self._pid == 0 and self.old_recording is not None:  # never started
                shutil.rmtree(self.old_recording, ignore_errors=True)
            return self.result
        chunks = []
        while chunk := os.read(self._result_fd, 1 << 16):
            chunks.append(chunk)
        os.close(self._result_fd)
        self._result_fd = -1
        # The recorder's wait4(-1) loop may have reaped it already.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._pid, 0)
        try:
            self.result = TablesCopied(**json.loads(b"".join(chunks)))
        except (ValueError, TypeError):
            self.result = TablesCopied(errors=["the copier of kallsyms and formats died"])
        return self.result


def _guard_held_command(parent: int, held: int, fifo: Path) -> None:
    """Until ``fifo`` is removed (the command released), kill ``held`` if ``parent`` died."""
    while fifo.exists():
        if os.getppid() != parent:  # re-parented: kernlab is gone
            with contextlib.suppress(OSError):
                os.kill(held, signal.SIGKILL)
            with contextlib.suppress(OSError):
                fifo.unlink()
            return
        time.sleep(0.01)
