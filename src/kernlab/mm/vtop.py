"""One virtual address of a process through every layer kernlab can read.

The layers, from the top: the page-table indices of the paging mode in use (paging.py), the
VMA that holds the address (/proc/PID/maps + smaps), the file and file offset behind it and,
for an ELF file, its section and symbol (elfplace.py), the pagemap entry (pagemap.py), the
physical page's flags and map count (kpageflags.py) and, for a file page, whether that page of
the file is in the page cache (pagecache.py). No single kernel interface joins these.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from kernlab.errors import BadInput, KernlabError, NoSuchProcess
from kernlab.kernel.cmdline import StackGuardGap, stack_guard_gap
from kernlab.kernel.layout import KernelAddress, classify_address
from kernlab.mm.elfplace import ElfPlace, elf_place
from kernlab.mm.kpageflags import KPF_BITS, PageFlags, flag_names, read_kpagecount, read_kpageflags
from kernlab.mm.pagemap import PagemapEntry, read_pagemap
from kernlab.mm.paging import AddressSplit, PagingMode, detect_paging, split_address
from kernlab.mm.ranges import MAX_PAGES, RangeReport, VmaCounts, add_counts, count_pages
from kernlab.proc.cmdline import printable
from kernlab.proc.elfload import PAGE_SIZE
from kernlab.proc.maps import Vma, find_vma, nearest_vmas, read_maps
from kernlab.proc.process import read_process


@dataclass(frozen=True)
class Target:
    """The process an address belongs to."""

    pid: int
    comm: str
    kernel_thread: bool


@dataclass(frozen=True)
class FileBacking:
    """The file behind a file-backed VMA at one address."""

    path: str
    file_offset: int  # vma.offset + (address - vma.start)
    deleted: bool
    in_page_cache: bool | None  # that page of the file is cached (mincore); None if unknowable
    page_cache_note: str | None  # why in_page_cache is None


@dataclass(frozen=True)
class HugeMapping:
    """How a huge page maps the address: a PMD entry maps 2 MiB directly (no PTE level)."""

    kind: str  # "thp" (transparent) or "hugetlb"
    pmd_mapped: bool  # the whole huge page is one PMD entry
    size: int  # bytes one entry maps (PMD: 2 MiB on x86_64)
    offset: int  # the address's offset inside that huge page
    evidence: str  # what told us (kpageflags, smaps AnonHugePages, PFN contiguity)


@dataclass(frozen=True)
class StackGrowth:
    """What an access below a stack that grows down (VM_GROWSDOWN) would do.

    The kernel's rule (do_user_addr_fault → expand_stack → expand_downwards and
    acct_stack_growth, mm/mmap.c; mm/vma.c in later kernels): when the VMA just above a faulting
    address grows down, the stack is extended to the address's page unless
      * the page lies below vm.mmap_min_addr,
      * an accessible mapping below that does not grow down itself ends less than
        stack_guard_gap bytes under the page (a PROT_NONE mapping does not count),
      * the stack would then span more than RLIMIT_STACK (the soft limit),
      * or the process's address space would pass RLIMIT_AS.
    Any of these makes the access a segmentation fault. Nothing checks the stack pointer.
    """

    stack: Vma  # the VMA that grows down, just above the address
    verdict: str  # grows, beyond_rlimit, guard_gap, below_mmap_min_addr, beyond_rlimit_as
    new_start: int  # the stack's start after growing: the address's page
    new_size: int  # bytes the stack would span
    rlimit: int | None  # RLIMIT_STACK soft limit in bytes; None: unlimited
    guard_gap: StackGuardGap
    below: Vma | None  # the mapping under the address
    below_counts: bool  # it is accessible and does not grow down: the guard gap applies to it
    mmap_min_addr: int
    lowest: int  # the lowest page the stack can grow to
    limited_by: str  # what sets ``lowest``: rlimit, guard_gap, mmap_min_addr, nothing


@dataclass(frozen=True)
class VtopResult:
    """Everything kernlab knows about one address of one process."""

    target: Target
    address: int
    paging: PagingMode
    split: AddressSplit
    vma: Vma | None
    vma_index: int | None
    below: Vma | None  # nearest VMA below, when the address is in no VMA
    above: Vma | None
    file: FileBacking | None
    elf: ElfPlace | None
    pagemap: PagemapEntry | None  # None when pagemap has no entry (above TASK_SIZE)
    page: PageFlags | None
    page_note: str | None  # why page flags are missing (not present, no CAP_SYS_ADMIN…)
    huge: HugeMapping | None
    growth: StackGrowth | None = None  # the address is under a stack that grows down
    kernel: KernelAddress | None = None  # the address is outside the user half


def open_target(pid: int | str) -> tuple[Target, list[Vma]]:
    """The process and its VMAs; a kernel thread or zombie has none, and says so."""
    info = read_process(pid)
    # An error is one line: a name with a newline in it must not break it in two.
    comm = printable(info.comm)
    if info.kernel_thread:
        raise BadInput(
            f"PID {info.pid} ({comm}) is a kernel thread: it has no user address space "
            "(no mm_struct, so no VMAs and no pagemap)",
            pid=info.pid,
            key="errors.mm.kernel_thread",
            fields={"pid": info.pid, "comm": comm},
        )
    if info.state == "Z" and info.threads > 1:
        # The main thread exited but others run: the memory lives on, yet the kernel gives an
        # exited leader's maps and pagemap no mm to show.
        raise BadInput(
            f"PID {info.pid} ({comm}): its main thread has exited (zombie) but the process lives on in "
            f"its other threads (num_threads {info.threads}); the kernel shows no memory map or pagemap "
            "through an exited main thread, so this address space cannot be read by its PID",
            pid=info.pid,
            key="vtop.error.zombie_leader",
            fields={"pid": info.pid, "comm": comm, "threads": info.threads},
        )
    if info.state == "Z":
        raise NoSuchProcess(
            info.pid,
            f"{comm} has exited (zombie): its memory is already freed",
            key="errors.mm.zombie",
            fields={"comm": comm},
        )
    vmas = read_maps(info.pid, smaps=True)
    if not vmas:
        # maps is empty only when the mm is gone: the process exited between the two reads.
        raise NoSuchProcess(
            info.pid, "it exited while its memory map was being read", key="errors.process_exited"
        )
    return Target(info.pid, info.comm, info.kernel_thread), vmas


def _file_backing(pid: int, vma: Vma, address: int) -> FileBacking | None:
    if vma.path is None:
        return None
    from kernlab.mm.pagecache import page_resident

    offset = vma.offset + (address - vma.start)
    if vma.kernel_page_size is not None and vma.kernel_page_size * 1024 > PAGE_SIZE:
        # hugetlbfs: mincore() on a fresh mapping of the file reports that mapping's own (empty)
        # page tables, not the file's cache, so residency cannot be asked this way.
        return FileBacking(vma.path, offset, vma.deleted, None, None)
    # map_files opens the very file mapped, even deleted or replaced; it needs CAP_SYS_ADMIN.
    candidates = [f"/proc/{pid}/map_files/{vma.start:x}-{vma.end:x}"]
    if not vma.deleted:
        candidates.append(vma.path)
    note = None
    for path in candidates:
        try:
            return FileBacking(vma.path, offset, vma.deleted, page_resident(path, offset), None)
        except KernlabError as exc:
            note = str(exc)
    return FileBacking(vma.path, offset, vma.deleted, None, note)


def _page_flags(entry: PagemapEntry | None) -> tuple[PageFlags | None, str | None]:
    if entry is None:
        return None, "no-pagemap"
    if not entry.present:
        return None, "swapped" if entry.swapped else "absent"
    if entry.pfn is None:
        return None, "pfn-hidden"
    try:
        raw = read_kpageflags([entry.pfn]).get(entry.pfn)
        count = read_kpagecount([entry.pfn]).get(entry.pfn)
    except KernlabError as exc:
        return None, f"kpageflags: {exc}"
    if raw is None:
        return None, "beyond-kpageflags"
    return PageFlags(entry.pfn, raw, flag_names(raw), count), None


def folio_extent(pfn: int, limit: int = 512) -> tuple[int, int] | None:
    """(first PFN, number of pages) of the compound page (folio) holding ``pfn``.

    kpageflags marks the first frame COMPOUND_HEAD and the others COMPOUND_TAIL, so walking
    from ``pfn`` down to the head and up to the last tail gives the folio's frames. Looks at
    most ``limit`` frames each way (a 2 MiB THP is 512 frames); None when no head is found.
    """
    low = max(0, pfn - limit + 1)
    flags = read_kpageflags(range(low, pfn + limit))
    head_bit, tail_bit = 1 << KPF_BITS["COMPOUND_HEAD"], 1 << KPF_BITS["COMPOUND_TAIL"]
    head = pfn
    while head >= low and not flags.get(head, 0) & head_bit:
        if not flags.get(head, 0) & tail_bit:
            return None
        head -= 1
    if head < low:
        return None
    end = head + 1
    while flags.get(end, 0) & tail_bit and not flags.get(end, 0) & head_bit:
        end += 1
    return head, end - head


def _huge_from_smaps(vma: Vma, address: int, mode: PagingMode) -> HugeMapping | None:
    """Without PFNs: smaps tells only how much of the VMA is PMD-mapped THP. When that is every
    2 MiB block inside the VMA, this address's block is one too."""
    span = mode.entry_span("PMD")
    first = -(-vma.start // span) * span
    blocks = max(0, (vma.end - first) // span)
    block = address - address % span
    inside = first <= block and block + span <= vma.end
    mapped_kb = sum(v or 0 for v in (vma.anon_huge_pages, vma.shmem_pmd_mapped, vma.file_pmd_mapped))
    if not inside or blocks == 0 or mapped_kb * 1024 != blocks * span:
        return None
    return HugeMapping(
        "thp", True, span, address % span, "smaps: every 2 MiB block of this VMA is PMD-mapped"
    )


def _huge_mapping(
    pid: int, vma: Vma, address: int, entry: PagemapEntry | None, page: PageFlags | None, mode: PagingMode
) -> HugeMapping | None:
    """Whether a huge page (or a large folio) maps ``address``, and whether as one PMD entry.

    kpageflags THP marks any large folio (file systems cache files in folios of a few pages
    too), HUGE a hugetlbfs page. The folio's size comes from its COMPOUND_HEAD/TAIL frames.
    It is mapped by a PMD entry when it spans exactly one PMD, is aligned with the address's
    PMD block inside the VMA, the frames run contiguously from the block start, and smaps
    counts PMD-mapped memory in this VMA (AnonHugePages, ShmemPmdMapped, FilePmdMapped count
    only PMD mappings).
    """
    if entry is not None and entry.present and entry.pfn is None:
        return _huge_from_smaps(vma, address, mode)
    if page is None or entry is None or entry.pfn is None:
        return None
    if page.has("HUGE"):
        size = (vma.kernel_page_size or 4) * 1024
        span = mode.entry_span("PMD")
        return HugeMapping(
            "hugetlb", size == span, size, address % size, "kpageflags HUGE, smaps KernelPageSize"
        )
    if not page.has("THP"):
        return None
    span = mode.entry_span("PMD")
    extent = folio_extent(entry.pfn, span // mode.page_size)
    pages = extent[1] if extent else None
    size = pages * mode.page_size if pages else span
    kind = "thp" if size >= span else "large-folio"
    evidence = "kpageflags THP, folio size from COMPOUND_HEAD/TAIL frames"
    block = address - address % span
    pmd_counted = any(
        (value or 0) > 0 for value in (vma.anon_huge_pages, vma.shmem_pmd_mapped, vma.file_pmd_mapped)
    )
    pmd_mapped = False
    if extent and size == span and vma.start <= block and block + span <= vma.end and pmd_counted:
        index = (address - block) // mode.page_size
        pmd_mapped = entry.pfn - index == extent[0]
        evidence += ", aligned with the PMD block, smaps PMD-mapped size"
    if pmd_mapped:
        offset = address % span
    elif extent:  # where in the folio: frames before ours, plus the offset in our page
        offset = (entry.pfn - extent[0]) * mode.page_size + address % mode.page_size
    else:
        offset = address % mode.page_size
    return HugeMapping(kind, pmd_mapped, size, offset, evidence)


def vtop(pid: int | str, address: int, mode: PagingMode | None = None) -> VtopResult:
    """Follow ``address`` of process ``pid`` through every layer (see the module docstring)."""
    mode = mode or detect_paging()
    split = split_address(address, mode)
    target, vmas = open_target(pid)
    vma = find_vma(vmas, address)
    if vma is None:
        kernel = classify_address(address, mode.arch, mode.levels, mode.va_bits)
        if kernel.half != "user":
            # Distances to user VMAs mean nothing there: the address is the kernel's or no one's.
            return VtopResult(
                target,
                address,
                mode,
                split,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                kernel=kernel,
            )
        below, above = nearest_vmas(vmas, address)
        growth = stack_growth(target.pid, vmas, address, mode.page_size)
        return VtopResult(
            target,
            address,
            mode,
            split,
            None,
            None,
            below,
            above,
            None,
            None,
            None,
            None,
            None,
            None,
            growth=growth,
        )
    index = vmas.index(vma)
    entries = read_pagemap(target.pid, address, 1, mode.page_size)
    entry = entries[0] if entries else None
    page, note = _page_flags(entry)
    file = _file_backing(target.pid, vma, address)
    place = elf_place(vmas, vma, address, mode.page_size)
    huge = _huge_mapping(target.pid, vma, address, entry, page, mode)
    if not os.path.exists(f"/proc/{target.pid}"):
        raise NoSuchProcess(target.pid, "it exited while being read", key="errors.process_exited")
    return VtopResult(
        target, address, mode, split, vma, index, None, None, file, place, entry, page, note, huge
    )


def _grows_down(vma: Vma) -> bool:
    """VM_GROWSDOWN ("gd" in smaps VmFlags); without smaps, the main stack is the one that does."""
    if vma.vm_flags is not None:
        return "gd" in vma.vm_flags
    return vma.name == "[stack]"


def _accessible(vma: Vma) -> bool:
    # vma_is_accessible(): any of VM_READ, VM_WRITE, VM_EXEC.
    return any(c != "-" for c in vma.perms[:3])


def read_limit(pid: int, name: str) -> int | None:
    """A soft limit of /proc/PID/limits in its unit ("Max stack size": bytes); None: unlimited."""
    try:
        with open(f"/proc/{pid}/limits", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(name + " "):
                    soft = line[len(name) :].split()[0]
                    return None if soft == "unlimited" else int(soft)
    except FileNotFoundError as exc:
        raise NoSuchProcess(pid, "it exited while being read", key="errors.process_exited") from exc
    except (OSError, ValueError):
        pass
    return None


def _vm_size(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _beyond_as_limit(pid: int, grow: int) -> bool:
    limit = read_limit(pid, "Max address space")
    size = _vm_size(pid) if limit is not None else None
    return limit is not None and size is not None and size + grow > limit


def _mmap_min_addr() -> int:
    try:
        with open("/proc/sys/vm/mmap_min_addr") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return 0


def stack_growth(pid: int, vmas: list[Vma], address: int, page_size: int) -> StackGrowth | None:
    """What the kernel does on an access at ``address`` (in no VMA) when the VMA just above it
    grows down; None when it does not (see :class:`StackGrowth`)."""
    above = next((v for v in vmas if v.start > address), None)
    if above is None or not _grows_down(above):
        return None
    below = next((v for v in reversed(vmas) if v.end <= address), None)
    page = address - address % page_size
    rlimit = read_limit(pid, "Max stack size")
    gap = stack_guard_gap(page_size)
    min_addr = _mmap_min_addr()
    below_counts = below is not None and not _grows_down(below) and _accessible(below)
    # The lowest page each rule allows; the highest of them binds.
    floors: list[tuple[int, str]] = [(0, "nothing")]
    if min_addr:
        floors.append((-(-min_addr // page_size) * page_size, "mmap_min_addr"))
    if below is not None and below_counts:
        floors.append((below.end + gap.bytes, "guard_gap"))
    if rlimit is not None:
        floors.append((-(-(above.end - rlimit) // page_size) * page_size, "rlimit"))
    lowest, limited_by = max(floors)
    new_size = above.end - page
    if page < min_addr:
        verdict = "below_mmap_min_addr"
    elif below is not None and below_counts and page - below.end < gap.bytes:
        verdict = "guard_gap"
    elif _beyond_as_limit(pid, above.start - page):  # may_expand_vm() comes first in acct_stack_growth()
        verdict = "beyond_rlimit_as"
    elif rlimit is not None and new_size > rlimit:
        verdict = "beyond_rlimit"
    else:
        verdict = "grows"
    return StackGrowth(
        above, verdict, page, new_size, rlimit, gap, below, below_counts, min_addr, lowest, limited_by
    )


def _count_vmas(
    pid: int, vmas: list[Vma], start: int, end: int, page_size: int, on_pages: Callable[[int], None] | None
) -> list[VmaCounts]:
    out = []
    for index, vma in enumerate(vmas):
        lo, hi = max(vma.start, start), min(vma.end, end)
        if lo < hi:
            out.append(VmaCounts(index, vma, count_pages(pid, lo, hi, vma, page_size, on_pages)))
    return out


def vtop_range(
    pid: int | str, address: int, size: int, on_pages: Callable[[int], None] | None = None
) -> RangeReport:
    """Page states over [address, address + size), rounded out to whole pages."""
    page_size = detect_paging().page_size
    if size <= 0:
        raise BadInput(
            f"the range size must be positive, not {size}",
            key="errors.mm.range_not_positive",
            fields={"size": size},
        )
    start = address - address % page_size
    end = -(-(address + size) // page_size) * page_size
    if end > 1 << 64:
        raise BadInput(
            f"{address:#x} + {size:#x} runs past the end of the 64-bit address space",
            key="errors.mm.range_past_end",
            fields={"address": f"{address:#x}", "size": f"{size:#x}"},
        )
    if (end - start) // page_size > MAX_PAGES:
        raise BadInput(
            f"the range is too large to count at once (page count {(end - start) // page_size:,}; "
            f"the limit is {MAX_PAGES:,}, {MAX_PAGES * page_size >> 30} GiB)",
            key="errors.mm.range_too_large",
            fields={
                "pages": (end - start) // page_size,
                "most": MAX_PAGES,
                "gib": MAX_PAGES * page_size >> 30,
            },
        )
    target, vmas = open_target(pid)
    parts = _count_vmas(target.pid, vmas, start, end, page_size, on_pages)
    total = add_counts([p.counts for p in parts], start, end, page_size)
    return RangeReport(target.pid, target.comm, "range", page_size, total, tuple(parts))


def vtop_vma(pid: int | str, index: int, on_pages: Callable[[int], None] | None = None) -> RangeReport:
    """Page states over the VMA at position ``index`` of /proc/PID/maps (0 is the first line)."""
    page_size = detect_paging().page_size
    target, vmas = open_target(pid)
    if not 0 <= index < len(vmas):
        raise BadInput(
            f"PID {target.pid} has no VMA {index}: its VMAs are numbered 0 to {len(vmas) - 1}",
            key="errors.mm.no_vma_index",
            fields={"pid": target.pid, "last": len(vmas) - 1, "index": index},
        )
    vma = vmas[index]
    parts = _count_vmas(target.pid, [vma], vma.start, vma.end, page_size, on_pages)
    parts = [VmaCounts(index, p.vma, p.counts) for p in parts]
    total = add_counts([p.counts for p in parts], vma.start, vma.end, page_size)
    return RangeReport(target.pid, target.comm, "vma", page_size, total, tuple(parts))


def vtop_all(pid: int | str, on_pages: Callable[[int], None] | None = None) -> RangeReport:
    """Page states over every VMA of the process, laid end to end (the gaps left out)."""
    page_size = detect_paging().page_size
    target, vmas = open_target(pid)
    parts = _count_vmas(target.pid, vmas, 0, 1 << 64, page_size, on_pages)
    total = add_counts([p.counts for p in parts], vmas[0].start, vmas[-1].end, page_size, skip_gaps=True)
    return RangeReport(target.pid, target.comm, "all", page_size, total, tuple(parts))


def total_pages(pid: int | str, scope: str, address: int = 0, size: int = 0, index: int = 0) -> int:
    """How many pages a range report will read: the total for a progress bar."""
    page_size = detect_paging().page_size
    vmas = read_maps(pid, smaps=False)
    if scope == "vma":
        return (vmas[index].end - vmas[index].start) // page_size if 0 <= index < len(vmas) else 0
    lo, hi = (0, 1 << 64) if scope == "all" else (address, address + size)
    return sum(max(0, min(v.end, hi) - max(v.start, lo)) for v in vmas) // page_size
