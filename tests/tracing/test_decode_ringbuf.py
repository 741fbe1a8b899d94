"""The ring-buffer decoder against the kernel's own text rendering of the same buffer.

The capture reads each CPU's non-consuming ``per_cpu/cpuN/trace`` text first, then drains the
raw pages; every decoded record must match its text line one to one: time stamp (µs), pid,
event name and field values.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from kernlab.errors import BadInput
from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.reader import open_recording
from kernlab.reports.recording.kstacks import event_stacks
from kernlab.tracing.formats import parse_format, parse_header_page, read_format
from kernlab.tracing.ringbuf import decode_pages
from tests.reports.recording.capture import capture, tracefs_or_skip

LINE = re.compile(
    r"^\s*(?P<comm>.*)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+\S+\s+(?P<sec>\d+)\.(?P<us>\d{6}): (?P<rest>.*)$"
)
EVENTS = [
    "raw_syscalls/sys_enter",
    "raw_syscalls/sys_exit",
    "exceptions/page_fault_user",
    "sched/sched_process_exec",
    "sched/sched_process_exit",
]


# trace_marker lines become ftrace:print records whose text is a flexible array (char buf[],
# size 0 in the format file); one has no newline (the kernel adds it), one a long text.
MARKERS = ["kernlab-sync mono_ns=12345\n", "no newline here", "long " + "x" * 300]


def _text_events(text: str) -> list[re.Match]:
    return [m for m in (LINE.match(line) for line in text.splitlines() if not line.startswith("#")) if m]


@pytest.fixture(scope="module")
def ls_capture(tmp_path_factory):
    tracefs_or_skip()
    root = tmp_path_factory.mktemp("decode") / "rec"
    cap = capture(
        root,
        ["/usr/bin/ls", "-la", "/usr"],
        EVENTS,
        stack_events=["exceptions/page_fault_user"],
        markers=MARKERS,
    )
    return cap


def test_every_record_matches_the_kernels_text(ls_capture):
    rec = open_recording(ls_capture.root)
    checked = 0
    marks = []
    for cpu in rec.cpu_events():
        lines = _text_events(ls_capture.text_by_cpu[cpu.cpu])
        assert len(lines) == len(cpu), f"cpu{cpu.cpu}: text has {len(lines)} events, raw pages {len(cpu)}"
        for i, line in enumerate(lines):
            fmt = rec.formats[cpu.types[i]]
            values = fmt.decode(cpu.raw, cpu.offsets[i], cpu.lengths[i])
            # the kernel prints ns2usecs(ts): rounded to the nearest microsecond
            usecs = (cpu.timestamps[i] + 500) // 1000
            assert f"{usecs // 1_000_000}.{usecs % 1_000_000:06d}" == f"{line['sec']}.{line['us']}"
            assert values["common_pid"] == int(line["pid"])
            rest = line["rest"]
            if fmt.full_name == "ftrace:print":
                # The kernel prints "<caller>: <text>"; buf is the text with its newline.
                assert values["buf"].endswith("\n")
                assert rest.endswith(": " + values["buf"][:-1]), (rest, values["buf"])
                marks.append(values["buf"][:-1])
                continue
            if fmt.name == "kernel_stack":
                assert rest.startswith("<stack trace>")
                assert 0 < values["size"] == len(values["caller"])
                continue
            assert rest.startswith(fmt.name + ": "), (rest, fmt.name)
            body = rest[len(fmt.name) + 2 :]
            if fmt.name == "sys_enter":
                assert body.startswith(f"NR {values['id']} (")
                shown = [int(x, 16) for x in body[body.index("(") + 1 : body.rindex(")")].split(", ")]
                assert shown == values["args"]
            elif fmt.name == "sys_exit":
                assert body == f"NR {values['id']} = {values['ret']}"
            elif fmt.name == "page_fault_user":
                assert f"error_code={values['error_code']:#x}" in body
            elif fmt.name == "sched_process_exec":
                assert f"filename={values['filename']} pid={values['pid']}" in body
            checked += 1
    assert checked > 100
    assert marks == [m.rstrip("\n") for m in MARKERS]


def test_ftrace_text_prints_markers_as_the_kernel_does(ls_capture):
    from kernlab.recording.export.ftrace_text import ftrace_lines

    rec = open_recording(ls_capture.root)
    ours = [line for line in ftrace_lines(rec, {}) if "tracing_mark_write" in line]
    kernel = [
        line
        for text in ls_capture.text_by_cpu.values()
        for line in text.splitlines()
        if "tracing_mark_write" in line
    ]
    assert len(ours) == len(kernel) == len(MARKERS)
    # Everything after the time stamp is the same text (comm/flags depend on saved cmdlines).
    assert [o.split(": ", 1)[1] for o in ours] == [k.split(": ", 1)[1] for k in kernel]


def test_syscall_pairs_and_exec(ls_capture):
    rec = open_recording(ls_capture.root)
    counts = rec.event_counts()
    assert counts["sched:sched_process_exec"] == 1
    # Every fault has its stack. The kernel may add a stray one: the stacktrace trigger runs
    # after the event's commit even when the event itself was discarded (a task switching
    # in or out of set_event_pid between reserve and commit), rarely, one in a few hundred.
    faults = counts["exceptions:page_fault_user"]
    assert faults <= counts["ftrace:kernel_stack"] <= faults + max(2, faults // 100)
    stacks = event_stacks(rec, {"exceptions:page_fault_user"}, KernelSymbols(rec.kallsyms_path))
    assert len(stacks) == faults
    assert rec.command_start_ts > 0


def test_every_live_format_parses():
    tracefs = tracefs_or_skip()
    paths = sorted((tracefs / "events").glob("*/*/format"))
    assert len(paths) > 100
    for path in paths:
        fmt = read_format(path)
        assert fmt.id > 0 and fmt.fields[0].name == "common_type"
        # the record fits the declared sizes, in offset order
        for a, b in zip(fmt.fields, fmt.fields[1:], strict=False):
            assert a.offset + a.size <= b.offset or b.size == 0 or a.size == 0, (path, a, b)


def _page(events: list[bytes], ts: int = 1000, size: int = 4096, commit_flags: int = 0) -> bytes:
    data = b"".join(events)
    page = struct.pack("<QQ", ts, len(data) | commit_flags) + data
    return page + b"\0" * (size - len(page))


HEADER = parse_header_page(
    "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
    "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
    "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n"
)


def test_synthetic_page_with_extend_padding_and_long_records():
    rec8 = struct.pack("<HBBi", 7, 0, 0, 42)  # 8-byte record: type 7, pid 42
    small = struct.pack("<I", (5 << 5) | 2) + rec8  # type_len 2, delta 5
    extend = struct.pack("<II", (3 << 5) | 30, 1)  # time extend: (1 << 27) + 3
    long_rec = struct.pack("<HBBi", 9, 0, 0, 43) + b"x" * 132  # 140 bytes > 28 * 4
    long_ev = struct.pack("<II", (2 << 5) | 0, len(long_rec) + 4) + long_rec
    padding = struct.pack("<II", (1 << 5) | 29, 12) + b"\0" * 8  # array[0] counts itself
    page = _page([small, extend, small, padding, long_ev])
    ev = decode_pages(page, HEADER)
    # The columns are array.array: compare their contents
    assert list(ev.types) == [7, 7, 9]
    assert list(ev.timestamps) == [1005, 1005 + (1 << 27) + 3 + 5, 1005 + (1 << 27) + 3 + 5 + 2]
    assert list(ev.lengths) == [8, 8, 140]


def test_missed_events_are_counted():
    missed = 1 << 31 | 1 << 30
    rec8 = struct.pack("<I", 2) + struct.pack("<HBBi", 7, 0, 0, 1)
    page = bytearray(_page([rec8], commit_flags=missed))
    struct.pack_into("<Q", page, 16 + len(rec8), 12345)
    ev = decode_pages(bytes(page), HEADER)
    assert ev.missed_pages == 1 and ev.missed_events == 12345 and len(ev) == 1


@pytest.mark.parametrize("junk", [b"", b"\xff" * 4096, bytes(range(256)) * 32, b"\x01" * 100])
def test_garbage_pages_never_raise(junk):
    ev = decode_pages(junk, HEADER)
    assert len(ev) >= 0 and ev.pages == len(junk) // 4096


def test_bad_format_text_is_bad_input():
    with pytest.raises(BadInput):
        parse_format("this is not a format file")
    with pytest.raises(BadInput):
        parse_header_page("nothing")


def test_garbage_recording_is_a_clean_error(tmp_path: Path):
    from tests.conftest import assert_clean_error, run_kernlab

    assert_clean_error(run_kernlab("report", "-d", str(tmp_path / "none")), 3)
    (tmp_path / "file").write_bytes(b"\0\1\2")
    assert_clean_error(run_kernlab("report", "-d", str(tmp_path / "file")), 3)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "meta.json").write_text("{not json")
    for cmd in ("report", "syscalls", "faults", "dump"):
        result = run_kernlab(
            cmd, "-d", str(bad), *(["--text", str(tmp_path / "o.txt")] if cmd == "dump" else [])
        )
        assert_clean_error(result, 3)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=3 * 4096))
def test_random_bytes_decode_without_crashing(data):
    ev = decode_pages(data, HEADER)
    assert len(ev.timestamps) == len(ev.offsets) == len(ev.lengths) == len(ev.types)
    for off, length in zip(ev.offsets, ev.lengths, strict=True):
        assert off >= 0 and off + length <= len(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_random_text_is_a_format_or_bad_input(text):
    try:
        fmt = parse_format(text)
    except BadInput:
        return
    assert fmt.name


def test_damaged_recordings_never_crash_the_commands(ls_capture, tmp_path: Path):
    """Random bytes written over the raw pages: every command still ends cleanly."""
    import random
    import shutil

    from tests.conftest import run_kernlab

    rng = random.Random(4)
    for trial in range(3):
        copy = tmp_path / f"damaged{trial}"
        shutil.copytree(ls_capture.root, copy)
        for raw in (copy / "cpus").glob("cpu*.raw"):
            data = bytearray(raw.read_bytes())
            for _ in range(len(data) // 50):
                data[rng.randrange(len(data))] = rng.randrange(256)
            raw.write_bytes(bytes(data[: len(data) - rng.randrange(100)]))
        for args in (["report"], ["syscalls"], ["faults"], ["dump", "--text", str(copy / "t.txt")]):
            result = run_kernlab(*args, "-d", str(copy))
            assert "Traceback" not in result.stderr, (args, result.stderr)
            assert result.code in (0, 3), (args, result.stderr)


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path):
    import os

    from tests.conftest import assert_clean_error, run_kernlab

    rec = tmp_path / "rec"
    rec.mkdir()
    os.mkfifo(rec / "meta.json")
    assert_clean_error(run_kernlab("report", "-d", str(rec), timeout=30), 3)


def test_flexible_and_dynamic_fields_run_to_their_real_length():
    fmt = parse_format(
        "name: synth\nID: 77\nformat:\n"
        "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
        "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
        "\tfield:__rel_loc char[] who;\toffset:8;\tsize:4;\tsigned:0;\n"
        "\tfield:unsigned long caller[];\toffset:16;\tsize:0;\tsigned:0;\n"
        '\nprint fmt: "x"\n',
        "test",
    )
    caller = fmt.field("caller")
    assert caller.flexible and caller.element_size == 8 and not caller.is_string
    # who: 3 bytes "ab\0" stored right after the 4-byte rel_loc field's end (offset 12)
    record = struct.pack("<HHi", 77, 0, 9) + struct.pack("<I", (3 << 16) | 0) + b"ab\0\0"
    record += struct.pack("<3Q", 1, 2, 3)
    values = fmt.decode(record, 0, len(record))
    assert values["who"] == "ab"
    assert values["caller"] == [1, 2, 3]
    with pytest.raises(BadInput):
        fmt.unpacker(["caller"])


def test_uniform_pages_decode_like_the_record_walk(tmp_path, monkeypatch):
    """Pages full of one record size take the strided path; it must give exactly what the
    record-by-record walk gives, and columns() what struct unpacking gives."""
    from collections import Counter

    from kernlab.tracing import ringbuf
    from tests.conftest import PROGRAMS, compile_c

    tracefs_or_skip()
    exe = compile_c(PROGRAMS / "rep_touch.c", tmp_path / "rep_touch", ["-O1"])
    events = ["exceptions/page_fault_user", "exceptions/page_fault_kernel", *EVENTS[:2]]
    cap = capture(tmp_path / "rec", [str(exe), "20000"], events, keep_text=False)
    rec = open_recording(cap.root)
    fast = rec.cpu_events()
    assert sum(len(c.runs) for c in fast) > 50
    monkeypatch.setattr(ringbuf, "_LITTLE", False)  # forces the walk
    slow = open_recording(cap.root).cpu_events()
    for a, b in zip(fast, slow, strict=True):
        assert (a.timestamps, a.offsets, a.lengths, a.types) == (b.timestamps, b.offsets, b.lengths, b.types)
    names = ["common_pid", "address", "ip", "error_code"]
    for event in ("exceptions:page_fault_user", "exceptions:page_fault_kernel"):
        columns = rec.columns(event, names)
        unpacked = rec._columns_unpacked(rec.by_name[event], names, 0)
        assert Counter(zip(*columns.values(), strict=True)) == Counter(zip(*unpacked.values(), strict=True))
    assert len(rec.columns("exceptions:page_fault_user", names)["address"]) >= 20000
