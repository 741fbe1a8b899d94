"""A minimal private recorder for the decoder tests (the real one is `kernlab record`).

It creates its OWN tracefs instance ``kernlab-test-<pid>-<n>``, enables the asked events for one
workload (set_event_pid + event-fork), runs it, captures the non-consuming text of
``per_cpu/cpuN/trace`` first, then drains ``trace_pipe_raw`` into a directory laid out like a
recording (recording/layout.py), and always removes the instance.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import platform
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TRACEFS = Path("/sys/kernel/tracing")
_counter = itertools.count()


class _Child:
    def __init__(self, pid: int, stdin_fd: int | None) -> None:
        self.pid = pid
        self.stdin_fd = stdin_fd
        self.returncode: int | None = None

    def finish(self, data: bytes | None) -> None:
        if self.stdin_fd is not None:
            if data:
                os.write(self.stdin_fd, data)
            os.close(self.stdin_fd)
        _, status = os.waitpid(self.pid, 0)
        self.returncode = os.waitstatus_to_exitcode(status)


@dataclass
class Capture:
    root: Path
    text_by_cpu: dict[int, str] = field(default_factory=dict)
    pid: int = 0
    exit_code: int | None = None
    maps_snapshots: list[str] = field(default_factory=list)


def tracefs_or_skip() -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root to create a tracefs instance")
    if not (TRACEFS / "instances").is_dir():
        pytest.skip("tracefs is not mounted at /sys/kernel/tracing")
    return TRACEFS


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _drain(path: Path, page_size: int) -> bytes:
    chunks: list[bytes] = []
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            try:
                data = os.read(fd, page_size)
            except BlockingIOError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _copy_formats(inst: Path, root: Path, events: Sequence[str]) -> None:
    wanted = {tuple(e.split("/")) for e in events}
    systems = {s for s, _ in wanted} | {"ftrace"}
    for system in systems:
        for fmt in (inst / "events" / system).glob("*/format"):
            if system != "ftrace" and (system, fmt.parent.name) not in wanted:
                continue
            dest = root / "formats" / system / fmt.parent.name / "format"
            dest.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                dest.write_bytes(fmt.read_bytes())
    # per-syscall formats give argument names
    if any(s == "raw_syscalls" for s, _ in wanted):
        for fmt in (inst / "events" / "syscalls").glob("*/format"):
            dest = root / "formats" / "syscalls" / fmt.parent.name / "format"
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(fmt.read_bytes())


def _parse_stats(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        value = value.strip()
        if re.fullmatch(r"\d+", value):
            out[key.strip()] = int(value)
    return out


def capture(
    root: Path,
    argv: Sequence[str],
    events: Sequence[str],
    *,
    stack_events: Sequence[str] = (),
    buffer_kb: int = 4096,
    keep_text: bool = True,
    snapshot_on_stdin: bool = False,
    stdout: int | None = None,
    markers: Sequence[str] = (),
) -> Capture:
    """Trace ``argv`` with ``events`` into ``root``.

    With ``snapshot_on_stdin`` the workload is expected to block reading stdin before it exits;
    its maps are saved then (the ``exit`` snapshot) and a newline lets it finish.
    ``markers`` are written to the instance's trace_marker once tracing is on (ftrace:print).
    """
    tracefs = tracefs_or_skip()
    inst = tracefs / "instances" / f"kernlab-test-{os.getpid()}-{next(_counter)}"
    root.mkdir(parents=True, exist_ok=True)
    os.mkdir(inst)
    result = Capture(root)
    try:
        _write(inst / "tracing_on", "0")
        _write(inst / "buffer_size_kb", str(buffer_kb))
        for event in events:
            _write(inst / "events" / event / "enable", "1")
        for event in stack_events:
            _write(inst / "events" / event / "trigger", "stacktrace")
        _write(inst / "options" / "event-fork", "1")
        go_r, go_w = os.pipe()
        in_r, in_w = os.pipe() if snapshot_on_stdin else (None, None)
        out_fd = stdout if isinstance(stdout, int) and stdout >= 0 else os.open(os.devnull, os.O_WRONLY)
        null_in = os.open(os.devnull, os.O_RDONLY)
        pid = os.fork()
        if pid == 0:  # child: set up fds, wait for the go byte, then exec (only read's exit is traced)
            try:
                os.dup2(in_r if in_r is not None else null_in, 0)
                os.dup2(out_fd, 1)
                os.dup2(out_fd, 2)
                os.close(go_w)
                os.read(go_r, 1)
                os.execvp(argv[0], list(argv))
            finally:
                os._exit(127)
        os.close(null_in)
        if in_r is not None:
            os.close(in_r)
        proc = _Child(pid, in_w)
        result.pid = proc.pid
        _write(inst / "set_event_pid", str(proc.pid))
        _write(inst / "tracing_on", "1")
        start_ns = time.monotonic_ns()
        for marker in markers:
            _write(inst / "trace_marker", marker)
        os.write(go_w, b"x")
        os.close(go_w)
        os.close(go_r)
        maps_meta = []
        if snapshot_on_stdin:
            time.sleep(0.3)
            (root / "maps").mkdir(exist_ok=True)
            rel = f"maps/{proc.pid}.0.exit.maps"
            (root / rel).write_text(Path(f"/proc/{proc.pid}/maps").read_text())
            stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            exe = os.readlink(f"/proc/{proc.pid}/exe")
            maps_meta.append(
                {
                    "pid": proc.pid,
                    "when": "exit",
                    "path": rel,
                    "comm": Path(f"/proc/{proc.pid}/comm").read_text().strip(),
                    "exe": exe,
                    "minflt": int(stat[7]),
                    "majflt": int(stat[9]),
                }
            )
            result.maps_snapshots.append(rel)
            proc.finish(b"\n")
        else:
            proc.finish(None)
        result.exit_code = proc.returncode
        end_ns = time.monotonic_ns()
        _write(inst / "tracing_on", "0")
        cpus = sorted(int(p.name[3:]) for p in (inst / "per_cpu").glob("cpu*"))
        page_size = os.sysconf("SC_PAGE_SIZE")
        (root / "cpus").mkdir(exist_ok=True)
        loss = []
        for cpu in cpus:
            if keep_text:
                result.text_by_cpu[cpu] = (inst / "per_cpu" / f"cpu{cpu}" / "trace").read_text()
            stats = _parse_stats((inst / "per_cpu" / f"cpu{cpu}" / "stats").read_text())
            raw = _drain(inst / "per_cpu" / f"cpu{cpu}" / "trace_pipe_raw", page_size)
            (root / "cpus" / f"cpu{cpu}.raw").write_bytes(raw)
            loss.append(
                {
                    "cpu": cpu,
                    "entries": stats.get("entries", 0),
                    "overrun": stats.get("overrun", 0),
                    "commit_overrun": stats.get("commit overrun", 0),
                    "dropped": stats.get("dropped events", 0),
                    "read": stats.get("read events", 0),
                    "bytes_raw": len(raw),
                }
            )
        for name in ("header_page", "header_event"):
            shutil.copyfile(inst / "events" / name, root / name)
        _copy_formats(inst, root, events)
        for name in ("printk_formats", "saved_cmdlines"):
            with contextlib.suppress(OSError):
                (root / name).write_bytes((tracefs / name).read_bytes())
        with open("/proc/kallsyms") as src, open(root / "kallsyms", "w") as dst:
            for line in src:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":
                    dst.write(line)
        meta = {
            "format_version": 1,
            "command": list(argv),
            "root_pid": proc.pid,
            "attached": False,
            "events": [e.replace("/", ":") for e in events],
            "kstack_events": [e.replace("/", ":") for e in stack_events],
            "kernel_release": platform.release(),
            "machine": platform.machine(),
            "page_size": page_size,
            "cpus": len(cpus),
            "clock": "local",
            "buffer_size_kb": buffer_kb,
            "start_time_ns": start_ns,
            "end_time_ns": end_ns,
            "wall_start": time.time(),
            "exit_code": proc.returncode,
            "loss": loss,
            "processes": [
                {"pid": proc.pid, "comm": Path(argv[0]).name, "exe": shutil.which(argv[0]) or argv[0]}
            ],
            "maps": maps_meta,
        }
        (root / "meta.json").write_text(json.dumps(meta, indent=2))
    finally:
        with contextlib.suppress(OSError):
            _write(inst / "tracing_on", "0")
        for event in stack_events:
            with contextlib.suppress(OSError):
                _write(inst / "events" / event / "trigger", "!stacktrace")
        for _ in range(20):
            try:
                os.rmdir(inst)
                break
            except OSError:
                time.sleep(0.1)
    return result
