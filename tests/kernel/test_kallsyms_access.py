"""Why /proc/kallsyms shows zeros: kernlab's reading of kallsyms_show_value() against what the
kernel actually shows a reader dropped to nobody, with and without CAP_SYSLOG (as
``setpriv --reuid=nobody`` would run it), and a file opened by root then read by nobody."""

from __future__ import annotations

import codecs
import ctypes
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from kernlab.kernel.kallsyms import CAP_SYSLOG, kallsyms_access
from tests.conftest import need_tool

NOBODY = 65534
PR_SET_KEEPCAPS = 8
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


@pytest.fixture(autouse=True)
def _fresh_kallsyms():
    """kallsyms is cached per process; BPF programs loaded meanwhile change it, so later tests
    must read it afresh."""
    from kernlab.kernel import kallsyms

    yield
    kallsyms._proc_kallsyms_text.cache_clear()


def _first_address(fd: int | None = None) -> int:
    if fd is None:
        with open("/proc/kallsyms") as f:
            line = f.readline()
    else:
        line = os.read(fd, 128).decode().splitlines()[0]
    return int(line.split()[0], 16)


def _keep_only_syslog() -> None:
    """Effective and permitted sets reduced to CAP_SYSLOG (capset(2), version 3)."""
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable} words
    data[3] = data[4] = 1 << (CAP_SYSLOG - 32)
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def as_nobody(body: Callable[[], dict], keep_syslog: bool = False) -> dict:
    """Run ``body`` in a child switched to uid/gid nobody; its dict comes back as JSON."""
    if os.geteuid() != 0:
        pytest.skip("switching to nobody needs root")
    # The child cannot import what root's Python keeps under /root: load it here first.
    for codec in ("ascii", "utf-8", "latin-1"):
        codecs.lookup(codec)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, answer, exit without running pytest's teardown
        code = 0
        try:
            os.close(read)
            libc = ctypes.CDLL(None, use_errno=True)
            if keep_syslog:
                libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            if keep_syslog:
                _keep_only_syslog()
            os.write(write, json.dumps(body()).encode())
        except BaseException as exc:  # reported to the parent as text
            os.write(write, json.dumps({"error": repr(exc)}).encode())
            code = 1
        os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    answer = json.loads(b"".join(chunks))
    assert "error" not in answer, answer["error"]
    return answer


def _verdict() -> dict:
    a = kallsyms_access()
    return {"shown": a.shown, "cause": a.cause, "cap": a.cap_syslog, "seen": _first_address() != 0}


def _sysctl(name: str) -> int:
    return int(Path(f"/proc/sys/kernel/{name}").read_text())


def test_nobody_sees_what_kernlab_predicts():
    got = as_nobody(_verdict)
    assert got["cap"] is False
    assert got["shown"] == got["seen"]
    kptr, paranoid = _sysctl("kptr_restrict"), _sysctl("perf_event_paranoid")
    if kptr == 0 and paranoid >= 2:
        # The case of this issue: kptr_restrict is 0, and still nobody sees zeros.
        assert got["cause"] == "paranoid_no_syslog"
    elif kptr == 1:
        assert got["cause"] == "kptr1_no_syslog"
    elif kptr >= 2:
        assert got["cause"] == "kptr2"
    else:
        assert got["cause"] == "shown_to_all"


def test_nobody_with_cap_syslog_sees_what_kernlab_predicts():
    got = as_nobody(_verdict, keep_syslog=True)
    assert got["cap"] is True
    assert got["shown"] == got["seen"]
    if _sysctl("kptr_restrict") < 2:
        assert got["seen"] and got["cause"] in ("shown_cap_syslog", "shown_to_all")


def test_root_sees_what_kernlab_predicts():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    a = kallsyms_access()
    assert a.shown == (_first_address() != 0)


def test_the_kernel_checks_the_opener_not_the_reader():
    """The sentence says so: a file root opened shows addresses to nobody reading it."""
    if os.geteuid() != 0 or _sysctl("kptr_restrict") >= 2:
        pytest.skip("needs root and kptr_restrict below 2")
    fd = os.open("/proc/kallsyms", os.O_RDONLY)
    try:
        got = as_nobody(lambda: {"through_root_fd": _first_address(fd), "own_open": _first_address()})
    finally:
        os.close(fd)
    assert got["through_root_fd"] != 0
    assert (got["own_open"] != 0) == bool(kallsyms_access(cap_syslog=False).shown)


def test_kernel_command_as_nobody_names_the_real_cause(tmp_path):
    """`kernlab kernel` run by nobody: the sentence names perf_event_paranoid and CAP_SYSLOG when
    kptr_restrict is 0, not kptr_restrict."""
    need_tool("setpriv")
    from kernlab.explain.kernel import symbol_sentences
    from kernlab.reports.kernel import build

    symbol_sentences(build())  # every module and sentence file loaded before dropping to nobody
    from kernlab.kernel import kallsyms

    kallsyms._proc_kallsyms_text.cache_clear()
    got = as_nobody(lambda: {"hidden": build().kallsyms_hidden, "text": " ".join(symbol_sentences(build()))})
    seen = as_nobody(lambda: {"seen": _first_address() != 0})["seen"]
    assert got["hidden"] == (not seen)
    if got["hidden"] and _sysctl("kptr_restrict") == 0:
        assert "perf_event_paranoid" in got["text"] and "CAP_SYSLOG" in got["text"]
        assert "set /proc/sys/kernel/kptr_restrict to 0" not in got["text"]


@pytest.mark.parametrize(
    ("kptr", "paranoid", "cap", "userns", "shown", "cause"),
    [
        (0, 1, False, True, True, "shown_to_all"),
        (0, 2, False, True, False, "paranoid_no_syslog"),
        (0, 2, True, True, True, "shown_cap_syslog"),
        (1, -1, False, True, False, "kptr1_no_syslog"),
        (1, 2, True, True, True, "shown_cap_syslog"),
        (1, 2, True, False, False, "syslog_in_userns"),
        (2, -1, True, True, False, "kptr2"),
    ],
)
def test_kallsyms_show_value_rule(kptr, paranoid, cap, userns, shown, cause):
    a = kallsyms_access(kptr, paranoid, cap, userns)
    assert (a.shown, a.cause) == (shown, cause)


def test_vtop_kernel_address_as_nobody_says_why_no_symbol():
    from kernlab.explain.vtop import no_vma_sentences
    from kernlab.reports.vtop import build

    no_vma_sentences(build(os.getpid(), 0xFFFFFFFF81000000))  # load every module and sentence first

    def body() -> dict:
        from kernlab.kernel import kallsyms

        kallsyms._proc_kallsyms_text.cache_clear()  # root's read, inherited through fork
        r = build(os.getpid(), 0xFFFFFFFF81000000)
        assert r.kernel is not None
        return {
            "symbol": r.kernel.symbol is not None,
            "region": r.kernel.region.key if r.kernel.region else None,
            "text": " ".join(no_vma_sentences(r)),
            "seen": _first_address() != 0,
        }

    got = as_nobody(body)
    assert got["symbol"] == got["seen"]
    if not got["seen"]:
        assert "no symbol can be named" in got["text"]
        if _sysctl("kptr_restrict") == 0:
            assert f"perf_event_paranoid is {_sysctl('perf_event_paranoid')}" in got["text"]
