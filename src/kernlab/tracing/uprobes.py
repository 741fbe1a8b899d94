"""User-space probe events (uprobes and return probes) defined through tracefs ``uprobe_events``.

A probe event is global: ``p:GROUP/EVENT PATH:OFFSET`` (entry) or ``r:GROUP/EVENT PATH:OFFSET``
(return probe, fired when the function returns) written to ``uprobe_events`` makes the kernel
plant a breakpoint at that file offset in every process that maps the file, and adds an event
``events/GROUP/EVENT`` to the top level and to every instance. Nothing is traced until the event
is enabled somewhere; kernlab enables it only in its recording's private instance, where the
instance's pid filter applies to it as to any event.

kernlab's groups are named ``kernlab_<pid>_<starttime>_<purpose><n>`` after the process that owns
them, as its instances are, so a later run (:func:`kernlab.tracing.instance.clean_stale`) removes
the probes of a run that died (SIGKILL) — entry and return probes alike, since it reads every
line of ``uprobe_events`` whatever its kind.

Definitions and removals are written many lines per ``write(2)`` (the kernel parses a buffer line
by line): 2,000 probes are defined in ~15 ms and removed in ~5 ms. Taking probes down once they
were enabled costs per EVENT, not per probe: disabling an event unregisters all its probes and
then waits for one RCU tasks-trace grace period (``uprobe_unregister_sync()``, ~40 ms here), and
removing it waits again — 280 events of one probe each took 12 s to disable and 9 s to remove, 14
events holding the same 280 probes 0.6 s and 0.3 s. Since Linux 5.7 a definition naming an
existing event, of the same kind and with the same fetch arguments, adds its probe to that event
(:meth:`UprobeGroup.can_append` tries it); every record carries its probe's address
(``__probe_ip``; ``__probe_func`` of a return probe, beside the ``__probe_ret_ip`` it returns to).
"""

from __future__ import annotations

import errno
import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import NotSupported, PermissionNeeded, TracingError
from kernlab.tracing.instance import owner_tag
from kernlab.tracing.tracefs import read_text

__all__ = ["ProbeSpec", "UprobeGroup", "defined_lines", "group_name"]

_WRITE_BYTES = 4000
"""Lines are batched up to this many bytes per write (the kernel's parse buffer is 4096)."""

_counter = itertools.count()


@dataclass(frozen=True)
class ProbeSpec:
    """One probe event to define: where it goes and whether it fires at entry or at return."""

    event: str
    """The event's name within the group (letters, digits, ``_``)."""
    path: str
    """The file (an ELF object) the offset is in."""
    offset: int
    """File offset of the probed instruction (not a virtual address)."""
    is_return: bool = False
    fetch: str = ""
    """Fetch arguments, ``name=FETCHARG:TYPE`` separated by spaces (``caller=+0($stack):u64
    a0=+0(%di):ustring``; ``ret=$retval:s64`` on a return probe): each becomes a field of the event."""

    def definition(self, group: str) -> str:
        kind = "r" if self.is_return else "p"
        line = f"{kind}:{group}/{self.event} {self.path}:0x{self.offset:x}"
        return f"{line} {self.fetch}" if self.fetch else line


def group_name(purpose: str = "fn") -> str:
    """A new group named after this process: ``kernlab_<pid>_<starttime>_<purpose><n>``."""
    pid, start = owner_tag()
    return f"kernlab_{pid}_{start}_{purpose}{next(_counter)}"


def defined_lines(root: Path) -> list[str]:
    """The lines of ``uprobe_events`` now (every probe defined on this machine)."""
    path = root / "uprobe_events"
    if not path.exists():
        return []
    return [line for line in read_text(path).splitlines() if line.strip()]


def _batches(lines: list[str]) -> list[str]:
    out: list[str] = []
    buf = ""
    for line in lines:
        if buf and len(buf) + len(line) + 1 > _WRITE_BYTES:
            out.append(buf)
            buf = ""
        buf += line + "\n"
    if buf:
        out.append(buf)
    return out


class UprobeGroup:
    """The probe events of one group, defined by this process; :meth:`remove` on every way out."""

    def __init__(self, root: Path, group: str | None = None) -> None:
        self.root = root
        self.group = group or group_name()
        self.events: list[str] = []
        """Events defined so far (removed by :meth:`remove`)."""
        self._known: set[str] = set()

    @property
    def control(self) -> Path:
        return self.root / "uprobe_events"

    def _open(self) -> int:
        if not self.control.exists():
            raise NotSupported(
                f"{self.control} does not exist: this kernel has no uprobe events (CONFIG_UPROBE_EVENTS)",
                key="errors.tracing.no_uprobes",
                fields={"path": str(self.control)},
            )
        try:
            return os.open(self.control, os.O_WRONLY | os.O_APPEND)
        except PermissionError as exc:
            raise PermissionNeeded(
                f"cannot open {self.control}: run as root",
                path=self.control,
                key="errors.tracing.open_needs_root",
                fields={"path": str(self.control)},
            ) from exc
        except OSError as exc:
            raise TracingError(
                f"cannot open {self.control}: {exc.strerror}",
                path=self.control,
                key="errors.tracing.cannot_open",
                fields={"path": str(self.control), "reason": exc.strerror},
            ) from exc

    def define(self, probes: list[ProbeSpec]) -> None:
        """Define ``probes``; on a refusal, name the first line the kernel refused (and why)."""
        fd = self._open()
        try:
            lines = [p.definition(self.group) for p in probes]
            done = 0
            for batch in _batches(lines):
                count = batch.count("\n")
                try:
                    os.write(fd, batch.encode())
                except OSError as exc:
                    # The kernel stops at the bad line; the ones before it were defined.
                    self._note_defined(probes[done : done + count])
                    raise self._refusal(fd, probes[done : done + count], exc) from exc
                self._note(p.event for p in probes[done : done + count])
                done += count
        finally:
            os.close(fd)

    def _note(self, events: Iterable[str]) -> None:
        """Remember events once (a second probe added to an event is removed with it)."""
        for event in events:
            if event not in self._known:
                self._known.add(event)
                self.events.append(event)

    def can_append(self, path: str, offset: int, other: int) -> bool:
        """Whether this kernel adds a second probe to an existing event (Linux 5.7+: one event,
        many places), tried with two probes at ``offset`` and ``other`` of ``path``."""
        event = f"multi{next(_counter)}"
        trial = [ProbeSpec(event, path, offset), ProbeSpec(event, path, other)]
        fd = self._open()
        try:
            os.write(fd, (trial[0].definition(self.group) + "\n").encode())
            try:
                os.write(fd, (trial[1].definition(self.group) + "\n").encode())
                return True
            except OSError:
                return False
            finally:
                os.write(fd, f"-:{self.group}/{event}\n".encode())
        except OSError as exc:
            raise TracingError(
                f"cannot define a probe on {path} in {self.control}: {exc.strerror}",
                path=self.control,
                key="errors.tracing.cannot_define_probe",
                fields={"path": str(path), "control": str(self.control), "reason": exc.strerror},
            ) from exc
        finally:
            os.close(fd)

    def _note_defined(self, probes: list[ProbeSpec]) -> None:
        """After a failed batch: which of its probes exist (so :meth:`remove` removes them)."""
        present = {
            line.split(maxsplit=1)[0].partition(":")[2] for line in defined_lines(self.root) if line.strip()
        }
        self._note(p.event for p in probes if f"{self.group}/{p.event}" in present)

    def _refusal(self, fd: int, probes: list[ProbeSpec], exc: OSError) -> TracingError:
        known = set(self.events)
        for probe in probes:
            if probe.event in known:
                continue
            line = probe.definition(self.group)
            try:
                os.write(fd, (line + "\n").encode())
                self._note([probe.event])
            except OSError as one:
                return TracingError(
                    f"the kernel refused the probe `{line}` in {self.control}: {one.strerror}",
                    path=self.control,
                    key="errors.tracing.probe_refused",
                    fields={"line": line, "control": str(self.control), "reason": one.strerror},
                )
        return TracingError(
            f"cannot define probes in {self.control}: {exc.strerror}",
            path=self.control,
            key="errors.tracing.cannot_define_probes",
            fields={"control": str(self.control), "reason": exc.strerror},
        )

    def event_dir(self, event: str) -> Path:
        return self.root / "events" / self.group / event

    def format_text(self, event: str) -> str:
        """The ``format`` file of one of the group's events."""
        return read_text(self.event_dir(event) / "format")

    def remove(self) -> list[str]:
        """Remove every event of the group; the failures (empty when all went)."""
        if not self.events:
            return []
        failures: list[str] = []
        try:
            fd = self._open()
        except (NotSupported, PermissionNeeded, TracingError) as exc:
            return [str(exc)]
        try:
            lines = [f"-:{self.group}/{e}" for e in self.events]
            for batch in _batches(lines):
                try:
                    os.write(fd, batch.encode())
                except OSError:
                    # One by one: a probe already gone (ENOENT) is fine, a busy one is a failure.
                    for line in batch.splitlines():
                        try:
                            os.write(fd, (line + "\n").encode())
                        except OSError as exc:
                            if exc.errno != errno.ENOENT:
                                failures.append(f"cannot remove probe {line[2:]}: {exc.strerror}")
        finally:
            os.close(fd)
        if not failures:
            self.events = []
            self._known = set()
        return failures
