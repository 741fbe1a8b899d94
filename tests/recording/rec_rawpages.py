"""A minimal ring-buffer page reader for the recorder's tests (independent of kernlab's decoder).

It follows the layout tracefs describes in events/header_page and header_event: a page header
(timestamp, commit), then 4-byte-aligned records whose first word packs type_len (5 bits) and
time_delta (27 bits). It only counts records by common_type and common_pid.
"""

from __future__ import annotations

import re
import struct
from collections import Counter
from pathlib import Path

PADDING, TIME_EXTEND, TIME_STAMP = 29, 30, 31


def event_id(recording: Path, system: str, event: str) -> int:
    text = (recording / "formats" / system / event / "format").read_text()
    return int(re.search(r"^ID: (\d+)", text, re.M).group(1))


def _header_layout(recording: Path) -> tuple[int, int, int]:
    text = (recording / "header_page").read_text()
    fields = {
        m[0]: (int(m[1]), int(m[2]))
        for m in re.findall(r"field: \S+ (\w+);\s*offset:(\d+);\s*size:(\d+);", text)
    }
    commit_off, commit_size = fields["commit"]
    data_off, _ = fields["data"]
    return commit_off, commit_size, data_off


def count_events(recording: Path, page_size: int) -> Counter[tuple[int, int]]:
    """(common_type, common_pid) -> number of records, over every cpus/cpuN.raw file."""
    commit_off, commit_size, data_off = _header_layout(recording)
    counts: Counter[tuple[int, int]] = Counter()
    for raw in sorted((recording / "cpus").glob("cpu*.raw")):
        data = raw.read_bytes()
        for base in range(0, len(data) - page_size + 1, page_size):
            fmt = "<Q" if commit_size == 8 else "<I"
            commit = struct.unpack_from(fmt, data, base + commit_off)[0] & ((1 << 30) - 1)
            pos, end = base + data_off, base + data_off + commit
            while pos + 4 <= end:
                word = struct.unpack_from("<I", data, pos)[0]
                type_len, delta = word & 0x1F, word >> 5
                if type_len == PADDING:
                    if delta == 0:
                        break
                    pos += 4 + struct.unpack_from("<I", data, pos + 4)[0]
                    continue
                if type_len in (TIME_EXTEND, TIME_STAMP):
                    pos += 8
                    continue
                if type_len == 0:
                    length = struct.unpack_from("<I", data, pos + 4)[0] - 4
                    body = pos + 8
                else:
                    length = type_len * 4
                    body = pos + 4
                ctype = struct.unpack_from("<H", data, body)[0]
                cpid = struct.unpack_from("<i", data, body + 4)[0]
                counts[(ctype, cpid)] += 1
                pos = body + length
    return counts
