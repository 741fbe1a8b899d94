# ruff: noqa: E501  (golden text: lines as long as the view prints them)
"""views.maps: reports of fixed figures printed in-process, compared with golden text.

The pmap layout's first line is the command line the report read (the view once read
/proc/PID/cmdline itself while printing); "[heap]" and "[sleeper]" print as themselves.
"""

from __future__ import annotations

from kernlab.proc.allmaps import ProcessMaps
from kernlab.proc.maps import Vma, total_vmas, totals_by_kind
from kernlab.render.output import Output
from kernlab.render.views import maps as view
from kernlab.reports.maps import AllMapsReport, MapsReport


def _vma(
    start: int, end: int, perms: str, name: str, kind: str, rss: int, pss: int, anon: int, shared: int
) -> Vma:
    path = name if name.startswith("/") else None
    return Vma(
        start,
        end,
        perms,
        0,
        "fe:00" if path else "00:00",
        1234 if path else 0,
        path,
        name,
        kind=kind,
        rss=rss,
        pss=pss,
        shared_clean=shared,
        shared_dirty=0,
        private_clean=0,
        private_dirty=anon,
        anonymous=anon,
        swap=0,
        anon_huge_pages=0,
        locked=0,
    )


VMAS = (
    _vma(0x555555554000, 0x555555558000, "r-xp", "/usr/bin/sleep", "binary-text", 16, 4, 0, 16),
    _vma(0x555555559000, 0x55555557A000, "rw-p", "[heap]", "heap", 8, 8, 8, 0),
    _vma(0x7FFFFFFDE000, 0x7FFFFFFFF000, "rw-p", "[stack]", "stack", 12, 12, 12, 0),
    _vma(0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, "--xp", "[vsyscall]", "vsyscall", 0, 0, 0, 0),
)


def maps_report() -> MapsReport:
    totals = total_vmas(VMAS)
    return MapsReport(
        4242,
        "sleep",
        False,
        False,
        totals.vsz,
        totals,
        tuple(totals_by_kind(VMAS)),
        VMAS,
        "[sleeper] 600",
        16,
        0,
    )


def all_report() -> AllMapsReport:
    report = maps_report()
    return AllMapsReport((ProcessMaps(4242, "sleep", report.totals, list(report.kinds)),), 3, 1, True)


MAPS_GOLDEN = """\

PID 4242 (sleep): 4 VMAs
ADDRESS                           KiB PERM OFFSET   DEV   INODE KIND        RSS PSS DIRTY ANON SWAP THP SHR_CL SHR_DT PRV_CL PRV_DT LOCKED MAPPING
555555554000-555555558000          16 r-xp 00000000 fe:00  1234 binary-text  16   4     0    0    0   0     16      0      0      0      0 /usr/bin/sleep
555555559000-55555557a000         132 rw-p 00000000 00:00     0 heap          8   8     8    8    0   0      0      0      0      8      0 [heap]
7ffffffde000-7ffffffff000         132 rw-p 00000000 00:00     0 stack        12  12    12   12    0   0      0      0      0     12      0 [stack]
ffffffffff600000-ffffffffff601000   4 --xp 00000000 00:00     0 vsyscall      0   0     0    0    0   0      0      0      0      0      0 [vsyscall]
Where each column comes from

 column   source
 ────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 range    /proc/PID/maps columns 1: vm_start-vm_end (end is exclusive)
 kbytes   vm_end − vm_start, in KiB (sum = ps's VSZ = mm->total_vm)
 perms    /proc/PID/maps column 2: r/w/x from vm_flags VM_READ/VM_WRITE/VM_EXEC, then p (private, copy-on-write) or s (VM_SHARED)
 offset   /proc/PID/maps column 3: file offset of vm_start (vm_pgoff × page size)
 dev      /proc/PID/maps column 4: major:minor of the file's device (00:00 when anonymous)
 inode    /proc/PID/maps column 5: the file's inode (0 when anonymous)
 kind     kernlab's classification: the program's file (/proc/PID/exe) split into text/data/rodata/bss, libraries (files mapped executable), [heap], [stack], vdso/vvar, anonymous and file mmaps
 rss      /proc/PID/smaps Rss: pages of this VMA present in RAM (page-table walk)
 pss      /proc/PID/smaps Pss: Rss with each page divided by the number of processes mapping it
 dirty    /proc/PID/smaps Shared_Dirty + Private_Dirty: pages written since they were read or zero-filled
 anon     /proc/PID/smaps Anonymous: pages with no file behind them (including private copies of file pages)
 swap     /proc/PID/smaps Swap: pages of this VMA swapped out
 thp      /proc/PID/smaps AnonHugePages: memory mapped with transparent huge pages
 name     /proc/PID/maps column 6: the file path, or [heap], [stack], [vdso], [vvar], or nothing (anonymous)

By kind

 kind          VMAs   KiB   of VSZ   RSS KiB   of RSS   PSS KiB
 ──────────────────────────────────────────────────────────────
 binary-text      1    16       6%        16      44%         4
 heap             1   132      46%         8      22%         8
 stack            1   132      46%        12      33%        12
 vsyscall         1     4       1%         0       0%         0
 total            4   284     100%        36     100%        24


Address space, highest address first
ffffffffff601000 Y                                            4 KiB  vsyscall      [vsyscall]
ffffffffff600000 ...                                      16,777,088 TiB  (gap: the rest of user space, then the kernel's half)
00007ffffffff000 SSSSS                                      132 KiB  stack         [stack]
00007ffffffde000 ...                                         43 TiB  (gap)
000055555557a000 HHHHH                                      132 KiB  heap          [heap]
0000555555559000 .                                            4 KiB  (gap)
0000555555558000 TT                                          16 KiB  binary-text   /usr/bin/sleep
T=binary-text  R=binary-rodata  D=binary-data  B=binary-bss  L=shared-lib  H=heap  S=stack  A=anon-mmap  F=file-mmap  V=vdso  v=vvar  Y=vsyscall  ?=special
→ One row per VMA or gap, highest address first; bar length grows with log2 of the size, so a gap of terabytes is only a few characters longer than one of megabytes.
→ 4 VMAs, 284 KiB mapped; VSZ 280 KiB without the [vsyscall] page the kernel shares with every process (equal to ps's VSZ, VmSize in /proc/4242/status), RSS 36 KiB, PSS 24 KiB, dirty 20 KiB: 87% of the address space has no page in RAM.
→ By kind: 1 binary-text, 1 heap, 1 stack, 1 vsyscall.
→ Where the resident memory is: binary-text 44%, stack 33%, heap 22%.
→ PSS 24 KiB is RSS 36 KiB with each shared page divided among the processes that map it: 44% of this RSS is shared.
→ 20 KiB is anonymous (heap, stack, private copies of written pages): it exists only in RAM or swap, while file-backed pages can be dropped and read again.
"""

PMAP_GOLDEN = """\
4242:   [sleeper] 600
Address           Kbytes     RSS   Dirty Mode  Mapping
0000555555554000      16      16       0 r-x-- sleep
0000555555559000     132       8       8 rw---   [ anon ]
00007ffffffde000     132      12      12 rw---   [ stack ]
ffffffffff600000       4       0       0 --x--   [ anon ]
---------------- ------- ------- -------\x20
total kB             284      36      20
→ The layout of pmap -x: Kbytes is the VMA size, RSS from smaps Rss, Dirty = Shared_Dirty + Private_Dirty.
"""

ALL_GOLDEN = """\
 PID VMAs VSZ RSS PSS DIRTY ANON SWAP COMMAND
4242    4 284  36  24    20   20    0 sleep
→ 1 process with an address space (3 kernel threads or gone skipped, 1 refused even to root (a security module or another PID namespace protects them)): RSS adds up to 36 KiB but PSS to 24 KiB, because shared pages (libraries, page cache) count once per process in RSS and only once in total in PSS.
"""


def test_listing_kinds_picture_and_sentences_golden(capsys):
    view.show(maps_report(), Output(), wide=True, columns=True)
    assert capsys.readouterr().out == MAPS_GOLDEN


def test_pmap_layout_golden(capsys):
    view.show_pmap(maps_report(), Output())
    out = capsys.readouterr().out
    assert out == PMAP_GOLDEN
    assert out.startswith("4242:   [sleeper] 600\n")


def test_all_processes_golden(capsys):
    view.show_all(all_report(), Output())
    assert capsys.readouterr().out == ALL_GOLDEN


def test_kernel_thread_says_why_it_has_no_vmas(capsys):
    from dataclasses import replace

    report = replace(maps_report(), comm="kthreadd", kernel_thread=True, vmas=(), kinds=(), cmdline="")
    view.show_pmap(report, Output())
    lines = capsys.readouterr().out.splitlines()
    # pmap's layout for a task without arguments ("[comm]", the header, the dashes, the total),
    # then the sentence saying why there is nothing in it.
    assert lines[0] == "4242:   [kthreadd]" and lines[1].startswith("Address")
    assert lines[-2].startswith("total kB")
    assert lines[-1].startswith("→ ") and "kthreadd" in lines[-1] and "kernel thread" in lines[-1]
