"""Which kind of memory area each faulting address is in, for many addresses at once."""

from __future__ import annotations

import array
import bisect
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from kernlab.reports.recording.columns import SPAN, SPANS_FROM, SUBSPAN
from kernlab.reports.recording.symbolize import ProcessMaps

__all__ = ["WINDOW", "AreaLayers", "VmaIndex", "window_spans"]


class AreaLayers(Protocol):
    """Anything with layers of areas (``start``, ``end``, ``kind``) per pid, newest first."""

    def vmas_for(self, pid: int) -> Sequence[Sequence[Any]]: ...

    def missing(self, pid: int) -> str: ...


class VmaIndex:
    """Fast address -> VMA class per pid: one sorted start list per snapshot layer.

    ``maps`` gives the layers (``vmas_for(pid)``: the saved snapshots, or the address-space
    timeline's ranges, see :class:`kernlab.reports.recording.address_space.KindLayers`); its
    ``missing(pid)``, when it has one, names an address no layer holds (``no-vma`` when the
    timeline knows the process, ``unknown`` when nothing does).
    """

    def __init__(self, maps: ProcessMaps | AreaLayers) -> None:
        self.maps = maps
        self._missing: Callable[[int], str] = getattr(maps, "missing", lambda _pid: "unknown")
        self._index: dict[int, list[tuple[list[int], Sequence[Any]]]] = {}
        self._edges_cache: dict[int, list[tuple[list[int], Sequence[Any]]]] = {}
        self._intervals_cache: dict[int, tuple[list[int], list[int]]] = {}

    def _edges(self, pid: int) -> list[tuple[list[int], Sequence[Any]]]:
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
        (byte comparisons, see window_spans); a window inside one VMA of the newest snapshot
        counts its whole stretch, and only the other addresses are sorted. The area of an
        address does not depend on the other addresses, so the sum is the same.
        """
        layers = self._edges(pid)
        counts: dict[tuple[int, int], int] = {}  # (snapshot, VMA) -> addresses in it
        if (
            layers
            and isinstance(addresses, array.array)
            and addresses.typecode == "Q"
            and len(addresses) >= SPANS_FROM
            and sys.byteorder == "little"
        ):
            starts, ends = self._intervals(pid)
            rest = array.array("Q")
            for lo, hi, window in window_spans(addresses):
                if window is not None:
                    i = bisect.bisect_right(ends, window)
                    if i < len(ends) and starts[i] <= window and window + WINDOW <= ends[i]:
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
            out[self._missing(pid)] += len(left)
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
        return self._missing(pid)


# Addresses are placed window by window first (see VmaIndex.kinds_of): the aligned 16 MiB
# that share their top five bytes.
WINDOW = 1 << 24


def window_spans(addresses: array.array[int]) -> list[tuple[int, int, int | None]]:
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

    for lo in range(0, n, SPAN):
        hi = min(lo + SPAN, n)
        if one_window(lo, hi):
            out.append((lo, hi, addresses[lo] & -WINDOW))
            continue
        for sub in range(lo, hi, SUBSPAN):
            top = min(sub + SUBSPAN, hi)
            out.append((sub, top, addresses[sub] & -WINDOW if one_window(sub, top) else None))
    return out
