"""OS errors of /proc become kernlab errors, including a process that exits while being read."""

from __future__ import annotations

import errno
import subprocess

import pytest

import kernlab.proc.maps as maps_module
import kernlab.proc.process as process_module
from kernlab.errors import BadInput, KernlabError, NoSuchProcess, NotSupported, PermissionNeeded
from kernlab.proc.errors import proc_errors, read_proc_text, resolve_pid
from kernlab.proc.maps import read_maps
from kernlab.proc.process import read_process


def _killed_before(real, proc: subprocess.Popen):
    """Wrap a reader so the process is killed and reaped just before the real read happens."""

    def wrapper(*args, **kwargs):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        return real(*args, **kwargs)

    return wrapper


def test_maps_of_a_process_that_exits_mid_read(monkeypatch):
    proc = subprocess.Popen(["sleep", "30"])
    monkeypatch.setattr(maps_module, "read_proc_text", _killed_before(read_proc_text, proc))
    with pytest.raises(NoSuchProcess, match="exited while being read"):
        read_maps(proc.pid)


def test_stat_of_a_process_that_exits_mid_read(monkeypatch):
    proc = subprocess.Popen(["sleep", "30"])
    monkeypatch.setattr(process_module, "_read_bytes", _killed_before(process_module._read_bytes, proc))
    with pytest.raises(NoSuchProcess, match="exited while being read"):
        read_process(proc.pid)


def test_open_file_of_a_dead_process_gives_esrch():
    # What the kernel does when the task dies between open() and read(): ESRCH, not EOF.
    proc = subprocess.Popen(["sleep", "30"])
    handle = open(f"/proc/{proc.pid}/smaps", "rb", buffering=0)  # noqa: SIM115
    proc.kill()
    proc.wait()
    with pytest.raises(ProcessLookupError):
        handle.read()
    handle.close()
    with pytest.raises(NoSuchProcess, match="exited while being read"), proc_errors(proc.pid, "smaps"):
        raise ProcessLookupError(errno.ESRCH, "No such process")


def test_translation_table():
    live = resolve_pid("self")
    with pytest.raises(PermissionNeeded), proc_errors(live, "/proc/self/smaps"):
        raise PermissionError(errno.EACCES, "Permission denied")
    with pytest.raises(NotSupported), proc_errors(live, "/proc/self/nothing"):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")
    with pytest.raises(KernlabError), proc_errors(live, "/proc/self/smaps"):
        raise OSError(errno.EIO, "Input/output error")


@pytest.mark.parametrize("text", ["abc", "0", "-3", "1.5", "", " "])
def test_bad_pids(text):
    with pytest.raises(BadInput):
        resolve_pid(text)


def test_missing_file_of_live_process_is_not_supported():
    with pytest.raises(NotSupported):
        read_proc_text(resolve_pid("self"), "no_such_proc_file")
