"""vtop below a stack that grows down, and outside the user half.

The stack rule is checked against the kernel itself: a test program (tests/programs/
mm_stackgrow.c) touches the very addresses kernlab judged, each in a forked child, and reports
whether [stack] moved down to that page or the child died of SIGSEGV. Kernel addresses are
checked against /proc/kallsyms read here directly.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kernlab.reports import vtop as report
from tests.conftest import PROGRAMS, compile_c, run_kernlab

PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1 << 20


@pytest.fixture(scope="module")
def stackgrow(tmp_path_factory) -> Path:
    return compile_c(PROGRAMS / "mm_stackgrow.c", tmp_path_factory.mktemp("mm") / "mm_stackgrow", ["-O1"])


class Prober:
    """The running test program: ask it to map a page or to touch an address."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        assert proc.stdout is not None
        self.pid = int(proc.stdout.readline().split("=")[1])

    def _ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def map(self, address: int, prot: str = "r") -> None:
        assert self._ask(f"map {address:x} {prot}") == f"mapped {address:x}"

    def touch(self, address: int) -> int | str:
        """The child's new [stack] start, or "SIGSEGV"."""
        answer = self._ask(f"touch {address:x}")
        kind, value = answer.split()
        if kind == "signal":
            return signal.Signals(int(value)).name
        return int(value, 16)

    def stack(self) -> tuple[int, int]:
        text = Path(f"/proc/{self.pid}/maps").read_text()
        m = re.search(r"^([0-9a-f]+)-([0-9a-f]+) .*\[stack\]$", text, re.M)
        assert m, text
        return int(m[1], 16), int(m[2], 16)


@contextmanager
def prober(binary: Path, stack_limit: int) -> Iterator[Prober]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_STACK, (stack_limit, resource.RLIM_INFINITY))

    proc = subprocess.Popen(
        [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=limit
    )
    try:
        yield Prober(proc)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def page_of(address: int) -> int:
    return address - address % PAGE


def limits_stack(pid: int) -> int:
    """The soft "Max stack size" of /proc/PID/limits, read here."""
    line = next(x for x in Path(f"/proc/{pid}/limits").read_text().splitlines() if x.startswith("Max stack"))
    return int(line.split()[3])


def test_64k_below_the_stack_grows_it(stackgrow):
    """The seed's case: 64 KiB below [stack] is not a segmentation fault; the kernel grows the
    stack exactly to that page."""
    with prober(stackgrow, 8 * MiB) as p:
        start, _end = p.stack()
        address = start - 64 * 1024 + 123
        r = report.build(p.pid, address)
        assert r.vma is None and r.growth is not None
        assert r.growth.verdict == "grows"
        assert r.growth.rlimit == limits_stack(p.pid) == 8 * MiB
        assert r.growth.new_start == page_of(address)
        assert p.touch(address) == page_of(address)
        result = run_kernlab("vtop", str(p.pid), hex(address))
        assert result.code == 0, result.stderr
        text = " ".join(result.stdout.split())
        assert "grows down (VM_GROWSDOWN)" in text and "is not a segmentation fault" in text
        assert f"down to {page_of(address):#x}" in text


def test_rlimit_bounds_the_growth_exactly(stackgrow):
    """At the lowest page RLIMIT_STACK allows the stack grows; one byte lower, SIGSEGV."""
    with prober(stackgrow, 1 * MiB) as p:
        _start, end = p.stack()
        lowest = end - 1 * MiB
        r = report.build(p.pid, lowest)
        assert r.growth is not None and r.growth.verdict == "grows"
        assert (r.growth.lowest, r.growth.limited_by) == (lowest, "rlimit")
        assert p.touch(lowest) == lowest
        below = report.build(p.pid, lowest - 1)
        assert below.growth is not None and below.growth.verdict == "beyond_rlimit"
        assert p.touch(lowest - 1) == "SIGSEGV"
        result = run_kernlab("vtop", str(p.pid), hex(lowest - 1))
        text = " ".join(result.stdout.split())
        assert "more than its RLIMIT_STACK of 1 MiB" in text and "segmentation fault (SIGSEGV)" in text


def test_guard_gap_bounds_the_growth_exactly(stackgrow):
    """A readable page 2 MiB below the stack: the stack grows no closer to it than
    stack_guard_gap (256 pages unless /proc/cmdline says otherwise)."""
    with prober(stackgrow, 8 * MiB) as p:
        start, _ = p.stack()
        other = page_of(start - 2 * MiB)
        p.map(other, "r")
        r = report.build(p.pid, other + PAGE)
        g = r.growth
        assert g is not None and g.verdict == "guard_gap" and g.below is not None
        cmdline = Path("/proc/cmdline").read_text().split("--")[0]
        pages = re.findall(r"(?:^|\s)stack_guard_gap=(\d+)(?:\s|$)", cmdline)
        assert g.guard_gap.pages == (int(pages[-1]) if pages else 256)
        lowest = other + PAGE + g.guard_gap.bytes
        assert (g.lowest, g.limited_by) == (lowest, "guard_gap")
        assert report.build(p.pid, lowest).growth.verdict == "grows"  # type: ignore[union-attr]
        assert p.touch(lowest) == lowest
        assert p.touch(lowest - 1) == "SIGSEGV"
        assert p.touch(other + PAGE) == "SIGSEGV"


def test_prot_none_mapping_below_does_not_hold_the_stack(stackgrow):
    """vma_is_accessible(): a PROT_NONE mapping below gets no guard gap; the stack grows right
    up to it."""
    with prober(stackgrow, 8 * MiB) as p:
        start, _ = p.stack()
        other = page_of(start - 2 * MiB)
        p.map(other, "none")
        address = other + PAGE
        g = report.build(p.pid, address).growth
        assert g is not None and g.verdict == "grows" and not g.below_counts
        assert p.touch(address) == address


def test_no_vma_without_a_stack_above_is_still_sigsegv(stackgrow):
    with prober(stackgrow, 8 * MiB) as p:
        start, _ = p.stack()
        other = page_of(start - 4 * MiB)
        p.map(other, "r")
        r = report.build(p.pid, other - 16 * PAGE)  # under the readable page, which cannot grow
        assert r.vma is None and r.growth is None
        assert p.touch(other - 16 * PAGE) == "SIGSEGV"


def _kallsyms() -> list[tuple[int, str, str]]:
    out = []
    for line in Path("/proc/kallsyms").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and len(parts) == 3:  # vmlinux symbols only (no [module])
            out.append((int(parts[0], 16), parts[1], parts[2]))
    return out


def test_kernel_text_address_names_the_kallsyms_symbol():
    symbols = _kallsyms()
    if all(a == 0 for a, _, _ in symbols[:50]):
        pytest.skip("kallsyms hides addresses from this user")
    by_name = {name: address for address, _, name in symbols}
    stext, etext = by_name["_stext"], by_name["_etext"]
    # do_syscall_64 + 5 lies inside do_syscall_64 (no symbol follows within 5 bytes).
    address = by_name["do_syscall_64"] + 5
    r = report.build(os.getpid(), address)
    k = r.kernel
    assert k is not None and k.half == "kernel"
    assert stext <= address < etext
    assert k.region is not None and k.region.key == "kernel_image" and k.image_part == "text"
    aliases = {name for a, _, name in symbols if a == by_name["do_syscall_64"]}
    assert k.symbol is not None and k.symbol.name in aliases and k.symbol.offset == 5
    result = run_kernlab("vtop", str(os.getpid()), hex(address))
    text = " ".join(result.stdout.split())
    assert "kernel half" in text and "kernel text" in text and "not accessible from user mode" in text
    assert f"{k.symbol.name}+0x5" in text
    assert "PiB" not in text  # no distance to user VMAs


def test_init_text_is_told_apart():
    symbols = _kallsyms()
    if all(a == 0 for a, _, _ in symbols[:50]):
        pytest.skip("kallsyms hides addresses from this user")
    by_name = {name: address for address, _, name in symbols}
    address = by_name["start_kernel"]  # __init: in [_sinittext, _einittext)
    assert by_name["_sinittext"] <= address < by_name["_einittext"]
    k = report.build(os.getpid(), address).kernel
    assert k is not None and k.image_part == "init_text"


def test_seed_address_0xffffffff81000000():
    r = report.build(os.getpid(), 0xFFFFFFFF81000000)
    assert r.kernel is not None and r.kernel.half == "kernel" and r.below is None and r.above is None
    assert r.kernel.region is not None and r.kernel.region.key == "kernel_image"
    symbols = _kallsyms()
    if not all(a == 0 for a, _, _ in symbols[:50]):
        first = (
            next(name for a, _, name in symbols if a == 0xFFFFFFFF81000000)
            if any(a == 0xFFFFFFFF81000000 for a, _, _ in symbols)
            else None
        )
        if first is not None:
            assert r.kernel.symbol is not None and r.kernel.symbol.name == first


def test_non_canonical_address():
    mode = report.build(os.getpid(), 0x1000).paging
    address = 1 << (mode.va_bits - 1)  # the first address above the user half
    r = report.build(os.getpid(), address)
    assert r.kernel is not None and r.kernel.half == "non_canonical"
    result = run_kernlab("vtop", str(os.getpid()), hex(address))
    text = " ".join(result.stdout.split())
    assert "non-canonical" in text and "#GP" in text and "PiB" not in text
    # One below the kernel half is still non-canonical; the kernel half starts right above.
    top = (1 << 64) - (1 << (mode.va_bits - 1))
    assert report.build(os.getpid(), top - 1).kernel.half == "non_canonical"  # type: ignore[union-attr]
    assert report.build(os.getpid(), top).kernel.half == "kernel"  # type: ignore[union-attr]
