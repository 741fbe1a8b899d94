"""A recording decodes without the machine that made it: no tracefs, no /proc/kallsyms.

The recording is copied to another directory and every read of this machine's tracefs or
kallsyms is made to fail; `syscalls`, the ftrace text and the trace.dat must come out the same
as from the original. An older recording without the copied tables falls back to this
machine's tracefs and says so.
"""

from __future__ import annotations

import builtins
import io
import os
import shutil
from pathlib import Path

import pytest

from kernlab.recording import layout
from kernlab.recording.export.ftrace_text import ftrace_lines
from kernlab.recording.export.tracedat import write_trace_dat
from kernlab.recording.reader import open_recording
from kernlab.reports import syscalls
from tests.conftest import run_kernlab
from tests.recording.rec_util import need_tracing

FORBIDDEN = ("/sys/kernel/tracing", "/sys/kernel/debug", "/proc/kallsyms")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    need_tracing()
    out = tmp_path_factory.mktemp("selfcontained") / "orig"
    result = run_kernlab("record", "-q", "-d", str(out), "--", "/usr/bin/ls", "-la", "/usr")
    assert result.code == 0, result.stderr
    return out


def _no_machine(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every open of tracefs or kallsyms fail; return the list of attempts."""
    attempts: list[str] = []

    def guard(real):
        def opener(file, *args, **kwargs):
            name = os.fsdecode(file) if isinstance(file, (str, bytes, os.PathLike)) else ""
            if name.startswith(FORBIDDEN):
                attempts.append(name)
                raise PermissionError(13, "forbidden in this test", name)
            return real(file, *args, **kwargs)

        return opener

    monkeypatch.setattr(builtins, "open", guard(builtins.open))
    monkeypatch.setattr(io, "open", guard(io.open))
    monkeypatch.setattr(os, "open", guard(os.open))
    return attempts


def _outputs(root: Path, dat: Path) -> tuple[list[tuple], bool, list[str], bytes]:
    rec = open_recording(root)
    listing = syscalls.build(rec)
    lines = [(ln.time_s, ln.pid, ln.name, ln.args_text, ln.ret) for ln in listing.lines]
    text = list(ftrace_lines(rec, {}))
    write_trace_dat(rec, dat)
    return lines, listing.args_from_live_kernel, text, dat.read_bytes()


def test_recording_holds_the_kernel_tables(recorded):
    for name in (layout.SYSCALL_FORMATS, layout.PRINTK_FORMATS, layout.KALLSYMS):
        assert (recorded / name).stat().st_size > 0, name
    rec = open_recording(recorded)
    live = sorted(p.name for p in Path("/sys/kernel/tracing/events/syscalls").iterdir() if p.is_dir())
    assert sorted(rec._syscall_format_texts) == live
    openat = rec.syscall_format("sys_enter_openat")
    assert openat is not None and [f.name for f in openat.payload_fields][1:] == [
        "dfd",
        "filename",
        "flags",
        "mode",
    ]


def test_copy_decodes_the_same_without_tracefs(recorded, tmp_path, monkeypatch):
    before = _outputs(recorded, tmp_path / "a.dat")
    assert before[0] and not before[1]
    assert any("flags=O_RDONLY|O_CLOEXEC" in ln[3] for ln in before[0] if ln[2] == "openat")
    copy = tmp_path / "elsewhere"
    shutil.copytree(recorded, copy)
    attempts = _no_machine(monkeypatch)
    after = _outputs(copy, tmp_path / "b.dat")
    assert attempts == []
    assert after == before


def test_older_recording_falls_back_to_this_machine_and_says_so(recorded, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(recorded, copy)
    (copy / layout.SYSCALL_FORMATS).unlink()
    (copy / layout.PRINTK_FORMATS).unlink()
    new = syscalls.build(recorded)
    old = syscalls.build(copy)
    assert old.args_from_live_kernel and not new.args_from_live_kernel
    assert [ln.args_text for ln in old.lines] == [ln.args_text for ln in new.lines]
    result = write_trace_dat(open_recording(copy), tmp_path / "old.dat")
    assert "printk_formats" in result.notes


def test_recording_again_replaces_the_previous_one_entirely(tmp_path):
    need_tracing()
    out = tmp_path / "again"
    for command in (["/usr/bin/ls", "/"], ["/bin/true"]):
        result = run_kernlab("record", "-q", "-d", str(out), "--", *command)
        assert result.code == 0, result.stderr
    # The first recording's files went to .kernlab-old and the copier deleted them.
    assert not (out / ".kernlab-old").exists()
    rec = open_recording(out)
    assert rec.meta.command == ["/bin/true"]
    if Path("/proc/config.gz").exists():
        assert rec.meta.config  # facts of /proc/config.gz, read by the copier
    assert {f.full_name for f in rec.formats.values()} >= set(rec.meta.events)
