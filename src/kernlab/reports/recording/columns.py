"""Counting over columns of many events without a Python step per event.

Faults come in long stretches of one pid, one error code, one instruction (a loop touching page
after page). Over an ``array.array`` column, a stretch of one value is found with one byte
comparison in C (:func:`uniform_spans`), so only the elements of mixed stretches ever become int
objects. Each function gives exactly what its plain-Python equivalent gives (``Counter``,
``itertools.compress``), ties and order included.
"""

from __future__ import annotations

import array
import itertools
from collections import Counter
from collections.abc import MutableSequence, Sequence

__all__ = ["as_list", "count_values", "counter_of", "ordered_counts", "pick", "split_by_key", "uniform_spans"]


def as_list(values: Sequence[int]) -> list[int]:
    return values.tolist() if isinstance(values, array.array) else list(values)


# Span lengths (elements) for uniform_spans: long ones to pass over a dominant value in few steps,
# short ones to narrow down where other values are.
SPAN = 512
SUBSPAN = 32
# Below this many elements a plain pass over a list is as fast.
SPANS_FROM = 4096


def uniform_spans(values: array.array[int]) -> list[tuple[int, int, int | None]]:
    """(lo, hi, value) covering the array ``values`` in order, ``value`` being the one value
    of every element of ``values[lo:hi]``, or None where they differ (a short span).

    Faults come in long stretches of one pid, one error code, one instruction (a loop touching
    page after page); each span is one byte comparison in C, so only the elements of the
    mixed short spans ever become int objects. Worth it from SPANS_FROM elements on.
    """
    data = values.tobytes()
    size = values.itemsize
    out: list[tuple[int, int, int | None]] = []
    n = len(values)
    for lo in range(0, n, SPAN):
        hi = min(lo + SPAN, n)
        chunk = data[lo * size : hi * size]
        if chunk == chunk[:size] * (hi - lo):
            out.append((lo, hi, values[lo]))
            continue
        for sub in range(lo, hi, SUBSPAN):
            top = min(sub + SUBSPAN, hi)
            part = chunk[(sub - lo) * size : (top - lo) * size]
            out.append((sub, top, values[sub] if part == part[:size] * (top - sub) else None))
    return out


def ordered_counts(values: Sequence[int]) -> dict[int, int]:
    """Value -> how many times it occurs, in order of first occurrence (like Counter(values))."""
    if not isinstance(values, array.array) or len(values) < SPANS_FROM:
        return dict(Counter(as_list(values)))
    counts: dict[int, int] = {}
    for lo, hi, value in uniform_spans(values):
        if value is not None:
            counts[value] = counts.get(value, 0) + hi - lo
        else:
            for v, n in Counter(values[lo:hi].tolist()).items():
                counts[v] = counts.get(v, 0) + n
    return counts


def pick(values: Sequence[int], keys: Sequence[int], wanted: set[int]) -> list[int]:
    """``values[i]`` for every ``i`` whose ``keys[i]`` is in ``wanted``, in order."""
    if not isinstance(keys, array.array) or len(keys) < SPANS_FROM:
        return list(itertools.compress(values, map(wanted.__contains__, keys)))
    out: list[int] = []
    for lo, hi, key in uniform_spans(keys):
        if key is None:
            out += itertools.compress(values[lo:hi], map(wanted.__contains__, keys[lo:hi]))
        elif key in wanted:
            out += values[lo:hi]
    return out


def split_by_key(keys: Sequence[int], columns: list[Sequence[int]]) -> dict[int, list[MutableSequence[int]]]:
    """Each key -> the elements of ``columns`` at the positions of that key, in order."""
    if not isinstance(keys, array.array) or len(keys) < SPANS_FROM:
        key_list = as_list(keys)
        out: dict[int, list[MutableSequence[int]]] = {}
        for key in set(key_list):
            mine = list(map(key.__eq__, key_list))
            out[key] = [list(itertools.compress(c, mine)) for c in columns]
        return out
    # Each part is a slice of its column's own type (array or list), grown in place.
    parts: dict[int, list[MutableSequence[int]]] = {}

    def part_of(k: int) -> list[MutableSequence[int]]:
        found = parts.get(k)
        if found is None:
            found = parts[k] = [c[:0] for c in columns]  # type: ignore[misc]
        return found

    for lo, hi, one in uniform_spans(keys):
        if one is None:
            for i, k in enumerate(keys[lo:hi].tolist(), lo):
                for dst, src in zip(part_of(k), columns, strict=True):
                    dst.append(src[i])
        else:
            for dst, src in zip(part_of(one), columns, strict=True):
                dst.extend(src[lo:hi])
    return parts


def counter_of(values: Sequence[int]) -> Counter[int]:
    """Counter(values) (keys in order of first appearance), without a step per element where
    long stretches hold one value."""
    return Counter(ordered_counts(values))


def count_values(values: Sequence[int]) -> Counter[int]:
    """Counter(values), much faster when there are few distinct values (pids, error codes):
    one C-level ``list.count`` pass per value instead of a dict update per element, or for an
    array, one byte comparison per stretch of one value (see uniform_spans)."""
    if not isinstance(values, array.array):
        distinct = set(values)
        if len(distinct) > 16:
            return Counter(values)
        return Counter({v: values.count(v) for v in distinct})
    counts = ordered_counts(values)
    # The keys in the order set(values) has them (insertion in first-occurrence order makes
    # the same table), so most_common() breaks ties as it always did.
    distinct = set(list(counts))
    if len(distinct) > 16:
        return Counter(counts)
    return Counter({v: counts[v] for v in distinct})
