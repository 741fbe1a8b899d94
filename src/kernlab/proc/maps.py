"""Virtual memory areas of a process: /proc/PID/maps, joined with /proc/PID/smaps.

Each line of /proc/PID/maps is one ``struct vm_area_struct`` (printed by ``show_map_vma`` in the
kernel's fs/proc/task_mmu.c): ``start-end perms offset major:minor inode path``. smaps repeats that
line and follows it with ``Key: value kB`` lines that ``smap_gather_stats`` computes by walking the
VMA's page tables. :func:`parse_maps` reads either format (also saved snapshots in recordings).
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kernlab.errors import BadInput, NoSuchProcess
from kernlab.proc.elfload import PAGE_SIZE, elf_load_layout
from kernlab.proc.errors import proc_errors, process_exists, read_proc_text, require_process, resolve_pid

KINDS: tuple[str, ...] = (
    "binary-text",
    "binary-data",
    "binary-bss",
    "binary-rodata",
    "shared-lib",
    "heap",
    "stack",
    "anon-mmap",
    "file-mmap",
    "vdso",
    "vvar",
    "vsyscall",
    "special",
)
"""Every value :func:`classify_vmas` gives ``Vma.kind``."""

# smaps key -> Vma attribute; every value is in kB as the kernel prints it.
SMAPS_FIELDS: dict[str, str] = {
    "Rss": "rss",
    "Pss": "pss",
    "Pss_Dirty": "pss_dirty",
    "Shared_Clean": "shared_clean",
    "Shared_Dirty": "shared_dirty",
    "Private_Clean": "private_clean",
    "Private_Dirty": "private_dirty",
    "Referenced": "referenced",
    "Anonymous": "anonymous",
    "KSM": "ksm",
    "LazyFree": "lazyfree",
    "AnonHugePages": "anon_huge_pages",
    "ShmemPmdMapped": "shmem_pmd_mapped",
    "FilePmdMapped": "file_pmd_mapped",
    "Shared_Hugetlb": "shared_hugetlb",
    "Private_Hugetlb": "private_hugetlb",
    "Swap": "swap",
    "SwapPss": "swap_pss",
    "Locked": "locked",
    "KernelPageSize": "kernel_page_size",
    "MMUPageSize": "mmu_page_size",
}

# Names the kernel prints in brackets for VMAs that are not backed by a file, and their kind.
SPECIAL_NAMES: dict[str, str] = {
    "[heap]": "heap",
    "[stack]": "stack",
    "[vdso]": "vdso",
    "[vvar]": "vvar",
    "[vvar_vclock]": "vvar",
    "[vsyscall]": "vsyscall",
}


# Memory that has no file of its own still gets an inode on a kernel-internal mount, unlinked from
# the start, so maps prints its name as a deleted file: shmem_zero_setup() names shared anonymous
# memory "/dev/zero", ipc/shm.c names a System V segment "SYSV" and its key, memfd_create() names
# its file "memfd:" and the caller's name, and hugetlb_file_setup() names MAP_HUGETLB anonymous
# memory "anon_hugepage". None of them is a file anyone deleted.
_MEMORY_OBJECTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("shared_anon", re.compile(r"/dev/zero \(deleted\)")),
    ("sysv_shm", re.compile(r"/SYSV(?P<key>[0-9a-f]{8}) \(deleted\)")),
    ("memfd", re.compile(r"/memfd:(?P<name>.*) \(deleted\)", re.DOTALL)),
    ("hugetlb_anon", re.compile(r"/anon_hugepage \(deleted\)")),
)

MEMORY_OBJECTS: tuple[str, ...] = tuple(kind for kind, _ in _MEMORY_OBJECTS)
"""Every value :func:`memory_object` gives."""


def memory_object(name: str) -> tuple[str, str] | None:
    """What kind of memory a maps name that looks like a deleted file really is, and its label.

    ``("memfd", "cache")`` for "/memfd:cache (deleted)", ``("sysv_shm", "0x0000162e")`` for a
    System V segment (its key), ``("shared_anon", "")``, ``("hugetlb_anon", "")``; None for a
    real file and for any other name.
    """
    if not name.endswith(" (deleted)"):
        return None
    for kind, pattern in _MEMORY_OBJECTS:
        match = pattern.fullmatch(name)
        if match:
            groups = match.groupdict()
            label = f"0x{groups['key']}" if "key" in groups else groups.get("name", "")
            return kind, label
    return None


@dataclass
class Vma:
    """One virtual memory area (``struct vm_area_struct``) as /proc/PID/maps and smaps show it.

    Sizes from smaps are in KiB exactly as the file prints them, and None when smaps was not read
    (or the kernel does not print that key).
    """

    start: int
    end: int
    perms: str  # "r-xp": read, write, execute, then p(rivate) or s(hared)
    offset: int  # file offset of ``start`` (vm_pgoff << PAGE_SHIFT)
    dev: str  # "fe:00": major:minor of the backing file's device, in hex
    inode: int
    path: str | None  # the backing file, None for anonymous and [bracketed] areas
    name: str  # the maps text after the inode: a path, "[heap]", "[anon:x]", or "" (anonymous)
    kind: str = "anon-mmap"  # one of KINDS, set by classify_vmas
    deleted: bool = False  # the file was unlinked after mapping (" (deleted)" suffix)
    rss: int | None = None
    pss: int | None = None
    pss_dirty: int | None = None
    shared_clean: int | None = None
    shared_dirty: int | None = None
    private_clean: int | None = None
    private_dirty: int | None = None
    referenced: int | None = None
    anonymous: int | None = None
    ksm: int | None = None
    lazyfree: int | None = None
    anon_huge_pages: int | None = None  # transparent huge pages (THP) mapped here
    shmem_pmd_mapped: int | None = None
    file_pmd_mapped: int | None = None
    shared_hugetlb: int | None = None
    private_hugetlb: int | None = None
    swap: int | None = None
    swap_pss: int | None = None
    locked: int | None = None
    kernel_page_size: int | None = None
    mmu_page_size: int | None = None
    thp_eligible: int | None = None
    vm_flags: list[str] | None = None  # smaps "VmFlags": two-letter names of vm_flags bits
    extra: dict[str, int] = field(default_factory=dict)  # smaps keys this version does not know
    size: int = field(init=False, default=0)  # length in bytes, end − start
    # A MEMORY_OBJECTS kind when the "deleted file" is shared memory that never had a file name
    memory_object: str | None = field(init=False, default=None)
    memory_label: str = field(init=False, default="")  # the memfd's name or the SysV key

    def __post_init__(self) -> None:
        self.size = self.end - self.start
        found = memory_object(self.name) if self.deleted else None
        if found is not None:
            self.memory_object, self.memory_label = found

    @property
    def size_kib(self) -> int:
        return (self.end - self.start) // 1024

    @property
    def readable(self) -> bool:
        return self.perms[0] == "r"

    @property
    def writable(self) -> bool:
        return self.perms[1] == "w"

    @property
    def executable(self) -> bool:
        return self.perms[2] == "x"

    @property
    def shared(self) -> bool:
        return self.perms[3] == "s"

    @property
    def dirty(self) -> int | None:
        """Shared_Dirty + Private_Dirty in KiB (pmap -x's Dirty column)."""
        if self.shared_dirty is None or self.private_dirty is None:
            return None
        return self.shared_dirty + self.private_dirty

    @property
    def label(self) -> str:
        """What to call this area in a listing: its path, its [name], or [anon]."""
        return self.name or "[anon]"

    def contains(self, address: int) -> bool:
        return self.start <= address < self.end


def _parse_header(line: str, lineno: int) -> Vma:
    parts = line.split(None, 5)
    if len(parts) < 5:
        raise BadInput(
            f"line {lineno} is not a maps line: {line[:80]!r}",
            key="errors.proc.not_maps_line",
            fields={"line": lineno, "text": repr(line[:80])},
        )
    try:
        start_text, end_text = parts[0].split("-", 1)
        start, end = int(start_text, 16), int(end_text, 16)
        perms = parts[1]
        offset = int(parts[2], 16)
        dev = parts[3]
        inode = int(parts[4])
    except ValueError:
        raise BadInput(
            f"line {lineno} is not a maps line: {line[:80]!r}",
            key="errors.proc.not_maps_line",
            fields={"line": lineno, "text": repr(line[:80])},
        ) from None
    if len(perms) != 4 or end < start or ":" not in dev:
        raise BadInput(
            f"line {lineno} is not a maps line: {line[:80]!r}",
            key="errors.proc.not_maps_line",
            fields={"line": lineno, "text": repr(line[:80])},
        )
    name = parts[5].strip() if len(parts) == 6 else ""
    deleted = False
    path: str | None = None
    if name.startswith("/"):
        # The kernel appends " (deleted)" to the path of an unlinked file (d_path()).
        if name.endswith(" (deleted)"):
            deleted = True
            path = name[: -len(" (deleted)")]
        else:
            path = name
    return Vma(start, end, perms, offset, dev, inode, path, name, deleted=deleted)


def parse_maps(text: str) -> list[Vma]:
    """Every VMA in the text of /proc/PID/maps or /proc/PID/smaps, in file order.

    smaps text fills the smaps fields of each Vma; maps text leaves them None.
    """
    # A process can have 60,000 VMAs: 1.5 million smaps lines. Every VMA of one file has the
    # same keys in the same order, so the first VMA's lines teach one pattern for a whole
    # VMA (its line and its fields), matched in C; a VMA that does not fit is read line by line.
    if text and not text.endswith("\n"):
        text += "\n"
    vmas: list[Vma] = []
    shape: _Shape | None = None
    pos, size = 0, len(text)
    while pos < size:
        match = shape.pattern.match(text, pos) if shape is not None else None
        if match is not None and shape is not None:
            vmas.append(shape.vma(match, text, pos))
            pos = match.end()
            continue
        following = _NEXT_HEADER.search(text, pos + 1)
        end = following.end() if following else size
        block = _parse_lines(text[pos:end], text.count("\n", 0, pos))
        vmas += block
        if shape is None and len(block) == 1:
            shape = _Shape.learn(text[pos:end])
        pos = end
    return vmas


_NEXT_HEADER = re.compile(r"\n(?=[^A-Z\s])")
"""The end of a line followed by a maps line (smaps keys start with an upper-case letter)."""


class _Shape:
    """One VMA's lines in an smaps file (or its one line in maps) as a pattern, and what each
    field's value becomes."""

    def __init__(self, pattern: str, numbers: list[tuple[str, int]], others: list[tuple[str, int]]) -> None:
        self.pattern = re.compile(pattern)
        self.attrs = tuple(attr for attr, _ in numbers)
        self.number_indices = tuple(index for _, index in numbers)
        self.others = others

    @classmethod
    def learn(cls, block: str) -> _Shape | None:
        """The shape of ``block`` (one VMA's lines); None when a line is not a plain field."""
        lines = block.split("\n")[:-1]
        parts = [r"([^\n]*)\n"]
        numbers: list[tuple[str, int]] = []
        others: list[tuple[str, int]] = []
        for index, line in enumerate(lines[1:], 1):  # match.groups()[0] is the VMA's line
            key, colon, rest = line.partition(":")
            if not colon or not key or not ("A" <= key[0] <= "Z") or not key.isidentifier():
                return None
            attr = SMAPS_FIELDS.get(key)
            if attr is not None and _KB_VALUE.fullmatch(rest):
                parts.append(re.escape(key) + r":[ \t]*(\d+) kB\n")
                numbers.append((attr, index))
            else:
                parts.append(re.escape(key) + r":([^\n]*)\n")
                others.append((key, index))
        # The next line starts another VMA (or the text ends): else read it line by line.
        parts.append(r"(?=[^A-Z\s]|\Z)")
        return cls("".join(parts), numbers, others)

    def vma(self, match: re.Match[str], text: str, pos: int) -> Vma:
        values = match.groups()
        try:
            vma = _parse_header(values[0], 0)
        except BadInput:
            _parse_header(values[0], text.count("\n", 0, pos) + 1)  # raised again, with its line
            raise
        if self.attrs:
            numbers = map(int, map(values.__getitem__, self.number_indices))
            vma.__dict__.update(zip(self.attrs, numbers, strict=True))
        for key, index in self.others:
            _set_field(vma, key, values[index])
        return vma


_KB_VALUE = re.compile(r"[ \t]*\d+ kB")


def _set_field(vma: Vma, key: str, rest: str) -> None:
    """An smaps field's value (the text after the colon) into ``vma``."""
    attr = SMAPS_FIELDS.get(key)
    try:
        if attr is not None:
            setattr(vma, attr, int(rest[:-3] if rest.endswith(" kB") else rest))
        elif key == "VmFlags":
            vma.vm_flags = rest.split()
        elif key == "THPeligible":
            vma.thp_eligible = int(rest)
        elif key != "Size":
            vma.extra[key] = int(rest[:-3] if rest.endswith(" kB") else rest)
    except ValueError:
        pass  # a key this version does not know, with a value that is not a number


def _parse_lines(text: str, before: int) -> list[Vma]:
    """The VMAs in ``text``, read line by line; ``before``: lines of the file before it."""
    vmas: list[Vma] = []
    current: Vma | None = None
    # split("\n"), not splitlines(): a file name may hold \x85 or \x1c, and only "\n" ends a line.
    for lineno, line in enumerate(text.split("\n"), before + 1):
        if not line:
            continue
        if "A" <= line[0] <= "Z":
            key, colon, rest = line.partition(":")
            if not colon:
                raise BadInput(
                    f"line {lineno} is neither a maps line nor an smaps field: {line[:80]!r}",
                    key="errors.proc.not_maps_or_smaps",
                    fields={"line": lineno, "text": repr(line[:80])},
                )
            if current is None:
                raise BadInput(
                    f"line {lineno}: smaps field {key!r} before any VMA line",
                    key="errors.proc.smaps_before_vma",
                    fields={"line": lineno, "field": repr(key)},
                )
            _set_field(current, key, rest)
            continue
        if line.isspace():
            continue
        current = _parse_header(line, lineno)
        vmas.append(current)
    return vmas


def read_exe_path(pid: int) -> str | None:
    """The target of /proc/PID/exe, or None when it cannot be known (kernel thread, no permission)."""
    try:
        target = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    return target[: -len(" (deleted)")] if target.endswith(" (deleted)") else target


def read_maps(pid: int | str = "self", smaps: bool = True) -> list[Vma]:
    """The VMAs of process ``pid``, classified, from /proc/PID/smaps (or maps when smaps=False).

    A kernel thread has no ``mm_struct``, so its maps file is empty and this returns [].
    Raises NoSuchProcess (absent or exited while read), PermissionNeeded, BadInput (bad PID).
    """
    number = resolve_pid(pid)
    require_process(number)
    text = read_proc_text(number, "smaps" if smaps else "maps")
    vmas = parse_maps(text)
    if not vmas and not process_exists(number):
        # The kernel returns an empty file once the mm is gone: the process exited meanwhile.
        raise NoSuchProcess(number, "exited while being read", key="errors.process_exited")
    _undelete_literal_names(vmas)
    classify_vmas(vmas, read_exe_path(number))
    return vmas


def _undelete_literal_names(vmas: list[Vma]) -> None:
    """Clear ``deleted`` for a live file whose own name ends in " (deleted)".

    maps cannot tell the kernel's suffix from a file really named that way; the file on disk with
    that whole name and the VMA's device and inode can.
    """
    for vma in vmas:
        if not vma.deleted or vma.memory_object is not None:
            continue
        try:
            found = os.stat(vma.name)
        except OSError:
            continue  # really gone (or not ours to see): the suffix stands
        major, _, minor = vma.dev.partition(":")
        try:
            same_device = found.st_dev == os.makedev(int(major, 16), int(minor, 16))
        except ValueError:
            continue
        if same_device and found.st_ino == vma.inode:
            vma.deleted = False
            vma.path = vma.name


def read_smaps_rollup(pid: int | str = "self") -> dict[str, int]:
    """/proc/PID/smaps_rollup as ``{key: kB}``: the smaps sums without per-VMA lines."""
    number = resolve_pid(pid)
    require_process(number)
    text = read_proc_text(number, "smaps_rollup")
    out: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            out[key] = int(fields[0])
    return out


def find_vma(vmas: Sequence[Vma], address: int) -> Vma | None:
    """The VMA holding ``address`` (start <= address < end), by bisection; None in a gap.

    ``vmas`` must be sorted by start, as the kernel prints them.
    """
    index = bisect.bisect_right(vmas, address, key=lambda v: v.start) - 1
    if index >= 0 and vmas[index].contains(address):
        return vmas[index]
    return None


def nearest_vmas(vmas: Sequence[Vma], address: int) -> tuple[Vma | None, Vma | None]:
    """The closest VMA ending at or below ``address`` and the closest starting above it.

    For an address inside a VMA these are that VMA's neighbours; for an address in a gap they are
    the areas on either side of the gap (None past either end of the address space).
    """
    index = bisect.bisect_right(vmas, address, key=lambda v: v.start)
    above = vmas[index] if index < len(vmas) else None
    below_index = index - 1
    if below_index >= 0 and vmas[below_index].contains(address):
        below_index -= 1
    below = vmas[below_index] if below_index >= 0 else None
    return below, above


def _same_file(vma: Vma, exe_path: str | None) -> bool:
    return exe_path is not None and vma.path == exe_path


def _load_bias_and_end(vmas: Sequence[Vma], path: str, inode: int) -> int | None:
    """Where the ELF loader's zero-filled tail (.bss) of ``path`` ends in this address space.

    The end is the highest p_vaddr + p_memsz of the file's PT_LOAD segments plus the load bias
    (start of the file's offset-0 mapping minus its first segment's page-aligned p_vaddr), rounded
    up to a page; None when the file is not a readable ELF image.
    """
    layout = elf_load_layout(path, inode)
    if layout is None:
        return None
    first_vaddr, last_end = layout
    base = min((v.start for v in vmas if v.path == path and v.offset == 0), default=None)
    if base is None:
        return None
    page = PAGE_SIZE
    bias = base - (first_vaddr & ~(page - 1))
    return (bias + last_end + page - 1) & ~(page - 1)


def classify_vmas(vmas: list[Vma], exe_path: str | None) -> list[Vma]:
    """Set each VMA's ``kind`` (one of :data:`KINDS`) and return the same list.

    The program's own file (``exe_path``, from /proc/PID/exe) gives binary-text (executable),
    binary-data (writable), binary-rodata (read-only); the anonymous writable area that starts
    exactly where its data ends is its .bss beyond the last file page (set up by the ELF loader,
    ``set_brk``/``vm_brk_flags``). Any other file mapped executable somewhere in this process is a
    shared library (also its other segments, and its own .bss); remaining files are file-mmap.
    """
    executable_files = {v.path for v in vmas if v.path is not None and v.executable}
    previous: Vma | None = None
    bss_ends: dict[str, int | None] = {}
    for vma in vmas:
        if vma.path is None:
            kind = SPECIAL_NAMES.get(vma.name)
            if kind is None and vma.name.startswith("[stack"):
                kind = "stack"  # "[stack:TID]" on old kernels
            if kind is None:
                if vma.name and not vma.name.startswith("[anon"):
                    kind = "special"  # [uprobes], [vectors], [sigpage], ...
                elif (
                    previous is not None
                    and previous.path is not None
                    and previous.end == vma.start
                    and vma.writable
                    and not vma.name
                    and previous.writable
                    and previous.kind in ("binary-data", "shared-lib")
                ):
                    if previous.path not in bss_ends:
                        bss_ends[previous.path] = _load_bias_and_end(vmas, previous.path, previous.inode)
                    bss_end = bss_ends[previous.path]
                    if bss_end is not None and vma.start < bss_end:
                        kind = "binary-bss" if previous.kind == "binary-data" else "shared-lib"
                    else:
                        kind = "anon-mmap"
                else:
                    kind = "anon-mmap"
        elif _same_file(vma, exe_path):
            if vma.executable:
                kind = "binary-text"
            elif vma.writable:
                kind = "binary-data"
            else:
                kind = "binary-rodata"
        elif vma.path in executable_files:
            kind = "shared-lib"
        else:
            kind = "file-mmap"
        vma.kind = kind
        previous = vma
    return vmas


# Areas /proc/PID/maps lists that are not in the process's mm (get_gate_vma(): one page the kernel
# maps into every address space), so mm->total_vm, hence ps's VSZ, does not count them.
GATE_NAMES = frozenset({"[vsyscall]"})


@dataclass(frozen=True)
class MapsTotals:
    """Sums over VMAs, in KiB.

    ``size`` is every listed VMA (pmap -x's Kbytes total); ``vsz`` leaves out the gate area
    ([vsyscall]) and equals ps's VSZ; ``rss`` and ``dirty`` equal pmap -x's totals.
    """

    count: int
    size: int
    vsz: int
    rss: int | None
    pss: int | None
    dirty: int | None
    anonymous: int | None
    swap: int | None


def _sum(values: Iterable[int | None]) -> int | None:
    total = 0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def total_vmas(vmas: Sequence[Vma]) -> MapsTotals:
    """Totals the way pmap -x adds them (sizes in KiB, smaps fields summed as printed)."""
    return MapsTotals(
        count=len(vmas),
        size=sum(v.size_kib for v in vmas),
        vsz=sum(v.size_kib for v in vmas if v.name not in GATE_NAMES),
        rss=_sum(v.rss for v in vmas),
        pss=_sum(v.pss for v in vmas),
        dirty=_sum(v.dirty for v in vmas),
        anonymous=_sum(v.anonymous for v in vmas),
        swap=_sum(v.swap for v in vmas),
    )


@dataclass(frozen=True)
class Gap:
    """Unmapped addresses between two VMAs (an access there is a segmentation fault)."""

    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


def with_gaps(vmas: Sequence[Vma]) -> list[Vma | Gap]:
    """The VMAs in address order with a :class:`Gap` between any two that do not touch."""
    rows: list[Vma | Gap] = []
    for vma in sorted(vmas, key=lambda v: v.start):
        if rows and isinstance(rows[-1], Vma) and rows[-1].end < vma.start:
            rows.append(Gap(rows[-1].end, vma.start))
        rows.append(vma)
    return rows


@dataclass(frozen=True)
class KindTotals:
    """Sums for one kind of VMA, in KiB."""

    kind: str
    count: int
    size: int
    rss: int | None
    pss: int | None


def totals_by_kind(vmas: Sequence[Vma]) -> list[KindTotals]:
    """Per-kind sums, in the order of :data:`KINDS`, kinds with no VMA left out."""
    out = []
    for kind in KINDS:
        members = [v for v in vmas if v.kind == kind]
        if members:
            out.append(
                KindTotals(
                    kind,
                    len(members),
                    sum(v.size_kib for v in members),
                    _sum(v.rss for v in members),
                    _sum(v.pss for v in members),
                )
            )
    return out


__all__ = [
    "KINDS",
    "MEMORY_OBJECTS",
    "Gap",
    "KindTotals",
    "MapsTotals",
    "Vma",
    "classify_vmas",
    "find_vma",
    "memory_object",
    "nearest_vmas",
    "parse_maps",
    "proc_errors",
    "read_exe_path",
    "read_maps",
    "read_smaps_rollup",
    "total_vmas",
    "totals_by_kind",
    "with_gaps",
]
