# ruff: noqa: E501  (golden text: lines as long as the view prints them)
"""views.labs: the three labs' reports of fixed figures printed in-process, compared with golden text."""

from __future__ import annotations

import dataclasses

from kernlab.elf.disasm import Disassembly, Instruction, SyscallNote
from kernlab.proc.free import compute_free
from kernlab.proc.meminfo import parse_meminfo
from kernlab.render.output import Output
from kernlab.render.views import labs as view
from kernlab.reports.labs.lazy_alloc import AllocStep, LazyAllocReport, Region, TouchStep
from kernlab.reports.labs.mmap_read import (
    Eviction,
    FileFacts,
    FreeChange,
    MmapReadReport,
    RunFigures,
    SharedWrite,
)
from kernlab.reports.labs.syscall_path import (
    KernelSymbol,
    LiveCall,
    MountFacts,
    SourceFacts,
    StackAt,
    SyscallPathReport,
)
from kernlab.reports.syscall import LibcWrapper, SyscallWithWrapper
from kernlab.syscalls.tables import Syscall
from tests.render import test_view_syscall
from tests.render.test_view_recording_text import assert_korean, korean
from tests.render.test_views_ko import Labels, _check

MIB = 1 << 20
PAGES = 512  # a 2 MiB file in 4 KiB pages

# --------------------------------------------------------------------------- mmap vs read

FILE = FileFacts(
    path="/var/tmp/kernlab-lab-x1/data.bin",
    created=True,
    size=2 * MIB,
    pages=PAGES,
    page_size=4096,
    inode=1311027,
    device="259:1",
    fstype="ext4",
    mount_point="/",
)
FADVISE = Eviction("fadvise", PAGES, 0)
READ_PATH = (
    "entry_SYSCALL_64_after_hwframe",
    "do_syscall_64",
    "ksys_read",
    "vfs_read",
    "filemap_read",
    "page_cache_sync_ra",
    "filemap_add_folio",
)
FAULT_PATH = (
    "asm_exc_page_fault",
    "exc_page_fault",
    "do_user_addr_fault",
    "handle_mm_fault",
    "filemap_fault",
    "page_cache_ra_order",
    "filemap_add_folio",
)

MEMINFO_BEFORE = """\
MemTotal:        8130572 kB
MemFree:         1206340 kB
MemAvailable:    6954212 kB
Buffers:          312448 kB
Cached:          5402120 kB
Shmem:              9876 kB
SReclaimable:     398112 kB
SwapTotal:             0 kB
SwapFree:              0 kB
"""
MEMINFO_AFTER = """\
MemTotal:        8130572 kB
MemFree:         6876104 kB
MemAvailable:    6950036 kB
Buffers:            2212 kB
Cached:            90440 kB
Shmem:              9876 kB
SReclaimable:      51120 kB
SwapTotal:             0 kB
SwapFree:              0 kB
"""


def _free(meminfo: str):
    return compute_free(parse_meminfo(meminfo, source="saved"))


def mmap_traced() -> MmapReadReport:
    """Root: the four runs recorded, the seed's hello_mmap write, and free around drop_caches."""
    runs = (
        RunFigures(
            method="read",
            temperature="cold",
            eviction=FADVISE,
            resident_before=0,
            resident_after=PAGES,
            time_ns=1_840_000,
            bytes=2 * MIB,
            rusage_minor=2,
            rusage_major=0,
            traced=True,
            window_ns=1_905_000,
            syscalls=3,
            copied_bytes=2 * MIB,
            faults=0,
            data_faults=0,
            data_major=0,
            data_minor=0,
            major=0,
            pages_added=PAGES,
            readahead_sync=1,
            readahead_async=3,
            kernel_path=READ_PATH,
            kernel_path_event="filemap:mm_filemap_add_to_page_cache",
        ),
        RunFigures(
            method="read",
            temperature="warm",
            eviction=None,
            resident_before=PAGES,
            resident_after=PAGES,
            time_ns=310_000,
            bytes=2 * MIB,
            rusage_minor=0,
            rusage_major=0,
            traced=True,
            window_ns=352_000,
            syscalls=3,
            copied_bytes=2 * MIB,
            faults=0,
            data_faults=0,
            data_major=0,
            data_minor=0,
            major=0,
            pages_added=0,
            readahead_sync=0,
            readahead_async=0,
        ),
        RunFigures(
            method="mmap",
            temperature="cold",
            eviction=FADVISE,
            resident_before=0,
            resident_after=PAGES,
            time_ns=2_450_000,
            bytes=2 * MIB,
            rusage_minor=26,
            rusage_major=8,
            traced=True,
            window_ns=2_498_000,
            syscalls=0,
            copied_bytes=None,
            faults=34,
            data_faults=32,
            data_major=8,
            data_minor=24,
            major=8,
            pages_added=PAGES,
            readahead_sync=8,
            readahead_async=0,
            kernel_path=FAULT_PATH,
            kernel_path_event="filemap:mm_filemap_add_to_page_cache",
        ),
        # The recording lost the child's markers: the run keeps only its own clock, getrusage
        # and mincore, and a note.
        RunFigures(
            method="mmap",
            temperature="warm",
            eviction=None,
            resident_before=PAGES,
            resident_after=PAGES,
            time_ns=95_000,
            bytes=2 * MIB,
            rusage_minor=33,
            rusage_major=0,
            traced=True,
            notes=("lab.note.no_window",),
        ),
    )
    seed = "31313131313131323232323233333333343434353 60a".replace(" ", "")
    zeroed = "00" * 16 + seed[32:]
    return MmapReadReport(
        file=FILE,
        traced=True,
        trace_note=None,
        eviction_method="fadvise",
        runs=runs,
        shared_write=SharedWrite(
            path="/var/tmp/kernlab-lab-x1/mmap_test.txt",
            length=16,
            before=seed,
            seen=seed[:32],
            after=zeroed,
            after_writeback=zeroed,
            zeroed=True,
            rest_unchanged=True,
        ),
        free=FreeChange(_free(MEMINFO_BEFORE), _free(MEMINFO_AFTER)),
    )


def mmap_untraced() -> MmapReadReport:
    """Not root: a one-page file on tmpfs, which drop_caches cannot empty (the singular counts)."""
    tmpfs = FileFacts("/dev/shm/one.page", False, 4096, 1, 4096, 7, "0:25", "tmpfs", "/dev/shm")
    drop = Eviction("drop_caches", 1, 1)

    def run(method: str, temperature: str, time_ns: int, minor: int) -> RunFigures:
        return RunFigures(
            method=method,
            temperature=temperature,
            eviction=drop if temperature == "cold" else None,
            resident_before=1,
            resident_after=1,
            time_ns=time_ns,
            bytes=4096,
            rusage_minor=minor,
            rusage_major=0,
            traced=False,
            pages_added=0,
            pages_added_source="mincore",
        )

    return MmapReadReport(
        file=tmpfs,
        traced=False,
        trace_note="not_root",
        eviction_method="drop_caches",
        runs=(
            run("read", "cold", 41_000, 0),
            run("read", "warm", 12_500, 0),
            run("mmap", "cold", 8_200, 1),
            run("mmap", "warm", 6_900, 1),
        ),
        shared_write=None,
        free=None,
    )


# --------------------------------------------------------------------------- lazy allocation

STRIP_HALF = (1.0, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0)
STRIP_FULL = (1.0,) * 8


def lazy() -> LazyAllocReport:
    """Three 2 MiB regions: anonymous mmap touched in two steps, malloc in one, THP in one fault."""
    size = 2 * MIB
    mmap_region = Region(
        kind="mmap",
        address=0x7F3A_1C00_0000,
        size=size,
        pages=512,
        page_size=4096,
        advice_applied=True,
        alloc=AllocStep(
            vsz_before_kib=27_364, vsz_after_kib=29_412, rss_before_kib=10_112, rss_after_kib=10_112
        ),
        steps=(
            TouchStep(1 * MIB, 29_412, 11_136, 256, 0, 256, STRIP_HALF, 0),
            TouchStep(2 * MIB, 29_412, 12_160, 512, 0, 512, STRIP_FULL, 0),
        ),
    )
    malloc_region = Region(
        kind="malloc",
        address=0x7F3A_1BDF_F010,
        size=size,
        pages=512,
        page_size=4096,
        advice_applied=False,
        alloc=AllocStep(29_412, 31_464, 12_160, 12_164),
        steps=(TouchStep(2 * MIB, 31_464, 14_212, 513, 0, 512, STRIP_FULL, None),),
    )
    thp_region = Region(
        kind="thp",
        address=0x7F3A_1A00_0000,
        size=size,
        pages=512,
        page_size=4096,
        advice_applied=True,
        alloc=AllocStep(31_464, 33_512, 14_212, 14_212),
        steps=(TouchStep(2 * MIB, 33_512, 16_260, 1, 0, 512, STRIP_FULL, 2048),),
    )
    return LazyAllocReport(
        pid=4242,
        size=size,
        page_size=4096,
        regions=(mmap_region, malloc_region, thp_region),
        thp_mode="madvise",
        thp_skipped=None,
    )


# --------------------------------------------------------------------------- the system-call path

WRITE = Syscall("x86_64", 1, "write", "common", "sys_write", "__x64_sys_write")
ENTRY_STACK = ("entry_SYSCALL_64_after_hwframe", "do_syscall_64", "syscall_trace_enter")
WRITE_STACK = (
    "entry_SYSCALL_64_after_hwframe",
    "do_syscall_64",
    "ksys_write",
    "vfs_write",
    "ext4_buffered_write_iter",
    "generic_perform_write",
    "ext4_da_write_begin",
    "__filemap_get_folio",
    "filemap_add_folio",
)


def _wrapper() -> SyscallWithWrapper:
    note = SyscallNote(1, "write", "x86_64", 0x1148A0)
    code = [
        Instruction(0x114870, bytes.fromhex("f30f1efa"), "endbr64", ""),
        Instruction(0x114874, bytes.fromhex("64 8b 04 25 18 00 00 00"), "mov", "%fs:0x18,%eax"),
        Instruction(0x11487C, bytes.fromhex("85c0"), "test", "%eax,%eax"),
        Instruction(0x11487E, bytes.fromhex("7520"), "jne", "1148a0 <write+0x30>"),
        Instruction(0x114880, bytes.fromhex("b801000000"), "mov", "$0x1,%eax", loads_syscall_number=True),
        Instruction(0x114885, bytes.fromhex("0f05"), "syscall", "", syscall=note),
        Instruction(0x114887, bytes.fromhex("483d00f0ffff"), "cmp", "$0xfffffffffffff000,%rax"),
        Instruction(0x11488D, bytes.fromhex("7751"), "ja", "1148e0 <write+0x70>"),
        Instruction(0x11488F, bytes.fromhex("c3"), "ret", ""),
        Instruction(0x1148A0, bytes.fromhex("55"), "push", "%rbp"),
    ]
    dis = Disassembly(
        "libc.so.6", "x86_64", "att", "write@@GLIBC_2.2.5", 0x114870, 0x80, ".text", code, [note]
    )
    libc = LibcWrapper(
        libc="/lib/x86_64-linux-gnu/libc.so.6",
        syscall=WRITE,
        function="write@@GLIBC_2.2.5",
        disassembly=dis,
        trap_function="write@@GLIBC_2.2.5",
        trap_disassembly=None,
        note=note,
        number_register="eax",
        load=code[4],
        trap=code[5],
        kernel_path=["entry_SYSCALL_64", "do_syscall_64", "x64_sys_call", "__x64_sys_write"],
    )
    return SyscallWithWrapper(test_view_syscall._description(syscall=WRITE), libc)


def path_live() -> SyscallPathReport:
    """Root, x86_64, Linux 6.9 on: libc's wrapper, the switch dispatch, a live write on ext4 and
    the source tree's definition and ops table."""
    return SyscallPathReport(
        name="write",
        number=1,
        arch="x86_64",
        description=test_view_syscall._description(syscall=WRITE),
        wrapper=_wrapper(),
        wrapper_error=None,
        instruction="syscall",
        number_register="rax",
        argument_registers=("rdi", "rsi", "rdx", "r10", "r8", "r9"),
        symbols=(
            KernelSymbol("entry_SYSCALL_64", 0xFFFFFFFF8A000080, "T"),
            KernelSymbol("do_syscall_64", 0xFFFFFFFF89E6A2F0, "T"),
            KernelSymbol("x64_sys_call", 0xFFFFFFFF89203A10, "T"),
            KernelSymbol("__x64_sys_write", 0xFFFFFFFF8953C7E0, "T"),
        ),
        dispatch="switch",
        entry_symbol="__x64_sys_write",
        live=LiveCall(
            pid=4242,
            ret=4096,
            errno=0,
            duration_ns=38_500,
            entry=StackAt("raw_syscalls:sys_enter", 0, ENTRY_STACK),
            inside=(
                StackAt("filemap:mm_filemap_add_to_page_cache", 12_250, WRITE_STACK),
                StackAt("writeback:writeback_dirty_folio", 21_800, (*WRITE_STACK[:6], "folio_mark_dirty")),
            ),
            exit=StackAt(
                "raw_syscalls:sys_exit", 38_500, ("entry_SYSCALL_64_after_hwframe", "do_syscall_64")
            ),
            fs_functions=("ext4_buffered_write_iter", "ext4_da_write_begin"),
        ),
        live_skipped=None,
        mount=MountFacts("/var/tmp/kernlab-path/data", "ext4", "/", "/dev/nvme0n1p1"),
        source=SourceFacts(
            tree="/usr/src/linux-6.10",
            macro="SYSCALL_DEFINE3(write, ...)",
            file="fs/read_write.c",
            line=652,
            ops_function="ext4_buffered_write_iter",
            ops_table="ext4_file_operations",
            ops_field="write_iter",
            ops_file="fs/ext4/file.c",
            ops_line=925,
            same_version=False,
        ),
        source_skipped=None,
    )


def path_unlit() -> SyscallPathReport:
    """Not root: libc has no wrapper, kallsyms hides its addresses (0), no safe recipe, a source
    tree without an index."""
    io_uring = Syscall(
        "x86_64", 425, "io_uring_setup", "common", "sys_io_uring_setup", "__x64_sys_io_uring_setup"
    )
    return SyscallPathReport(
        name="io_uring_setup",
        number=425,
        arch="x86_64",
        description=test_view_syscall._description(syscall=io_uring),
        wrapper=None,
        wrapper_error=NO_WRAPPER,
        wrapper_error_key="errors.elf.no_wrapper",
        wrapper_error_fields={
            "path": "/lib/x86_64-linux-gnu/libc.so.6",
            "name": "io_uring_setup",
            "tried": "io_uring_setup",
        },
        instruction="syscall",
        number_register="rax",
        argument_registers=("rdi", "rsi", "rdx", "r10", "r8", "r9"),
        symbols=(
            KernelSymbol("entry_SYSCALL_64", 0, "T"),
            KernelSymbol("do_syscall_64", 0, "T"),
            KernelSymbol("x64_sys_call", 0, "T"),
            KernelSymbol("__x64_sys_io_uring_setup", 0, "T"),
        ),
        dispatch="switch",
        entry_symbol="__x64_sys_io_uring_setup",
        live=None,
        live_skipped="no_recipe",
        mount=MountFacts("/home/me", "btrfs", "/home", "/dev/sda2"),
        source=None,
        source_skipped="no_index",
        source_tree="/usr/src/linux-6.1",
    )


# What syscall_path.build keeps of the KernlabError with_libc raised: its English, key and fields.
NO_WRAPPER = "/lib/x86_64-linux-gnu/libc.so.6 exports no wrapper for io_uring_setup (tried io_uring_setup)"


# --------------------------------------------------------------------------- golden text


GOLDEN_MMAP = """\

mmap() against read(), cold and warm

 run              time   system calls    copied   faults   on the file's pages   major   minor   pages into the cache   readahead (sync/async)   resident before → after
 ───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 read() cold    1.8 ms              3   2.0 MiB        0                     0       0       0                    512                      1/3                   0 → 512
 read() warm    0.3 ms              3   2.0 MiB        0                     0       0       0                      0                      0/0                 512 → 512
 mmap cold      2.5 ms              0         —       34                    32       8      24                    512                      8/0                   0 → 512
 mmap warm     95.0 µs              —         —        —                     —       —       —                      —                                          512 → 512

→ kernlab wrote 2.0 MiB of random bytes to /var/tmp/kernlab-lab-x1/data.bin (512 pages) on ext4, mounted on /.
→ Before each cold run the file alone was pushed out of the page cache (fsync, then POSIX_FADV_DONTNEED): 512 pages resident before, 0 pages after.
→ Cold read(): 3 system calls copied 2.0 MiB into the process in 1.8 ms; 512 pages entered the page cache, asked for by 1 synchronous readahead and 3 asynchronous readaheads.
→ read() took 0 faults on the file's pages and no major fault during the work: the process never maps the file; the kernel copies each page from the page cache into the process's buffer (copy_to_user).
→ Warm read(): the same 2.0 MiB in 0.3 ms, 5.9× faster than cold, with 0 pages entering the cache: every page was already in the page cache, so no I/O, only the copy.
→ Cold mmap: touching 512 pages took 32 faults (8 major, 24 minor) and no system call in 2.5 ms; 512 pages entered the page cache, about 16 per fault: readahead reads around the missing page and fault-around maps the neighbours already read.
→ A major fault waited for I/O: filemap_fault found the page missing, started reading it and slept until it came; the minor ones found their page already in the page cache and only wrote page-table entries.
→ Warm mmap: 33 faults (0 major) in 95.0 µs: the pages were in the page cache, but this new process's page tables were empty, so each fault only mapped pages (minor).
→ Warm, read() took 0.3 ms and mmap 95.0 µs: read() copies every byte (2.0 MiB) with 3 system calls; mmap copies nothing and makes no call, but pays 33 faults to map the pages.
→ Kernel path of the read() cold run, recorded at filemap:mm_filemap_add_to_page_cache: entry_SYSCALL_64_after_hwframe → do_syscall_64 → ksys_read → vfs_read → filemap_read → page_cache_sync_ra → filemap_add_folio.
→ Kernel path of the mmap cold run, recorded at filemap:mm_filemap_add_to_page_cache: asm_exc_page_fault → exc_page_fault → do_user_addr_fault → handle_mm_fault → filemap_fault → page_cache_ra_order → filemap_add_folio.
→ The recording does not hold the child's two marker calls, so its work could not be told from its start-up.

hello_mmap: a MAP_SHARED write

 file                           hex
 ───────────────────────────────────────────────────────────────────────────
 before                         3131313131313132323232323333333334343435360a
 mmap                           31313131313131323232323233333333
 after                          0000000000000000000000000000000034343435360a
 after write-back (from disk)   0000000000000000000000000000000034343435360a

→ hello_mmap: the file's first 16 bytes were 31313131313131323232323233333333; the child read 31313131313131323232323233333333 through a MAP_SHARED mapping and memset them to 0. Read back with read() the file starts with 00000000000000000000000000000000, and after fsync and eviction, from the disk, still 00000000000000000000000000000000: a write through a shared mapping goes into the page cache, which is the file.

free before and after drop_caches

            total      used      free    shared   buff/cache   available
 ───────────────────────────────────────────────────────────────────────
 before   7.8 GiB   1.1 GiB   1.2 GiB   9.6 MiB      5.8 GiB     6.6 GiB
 after    7.8 GiB   1.1 GiB   6.6 GiB   9.6 MiB      140 MiB     6.6 GiB

→ drop_caches emptied the page cache: buff/cache went from 5.8 GiB to 140 MiB (5.7 GiB freed) while available went from 6.6 GiB to 6.6 GiB (−4.1 MiB): the cache was counted as available already, so dropping it frees memory without making more available.
"""

GOLDEN_MMAP_UNTRACED = """\

mmap() against read(), cold and warm

 run              time   system calls   copied   faults   on the file's pages   major   minor   pages into the cache   readahead (sync/async)   resident before → after
 ──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 read() cold   41.0 µs              —        —        0                     —       0       0                      0                                              1 → 1
 read() warm   12.5 µs              —        —        0                     —       0       0                      0                                              1 → 1
 mmap cold      8.2 µs              —        —        1                     —       0       1                      0                                              1 → 1
 mmap warm      6.9 µs              —        —        1                     —       0       1                      0                                              1 → 1

→ The file /dev/shm/one.page (4.0 KiB, 1 page) is on tmpfs, mounted on /dev/shm.
→ Not root, so nothing was recorded: faults come from getrusage and page-cache pages from mincore; system calls, readahead and kernel paths need a recording (run with sudo).
→ Before each cold run the page cache of the whole machine was dropped (echo 3 > /proc/sys/vm/drop_caches: every file's pages, dentries and inodes, not this file's only): 1 page of this file resident before, 1 page after.
→ 1 page stayed in the page cache after the eviction: on tmpfs the pages have no disk to go back to (tmpfs, ramfs), or another process maps them, so the cold runs were not cold.
→ Cold read() copied 4.0 KiB in 41.0 µs; mincore counts 0 pages newly in the page cache.
→ Warm read(): the same 4.0 KiB in 12.5 µs, 3.3× faster than cold, with 0 pages entering the cache: every page was already in the page cache, so no I/O, only the copy.
→ Cold mmap: touching 1 page took 1 minor fault and no major fault (getrusage) in 8.2 µs; mincore counts 0 pages newly in the page cache.
→ The cold mmap had no major fault: its pages were already in memory when it touched them (1 page resident before it), so the eviction did not take or the file system keeps its pages elsewhere.
→ Warm mmap: 1 fault (0 major) in 6.9 µs: the pages were in the page cache, but this new process's page tables were empty, so each fault only mapped pages (minor).
→ Warm, read() took 12.5 µs and mmap 6.9 µs: read() copies every byte (4.0 KiB) through system calls; mmap copies nothing and makes no call, but pays 1 fault to map the pages.
"""

GOLDEN_LAZY = """\

Lazy allocation: VSZ, RSS and pages present as the region is touched

 region                  touched      VSZ       RSS   minor   pages present   AnonHugePages   where (pagemap)
 ────────────────────────────────────────────────────────────────────────────────────────────────────────────
 mmap(MAP_ANONYMOUS)           0   29 MiB   9.9 MiB       0
                         1.0 MiB   29 MiB    11 MiB     256             256           0 KiB   ███▒····
                         2.0 MiB   29 MiB    12 MiB     512             512           0 KiB   ████████
 malloc() through libc         0   31 MiB    12 MiB       0
                         2.0 MiB   31 MiB    14 MiB     513             512                   ████████
 mmap + MADV_HUGEPAGE          0   33 MiB    14 MiB       0
                         2.0 MiB   33 MiB    16 MiB       1             512         2.0 MiB   ████████

→ mmap(MAP_ANONYMOUS): allocating 2.0 MiB raised VSZ by 2.0 MiB and RSS by only 0 KiB: the kernel made an area (a VMA), no page.
→ Writing into all of it in 2 steps raised RSS by 2.0 MiB, 100% of what was written, with 512 faults: each first touch of a page faulted and the kernel put a zeroed page there; pagemap shows 512 pages of 512 pages present.
→ malloc() through libc: allocating 2.0 MiB raised VSZ by 2.0 MiB and RSS by only 4 KiB: the kernel made an area (a VMA), no page.
→ glibc served the 2.0 MiB malloc() with mmap (above its M_MMAP_THRESHOLD of 128 KiB), so it is as lazy as mmap itself.
→ Writing into all of it in 1 step raised RSS by 2.0 MiB, 100% of what was written, with 513 faults: each first touch of a page faulted and the kernel put a zeroed page there; pagemap shows 512 pages of 512 pages present.
→ mmap + MADV_HUGEPAGE: allocating 2.0 MiB raised VSZ by 2.0 MiB and RSS by only 0 KiB: the kernel made an area (a VMA), no page.
→ With MADV_HUGEPAGE, 2.0 MiB took only 1 fault, about 2.0 MiB per fault, and smaps shows AnonHugePages 2.0 MiB: each fault mapped a whole 2 MiB page.
"""

GOLDEN_PATH = """\

The path of write on this machine

 write@@GLIBC_2.2.5
 ──────────────────────────────────────────
   114870:  endbr64
   114874:  mov %fs:0x18,%eax
   11487c:  test %eax,%eax
   11487e:  jne 1148a0 <write+0x30>
   114880:  mov $0x1,%eax
   114885:  syscall
   114887:  cmp $0xfffffffffffff000,%rax
   11488d:  ja 1148e0 <write+0x70>
   11488f:  ret


 symbol             address              type
 ────────────────────────────────────────────
 entry_SYSCALL_64   0xffffffff8a000080   T
 do_syscall_64      0xffffffff89e6a2f0   T
 x64_sys_call       0xffffffff89203a10   T
 __x64_sys_write    0xffffffff8953c7e0   T


Events inside the call, with their kernel stacks

 after enter   event                                  kernel stack (outermost first)
 ───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 0.0 µs        raw_syscalls:sys_enter                 entry_SYSCALL_64_after_hwframe → do_syscall_64 → syscall_trace_enter
 12.2 µs       filemap:mm_filemap_add_to_page_cache   entry_SYSCALL_64_after_hwframe → do_syscall_64 → ksys_write → vfs_write → ext4_buffered_write_iter → generic_perform_write → ext4_da_write_begin → __filemap_get_folio → filemap_add_folio
 21.8 µs       writeback:writeback_dirty_folio        entry_SYSCALL_64_after_hwframe → do_syscall_64 → ksys_write → vfs_write → ext4_buffered_write_iter → generic_perform_write → folio_mark_dirty
 38.5 µs       raw_syscalls:sys_exit                  entry_SYSCALL_64_after_hwframe → do_syscall_64

→ libc's write loads 1 (0x1) into eax and executes syscall: that number is the whole name of the call for the kernel.
→ syscall enters the kernel at entry_SYSCALL_64: the number in rax, the arguments in rdi, rsi, rdx, r10, r8, r9 (r10 instead of rcx, which syscall overwrites with the return address).
→ do_syscall_64 calls x64_sys_call, a switch over the number generated from the table (Linux 6.9 on, against branch-target injection), which calls __x64_sys_write at 0xffffffff8953c7e0.
→ One call made live returned 4096 after 38.5 µs; at sys_enter the kernel stack was entry_SYSCALL_64_after_hwframe → do_syscall_64 → syscall_trace_enter.
→ Inside the call filemap:mm_filemap_add_to_page_cache, writeback:writeback_dirty_folio fired; the deepest stack went entry_SYSCALL_64_after_hwframe → do_syscall_64 → ksys_write → vfs_write → ext4_buffered_write_iter → generic_perform_write → ext4_da_write_begin → __filemap_get_folio → filemap_add_folio.
→ The path /var/tmp/kernlab-path/data is on ext4 (/dev/nvme0n1p1 mounted on /); the call passed through ext4_buffered_write_iter, ext4_da_write_begin.
→ In /usr/src/linux-6.10 the call is defined by SYSCALL_DEFINE3(write, ...) at fs/read_write.c:652.
→ ext4_buffered_write_iter is bound as .write_iter of ext4_file_operations at fs/ext4/file.c:925: the file system's table the VFS calls through.
→ That tree is of another version than the running kernel, so lines may differ.
"""

GOLDEN_PATH_UNLIT = """\

The path of io_uring_setup on this machine

 symbol                     address   type
 ─────────────────────────────────────────
 entry_SYSCALL_64           0x0       T
 do_syscall_64              0x0       T
 x64_sys_call               0x0       T
 __x64_sys_io_uring_setup   0x0       T

→ No wrapper of libc for io_uring_setup could be disassembled (/lib/x86_64-linux-gnu/libc.so.6 exports no wrapper for io_uring_setup (tried io_uring_setup)); the call's number is 425.
→ syscall enters the kernel at entry_SYSCALL_64: the number in rax, the arguments in rdi, rsi, rdx, r10, r8, r9 (r10 instead of rcx, which syscall overwrites with the return address).
→ do_syscall_64 calls x64_sys_call, a switch over the number generated from the table (Linux 6.9 on, against branch-target injection), which calls __x64_sys_io_uring_setup at 0x0.
→ kallsyms hides the addresses from this user (kptr_restrict): they read 0; run as root to see them.
→ kernlab has no safe way to make io_uring_setup with sample arguments, so no call was made live; the calls it can make: access, brk, chdir, close, faccessat, fdatasync, fstat, fsync, ftruncate, getcwd, geteuid, getgid, getpid, getppid, gettid, getuid, lseek, lstat, mkdir, mkdirat, mmap, munmap, newfstatat, open, openat, pread64, pwrite64, read, rename, renameat, renameat2, rmdir, sched_yield, stat, statx, truncate, uname, unlink, unlinkat, write.
→ The path /home/me is on btrfs (/dev/sda2 mounted on /home); which of its functions the call passes through needs the live call.
→ The kernel tree /usr/src/linux-6.1 has no index yet: `kernlab ksrc --tree /usr/src/linux-6.1 index` builds it (about a minute).
"""

GOLDEN_MMAP_KO = """\

mmap()과 read(), 차가울 때와 따뜻할 때

 실행               시간   시스템 콜      복사   폴트   파일 페이지에서   메이저   마이너   캐시에 든 페이지   미리 읽기 (동기/비동기)   상주 전 → 뒤
 ────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 read() 차가움    1.8 ms           3   2.0 MiB      0                 0        0        0                512                       1/3        0 → 512
 read() 따뜻함    0.3 ms           3   2.0 MiB      0                 0        0        0                  0                       0/0      512 → 512
 mmap 차가움      2.5 ms           0         —     34                32        8       24                512                       8/0        0 → 512
 mmap 따뜻함     95.0 µs           —         —      —                 —        —        —                  —                                512 → 512

→ kernlab이 무작위 바이트 2.0 MiB를 /var/tmp/kernlab-lab-x1/data.bin에 썼습니다 (512페이지); /에 마운트된 ext4 위입니다.
→ 차가운 실행마다 그 앞에서 이 파일만 페이지 캐시에서 내보냈습니다 (fsync 뒤 POSIX_FADV_DONTNEED): 전에는 512페이지, 뒤에는 0페이지 상주했습니다.
→ 차가운 read(): 시스템 콜 3번으로 2.0 MiB를 프로세스에 복사하는 데 1.8 ms 걸렸습니다; 페이지 캐시에 512페이지가 들어왔고, 동기 미리 읽기 1번과 비동기 미리 읽기 3번이 요청했습니다.
→ read()는 파일 페이지에서 폴트 0번, 작업 중에 메이저 폴트 0번을 겪었습니다: 프로세스는 파일을 매핑하지 않고, 커널이 페이지 캐시에서 프로세스의 버퍼로 페이지를 복사합니다 (copy_to_user).
→ 따뜻한 read(): 같은 2.0 MiB를 0.3 ms에 읽어 차가울 때보다 5.9배 빨랐고, 캐시에 든 페이지는 0페이지입니다: 모든 페이지가 이미 페이지 캐시에 있었으므로 I/O 없이 복사만 했습니다.
→ 차가운 mmap: 512페이지를 건드리는 데 폴트 32번이 났고 (메이저 8, 마이너 24) 시스템 콜은 없었으며 2.5 ms 걸렸습니다; 페이지 캐시에 512페이지가 들어와 폴트 하나에 약 16페이지입니다: 미리 읽기가 없는 페이지 둘레를 읽고 fault-around가 이미 읽힌 이웃을 매핑합니다.
→ 메이저 폴트는 I/O를 기다렸습니다: filemap_fault가 페이지가 없는 것을 보고 읽기를 시작한 뒤 올 때까지 잤습니다; 마이너 폴트는 페이지가 이미 페이지 캐시에 있어 페이지 테이블 항목만 썼습니다.
→ 따뜻한 mmap: 95.0 µs 동안 폴트 33번이 났습니다 (메이저 0): 페이지는 페이지 캐시에 있었지만 이 새 프로세스의 페이지 테이블이 비어 있어, 폴트마다 페이지를 매핑만 했습니다 (마이너).
→ 따뜻할 때 read()는 0.3 ms, mmap은 95.0 µs 걸렸습니다: read()는 시스템 콜 3번으로 모든 바이트(2.0 MiB)를 복사하고, mmap은 복사도 호출도 없이 페이지를 매핑하는 폴트 33번을 치릅니다.
→ read() 차가움 실행의 커널 경로 (filemap:mm_filemap_add_to_page_cache에서 기록): entry_SYSCALL_64_after_hwframe → do_syscall_64 → ksys_read → vfs_read → filemap_read → page_cache_sync_ra → filemap_add_folio.
→ mmap 차가움 실행의 커널 경로 (filemap:mm_filemap_add_to_page_cache에서 기록): asm_exc_page_fault → exc_page_fault → do_user_addr_fault → handle_mm_fault → filemap_fault → page_cache_ra_order → filemap_add_folio.
→ 기록에 자식의 표지 호출 두 개가 없어 작업을 시작 과정과 가를 수 없었습니다.

hello_mmap: MAP_SHARED 쓰기

 파일                     hex
 ─────────────────────────────────────────────────────────────────────
 전                       3131313131313132323232323333333334343435360a
 mmap                     31313131313131323232323233333333
 뒤                       0000000000000000000000000000000034343435360a
 되쓰기 뒤 (디스크에서)   0000000000000000000000000000000034343435360a

→ hello_mmap: 파일의 앞 16바이트: 31313131313131323232323233333333; 자식이 MAP_SHARED 매핑으로 31313131313131323232323233333333을 읽고 memset으로 0을 썼습니다. read()로 다시 읽으면 파일은 00000000000000000000000000000000으로 시작하고, fsync와 내보내기 뒤 디스크에서 읽어도 00000000000000000000000000000000입니다: 공유 매핑으로 쓴 것은 곧 파일인 페이지 캐시에 들어갑니다.

drop_caches 전과 뒤의 free

        total      used      free    shared   buff/cache   available
 ───────────────────────────────────────────────────────────────────
 전   7.8 GiB   1.1 GiB   1.2 GiB   9.6 MiB      5.8 GiB     6.6 GiB
 뒤   7.8 GiB   1.1 GiB   6.6 GiB   9.6 MiB      140 MiB     6.6 GiB

→ drop_caches가 페이지 캐시를 비웠습니다: buff/cache는 5.8 GiB에서 140 MiB로 (5.7 GiB 해제), available은 6.6 GiB에서 6.6 GiB로 (−4.1 MiB) 바뀌었습니다: 캐시는 이미 available에 들어 있었으므로, 버려도 메모리가 풀릴 뿐 available은 크게 늘지 않습니다.
"""

GOLDEN_LAZY_KO = """\

지연 할당: 영역을 건드릴수록 VSZ, RSS, 있는 페이지

 영역                   건드린 양      VSZ       RSS   마이너   있는 페이지   AnonHugePages   위치 (pagemap)
 ───────────────────────────────────────────────────────────────────────────────────────────────────────────
 mmap(MAP_ANONYMOUS)            0   29 MiB   9.9 MiB        0
                          1.0 MiB   29 MiB    11 MiB      256           256           0 KiB   ███▒····
                          2.0 MiB   29 MiB    12 MiB      512           512           0 KiB   ████████
 libc의 malloc()                0   31 MiB    12 MiB        0
                          2.0 MiB   31 MiB    14 MiB      513           512                   ████████
 mmap + MADV_HUGEPAGE           0   33 MiB    14 MiB        0
                          2.0 MiB   33 MiB    16 MiB        1           512         2.0 MiB   ████████

→ mmap(MAP_ANONYMOUS): 2.0 MiB를 할당하자 VSZ는 2.0 MiB 늘었지만 RSS는 0 KiB만 늘었습니다: 커널은 영역(VMA)을 만들었을 뿐 페이지는 주지 않았습니다.
→ 전체에 2단계에 걸쳐 쓰자 RSS가 2.0 MiB 늘었고 (쓴 양의 100%), 폴트 512번이 났습니다: 페이지를 처음 건드릴 때마다 폴트가 나고 커널이 0으로 채운 페이지를 넣었습니다; pagemap으로 보면 512페이지 가운데 512페이지가 있습니다.
→ libc의 malloc(): 2.0 MiB를 할당하자 VSZ는 2.0 MiB 늘었지만 RSS는 4 KiB만 늘었습니다: 커널은 영역(VMA)을 만들었을 뿐 페이지는 주지 않았습니다.
→ glibc는 2.0 MiB의 malloc()을 mmap으로 처리했습니다 (M_MMAP_THRESHOLD 128 KiB보다 크므로), 그래서 mmap만큼 게으릅니다.
→ 전체에 1단계에 걸쳐 쓰자 RSS가 2.0 MiB 늘었고 (쓴 양의 100%), 폴트 513번이 났습니다: 페이지를 처음 건드릴 때마다 폴트가 나고 커널이 0으로 채운 페이지를 넣었습니다; pagemap으로 보면 512페이지 가운데 512페이지가 있습니다.
→ mmap + MADV_HUGEPAGE: 2.0 MiB를 할당하자 VSZ는 2.0 MiB 늘었지만 RSS는 0 KiB만 늘었습니다: 커널은 영역(VMA)을 만들었을 뿐 페이지는 주지 않았습니다.
→ MADV_HUGEPAGE를 주자 2.0 MiB에 폴트 1번만 나서 폴트 하나에 약 2.0 MiB고, smaps의 AnonHugePages는 2.0 MiB입니다: 폴트 하나가 2 MiB 페이지 하나를 통째로 매핑했습니다.
"""


def test_mmap_vs_read_recorded(capsys):
    view.show_mmap(mmap_traced(), Output())
    assert capsys.readouterr().out == GOLDEN_MMAP


def test_mmap_vs_read_not_recorded_one_page_on_tmpfs(capsys):
    view.show_mmap(mmap_untraced(), Output())
    assert capsys.readouterr().out == GOLDEN_MMAP_UNTRACED


def test_lazy_allocation(capsys):
    view.show_lazy(lazy(), Output())
    assert capsys.readouterr().out == GOLDEN_LAZY


def test_syscall_path_live(capsys):
    view.show_path(path_live(), Output())
    assert capsys.readouterr().out == GOLDEN_PATH


def test_syscall_path_without_wrapper_recipe_or_index(capsys):
    view.show_path(path_unlit(), Output())
    assert capsys.readouterr().out == GOLDEN_PATH_UNLIT


def test_quiet_keeps_the_tables_and_drops_the_sentences(capsys):
    for show, report in (
        (view.show_mmap, mmap_traced()),
        (view.show_lazy, lazy()),
        (view.show_path, path_live()),
    ):
        show(report, Output(quiet=True))
        out = capsys.readouterr().out
        assert "→" not in out.replace(" → ", "")  # arrows inside stacks and cells stay
        assert not any(line.startswith("→") for line in out.splitlines())
    view.show_mmap(mmap_traced(), Output(quiet=True))
    assert capsys.readouterr().out == "".join(
        line + "\n" for line in GOLDEN_MMAP.splitlines() if not line.startswith("→")
    )


# --------------------------------------------------------------------------- the other branches


def _sentences(show, report) -> list[str]:  # type: ignore[no-untyped-def]
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        show(report, Output())
    return [line for line in buffer.getvalue().splitlines() if line.startswith("→ ")]


def test_mmap_sentences_when_the_cache_was_emptied_between_runs_and_the_write_failed():
    report = mmap_traced()
    runs = list(report.runs)
    runs[1] = dataclasses.replace(runs[1], pages_added=12, time_ns=420_000)
    report = dataclasses.replace(
        report,
        runs=tuple(runs),
        shared_write=dataclasses.replace(report.shared_write, zeroed=False, after=report.shared_write.before),
        free=None,
    )
    said = _sentences(view.show_mmap, report)
    assert said[4] == (
        "→ Warm read(): 2.0 MiB in 0.4 ms (cold: 1.8 ms), but 12 pages had left the page cache since the"
        " cold run (memory reclaimed, or another process dropped caches), so those were read from the disk again."
    )
    assert said[-1] == (
        "→ hello_mmap: after the MAP_SHARED write the file starts with 31313131313131323232323233333333"
        " (before 31313131313131323232323233333333): the first 16 bytes did not all become zero."
    )


def test_mmap_sentences_for_a_file_outside_the_page_cache():
    report = mmap_untraced()
    empty = dataclasses.replace(report.runs[0].eviction, resident_before=0, resident_after=0)
    runs = tuple(
        dataclasses.replace(r, resident_before=0, resident_after=0, eviction=empty if r.eviction else None)
        for r in report.runs
    )
    file = dataclasses.replace(report.file, fstype=None, mount_point=None)
    said = _sentences(
        view.show_mmap, dataclasses.replace(report, runs=runs, trace_note="no_trace", file=file)
    )
    assert said[:2] == [
        "→ The file /dev/shm/one.page (4.0 KiB, 1 page) is on ?, mounted on ?.",
        "→ --no-trace: nothing was recorded; faults come from getrusage and page-cache pages from mincore.",
    ]
    assert not any("stayed in the page cache" in s for s in said)
    assert (
        "→ The cold read added nothing to the page cache: ? serves this file without the page cache (DAX, or a"
        " file system that reads directly), so there is no cold/warm difference to show."
    ) in said


def test_lazy_sentences_when_thp_falls_back_or_is_off():
    report = lazy()
    thp = report.regions[2]
    small = dataclasses.replace(thp, steps=(dataclasses.replace(thp.steps[0], minflt=512, anon_huge_kib=0),))
    said = _sentences(view.show_lazy, dataclasses.replace(report, regions=(report.regions[0], small)))
    assert said[-1] == (
        "→ With MADV_HUGEPAGE the kernel still filled 2.0 MiB in small pages (512 faults, AnonHugePages 0 KiB):"
        " no free 2 MiB block was at hand (fragmented memory), or defrag does not try."
    )
    never = dataclasses.replace(report, regions=report.regions[:1], thp_skipped="thp_never")
    assert _sentences(view.show_lazy, never)[-1] == (
        "→ Transparent huge pages are off (/sys/kernel/mm/transparent_hugepage/enabled says never):"
        " the huge-page part did not run."
    )
    absent = dataclasses.replace(report, regions=report.regions[:1], thp_skipped="no_thp")
    assert _sentences(view.show_lazy, absent)[-1] == (
        "→ This kernel has no transparent huge pages (no /sys/kernel/mm/transparent_hugepage):"
        " the huge-page part did not run."
    )


def test_path_sentences_for_a_failed_call_through_sys_call_table():
    report = path_live()
    live = dataclasses.replace(report.live, ret=-1, errno=28, inside=(), fs_functions=())
    table = KernelSymbol("sys_call_table", 0xFFFFFFFF8A200300, "D")
    source = dataclasses.replace(report.source, macro=None, ops_table=None, same_version=True)
    report = dataclasses.replace(
        report,
        live=live,
        dispatch="table",
        symbols=(*report.symbols[:2], table, report.symbols[3]),
        source=source,
    )
    assert _sentences(view.show_path, report)[2:] == [
        "→ do_syscall_64 indexes sys_call_table with the number and calls __x64_sys_write at 0xffffffff8953c7e0.",
        "→ One call made live failed with errno 28 after 38.5 µs; at sys_enter the kernel stack was"
        " entry_SYSCALL_64_after_hwframe → do_syscall_64 → syscall_trace_enter.",
        "→ No other traced event fired inside the call: it did its work without the page cache, the file"
        " system's events or a sleep.",
        "→ The path /var/tmp/kernlab-path/data is on ext4 (/dev/nvme0n1p1 mounted on /); no function named"
        " after ext4 was on the recorded stacks.",
    ]


def test_path_sentences_when_no_call_was_made_live():
    expected = {
        "not_root": "→ The live call needs a recording, which needs root (run with sudo).",
        "no_trace": "→ --no-trace: no call was made live.",
        "foreign": "→ The call belongs to another architecture than the running kernel's, so no call was made live.",
    }
    for skipped, sentence in expected.items():
        report = dataclasses.replace(
            path_live(), live=None, live_skipped=skipped, source=None, source_skipped="no_tree"
        )
        assert _sentences(view.show_path, report)[3:] == [
            sentence,
            "→ The path /var/tmp/kernlab-path/data is on ext4 (/dev/nvme0n1p1 mounted on /); which of its"
            " functions the call passes through needs the live call.",
            "→ No kernel source tree was found (/usr/src/linux*, kernlab's extracted one): give one with --tree DIR.",
        ]


def test_path_sentences_without_a_dispatch_symbol():
    report = path_live()
    report = dataclasses.replace(report, dispatch=None, symbols=(*report.symbols[:2], report.symbols[3]))
    assert _sentences(view.show_path, report)[2] == (
        "→ kallsyms shows neither x64_sys_call nor sys_call_table here: the dispatch cannot be named."
    )
    other = dataclasses.replace(
        report,
        arch="riscv64",
        instruction="ecall",
        number_register="a7",
        argument_registers=("a0", "a1", "a2"),
    )
    assert (
        _sentences(view.show_path, other)[1]
        == "→ ecall enters the kernel: the number in a7, the arguments in a0, a1, a2."
    )


# --------------------------------------------------------------------------- Korean


def test_korean_goldens(capsys):
    with korean() as missed:
        view.show_mmap(mmap_traced(), Output())
        mmap_out = capsys.readouterr().out
        view.show_lazy(lazy(), Output())
        lazy_out = capsys.readouterr().out
    assert mmap_out == GOLDEN_MMAP_KO
    assert lazy_out == GOLDEN_LAZY_KO
    assert_korean(mmap_out + lazy_out, missed, "lab")


def test_every_report_and_branch_in_korean(capsys):
    """Every lab sentence the reports above reach, said in Korean: no key Korean lacks, no English."""
    with korean() as missed:
        for show, report in (
            (view.show_mmap, mmap_traced()),
            (view.show_mmap, mmap_untraced()),
            (view.show_lazy, lazy()),
            (view.show_path, path_live()),
            (view.show_path, path_unlit()),
        ):
            show(report, Output())
        out = capsys.readouterr().out
    assert_korean(out.replace(NO_WRAPPER, ""), missed, "lab")


def _labels(monkeypatch) -> Labels:
    seen = Labels()
    monkeypatch.setattr(view, "print_table", seen.table)
    monkeypatch.setattr(view, "print_heading", seen.heading)
    return seen


# free(1)'s own column names (kept in English by `kernlab mem` too), hex, and the names of what
# a row shows: data, not words the view chose.
KEPT_WORDS = frozenset(
    {
        "total",
        "used",
        "free",
        "shared",
        "available",
        "hex",
        "mmap",
        "read",
        "VSZ",
        "AnonHugePages",
        "MADV_HUGEPAGE",
    }
)


def test_korean_labels_of_mmap_and_lazy(monkeypatch):
    seen = _labels(monkeypatch)
    with korean():
        view.show_mmap(mmap_traced(), Output(quiet=True))
        view.show_lazy(lazy(), Output(quiet=True))
    _check(seen, KEPT_WORDS)


def test_korean_labels_of_the_path(monkeypatch):
    seen = _labels(monkeypatch)
    with korean():
        view.show_path(path_live(), Output(quiet=True))
    _check(seen, frozenset({"write", "GLIBC"}))


def test_korean_says_why_there_is_no_wrapper(capsys):
    with korean():
        view.show_path(path_unlit(), Output())
    assert "exports no wrapper" not in capsys.readouterr().out


def test_sentences_group_thousands_as_the_table_does(capsys):
    big = dataclasses.replace(FILE, size=64 * MIB, pages=16384)
    view.show_mmap(dataclasses.replace(mmap_traced(), file=big), Output())
    assert "(16,384 pages)" in capsys.readouterr().out


def test_warm_mmap_with_major_faults_says_major_once(capsys):
    report = mmap_traced()
    warm = dataclasses.replace(report.runs[3], rusage_major=3, pages_added=12)
    view.show_mmap(dataclasses.replace(report, runs=(*report.runs[:3], warm)), Output())
    assert (
        "→ Warm mmap: 33 faults in 95.0 µs, 3 major faults among them: 12 pages of the file had left"
        in capsys.readouterr().out
    )
