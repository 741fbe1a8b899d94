"""Moving ring-buffer pages from tracefs into the recording while the command runs.

Each CPU's ``per_cpu/cpu<N>/trace_pipe_raw`` is drained into ``cpus/cpu<N>.raw`` by one
background thread, without parsing. Full pages move with splice(2) — trace_pipe_raw → pipe →
file, as trace-cmd's recorder does — so their bytes never enter this process; what is left at
the end (the page the kernel was still filling) is read with read(2), which also returns
partial pages. Where splice is refused the thread reads every page instead.

The fds are non-blocking: a pass moves whatever is ready on every CPU, then the thread sleeps for
``interval`` seconds, so it costs the traced command almost nothing on another core.

At the end, :func:`read_loss` pairs the bytes drained per CPU with the instance's own counters
of what the ring buffer overwrote or dropped.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
from pathlib import Path

from kernlab.errors import KernlabError, TracingError
from kernlab.recording import layout
from kernlab.recording.layout import CpuLoss
from kernlab.tracing.instance import Instance, parse_cpu_stats

PIPE_BYTES = 1 << 20
SPLICE_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)


class Drainer:
    """Copies each CPU's trace_pipe_raw pages to cpus/cpu<N>.raw from one background thread."""

    def __init__(
        self, instance: Instance, directory: Path, page_size: int, buffer_kb: int, interval: float
    ) -> None:
        self.page_size = page_size
        self.directory = directory
        self._tracing_on = instance.file("tracing_on")  # turned off at once if the disk fills
        self.interval = interval
        # If one pass moved more than a quarter of a CPU buffer, go again at once.
        self._busy_pages = max(1, (buffer_kb * 1024 // page_size) // 4)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.fds: dict[int, int] = {}
        self.outs: dict[int, int] = {}
        self.bytes: dict[int, int] = {}
        self.spliced: dict[int, int] = {}
        """Bytes moved by splice (the rest was read)."""
        self._pipe: tuple[int, int] | None = None
        self._thread = threading.Thread(target=self._run, name="kernlab-drain", daemon=True)
        try:
            for cpu in instance.cpus():
                path = instance.file(f"per_cpu/cpu{cpu}/trace_pipe_raw")
                self.fds[cpu] = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
                self.outs[cpu] = os.open(
                    layout.cpu_raw_path(directory, cpu), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644
                )
                self.bytes[cpu] = 0
                self.spliced[cpu] = 0
        except OSError as exc:
            self.close()
            raise TracingError(
                f"cannot open the instance's trace_pipe_raw: {exc.strerror}",
                key="errors.recording.cannot_open_pipe",
                fields={"reason": exc.strerror},
            ) from exc
        self._pipe = self._make_pipe()

    @staticmethod
    def _make_pipe() -> tuple[int, int] | None:
        if not hasattr(os, "splice"):
            return None
        read_end, write_end = os.pipe()
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        return read_end, write_end

    def start(self) -> None:
        self._thread.start()

    def _splice_cpu(self, cpu: int) -> int:
        """Move this CPU's full pages with splice; return pages moved (0 when none or refused)."""
        assert self._pipe is not None
        read_end, write_end = self._pipe
        pages = 0
        while True:
            try:
                moved = os.splice(self.fds[cpu], write_end, PIPE_BYTES, flags=SPLICE_FLAGS)
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            except OSError as exc:
                if exc.errno in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
                    self._disable_splice()
                    break
                raise
            if moved <= 0:
                break
            left = moved
            while left:
                left -= os.splice(read_end, self.outs[cpu], left, flags=getattr(os, "SPLICE_F_MOVE", 1))
            self.bytes[cpu] += moved
            self.spliced[cpu] += moved
            pages += moved // self.page_size
        return pages

    def _disable_splice(self) -> None:
        if self._pipe is not None:
            for fd in self._pipe:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._pipe = None

    def _read_cpu(self, cpu: int) -> int:
        """Read this CPU's pages one by one, partial ones included; return pages moved."""
        pages = 0
        while True:
            try:
                data = os.read(self.fds[cpu], self.page_size)
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            if not data:
                break
            view = memoryview(data)
            while view:
                view = view[os.write(self.outs[cpu], view) :]
            self.bytes[cpu] += len(data)
            pages += 1
        return pages

    def drain_once(self, final: bool = False) -> int:
        """Move what is ready on every CPU; ``final`` also takes partial pages. Returns pages."""
        pages = 0
        for cpu in self.fds:
            if self._pipe is not None:
                pages += self._splice_cpu(cpu)
            if final or self._pipe is None:
                pages += self._read_cpu(cpu)
        return pages

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.drain_once() < self._busy_pages:
                    self._stop.wait(self.interval)
        except BaseException as exc:  # broad on purpose: whatever ends the thread, finish() re-raises it
            self._error = exc
            from kernlab.recording.state import stop_at_once

            stop_at_once(self.directory, self._tracing_on, exc)

    def finish(self) -> None:
        """Stop the thread and move what is left (call after tracing_on=0)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._error is None:
            self.drain_once(final=True)
        if self._error is not None:
            error, self._error = self._error, None
            raise TracingError(
                f"reading the ring buffer failed: {error}",
                key="errors.recording.ring_buffer_failed",
                fields={"reason": str(error)},
            ) from error

    def close(self) -> None:
        """Close every reader: an instance with an open trace_pipe_raw cannot be removed."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for fd in (*self.fds.values(), *self.outs.values()):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()
        self.outs.clear()
        self._disable_splice()


def read_loss(instance: Instance | None, drainer: Drainer) -> list[CpuLoss]:
    """Each CPU's loss counters from the instance's per_cpu stats (saved verbatim as well)."""
    out = []
    for cpu in sorted(drainer.bytes):
        loss = CpuLoss(cpu=cpu, bytes_raw=drainer.bytes[cpu])
        if instance is not None:
            with contextlib.suppress(KernlabError, OSError):
                text = instance.read(f"per_cpu/cpu{cpu}/stats")
                layout.cpu_stats_path(drainer.directory, cpu).write_text(text)
                stats = parse_cpu_stats(cpu, text)
                loss.entries, loss.overrun, loss.dropped = stats.entries, stats.overrun, stats.dropped
                loss.commit_overrun, loss.read = stats.commit_overrun, stats.read
        loss.__post_init__()
        out.append(loss)
    return out
