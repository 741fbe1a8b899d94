"""Which faults of a recording were major: they had to read their page into the page cache.

Whether a fault was *major* (had to wait for I/O) is not in the fault events. Page-cache
insertions (``filemap:mm_filemap_add_to_page_cache``) by the same thread while it was in the
fault handler tell, when that event was recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernlab.recording.reader import Recording
from kernlab.reports.recording.fault_events import ADD_TO_CACHE, FILEMAP_FAULT, SYS_ENTER, USER
from kernlab.reports.recording.symbolize import ProcessMaps

if TYPE_CHECKING:
    from kernlab.reports.recording.address_space import AddressSpaces

__all__ = ["major_faults"]


def _dev_number(dev: str) -> int | None:
    """maps' "fe:01" (hex major:minor) as the kernel's dev_t (major << 20 | minor)."""
    major, _, minor = dev.partition(":")
    try:
        return int(major, 16) << 20 | int(minor, 16)
    except ValueError:
        return None


def major_faults(
    rec: Recording, maps: ProcessMaps, spaces: AddressSpaces | None = None
) -> set[tuple[int, int]] | None:
    """Faults whose own page was inserted into the page cache while the thread handled them.

    That is what makes a fault major in filemap_fault(): the folio was not in the page cache
    and had to be read (``VM_FAULT_MAJOR``). The faulting file page is (dev, inode, index) from
    ``filemap:mm_filemap_fault`` when recorded, else from the VMA at the fault's moment (the
    address-space timeline ``spaces`` when given, else the maps snapshots): inode, and
    pgoff + (address - start) >> PAGE_SHIFT. Insertions of *other* pages (async readahead
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
            vma = spaces.vma_at(pid, ts, address) if spaces is not None else maps.find(pid, address)
            if vma is None and spaces is not None and spaces.timeline_of(pid) is None:
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
