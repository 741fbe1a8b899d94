"""The function probes' own ring buffer: a second private tracefs instance with no pid filter.

``set_event_pid`` makes every event of its instance pay two more checks (measured here: ~70 ns
per probed call, a uprobe and a uretprobe, about 5% of the pair). A uprobe on the program's own
file (its functions, its PLT stubs and call sites) fires only in processes that map that file,
so its events need no such filter: they go to this instance, and the reader keeps the records
of the traced tasks (the threads there at the start and every child the main instance's
``sched_process_fork`` records name: :func:`kernlab.reports.replay.traced_tids`). Probes in
shared libraries (``--nest-libcall``, ``--lib``) fire in every process that calls them, so a
recording with any of those keeps all its probes in the main, filtered instance.

The pages are drained to ``cpus/functions/cpus/cpu<N>.raw``; what each CPU's buffer lost joins
``meta.loss`` with ``buffer`` ``functions``. The instance is named like the main one
(``kernlab-<pid>-<start>-fn<n>``), so a run killed with SIGKILL leaves it to the next run's
stale cleanup.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from kernlab.errors import KernlabError
from kernlab.recording import layout
from kernlab.recording.arming import set_up_buffers
from kernlab.recording.drain import Drainer, read_loss
from kernlab.recording.layout import CpuLoss
from kernlab.tracing.instance import Instance

__all__ = ["BUFFER_NAME", "FUNCTIONS_DIR", "ProbeBuffer", "probe_buffer_files"]

BUFFER_NAME = "functions"
FUNCTIONS_DIR = Path(layout.CPUS_DIR) / BUFFER_NAME
"""Where the probe instance's pages are drained (the drainer adds ``cpus/cpu<N>.raw``)."""


def probe_buffer_files(root: Path | str) -> list[tuple[int, Path]]:
    """(cpu, path) of each raw file of a recording's probe buffer, by CPU."""
    folder = Path(root) / FUNCTIONS_DIR / layout.CPUS_DIR
    out = []
    for path in folder.glob("cpu*.raw") if folder.is_dir() else ():
        digits = path.stem[3:]
        if digits.isdigit():
            out.append((int(digits), path))
    return sorted(out)


class ProbeBuffer:
    """The probe instance of one recording: created and sized like the main one, drained into
    the recording, stopped and removed by the session on every way out."""

    def __init__(self, root: Path, directory: Path, buffer_size_kb: int | None, clock: str) -> None:
        self.instance = Instance.create(root, purpose="fn")
        self.directory = Path(directory) / FUNCTIONS_DIR
        self._drainer: Drainer | None = None
        try:
            settings = set_up_buffers(self.instance, buffer_size_kb, clock)
            self.page_size = settings.page_size
            self.buffer_size_kb = settings.buffer_size_kb
            (self.directory / layout.CPUS_DIR).mkdir(parents=True, exist_ok=True)
        except BaseException:
            self.instance.remove()
            raise

    def start(self, interval: float) -> None:
        """Drain and turn tracing on (the probes' events are enabled in :attr:`instance` first)."""
        self._drainer = Drainer(self.instance, self.directory, self.page_size, self.buffer_size_kb, interval)
        self._drainer.start()
        self.instance.tracing_on(True)

    def stop(self) -> list[CpuLoss]:
        """Tracing off, the last pages drained; what each CPU's buffer lost."""
        with contextlib.suppress(KernlabError):
            self.instance.tracing_on(False)
        drainer, self._drainer = self._drainer, None
        if drainer is None:
            return []
        try:
            drainer.finish()
        finally:
            losses = read_loss(self.instance, drainer)
            drainer.close()
        for loss in losses:
            loss.buffer = BUFFER_NAME
        return losses

    def remove(self) -> None:
        self.instance.remove()
