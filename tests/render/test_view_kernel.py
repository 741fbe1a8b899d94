"""views.kernel: a report of fixed figures printed in-process, compared with golden text."""

from __future__ import annotations

import dataclasses

import pytest

from kernlab.kernel.kaslr import KaslrOffset
from kernlab.kernel.release import KernelRelease
from kernlab.render.output import Output
from kernlab.render.views import kernel as view
from kernlab.reports.kernel import ConfigFact, KernelReport, Paging, SymbolAddress

TEXT = 0xFFFFFFFF81000000
METHOD = "_text in /proc/kallsyms minus __START_KERNEL_map + CONFIG_PHYSICAL_START"


def _report() -> KernelReport:
    return KernelReport(
        release=KernelRelease("6.1.0-test", "#1 SMP", "x86_64", "box", None),
        config_source="/boot/config-6.1.0-test",
        config_error=None,
        config=(ConfigFact("CONFIG_PGTABLE_LEVELS", "4"), ConfigFact("CONFIG_KALLSYMS_ALL", "n")),
        paging=Paging(4, 4, False, "mmap probe above 2^47"),
        kallsyms_path="/saved/kallsyms",
        kallsyms_hidden=False,
        kallsyms_error=None,
        symbols=(
            SymbolAddress("_text", TEXT, "T"),
            SymbolAddress("start_kernel", TEXT + 0x2000000, "T"),
            SymbolAddress("entry_SYSCALL_64", TEXT + 0x80, "T"),
            SymbolAddress("do_syscall_64", TEXT + 0x1000, "T"),
            SymbolAddress("sys_call_table", None, None),
        ),
        kaslr=KaslrOffset(0x10000000, TEXT + 0x10000000, TEXT, True, METHOD),
        kptr_restrict=1,
        syscall_table_version="6.1.192",
    )


GOLDEN = """\
Running kernel
  Release (uname -r): 6.1.0-test
  Version (uname -v): #1 SMP
  Machine:            x86_64
→ This is Linux 6.1.0-test on x86_64; the system-call tables kernlab ships come from Linux 6.1.192.

Config (/boot/config-6.1.0-test)

 option                  value   what it decides
 ────────────────────────────────────────────────────────────────────────────────────────────
 CONFIG_PGTABLE_LEVELS   4       page-table levels the kernel is built for (4 or 5 on x86_64)
 CONFIG_KALLSYMS_ALL     n       /proc/kallsyms lists data symbols (sys_call_table) too

→ Page tables: CONFIG_PGTABLE_LEVELS=4, and 4 levels are in use (mmap probe above 2^47).

Symbols (/saved/kallsyms)

 symbol             address              type   from _text
 ─────────────────────────────────────────────────────────
 _text              0xffffffff81000000   T            +0x0
 start_kernel       0xffffffff83000000   T      +0x2000000
 entry_SYSCALL_64   0xffffffff81000080   T           +0x80
 do_syscall_64      0xffffffff81001000   T         +0x1000
 sys_call_table     -

→ vmlinux is an ELF file like hello's a.out, linked at its own virtual addresses: start_kernel is at \
0xffffffff83000000, 0x2000000 bytes into the kernel image that begins at _text 0xffffffff81000000.
→ A system call enters at entry_SYSCALL_64 (0xffffffff81000080) and reaches do_syscall_64 \
(0xffffffff81001000), which picks the handler by number from sys_call_table.
→ Not in this kallsyms: sys_call_table. Data symbols appear there only with CONFIG_KALLSYMS_ALL=y, \
which this kernel has as n.

KASLR
  _text at run time:  0xffffffff91000000
  _text link address: 0xffffffff81000000
  offset:             0x10000000
  method:             _text in /proc/kallsyms minus __START_KERNEL_map + CONFIG_PHYSICAL_START
→ KASLR moved the kernel 268435456 bytes (0x10000000) up from its link address 0xffffffff81000000: \
every kernel address on this boot is its vmlinux address plus 0x10000000.
"""


def test_view_prints_the_golden_text(capsys):
    view.show(_report(), Output())
    assert capsys.readouterr().out == GOLDEN


def test_hidden_addresses_name_the_reports_kptr_restrict(capsys):
    # The sysctl comes from the report, never from this machine: 2 is what the report says.
    hidden = dataclasses.replace(
        _report(),
        kallsyms_hidden=True,
        symbols=tuple(dataclasses.replace(s, address=None) for s in _report().symbols),
        kaslr=KaslrOffset(None, None, TEXT, True, METHOD, "hidden"),
        kptr_restrict=2,
    )
    view.show(hidden, Output())
    flat = " ".join(capsys.readouterr().out.split())
    assert "shows every address as 0" in flat and "kptr_restrict is 2 on this machine" in flat
    assert "Not in this kallsyms" not in flat  # hidden, not missing
    assert (
        "The KASLR offset is unknown here: kallsyms hides the kernel's addresses from this process." in flat
    )
    unknown = dataclasses.replace(hidden, kptr_restrict=None)
    view.show(unknown, Output())
    assert "kptr_restrict is unknown on this machine" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("kptr", "paranoid", "cause", "says", "not_says"),
    [
        (
            0,
            2,
            "paranoid_no_syslog",
            "only while kernel.perf_event_paranoid is 1 or less, and it is 2",
            "kptr_restrict to 0",
        ),
        (
            1,
            2,
            "kptr1_no_syslog",
            "kernel.kptr_restrict is 1, so the kernel shows addresses only to a reader with CAP_SYSLOG",
            "perf_event_paranoid to 1",
        ),
        (
            2,
            1,
            "kptr2",
            "kernel.kptr_restrict is 2, so the kernel hides them from every reader, root included",
            "CAP_SYSLOG",
        ),
    ],
)
def test_hidden_live_kallsyms_names_the_cause_found(capsys, kptr, paranoid, cause, says, not_says):
    from kernlab.kernel.kallsyms import KallsymsAccess

    hidden = dataclasses.replace(
        _report(),
        kallsyms_path="/proc/kallsyms",
        kallsyms_hidden=True,
        symbols=tuple(dataclasses.replace(s, address=None) for s in _report().symbols),
        kptr_restrict=kptr,
        access=KallsymsAccess(kptr, paranoid, False, True, False, cause),
    )
    view.show(hidden, Output())
    flat = " ".join(capsys.readouterr().out.split())
    assert says in flat and not_says not in flat


def test_quiet_view_has_no_sentences(capsys):
    view.show(_report(), Output(quiet=True))
    out = capsys.readouterr().out
    assert "→" not in out and "0xffffffff83000000" in out


def test_view_speaks_the_language_in_force_when_it_prints(capsys):
    from kernlab import explain

    report = _report()
    explain.set_language("ko")
    try:
        view.show(report, Output())
    finally:
        explain.set_language("en")
    out = capsys.readouterr().out
    assert "which picks the handler" not in out
    assert any("\uac00" <= ch <= "\ud7a3" for ch in out)
    assert "0xffffffff83000000" in out  # the figures are the report's, whatever the language
