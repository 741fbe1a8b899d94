"""Page faults of a recording: where they hit, why, from which instructions, major or minor.

The events are ``exceptions:page_fault_user`` and ``exceptions:page_fault_kernel`` (x86,
arch/x86/mm/fault.c ``trace_page_fault_entries``), fields ``address`` (the faulting address,
CR2), ``ip`` (the instruction) and ``error_code`` (the CPU's error code, decoded by
kernlab.mm.fault_codes). Each address is placed in a VMA of the process's saved maps
(kernlab.proc.maps.classify_vmas gives its class).

Whether a fault was *major* (had to wait for I/O) is not in these events. Two sources can tell:
page-cache insertions (``filemap:mm_filemap_add_to_page_cache``) by the same thread while it
was in the fault handler, when that event was recorded; otherwise the ``maj_flt`` counter of
/proc/PID/stat the recorder saved at exit, which gives a count but not which faults.
"""

from __future__ import annotations

import array
import bisect
import itertools
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from kernlab.analysis.symbolize import ProcessMaps, UserSymbolizer
from kernlab.analysis.tasks import Tasks
from kernlab.recording.reader import Recording

USER = "exceptions:page_fault_user"
KERNEL = "exceptions:page_fault_kernel"
ADD_TO_CACHE = "filemap:mm_filemap_add_to_page_cache"
SYS_ENTER = "raw_syscalls:sys_enter"
FILEMAP_FAULT = "filemap:mm_filemap_fault"

# VMA classes whose pages start as zero-filled anonymous memory (do_anonymous_page)
ANON_KINDS: frozenset[str] = frozenset({"heap", "stack", "anon-mmap", "binary-bss"})


@dataclass
class CountRow:
    """A label, how many faults it has, and their share of all faults."""

    label: str
    count: int
    percent: float


@dataclass
class CodeRow:
    code: int
    summary: str
    """The decoded error code in words (kernlab.mm.fault_codes)."""
    flags: list[str]
    count: int
    percent: float


@dataclass
class IpRow:
    ip: int
    location: str
    """binary:symbol+offset (or binary+file offset when the binary has no symbol there)."""
    vma_kind: str
    count: int
    percent: float
    pid: int


@dataclass
class StackRow:
    """A kernel path of faults (``record --kstack``): functions innermost first, and how often."""

    functions: list[str]
    count: int
    percent: float
    """Share of the faults that have a recorded stack."""


@dataclass
class ProcessFaults:
    pid: int
    """The process (thread-group id); its threads' faults are summed."""
    comm: str
    user: int
    kernel: int
    minflt: int | None = None
    majflt: int | None = None
    """From /proc/PID/stat at the last snapshot (exit), when the recorder saved one."""
    threads: list[int] = field(default_factory=list)


@dataclass
class MajorFaults:
    """How many faults did I/O, and how that was found out."""

    count: int | None
    method: str
    """``page-cache`` (filemap events during the fault), ``counter`` (maj_flt at exit) or ``unknown``."""
    minor: int | None


@dataclass
class FaultReport:
    total: int
    user: int
    kernel: int
    arch: str
    per_process: list[ProcessFaults]
    by_vma: list[CountRow]
    by_code: list[CodeRow]
    first_anon_writes: int
    """Not-present write faults in an anonymous area: each allocated a zeroed page."""
    major: MajorFaults
    top_ips: list[IpRow]
    unmapped: int
    """Faults whose address no saved snapshot covers (area unmapped before the snapshot, or no snapshot)."""
    rusage_minflt: int | None = None
    rusage_majflt: int | None = None
    notes: list[str] = field(default_factory=list)
    top_kernel_stacks: list[StackRow] = field(default_factory=list)
    """The commonest kernel stacks of faults, when the recording has them (--kstack)."""
    faults_before_exec: int | None = None
    """Faults of the command's process before its execve (while kernlab held it), which its
    getrusage counts too: counted from /proc/PID/stat until the child was released, traced
    after. None when unknown (record -p, older recordings)."""


@dataclass
class FaultRecord:
    """One fault, for ``kernlab faults``."""

    ts: int
    cpu: int
    pid: int
    kernel_mode: bool
    address: int
    ip: int
    error_code: int


def fault_records(rec: Recording) -> list[FaultRecord]:
    """Every fault event in time order."""
    out: list[FaultRecord] = []
    for name, kernel_mode in ((USER, False), (KERNEL, True)):
        fmt = rec.by_name.get(name)
        if fmt is None:
            continue
        layout = fmt.unpacker(["common_pid", "address", "ip", "error_code"])
        unpack = layout.unpack_from
        for cpu in rec.cpu_events():
            raw, offsets, lengths = cpu.raw, cpu.offsets_for({fmt.id}), cpu.lengths
            stamps = cpu.stamps_for({fmt.id})
            for i in cpu.indices_of({fmt.id}):
                if lengths[i] >= layout.size:
                    pid, address, ip, code = unpack(raw, offsets[i])
                    out.append(FaultRecord(stamps[i], cpu.cpu, pid, kernel_mode, address, ip, code))
    out.sort(key=lambda f: (f.ts, f.cpu))
    start = rec.command_start_ts
    if start:
        out = [f for f in out if f.ts >= start]
    return out


@dataclass
class FaultColumns:
    """Faults of one mode (user or kernel) as parallel columns, from execve on (unsorted):
    ``array.array`` (or lists, see Recording.column_arrays)."""

    pids: Sequence[int]
    addresses: Sequence[int]
    ips: Sequence[int]
    codes: Sequence[int]


def fault_columns(rec: Recording, name: str) -> FaultColumns:
    """The fault events ``name`` from execve on, as columns (no per-event Python objects)."""
    cols = rec.column_arrays(name, ["common_pid", "address", "ip", "error_code"], since=rec.command_start_ts)
    return FaultColumns(cols["common_pid"], cols["address"], cols["ip"], cols["error_code"])


class _VmaIndex:
    """Fast address -> VMA class per pid: one sorted start list per snapshot layer."""

    def __init__(self, maps: ProcessMaps) -> None:
        self.maps = maps
        self._index: dict[int, list[tuple[list[int], list]]] = {}
        self._edges_cache: dict[int, list[tuple[list[int], list]]] = {}
        self._intervals_cache: dict[int, tuple[list[int], list[int]]] = {}

    def _edges(self, pid: int) -> list[tuple[list[int], list]]:
        layers = self._edges_cache.get(pid)
        if layers is None:
            layers = []
            for vmas in self.maps.vmas_for(pid):
                edges: list[int] = []
                for v in vmas:
                    edges += (v.start, v.end)
                layers.append((edges, vmas))
            self._edges_cache[pid] = layers
        return layers

    def _intervals(self, pid: int) -> tuple[list[int], list[int]]:
        """[starts[i], ends[i]): the addresses kinds_of() counts in VMA ``i`` of the newest
        snapshot (the thresholds its bisections reach, whatever the order of the VMAs)."""
        found = self._intervals_cache.get(pid)
        if found is None:
            edges = self._edges(pid)[0][0]
            starts: list[int] = []
            ends: list[int] = []
            reached = 0
            for i in range(0, len(edges), 2):
                low = max(reached, edges[i])
                reached = max(low, edges[i + 1])
                starts.append(low)
                ends.append(reached)
            found = self._intervals_cache[pid] = (starts, ends)
        return found

    def kinds_of(self, pid: int, addresses: Sequence[int]) -> Counter[str]:
        """VMA kind -> how many of ``addresses`` (faults of one pid) fall in such an area.

        The addresses are sorted once (first touches arrive nearly in order, which timsort
        takes in one pass); then each VMA's share is the distance between two bisections, so
        Python works per VMA, not per fault. Addresses outside every VMA of one snapshot are
        the gaps between those slices and go on to the next (older) snapshot.

        Before that, a long array is cut into stretches that lie in one aligned 16 MiB window
        (byte comparisons, see _window_spans); a window inside one VMA of the newest snapshot
        counts its whole stretch, and only the other addresses are sorted. The area of an
        address does not depend on the other addresses, so the sum is the same.
        """
        layers = self._edges(pid)
        counts: dict[tuple[int, int], int] = {}  # (snapshot, VMA) -> addresses in it
        if (
            layers
            and isinstance(addresses, array.array)
            and addresses.typecode == "Q"
            and len(addresses) >= _SPANS_FROM
            and sys.byteorder == "little"
        ):
            starts, ends = self._intervals(pid)
            rest = array.array("Q")
            for lo, hi, window in _window_spans(addresses):
                if window is not None:
                    i = bisect.bisect_right(ends, window)
                    if i < len(ends) and starts[i] <= window and window + _WINDOW <= ends[i]:
                        counts[0, i] = counts.get((0, i), 0) + hi - lo
                        continue
                rest += addresses[lo:hi]
            addresses = rest
        left = sorted(addresses)
        for layer, (edges, vmas) in enumerate(layers):
            if not left:
                break
            rest_list: list[int] = []
            done = 0
            for i in range(len(vmas)):
                lo = bisect.bisect_left(left, edges[2 * i], done)
                hi = bisect.bisect_left(left, edges[2 * i + 1], lo)
                if lo > done:
                    rest_list += left[done:lo]
                if hi > lo:
                    counts[layer, i] = counts.get((layer, i), 0) + hi - lo
                done = hi
            rest_list += left[done:]
            left = rest_list
        # Kinds in the order of their first VMA, snapshot by snapshot: most_common() breaks
        # ties by it.
        out: Counter[str] = Counter()
        for (layer, i), n in sorted(counts.items()):
            out[layers[layer][1][i].kind] += n
        if left:
            out["unknown"] += len(left)
        return out

    def kind(self, pid: int, address: int) -> str:
        layers = self._index.get(pid)
        if layers is None:
            layers = [([v.start for v in vmas], vmas) for vmas in self.maps.vmas_for(pid)]
            self._index[pid] = layers
        for starts, vmas in layers:
            i = bisect.bisect_right(starts, address) - 1
            if i >= 0 and address < vmas[i].end:
                return vmas[i].kind
        return "unknown"


def _as_list(values: Sequence[int]) -> list[int]:
    return values.tolist() if isinstance(values, array.array) else list(values)


# Span lengths (elements) for _spans: long ones to pass over a dominant value in few steps,
# short ones to narrow down where other values are.
_SPAN = 512
_SUBSPAN = 32
# Below this many elements a plain pass over a list is as fast.
_SPANS_FROM = 4096


def _spans(values: Sequence[int]) -> list[tuple[int, int, int | None]] | None:
    """(lo, hi, value) covering the array ``values`` in order, ``value`` being the one value
    of every element of ``values[lo:hi]``, or None where they differ (a short span).

    Faults come in long stretches of one pid, one error code, one instruction (a loop touching
    page after page); each span is one byte comparison in C, so only the elements of the
    mixed short spans ever become int objects. None for a list or a short array.
    """
    if not isinstance(values, array.array) or len(values) < _SPANS_FROM:
        return None
    data = values.tobytes()
    size = values.itemsize
    out: list[tuple[int, int, int | None]] = []
    n = len(values)
    for lo in range(0, n, _SPAN):
        hi = min(lo + _SPAN, n)
        chunk = data[lo * size : hi * size]
        if chunk == chunk[:size] * (hi - lo):
            out.append((lo, hi, values[lo]))
            continue
        for sub in range(lo, hi, _SUBSPAN):
            top = min(sub + _SUBSPAN, hi)
            part = chunk[(sub - lo) * size : (top - lo) * size]
            out.append((sub, top, values[sub] if part == part[:size] * (top - sub) else None))
    return out


# Addresses are placed window by window first (see _VmaIndex.kinds_of): the aligned 16 MiB
# that share their top five bytes.
_WINDOW = 1 << 24


def _window_spans(addresses: array.array[int]) -> list[tuple[int, int, int | None]]:
    """(lo, hi, window) covering the u64 array ``addresses`` (little-endian host): every
    address of ``addresses[lo:hi]`` is in the aligned 16 MiB window starting at ``window``, or
    None where they are not (a short span)."""
    data = addresses.tobytes()
    words = memoryview(data).cast("I")
    high = words[1::2].tobytes()  # bits 32-63 of each address
    words.release()
    third = data[3::8]  # bits 24-31
    n = len(addresses)
    out: list[tuple[int, int, int | None]] = []

    def one_window(lo: int, hi: int) -> bool:
        top, mid = high[lo * 4 : hi * 4], third[lo:hi]
        return top == top[:4] * (hi - lo) and mid == mid[:1] * (hi - lo)

    for lo in range(0, n, _SPAN):
        hi = min(lo + _SPAN, n)
        if one_window(lo, hi):
            out.append((lo, hi, addresses[lo] & -_WINDOW))
            continue
        for sub in range(lo, hi, _SUBSPAN):
            top = min(sub + _SUBSPAN, hi)
            out.append((sub, top, addresses[sub] & -_WINDOW if one_window(sub, top) else None))
    return out


def _ordered_counts(values: Sequence[int]) -> dict[int, int]:
    """Value -> how many times it occurs, in order of first occurrence (like Counter(values))."""
    spans = _spans(values)
    if spans is None:
        return dict(Counter(_as_list(values)))
    counts: dict[int, int] = {}
    for lo, hi, value in spans:
        if value is not None:
            counts[value] = counts.get(value, 0) + hi - lo
        else:
            for v, n in Counter(values[lo:hi].tolist()).items():
                counts[v] = counts.get(v, 0) + n
    return counts


def _pick(values: Sequence[int], keys: Sequence[int], wanted: set[int]) -> list[int]:
    """``values[i]`` for every ``i`` whose ``keys[i]`` is in ``wanted``, in order."""
    spans = _spans(keys)
    if spans is None:
        return list(itertools.compress(values, map(wanted.__contains__, keys)))
    out: list[int] = []
    for lo, hi, key in spans:
        if key is None:
            out += itertools.compress(values[lo:hi], map(wanted.__contains__, keys[lo:hi]))
        elif key in wanted:
            out += values[lo:hi]
    return out


def _split(keys: Sequence[int], columns: list[Sequence[int]]) -> dict[int, list[Sequence[int]]]:
    """Each key -> the elements of ``columns`` at the positions of that key, in order."""
    spans = _spans(keys)
    if spans is None:
        key_list = _as_list(keys)
        out: dict[int, list[Sequence[int]]] = {}
        for key in set(key_list):
            mine = list(map(key.__eq__, key_list))
            out[key] = [list(itertools.compress(c, mine)) for c in columns]
        return out
    parts: dict[int, list[Sequence[int]]] = {}
    for lo, hi, key in spans:
        if key is None:
            for i, k in enumerate(keys[lo:hi].tolist(), lo):
                into = parts.get(k) or parts.setdefault(k, [c[:0] for c in columns])
                for dst, src in zip(into, columns, strict=True):
                    dst.append(src[i])  # type: ignore[attr-defined]
        else:
            into = parts.get(key) or parts.setdefault(key, [c[:0] for c in columns])
            for dst, src in zip(into, columns, strict=True):
                dst += src[lo:hi]  # type: ignore[operator]
    return parts


def counter_of(values: Sequence[int]) -> Counter[int]:
    """Counter(values) (keys in order of first appearance), without a step per element where
    long stretches hold one value."""
    return Counter(_ordered_counts(values))


def count_values(values: list[int] | array.array[int]) -> Counter[int]:
    """Counter(values), much faster when there are few distinct values (pids, error codes):
    one C-level ``list.count`` pass per value instead of a dict update per element, or for an
    array, one byte comparison per stretch of one value (see _spans)."""
    if not isinstance(values, array.array):
        distinct = set(values)
        if len(distinct) > 16:
            return Counter(values)
        return Counter({v: values.count(v) for v in distinct})
    counts = _ordered_counts(values)
    # The keys in the order set(values) has them (insertion in first-occurrence order makes
    # the same table), so most_common() breaks ties as it always did.
    distinct = set(list(counts))
    if len(distinct) > 16:
        return Counter(counts)
    return Counter({v: counts[v] for v in distinct})


def _dev_number(dev: str) -> int | None:
    """maps' "fe:01" (hex major:minor) as the kernel's dev_t (major << 20 | minor)."""
    major, _, minor = dev.partition(":")
    try:
        return int(major, 16) << 20 | int(minor, 16)
    except ValueError:
        return None


def major_faults(rec: Recording, maps: ProcessMaps) -> set[tuple[int, int]] | None:
    """Faults whose own page was inserted into the page cache while the thread handled them.

    That is what makes a fault major in filemap_fault(): the folio was not in the page cache
    and had to be read (``VM_FAULT_MAJOR``). The faulting file page is (dev, inode, index) from
    ``filemap:mm_filemap_fault`` when recorded, else from the maps snapshot (inode, and
    pgoff + (address - start) >> PAGE_SHIFT). Insertions of *other* pages (async readahead
    started by a minor fault) do not count. The thread's next fault or system call ends the
    window. Returns the (time stamp, pid) of each major fault; None when the recording has no
    page-cache insertions.
    """
    if ADD_TO_CACHE not in rec.by_name or USER not in rec.by_name:
        return None
    names = {USER, ADD_TO_CACHE} | {n for n in (SYS_ENTER, FILEMAP_FAULT) if n in rec.by_name}
    fmts = {n: rec.by_name[n] for n in names}
    ids = {f.id: n for n, f in fmts.items()}
    # "order" (folio size) joined the event in Linux 6.x; older kernels insert single pages.
    add_fields = ["common_pid", "i_ino", "index", "s_dev"]
    if fmts[ADD_TO_CACHE].has_field("order"):
        add_fields.append("order")
    add_unpack = fmts[ADD_TO_CACHE].unpacker(add_fields).unpack_from
    fault_unpack = fmts[USER].unpacker(["common_pid", "address"]).unpack_from
    ff_unpack = (
        fmts[FILEMAP_FAULT].unpacker(["common_pid", "i_ino", "s_dev", "index"]).unpack_from
        if FILEMAP_FAULT in fmts
        else None
    )
    sizes = {n: max(f.offset + f.size for f in fmts[n].fields) for n in names}
    page_shift = 12
    pending: dict[int, tuple[int | None, int, int] | None] = {}
    fault_ts: dict[int, int] = {}
    major: set[tuple[int, int]] = set()
    start = rec.command_start_ts
    # Only the runs of these events get their offsets made.
    offsets = {c.cpu: c.offsets_for(ids) for c in rec.cpu_events()}
    for ts, cpu_no, i, cpu in rec.iter_records(names):
        if ts < start:
            continue
        name = ids[cpu.types[i]]
        off = offsets[cpu_no][i]
        if cpu.lengths[i] < sizes[name]:
            continue  # a damaged record, too short for its own fields
        if name == USER:
            pid, address = fault_unpack(cpu.raw, off)
            key = None
            vma = maps.find(pid, address)
            if vma is not None and vma.path and vma.inode:
                key = (_dev_number(vma.dev), vma.inode, (vma.offset + address - vma.start) >> page_shift)
            pending[pid] = key
            fault_ts[pid] = ts
        elif name == FILEMAP_FAULT and ff_unpack is not None:
            pid, ino, dev, index = ff_unpack(cpu.raw, off)
            if pid in pending:
                pending[pid] = (dev, ino, index)
        elif name == SYS_ENTER:
            pid = int.from_bytes(cpu.raw[off + 4 : off + 8], "little", signed=True)
            pending.pop(pid, None)
        else:
            pid, ino, index, dev, *rest = add_unpack(cpu.raw, off)
            order = rest[0] if rest else 0
            key = pending.get(pid)
            if key is None:
                continue
            key_dev, key_ino, key_index = key
            if (
                key_ino == ino
                and (key_dev is None or key_dev == dev)
                and index <= key_index < index + (1 << order)
            ):
                major.add((fault_ts[pid], pid))
                pending[pid] = None  # counted once, however many pages it read
    return major


def fault_report(rec: Recording, tasks: Tasks, top: int = 10, symbolize: bool = True) -> FaultReport:
    """Count faults by process, VMA class, error code and instruction; find the major ones."""
    from kernlab.mm.fault_codes import decode_error_code

    arch = rec.meta.machine or "x86_64"
    maps = ProcessMaps(rec, tasks.parent)
    index = _VmaIndex(maps)
    per_pid_user: Counter[int] = Counter()
    per_pid_kernel: Counter[int] = Counter()
    by_kind: Counter[str] = Counter()
    by_code: Counter[int] = Counter()
    by_ip: Counter[tuple[int, int]] = Counter()
    first_anon = 0
    x86 = arch.startswith(("x86", "i"))
    for name, per_pid in ((USER, per_pid_user), (KERNEL, per_pid_kernel)):
        cols = fault_columns(rec, name)
        pid_counts = count_values(cols.pids)
        per_pid.update(pid_counts)
        if name == USER:
            if len(pid_counts) == 1:  # one thread: count plain ints, cheaper than tuples
                pid = next(iter(pid_counts))
                by_ip.update({(pid, ip): n for ip, n in counter_of(cols.ips).items()})
            else:
                by_ip.update(zip(_as_list(cols.pids), _as_list(cols.ips), strict=True))
        # Per pid: area kinds from sorted addresses; first writes from the subset of faults
        # whose error code says "not present, write" (x86: P bit 0 clear, W bit 1 set).
        if len(pid_counts) > 1:
            per_thread = _split(cols.pids, [cols.addresses, cols.codes])
        for pid in pid_counts:
            if len(pid_counts) == 1:
                addresses, codes = cols.addresses, cols.codes
            else:
                addresses, codes = per_thread[pid]
            code_counts = count_values(codes)
            by_code.update(code_counts)
            kinds = index.kinds_of(pid, addresses)
            by_kind.update(kinds)
            if not x86:
                continue
            firsts = {c for c in code_counts if not (c & 1) and c & 2}
            if not firsts:
                continue
            anon = sum(n for kind, n in kinds.items() if kind in ANON_KINDS)
            others = set(code_counts) - firsts
            if others:
                # Each address's area does not depend on the others: the first writes' share
                # is all faults' share less that of the other faults, the fewer ones.
                if sum(code_counts[c] for c in others) < sum(code_counts[c] for c in firsts):
                    kinds = index.kinds_of(pid, _pick(addresses, codes, others))
                    anon -= sum(n for kind, n in kinds.items() if kind in ANON_KINDS)
                else:
                    kinds = index.kinds_of(pid, _pick(addresses, codes, firsts))
                    anon = sum(n for kind, n in kinds.items() if kind in ANON_KINDS)
            first_anon += anon
    user = sum(per_pid_user.values())
    kernel = sum(per_pid_kernel.values())
    total = user + kernel

    def pct(n: int) -> float:
        return round(100.0 * n / total, 1) if total else 0.0

    codes = []
    notes: list[str] = []
    for code, n in by_code.most_common():
        try:
            decoded = decode_error_code(code, arch)
            codes.append(CodeRow(code, decoded.summary, list(decoded.flags), n, pct(n)))
        except Exception:  # an arch without a decoder: keep the number
            codes.append(CodeRow(code, f"{code:#x}", [], n, pct(n)))
    symbolizer = UserSymbolizer(maps)
    ips = []
    for (pid, ip), n in by_ip.most_common(top):
        loc = symbolizer.locate(pid, ip, with_symbol=symbolize)
        ips.append(IpRow(ip, loc.text, loc.vma_kind, n, pct(n), pid))
    processes = []
    last_snap = {}
    for snap in rec.meta.maps:
        if snap.when in ("exit", "end") or snap.pid not in last_snap:
            last_snap[snap.pid] = snap
    by_process: dict[int, list[int]] = {}
    for tid in set(per_pid_user) | set(per_pid_kernel):
        by_process.setdefault(tasks.process_of(tid), []).append(tid)
    for pid, tids in sorted(by_process.items()):
        snap = last_snap.get(pid)
        processes.append(
            ProcessFaults(
                pid,
                tasks.name(pid),
                sum(per_pid_user[t] for t in tids),
                sum(per_pid_kernel[t] for t in tids),
                snap.minflt if snap else None,
                snap.majflt if snap else None,
                sorted(tids),
            )
        )
    found = major_faults(rec, maps)
    if found is not None:
        major = MajorFaults(len(found), "page-cache", user - len(found))
    else:
        counted = [p.majflt for p in processes if p.majflt is not None]
        if counted:
            major_count = sum(counted)
            major = MajorFaults(major_count, "counter", None)
        else:
            major = MajorFaults(None, "unknown", None)
    rusage = rec.meta.rusage
    top_stacks = kernel_stack_rows(rec, top)
    return FaultReport(
        total=total,
        user=user,
        kernel=kernel,
        arch=arch,
        per_process=processes,
        by_vma=[CountRow(k, n, pct(n)) for k, n in by_kind.most_common()],
        by_code=codes,
        first_anon_writes=first_anon,
        major=major,
        top_ips=ips,
        unmapped=by_kind.get("unknown", 0),
        rusage_minflt=rusage.minflt if rusage else None,
        rusage_majflt=rusage.majflt if rusage else None,
        notes=notes,
        top_kernel_stacks=top_stacks,
        faults_before_exec=faults_before_exec(rec),
    )


def faults_before_exec(rec: Recording) -> int | None:
    """Page faults of the command's process from its creation by kernlab to its execve.

    Those until its release are in ``meta.pre_exec_faults`` (from /proc/PID/stat); those after
    are the root pid's fault records before ``command_start_ts`` — a handful, so only the
    records before that time stamp are looked at.
    """
    counted = rec.meta.pre_exec_faults
    start = rec.command_start_ts
    if counted is None or rec.meta.attached or not start:
        return None
    fmts = [fmt for name in (USER, KERNEL) if (fmt := rec.by_name.get(name)) is not None]
    if not fmts:
        return sum(counted)
    ids = {fmt.id for fmt in fmts}
    pid_field = fmts[0].field("common_pid")  # the common header: the same in every event
    order = "little" if fmts[0].endian == "<" else "big"
    root = rec.meta.root_pid.to_bytes(pid_field.size, order, signed=True)
    lo, hi = pid_field.offset, pid_field.offset + pid_field.size
    traced = 0
    for cpu in rec.cpu_events():
        end = cpu.index_at(start)
        types, raw = cpu.types, cpu.raw
        for i, offset in enumerate(cpu.offsets_between(0, end)):
            if types[i] in ids and raw[offset + lo : offset + hi] == root:
                traced += 1
    return sum(counted) + traced


def kernel_stack_rows(rec: Recording, top: int) -> list[StackRow]:
    """The ``top`` commonest kernel stacks recorded with faults from execve on."""
    from kernlab.analysis.kstacks import event_stacks
    from kernlab.analysis.symbolize import KernelSymbols

    stack_id = _kernel_stack_id(rec)
    if stack_id < 0 or not any(cpu.indices_of({stack_id}) for cpu in rec.cpu_events()):
        return []
    start = rec.command_start_ts
    stacks = event_stacks(rec, {USER, KERNEL}, KernelSymbols(rec.kallsyms_path))
    counts = Counter(tuple(chain) for key, chain in stacks.items() if key.ts >= start and chain)
    total = sum(counts.values())
    return [StackRow(list(chain), n, round(100.0 * n / total, 1)) for chain, n in counts.most_common(top)]


def _kernel_stack_id(rec: Recording) -> int:
    fmt = rec.by_name.get("ftrace:kernel_stack")
    return fmt.id if fmt is not None else -1
