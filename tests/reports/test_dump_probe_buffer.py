"""`kernlab dump --text / --trace-dat` of a `record --functions` recording whose probes had their
own buffer (``cpus/functions/``, recording/probe_buffer.py): the text holds one uprobe entry line
and one return line per call `kernlab replay` shows, merged by time with the recording's own
lines; `trace-cmd report` shows the same probe events in the trace.dat's second buffer,
``functions``, and the recording's own events exactly as in a trace.dat written without it.
The page layout of that buffer (the traced tasks' records only, laid out again) is checked on
pages made here, with time extends, long records and lost events."""

from __future__ import annotations

import json
import re
import struct
import subprocess
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from kernlab.recording.export.ftrace_text import compile_printer, flag_letters
from kernlab.recording.export.tracedat import filtered_pages, write_trace_dat
from kernlab.recording.functions import FunctionTable, SharedProbes, read_function_table
from kernlab.recording.kallsyms import KernelSymbols
from kernlab.recording.probe_buffer import FUNCTIONS_DIR, probe_buffer_files
from kernlab.recording.reader import open_recording
from kernlab.tracing.formats import parse_format, parse_header_page
from kernlab.tracing.ringbuf import RB_MISSED_EVENTS, RB_MISSED_STORED, CpuEvents, decode_pages
from tests.conftest import PROGRAMS, compile_c, need_tool, run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

# comm-pid [cpu] flags seconds.micros: event: text  (ftrace's own line, trace_print_context())
TEXT_LINE = re.compile(
    r"^\s*(?P<comm>.*)-(?P<pid>\d+)\s+\[(?P<cpu>\d{3})\] (?P<flags>\S{5}) +(?P<s>\d+)\.(?P<us>\d{6}): "
    r"(?P<event>[^:\s]+): (?P<rest>.*)$"
)
ENTRY = re.compile(r"^\(0x(?P<ip>[0-9a-f]+)\)")
RETURN = re.compile(r"^\(0x(?P<ret>[0-9a-f]+) <- 0x(?P<func>[0-9a-f]+)\)")
# `trace-cmd report -t`: [buffer:] comm-pid [cpu] seconds.nanos: event: ...
REPORT_LINE = re.compile(
    r"^(?P<buffer>\w+:)?\s+.*-(?P<pid>\d+)\s+\[(?P<cpu>\d{3})\]\s+(?P<ts>\d+\.\d{9}): (?P<event>\w+):"
)


@pytest.fixture(scope="module")
def dumped(tmp_path_factory) -> dict[str, Any]:
    """fn_calls (nested calls, recursion, a loop, libc calls through its PLT, two threads)
    recorded with its functions, dumped as text and trace.dat, and the tree replay prints."""
    need_tracing()
    tmp = tmp_path_factory.mktemp("probe_dump")
    binary = compile_c(PROGRAMS / "fn_calls.c", tmp / "fn_calls", ["-O0", "-lpthread"])
    rec = tmp / "kernlab.data"
    result = run_kernlab("record", "--functions", "-q", "-d", str(rec), "--", str(binary))
    assert result.code == 0, result.stderr
    assert str(binary) not in (TRACEFS / "uprobe_events").read_text()
    text, dat = tmp / "t.txt", tmp / "t.dat"
    done = run_kernlab("dump", "-d", str(rec), "--text", str(text), "--trace-dat", str(dat), "--json")
    assert done.code == 0, done.stderr
    replayed = run_kernlab("replay", "-d", str(rec), "--json")
    assert replayed.code == 0, replayed.stderr
    table = read_function_table(rec)
    assert table is not None
    return {
        "rec": rec,
        "tmp": tmp,
        "text": text,
        "dat": dat,
        "table": table,
        "summary": json.loads(done.stdout),
        "tree": json.loads(replayed.stdout),
    }


def _probe_lines(dumped: dict[str, Any]) -> list[re.Match[str]]:
    """The text's lines of the probe events (those of the recording's probe group)."""
    group: str = dumped["table"].group
    names = {p.parent.name for p in (dumped["rec"] / "formats" / group).glob("*/format")}
    lines = [TEXT_LINE.match(ln) for ln in dumped["text"].read_text().splitlines()]
    return [m for m in lines if m is not None and m["event"] in names]


def _function_of(table: FunctionTable, lines: list[re.Match[str]]) -> list[tuple[str, bool]]:
    """(function name, whether a return) of each probe line: by its event, or for an event
    shared by many probes by the probe's address in the line (SharedProbes, as replay does)."""
    by_event = {}
    for f in table.functions:
        by_event[f.entry_event] = (f.name, False)
        by_event[f.exit_event] = (f.name, True)
    hits, out = [], []
    for m in lines:
        event = f"{table.group}:{m['event']}"
        entry, ret = ENTRY.match(m["rest"]), RETURN.match(m["rest"])
        assert entry or ret, m.string
        address = int(entry["ip"] if entry else ret["func"], 16)  # type: ignore[index]
        hits.append((event, int(m["pid"]), address))
    resolved = SharedProbes(table).resolve(hits)
    for (event, _tid, _address), found, m in zip(hits, resolved, lines, strict=True):
        if event in table.shared:
            assert found is not None, m.string
            out.append((table.functions[found[0]].name, found[1]))
        else:
            out.append(by_event[event])
        assert out[-1][1] == bool(RETURN.match(m["rest"])), m.string  # a return probe prints "<-"
    return out


def _replayed_calls(tree: dict[str, Any]) -> tuple[Counter[str], Counter[str]]:
    """Calls per function in replay's tree, and those of them that returned (have a duration)."""
    calls: Counter[str] = Counter()
    returned: Counter[str] = Counter()
    todo = [c for t in tree["threads"] for c in t["calls"]]
    while todo:
        node = todo.pop()
        if node["kind"] == "function":
            calls[node["name"]] += 1
            if node["duration_ns"] is not None:
                returned[node["name"]] += 1
        todo.extend(node["children"])
    return calls, returned


def test_the_recording_used_the_probe_buffer(dumped):
    assert (dumped["rec"] / FUNCTIONS_DIR).is_dir() and probe_buffer_files(dumped["rec"])
    assert dumped["table"].buffer == "functions"


def test_text_has_an_entry_and_a_return_line_per_call_replay_shows(dumped):
    lines = _probe_lines(dumped)
    named = _function_of(dumped["table"], lines)
    entries = Counter(name for name, ret in named if not ret)
    returns = Counter(name for name, ret in named if ret)
    calls, returned = _replayed_calls(dumped["tree"])
    assert entries == calls and returns == returned
    assert {"main", "outer", "middle", "leaf", "fib", "worker"} <= set(calls)
    # Only the traced tasks' hits, named as the kernel named them.
    tids = {t["tid"]: t["comm"] for t in dumped["tree"]["threads"]}
    assert {int(m["pid"]) for m in lines} == set(tids)
    assert all(m["comm"].strip() == tids[int(m["pid"])] for m in lines)
    summary = dumped["summary"]
    trace, text = (next(s for s in summary if s["path"] == str(dumped[k])) for k in ("dat", "text"))
    rec = open_recording(dumped["rec"])
    assert text["events"] == trace["events"] == rec.event_total + len(lines)
    assert trace["probe_events"] == len(lines) and trace["buffer"] == "functions"


def test_text_lines_are_in_time_order_with_the_recordings_own(dumped):
    lines = [m for m in map(TEXT_LINE.match, dumped["text"].read_text().splitlines()) if m is not None]
    stamps = [int(m["s"]) * 1_000_000 + int(m["us"]) for m in lines]
    assert stamps == sorted(stamps)
    probe_events = {m["event"] for m in _probe_lines(dumped)}
    kinds = [m["event"] in probe_events for m in lines]
    # Interleaved, not appended: the recording's own lines come before, between and after.
    assert not kinds[0] and not kinds[-1] and any(kinds)
    first, last = kinds.index(True), len(kinds) - 1 - kinds[::-1].index(True)
    assert not all(kinds[first:last])


def _report(dat: Path) -> list[str]:
    """`trace-cmd report -t` of ``dat``: one item per record (a string argument holding a newline
    goes on over several lines: they are joined), after the ``cpus=`` line."""
    proc = subprocess.run(
        [need_tool("trace-cmd"), "report", "-t", str(dat)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr.lower() and "error" not in proc.stderr.lower(), proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and lines[0].strip().startswith("cpus="), proc.stdout[:200]
    out: list[str] = []
    for line in lines[1:]:
        if REPORT_LINE.match(line) or not out:
            out.append(line)
        else:
            out[-1] += "\n" + line
    return out


def test_trace_cmd_shows_the_same_probe_events_in_the_functions_buffer(dumped):
    # trace-cmd report shows every buffer of the file, each line of an instance prefixed with
    # its name (the top buffer's lines with as many spaces).
    report = [m for m in map(REPORT_LINE.match, _report(dumped["dat"])) if m is not None]
    theirs = sorted(
        (int(m["ts"].replace(".", "")), int(m["pid"]), int(m["cpu"]), m["event"])
        for m in report
        if m["buffer"] == "functions:"
    )
    ours = [
        (int(m["s"]) * 1_000_000 + int(m["us"]), int(m["pid"]), int(m["cpu"]), m["event"])
        for m in _probe_lines(dumped)
    ]
    assert len(theirs) == len(ours) > 0
    assert Counter(e for *_, e in theirs) == Counter(e for *_, e in ours)
    # The same records at the same times (the text shows microseconds, rounded as the kernel does).
    assert sorted(((ts + 500) // 1000, pid, cpu, e) for ts, pid, cpu, e in theirs) == sorted(ours)
    assert {m["buffer"] for m in report} == {None, "functions:"}


def test_the_recordings_own_events_are_unchanged(dumped, tmp_path):
    plain = tmp_path / "plain.dat"
    rec = open_recording(dumped["rec"])
    write_trace_dat(rec, plain)  # the recording's own buffer only, as before
    width = len("functions") + 2
    main = [ln.removeprefix(" " * width) for ln in _report(dumped["dat"]) if not ln.startswith("functions:")]
    assert main == _report(plain)
    assert len(main) == rec.event_total


# --- the second buffer's pages, on pages made here ---------------------------------------------

HEADER = parse_header_page(
    "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
    "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
    "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
    "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:1;\n"
)


def _record(pid: int, size: int, tag: int) -> bytes:
    """A record of ``size`` bytes (a multiple of 4): common_type 7, pid, then ``tag`` bytes."""
    return struct.pack("<HBBi", 7, 0, 0, pid) + bytes([tag]) * (size - 8)


def _source_page(ts: int, items: list[tuple[int, bytes]], missed: int | None = None) -> bytes:
    """A 4096-byte page: each item (delta, record) as the kernel writes it."""
    data = bytearray()
    for delta, body in items:
        if delta >= 1 << 27:
            data += struct.pack("<II", 30 | (delta & ((1 << 27) - 1)) << 5, delta >> 27)
            delta = 0
        if len(body) <= 112:
            data += struct.pack("<I", len(body) >> 2 | delta << 5) + body
        else:
            data += struct.pack("<II", delta << 5, len(body) + 4) + body
    commit = len(data)
    page = bytearray(4096)
    if missed is not None:
        commit |= RB_MISSED_EVENTS | RB_MISSED_STORED
        struct.pack_into("<Q", page, 16 + len(data), missed)
    struct.pack_into("<QQ", page, 0, ts, commit)
    page[16 : 16 + len(data)] = data
    return bytes(page)


def test_filtered_pages_keep_the_records_times_and_bytes():
    traced, other = 100, 200
    first = [
        (0, _record(traced, 24, 1)),
        (5, _record(other, 24, 2)),
        (3, _record(traced, 200, 3)),  # longer than type_len can say: its length in a word
        (7, _record(other, 16, 4)),
        ((1 << 27) + 9, _record(traced, 16, 5)),  # after a time extend
    ]
    second = [(2, _record(other, 16, 6)), (1, _record(traced, 24, 7))]
    raw = _source_page(1_000, first) + _source_page(1 << 40, second, missed=12)
    cpu = decode_pages(raw, HEADER, 0, 4096)
    pids = [struct.unpack_from("<i", cpu.raw, o + 4)[0] for o in cpu.offsets]
    kept = [i for i, pid in enumerate(pids) if pid == traced]
    assert len(kept) == 4 and len(cpu) == 7
    for page_size in (4096, 256):  # one page, or several: a record never spans two
        out = filtered_pages(cpu, kept, HEADER, 4096, page_size)
        assert len(out) % page_size == 0
        back = decode_pages(out, HEADER, 0, page_size)
        assert list(back.timestamps) == [cpu.timestamps[i] for i in kept]
        assert [back.raw[o : o + n] for o, n in zip(back.offsets, back.lengths, strict=True)] == [
            cpu.raw[cpu.offsets[i] : cpu.offsets[i] + cpu.lengths[i]] for i in kept
        ]
        assert back.damaged_pages == 0
        # The page after the lost events keeps the mark and the count, on the next kept record.
        assert back.missed_pages == 1 and back.missed_events == 12


def test_filtered_pages_of_nothing_kept_are_empty():
    cpu = decode_pages(_source_page(5, [(0, _record(9, 16, 1))]), HEADER, 0, 4096)
    assert filtered_pages(cpu, [], HEADER, 4096, 4096) == b""
    empty = cast(CpuEvents, SimpleNamespace(raw=b"", timestamps=[], offsets=[], lengths=[]))
    assert filtered_pages(empty, [], HEADER, 4096, 4096) == b""


UPROBE = """name: e0
ID: 1500
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;
\tfield:u64 a0p;\toffset:16;\tsize:8;\tsigned:0;

print fmt: "(%lx) a0p=0x%Lx", REC->__probe_ip, REC->a0p
"""
URETPROBE = """name: r0
ID: 1501
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;
\tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;

print fmt: "(%lx <- %lx)", REC->__probe_func, REC->__probe_ret_ip
"""


def test_uprobe_events_print_as_print_uprobe_event_does():
    """(0x<address>), and a return probe's return address before its function, as the kernel's
    `trace` shows them (its print fmt has them the other way round and without 0x)."""
    ksyms = KernelSymbols(None)
    entry = compile_printer(parse_format(UPROBE, "kernlab_1_2_fn0"), ksyms)
    ret = compile_printer(parse_format(URETPROBE, "kernlab_1_2_fn0"), ksyms)
    assert (
        entry({"__probe_ip": 0x5607FFEAA030, "a0p": 0x5607FFEAB004}) == "(0x5607ffeaa030) a0p=0x5607ffeab004"
    )
    assert ret({"__probe_func": 0x401126, "__probe_ret_ip": 0x4011A0}) == "(0x4011a0 <- 0x401126)"
    # Linux 6.18 stores 0xff in both of a uprobe record's flag bytes; its `trace` prints DBZff
    # (need_resched, need_resched_lazy and preempt_resched all set: B).
    assert flag_letters(0xFF, 0xFF) == "DBZff"
