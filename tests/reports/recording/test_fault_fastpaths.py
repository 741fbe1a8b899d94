"""The counting shortcuts of fault_statistics() against the plain computations they replace.

Fault columns come as array.array; long stretches of one value (one pid, one error code, one
instruction) are counted with byte comparisons. The results, and the order of their keys (which
breaks ties in most_common()), must be those of Counter and list.count on plain lists.
"""

from __future__ import annotations

import array
import bisect
import itertools
import random
from collections import Counter
from dataclasses import dataclass

import pytest

from kernlab.reports.recording import columns
from kernlab.reports.recording.columns import count_values, counter_of
from kernlab.reports.recording.vma_index import VmaIndex


def _stretchy(rng: random.Random, n: int, common: int, others: list[int], rate: float) -> list[int]:
    """Mostly ``common``, with ``others`` scattered in (alone and in short runs)."""
    out = []
    while len(out) < n:
        if rng.random() < rate:
            out += [rng.choice(others)] * rng.randrange(1, 4)
        else:
            out += [common] * rng.randrange(1, 3000)
    return out[:n]


def _cases() -> list[tuple[str, list[int]]]:
    rng = random.Random(5)
    big = 0x7FFF_0000_0000
    return [
        ("one value", [6] * 20000),
        ("codes", _stretchy(rng, 50000, 6, [4, 7, 20], 0.01)),
        ("ips", _stretchy(rng, 70000, big + 0x1199, [big + k for k in range(40)], 0.02)),
        ("pids", [28961] * 9000 + [28962] * 5000 + [28961] * 3 + [28963] * 7000),
        ("many values", [rng.randrange(1 << 40) for _ in range(9000)]),
        ("short", [3, 1, 3, 2, 1]),
        ("empty", []),
        ("just above the span threshold", [9] * 4095 + [8]),
    ]


@pytest.mark.parametrize(
    ("label", "values", "code"),
    [
        (label, values, code)
        for label, values in _cases()
        for code in ("Q", "q", "i")
        if code != "i" or all(v < 1 << 31 for v in values)  # 4-byte pids, codes
    ],
)
def test_counts_and_their_key_order_are_those_of_lists(label: str, values: list[int], code: str):
    column = array.array(code, values)
    expected = Counter(values)
    assert list(counter_of(column).items()) == list(expected.items()), label
    assert list(count_values(column).items()) == list(count_values(list(values)).items()), label
    assert columns.ordered_counts(column) == dict(expected)


@pytest.mark.parametrize(("label", "keys"), _cases())
def test_pick_and_split_are_compress(label: str, keys: list[int]):
    rng = random.Random(9)
    values = [rng.randrange(1 << 47) for _ in keys]
    key_column, value_column = array.array("Q", keys), array.array("Q", values)
    for wanted in ({6}, {4, 7}, set(keys[:3]), set()):
        expected = list(itertools.compress(values, (k in wanted for k in keys)))
        assert columns.pick(value_column, key_column, wanted) == expected, label
        assert columns.pick(values, keys, wanted) == expected, label
    parts = columns.split_by_key(key_column, [value_column, key_column])
    assert set(parts) == set(keys)
    for key, (mine, their_keys) in parts.items():
        assert list(mine) == [v for k, v in zip(keys, values, strict=True) if k == key], label
        assert list(their_keys) == [key] * keys.count(key)


@dataclass
class _Vma:
    start: int
    end: int
    kind: str


class _Maps:
    def __init__(self, layers: list[list[_Vma]]) -> None:
        self.layers = layers

    def vmas_for(self, pid: int) -> list[list[_Vma]]:
        return self.layers


def _layers(rng: random.Random, sane: bool) -> list[list[_Vma]]:
    layers = []
    for _ in range(3):
        edges = sorted(rng.sample(range(0, 1 << 20, 16), 20))
        kinds = ["heap", "stack", "binary-text"]
        vmas = [_Vma(a, b, rng.choice(kinds)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
        if not sane:  # overlapping and out of order, as a damaged snapshot could be
            vmas += [_Vma(rng.randrange(1 << 20), rng.randrange(1 << 20), "anon-mmap") for _ in range(4)]
            rng.shuffle(vmas)
        layers.append(vmas)
    return layers


@pytest.mark.parametrize("sane", [True, False])
def test_area_counts_add_up_over_any_split_of_the_addresses(sane: bool):
    """first_anon_writes takes the first writes' share as all faults' less the others': each
    address's area must not depend on the other addresses."""
    rng = random.Random(1 if sane else 2)
    for _ in range(20):
        index = VmaIndex(_Maps(_layers(rng, sane)))  # type: ignore[arg-type]
        addresses = [rng.randrange(1 << 20) for _ in range(rng.randrange(1, 3000))]
        keep = [rng.random() < 0.1 for _ in addresses]
        part = list(itertools.compress(addresses, keep))
        rest = [a for a, k in zip(addresses, keep, strict=True) if not k]
        whole = index.kinds_of(1, array.array("Q", addresses))
        assert whole == index.kinds_of(1, part) + index.kinds_of(1, rest)
        assert sum(whole.values()) == len(addresses)
        if sane:  # the newest layer whose area holds the address names it
            for address in rng.sample(addresses, min(50, len(addresses))):
                found = next(
                    (v.kind for layer in index.maps.layers for v in layer if v.start <= address < v.end),
                    "unknown",
                )
                assert index.kinds_of(1, [address]) == Counter({found: 1})


def _reference_kinds(layers: list[list[_Vma]], addresses: list[int]) -> Counter[str]:
    """kinds_of() as it was: sort, then two bisections per VMA, snapshot by snapshot."""
    out: Counter[str] = Counter()
    left = sorted(addresses)
    for vmas in layers:
        if not left:
            break
        rest: list[int] = []
        done = 0
        for vma in vmas:
            lo = bisect.bisect_left(left, vma.start, done)
            hi = bisect.bisect_left(left, vma.end, lo)
            rest += left[done:lo]
            if hi > lo:
                out[vma.kind] += hi - lo
            done = hi
        left = rest + left[done:]
    if left:
        out["unknown"] += len(left)
    return out


@pytest.mark.parametrize("sane", [True, False])
def test_area_counts_of_long_arrays_are_those_of_lists(sane: bool):
    """A long address array is placed 16 MiB window by window where it can be; the counts and
    the order of their kinds must be those the sorted list gives."""
    rng = random.Random(4 if sane else 5)
    big = 0x7F00_0000_1000  # a 1 GiB mapping that starts off a 16 MiB boundary
    newest = [
        _Vma(0x5555_0000_0000, 0x5555_0002_1000, "heap"),
        _Vma(big, big + (1 << 30), "anon-mmap"),
        _Vma(0x7FFF_F000_0000, 0x7FFF_F002_0000, "stack"),
    ]
    older = [_Vma(0x6000_0000_0000, 0x6000_1000_0000, "file-mmap"), _Vma(big - 4096, big + 8192, "heap")]
    if not sane:
        newest.append(_Vma(big + (1 << 29), big + (1 << 28), "binary-text"))  # inside out
        rng.shuffle(newest)
    index = VmaIndex(_Maps([newest, older]))  # type: ignore[arg-type]
    touches = [big + 4096 * k for k in range(40000)]  # first touches, in order
    others = [0x5555_0000_0000 + 64 * k for k in range(3000)] + [0x6000_0000_0000 + 7, 12, big - 8]
    addresses = touches[:9000] + rng.sample(others, 500) + touches[9000:] + others
    for sample in (addresses, rng.sample(addresses, len(addresses)), touches, others * 3):
        expected = _reference_kinds([newest, older], sample)
        for column in (list(sample), array.array("Q", sample)):
            assert list(index.kinds_of(1, column).items()) == list(expected.items())
    assert index.kinds_of(1, array.array("Q", touches)) == Counter({"anon-mmap": len(touches)})
