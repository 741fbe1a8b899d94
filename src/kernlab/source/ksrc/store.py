"""Compact on-disk tables for the two biggest parts of the index: macros and references.

A kernel tree has millions of ``#define``s (register headers) and tens of millions of
(identifier, file) uses. Kept as Python objects keyed by name they made a 390 MB index that
took longer to pickle than to parse, so both are stored as flat ``array`` blobs keyed by the
CRC-32 of the name instead of the name itself:

* macros: per shard (CRC-32 % 256), parallel arrays of (CRC-32, file number, line);
* references: per file, the sorted CRC-32s of the identifiers its code uses, split into 16
  shards by the top bits, with the file numbers and where each file's run starts.

A CRC-32 can be shared by two names, so a hit only says "maybe": the query checks it against
the source (a macro's line must say ``#define NAME``; a referencing file is read again and
searched for the word anyway), which keeps the answers exact.
"""

from __future__ import annotations

import pickle
import zlib
from array import array
from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Any

from kernlab.errors import OSFailure

MACRO_SHARDS = 256
REF_SHARDS = 16
_REF_SHIFT = 32 - 4  # the top 4 bits of a CRC-32 choose one of 16 reference shards


def name_key(name: str | bytes) -> int:
    """The CRC-32 a name is stored under."""
    return zlib.crc32(name.encode("latin-1", errors="replace") if isinstance(name, str) else name)


def hit_indexes(blob: bytes, key: int) -> list[int]:
    """Positions (in 4-byte items) where ``key`` occurs in a native ``array('I')`` blob."""
    needle = array("I", [key]).tobytes()
    found, at = [], blob.find(needle)
    while at != -1:
        if at % 4 == 0:  # a match straddling two items is not a hit
            found.append(at // 4)
        at = blob.find(needle, at + 1)
    return found


class MacroTable:
    """One build worker's ``#define``s, written as MACRO_SHARDS files."""

    def __init__(self) -> None:
        self._keys = [array("I") for _ in range(MACRO_SHARDS)]
        self._files = [array("I") for _ in range(MACRO_SHARDS)]
        self._lines = [array("I") for _ in range(MACRO_SHARDS)]

    def add(self, number: int, names: list[bytes], lines: list[int]) -> None:
        keys, files, rows = self._keys, self._files, self._lines
        for key, line in zip(map(zlib.crc32, names), lines, strict=True):
            shard = key % MACRO_SHARDS
            keys[shard].append(key)
            files[shard].append(number)
            rows[shard].append(line)

    def write(self, folder: Path, worker: int) -> None:
        for s in range(MACRO_SHARDS):
            blobs = (self._keys[s].tobytes(), self._files[s].tobytes(), self._lines[s].tobytes())
            dump_pickle(folder / f"macros-{worker}-{s:02x}.pickle", blobs)


def macro_candidates(folder: Path, workers: int, name: str) -> list[tuple[int, int]]:
    """(file number, line) of every stored macro whose key is the name's (check the line!)."""
    key = name_key(name)
    found: list[tuple[int, int]] = []
    for w in range(workers):
        keys, files, lines = load_pickle(folder / f"macros-{w}-{key % MACRO_SHARDS:02x}.pickle")
        numbers, rows = array("I"), array("I")
        numbers.frombytes(files)
        rows.frombytes(lines)
        found.extend((numbers[i], rows[i]) for i in hit_indexes(keys, key))
    return found


class RefTable:
    """One build worker's identifier uses, written as REF_SHARDS files."""

    def __init__(self) -> None:
        self._files = [array("I") for _ in range(REF_SHARDS)]
        self._starts = [array("I") for _ in range(REF_SHARDS)]
        self._keys = [array("I") for _ in range(REF_SHARDS)]

    def add(self, number: int, identifiers: set[bytes]) -> None:
        keys = sorted(set(map(zlib.crc32, identifiers)))
        # Sorted, so each shard's keys are one slice: its bounds are found by bisection.
        bounds = [0, *(bisect_left(keys, s << _REF_SHIFT) for s in range(1, REF_SHARDS)), len(keys)]
        for s in range(REF_SHARDS):
            low, high = bounds[s], bounds[s + 1]
            if low < high:
                self._files[s].append(number)
                self._starts[s].append(len(self._keys[s]))
                self._keys[s].extend(keys[low:high])

    def write(self, folder: Path, worker: int) -> None:
        for s in range(REF_SHARDS):
            blobs = (self._files[s].tobytes(), self._starts[s].tobytes(), self._keys[s].tobytes())
            dump_pickle(folder / f"refs-{worker}-{s:x}.pickle", blobs)


def ref_candidates(folder: Path, workers: int, name: str) -> set[int]:
    """Numbers of the files that may use ``name`` (a superset: read them to be sure)."""
    key = name_key(name)
    found: set[int] = set()
    for w in range(workers):
        files, starts, keys = load_pickle(folder / f"refs-{w}-{key >> _REF_SHIFT:x}.pickle")
        numbers, offsets = array("I"), array("I")
        numbers.frombytes(files)
        offsets.frombytes(starts)
        found.update(numbers[bisect_right(offsets, i) - 1] for i in hit_indexes(keys, key))
    return found


def dump_pickle(path: Path, obj: object) -> None:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_pickle(path: Path) -> Any:
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise OSFailure(
            f"the source index at {path.parent} is damaged ({exc}); delete it to rebuild",
            path=path,
            key="errors.source.index_damaged_reason",
            fields={"path": str(path.parent), "reason": str(exc)},
        ) from exc
