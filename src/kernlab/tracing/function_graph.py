"""The function_graph tracer, fenced in, for ``record -K DEPTH``: where it may run, and running it.

Where: in the recording's own instance when the kernel offers the tracer and its filters there
(``set_ftrace_pid``, ``set_graph_function``, ``max_graph_depth``); otherwise at the top level,
only when nobody else uses it (tracer ``nop``, no one's filters, tracing on) — Debian's 6.1 offers
function_graph at the top level only. Both are found by trying (:func:`find_place`), each time
with the fences written first.

The fences, always written *before* the tracer is switched on (function_graph with no filter on
6.1 hung a 2-CPU guest for ten minutes): ``set_ftrace_pid`` (the traced tasks) with
``options/function-fork`` (their children), ``options/funcgraph-irqs`` off (an interrupt taken
while a traced task runs is the interrupt's work, not the call's), ``max_graph_depth`` and
``set_graph_function`` on the system calls' own functions (``__x64_sys_*`` and the like) and
``handle_mm_fault`` (page faults). So each graph starts at a system call's function or a fault's,
at depth 0, and ``max_graph_depth`` = DEPTH keeps DEPTH functions of it.

At the top level every file is changed through :func:`kernlab.tracing.toplevel.top_level_changes`:
the values replaced are journaled in the kernel and written back on every exit, and by the next
run after a SIGKILL.
"""

from __future__ import annotations

import contextlib
import errno
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import KernlabError, TracingError
from kernlab.tracing.instance import Instance
from kernlab.tracing.toplevel import TopLevelBusy, read_setting, top_level_changes
from kernlab.tracing.tracefs import try_write

__all__ = [
    "FAULT_FUNCTION",
    "TRACER",
    "GraphPlace",
    "GraphTracer",
    "find_place",
    "graph_functions",
]

TRACER = "function_graph"
FAULT_FUNCTION = "handle_mm_fault"
"""Where a page fault's own work starts in every architecture's fault handler (traceable: the
arch entry, ``exc_page_fault`` on x86, is ``noinstr``)."""

# The system calls' own functions, per architecture (include/linux/syscalls.h and the arch's
# syscall wrapper.h); the first prefix found names the syscalls of this kernel.
_SYSCALL_PREFIXES = {
    "x86_64": ("__x64_sys_",),
    "aarch64": ("__arm64_sys_",),
    "riscv64": ("__riscv_sys_",),
    "s390x": ("__s390x_sys_",),
}
_GENERIC_PREFIXES = ("__se_sys_", "sys_")

# Files that must exist where the tracer runs: the fences.
_FENCES = ("set_ftrace_pid", "set_graph_function", "max_graph_depth")

# Why function_graph was not used, or where it was (GraphPlace.why).
IN_INSTANCE = "instance"
TOP_LEVEL = "top_level"
"""Refused (or not offered) in instances; used at the top level."""
NOT_OFFERED = "not_offered"
REFUSED = "refused"
BUSY = "busy"
SYSTEM_WIDE = "system_wide"
NO_FILTER = "no_filter"
"""The fence cannot be set: the functions to filter on cannot be read or found."""


@dataclass(frozen=True)
class GraphPlace:
    """Where function_graph runs for this recording, or why it does not."""

    where: str
    """``instance``, ``top_level``, or "" when it is not used."""
    why: str
    """One of the codes above (``instance``, ``top_level``, ``not_offered``, ``refused``, ``busy``,
    ``system_wide``, ``no_filter``)."""
    errno_name: str = ""
    """The errno the kernel answered the try with (``EPERM``), "" when none."""
    detail: str = ""
    """What was tried, in words for the recording's notes."""
    functions: tuple[str, ...] = ()
    """``set_graph_function`` patterns (system calls' own functions, the fault handler)."""


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, "EIO")


def graph_functions(root: Path, machine: str | None = None) -> tuple[str, ...]:
    """``set_graph_function`` patterns for every system call and page fault of this kernel.

    Raises the OSError of ``available_filter_functions`` (a locked-down kernel answers EPERM).
    """
    machine = machine or os.uname().machine
    prefixes = _SYSCALL_PREFIXES.get(machine, ()) + _GENERIC_PREFIXES
    found: set[str] = set()
    fault = False
    with open(root / "available_filter_functions", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            name = line.split(maxsplit=1)[0] if line.strip() else ""
            if name == FAULT_FUNCTION:
                fault = True
            for prefix in prefixes:
                if name.startswith(prefix):
                    found.add(prefix)
    chosen = next((p for p in prefixes if p in found), None)
    if chosen is None:
        return ()
    return (f"{chosen}*",) + ((FAULT_FUNCTION,) if fault else ())


def _fences(pids: list[int], depth: int, functions: tuple[str, ...]) -> list[tuple[str, str]]:
    """(file, value) in the order written: every filter before the tracer."""
    return [
        ("set_ftrace_pid", " ".join(str(p) for p in pids)),
        ("options/function-fork", "1"),
        ("options/funcgraph-irqs", "0"),
        ("max_graph_depth", str(depth)),
        ("set_graph_function", " ".join(functions)),
    ]


def _probe_fences(functions: tuple[str, ...]) -> list[tuple[str, str]]:
    """The fences of a try: this process, depth 1, and only the graph functions patched
    (``set_ftrace_filter``): patching every function of the kernel twice just to try takes
    minutes under an emulated CPU."""
    return [*_fences([os.getpid()], 1, functions[:1]), ("set_ftrace_filter", functions[0])]


def _write_all(base: Path, changes: list[tuple[str, str]]) -> OSError | None:
    for name, value in changes:
        if not (base / name).exists() and name.startswith("options/"):
            continue  # an older kernel without the option: the other fences still hold
        err = try_write(base / name, value)
        if err is not None:
            err.filename = name
            return err
    return None


def _try_in_instance(root: Path, functions: tuple[str, ...]) -> OSError | str | None:
    """Fenced try of the tracer in a throw-away instance: None when it works; why not otherwise."""
    probe = Instance.create(root, purpose="probe")
    try:
        if TRACER not in probe.read("available_tracers").split():
            return "not offered in a private instance"
        missing = [f for f in _FENCES if not probe.file(f).exists()]
        if missing:
            return f"no {', '.join(missing)} in a private instance"
        err = _write_all(probe.path, _probe_fences(functions))
        if err is None:
            err = try_write(probe.file("current_tracer"), TRACER)
            try_write(probe.file("current_tracer"), "nop")
        return err
    finally:
        probe.remove()


def _try_top_level(root: Path, functions: tuple[str, ...]) -> OSError | None:
    """Fenced try at the top level, restored (journaled) at once: None when it works."""
    changes = [(n, v) for n, v in _probe_fences(functions) if (root / n).exists()]
    with top_level_changes(root, changes):
        err = try_write(root / "current_tracer", TRACER)
        try_write(root / "current_tracer", "nop")
    return err


def find_place(root: Path, *, system_wide: bool = False) -> GraphPlace:
    """Where function_graph can trace the recording's tasks on this kernel, found by trying."""
    if system_wide:
        return GraphPlace("", SYSTEM_WIDE, detail="a system-wide recording has no pid to fence it in")
    try:
        functions = graph_functions(root)
    except OSError as exc:
        offered = TRACER in read_setting(root, "available_tracers").split()
        return GraphPlace(
            "",
            NO_FILTER,
            _errno_name(exc),
            f"available_filter_functions: {exc.strerror}"
            + ("" if offered else f"; {TRACER} is not in available_tracers"),
        )
    if not functions:
        return GraphPlace("", NO_FILTER, detail="no system call function to filter on was found")
    try:
        inside = _try_in_instance(root, functions)
    except KernlabError as exc:
        inside = str(exc)
    if inside is None:
        return GraphPlace(IN_INSTANCE, IN_INSTANCE, functions=functions)
    said = f"{inside.strerror} ({_errno_name(inside)})" if isinstance(inside, OSError) else inside
    inside_errno = _errno_name(inside) if isinstance(inside, OSError) else ""
    if TRACER not in read_setting(root, "available_tracers").split():
        detail = f"in an instance: {said}; not offered at the top level"
        return GraphPlace("", NOT_OFFERED, inside_errno, detail)
    try:
        if read_setting(root, "tracing_on") != "1":
            raise TopLevelBusy("top-level tracing is off", key="errors.tracing.top_level_off")
        top = _try_top_level(root, functions)
    except OSError as exc:  # a setting the kernel refuses to show
        top = exc
    except TopLevelBusy as exc:
        return GraphPlace("", BUSY, "", f"in an instance: {said}; at the top level: {exc}")
    except KernlabError as exc:
        return GraphPlace("", REFUSED, "", f"in an instance: {said}; at the top level: {exc}")
    if top is not None:
        return GraphPlace(
            "", REFUSED, _errno_name(top), f"in an instance: {said}; at the top level: {top.strerror}"
        )
    return GraphPlace(TOP_LEVEL, TOP_LEVEL, inside_errno, f"in an instance: {said}", functions)


class GraphTracer:
    """function_graph on the traced tasks, at the place :func:`find_place` found."""

    def __init__(self, root: Path, place: GraphPlace, depth: int) -> None:
        self.root = root
        self.place = place
        self.depth = depth
        self._stack = ExitStack()
        self._instance: Instance | None = None

    @property
    def buffer_root(self) -> Path:
        """The tracefs directory whose buffer receives the graph's records."""
        return self.root if self.place.where == TOP_LEVEL else self._instance_path()

    def _instance_path(self) -> Path:
        assert self._instance is not None
        return self._instance.path

    def start(self, instance: Instance, pids: list[int], clock: str, buffer_kb: int) -> None:
        """Write the fences, then switch the tracer on (in ``instance``, or at the top level with
        the same trace ``clock`` as the instance, so their time stamps compare, and at least
        ``buffer_kb`` per CPU: on 6.1 sizing any instance's buffer marks the kernel's buffers
        "expanded", so the top level's stays at its boot size of a few KiB and overwrites itself
        between two drains)."""
        changes = _fences(pids, self.depth, self.place.functions)
        if self.place.where == IN_INSTANCE:
            self._instance = instance
            err = _write_all(instance.path, [*changes, ("current_tracer", TRACER)])
            if err is not None:
                raise TracingError(
                    f"function_graph in the instance: {err.filename}: {err.strerror}",
                    key="errors.tracing.graph_in_instance",
                    fields={"path": str(err.filename), "reason": str(err.strerror)},
                )
            return
        changes = [(n, v) for n, v in changes if (self.root / n).exists()]
        if read_setting(self.root, "trace_clock") != clock:
            changes.insert(0, ("trace_clock", clock))
        size = read_setting(self.root, "buffer_size_kb")
        if not size.isdigit() or int(size) < buffer_kb:
            changes.insert(0, ("buffer_size_kb", str(buffer_kb)))
        self._stack.enter_context(top_level_changes(self.root, [*changes, ("current_tracer", TRACER)]))

    def stop(self) -> None:
        """Tracer off and every file as it was (the top level's from the journal)."""
        try:
            if self._instance is not None:
                with contextlib.suppress(OSError):
                    try_write(self._instance.file("current_tracer"), "nop")
        finally:
            self._stack.close()
