"""`kernlab dump --chrome / --perfetto / --folded` of a real `record --functions -K` recording,
read back by the formats' own readers: Python's json for Chrome's Trace Event Format, the
``perfetto`` package's protos for Perfetto's, and stackvis (Joyent's port of flamegraph.pl,
.ci/run installs it from npm) for the folded stacks. What each holds is compared with the tree
`kernlab replay --json` prints for the same recording."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from typing import Any

import pytest

from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import need_tracing, record_fn_calls


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Any]:
    """fn_calls (nested calls, recursion, a loop, libc calls, two threads) recorded with its
    functions and kernel paths, the three files dumped, and the tree replay prints."""
    need_tracing()
    tmp = tmp_path_factory.mktemp("exports")
    rec = record_fn_calls(tmp, 4)
    files = {"chrome": tmp / "t.json", "perfetto": tmp / "t.pftrace", "folded": tmp / "t.folded"}
    args = [x for k, p in files.items() for x in (f"--{k}", str(p))]
    dumped = run_kernlab("dump", "-d", str(rec), *args, "--json")
    assert dumped.code == 0, dumped.stderr
    replayed = run_kernlab("replay", "-d", str(rec), "--json")
    assert replayed.code == 0, replayed.stderr
    return {
        "rec": rec,
        "tmp": tmp,
        **files,
        "summary": json.loads(dumped.stdout),
        "tree": json.loads(replayed.stdout),
    }


def _nodes(tree: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    out, todo = [], [(t["tid"], c) for t in tree["threads"] for c in t["calls"]]
    while todo:
        tid, node = todo.pop()
        out.append((tid, node))
        todo.extend((tid, c) for c in node["children"])
    return out


def _category(node: dict[str, Any]) -> str:
    return "library" if node["kind"] == "function" and node["library"] else node["kind"]


def _slices_wanted(tree: dict[str, Any]) -> Counter[tuple[int, str, str]]:
    return Counter((tid, _category(n), n["name"]) for tid, n in _nodes(tree) if n["kind"] != "fault")


def _faults_wanted(tree: dict[str, Any]) -> Counter[tuple[int, int]]:
    return Counter((tid, n["time_ns"]) for tid, n in _nodes(tree) if n["kind"] == "fault")


def test_chrome_slices_pair_nest_and_equal_the_tree(exported):
    doc = json.loads(exported["chrome"].read_text())
    events = doc["traceEvents"]
    tree = exported["tree"]
    named = {
        (e["pid"], e["tid"]): e["args"]["name"]
        for e in events
        if e["ph"] == "M" and e["name"] == "thread_name"
    }
    assert {tid for _pid, tid in named} == {t["tid"] for t in tree["threads"]}
    assert all(named[k] == t["comm"] for k in named for t in tree["threads"] if t["tid"] == k[1])
    assert any(e["ph"] == "M" and e["name"] == "process_name" for e in events)

    seen: Counter[tuple[int, str, str]] = Counter()
    open_: dict[int, list[tuple[str, float]]] = {}
    last: dict[int, float] = {}
    faults: Counter[tuple[int, int]] = Counter()
    for e in events:
        if e["ph"] == "M":
            continue
        tid, ts = e["tid"], e["ts"]
        assert ts >= last.get(tid, 0.0), f"time runs backwards on thread {tid}: {e}"
        last[tid] = ts
        stack = open_.setdefault(tid, [])
        if e["ph"] == "B":
            seen[(tid, e["cat"], e["name"])] += 1
            stack.append((e["name"], ts))
        elif e["ph"] == "E":
            assert stack, f"E without B: {e}"
            name, began = stack.pop()
            assert name == e["name"] and ts >= began  # the innermost open slice ends first
        else:
            assert e["ph"] == "i" and e["cat"] == "fault" and e["s"] == "t"
            assert int(e["args"]["address"], 16) > 0 and "error_code" in e["args"]
            faults[(tid, round(ts * 1000))] += 1
    assert all(not s for s in open_.values()), "every B has its E"
    assert seen == _slices_wanted(tree)  # names and call counts, per thread, as replay has them
    assert faults == _faults_wanted(tree)
    kernel = sum(n for (_t, cat, _n), n in seen.items() if cat == "kernel")
    summary = exported["summary"][0]
    assert summary["slices"] == sum(seen.values()) and summary["kernel_slices"] == kernel
    assert summary["instants"] == sum(faults.values()) and summary["events"] == len(events)


def test_chrome_durations_are_the_calls_durations(exported):
    """A finished call's slice lasts its recorded duration (longer only where it says so: it
    covers kernlab's own ptrace stop in a clone, left out of the duration)."""
    events = [e for e in json.loads(exported["chrome"].read_text())["traceEvents"] if e["ph"] in "BE"]
    by_thread: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        by_thread.setdefault(e["tid"], []).append(e)
    wanted = {(tid, n["name"], n["time_ns"]): n["duration_ns"] for tid, n in _nodes(exported["tree"])}
    checked = 0
    for tid, evs in by_thread.items():
        stack: list[dict[str, Any]] = []
        for e in evs:
            if e["ph"] == "B":
                stack.append(e)
                continue
            b = stack.pop()
            begin, end = round(b["ts"] * 1000), round(e["ts"] * 1000)
            duration = wanted.get((tid, b["name"], begin))
            if b["cat"] != "kernel" and duration is not None:
                said = e.get("args", {}).get("duration_ns", end - begin)
                assert said == duration and end - begin >= duration
                checked += 1
    assert checked > 10


def test_perfetto_parses_back_with_its_own_protos(exported):
    from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as protos

    trace = protos.Trace()
    trace.ParseFromString(exported["perfetto"].read_bytes())
    kind = protos.TrackEvent
    threads = {}
    for p in trace.packet:
        if p.HasField("track_descriptor") and p.track_descriptor.HasField("thread"):
            threads[p.track_descriptor.uuid] = p.track_descriptor.thread
    tree = exported["tree"]
    assert {t.tid: t.thread_name for t in threads.values()} == {t["tid"]: t["comm"] for t in tree["threads"]}
    seen: Counter[tuple[int, str, str]] = Counter()
    faults: Counter[tuple[int, int]] = Counter()
    open_: dict[int, list[str]] = {}
    last: dict[int, int] = {}
    for p in trace.packet:
        if not p.HasField("track_event"):
            continue
        e = p.track_event
        assert p.trusted_packet_sequence_id != 0
        tid = threads[e.track_uuid].tid
        assert p.timestamp >= last.get(tid, 0)
        last[tid] = p.timestamp
        stack = open_.setdefault(tid, [])
        if e.type == kind.TYPE_SLICE_BEGIN:
            seen[(tid, e.categories[0], e.name)] += 1
            stack.append(e.name)
        elif e.type == kind.TYPE_SLICE_END:
            assert stack.pop()
        else:
            assert e.type == kind.TYPE_INSTANT and e.categories[0] == "fault"
            assert {a.name for a in e.debug_annotations} >= {"address", "error_code"}
            faults[(tid, p.timestamp)] += 1
    assert all(not s for s in open_.values())
    assert seen == _slices_wanted(tree)  # every slice of the tree, per thread
    assert faults == _faults_wanted(tree)
    # the same slices at the same times as the Chrome file
    chrome = [e for e in json.loads(exported["chrome"].read_text())["traceEvents"] if e["ph"] == "B"]
    begins = sorted((e["tid"], round(e["ts"] * 1000), e["name"]) for e in chrome)
    pf = sorted(
        (threads[p.track_event.track_uuid].tid, p.timestamp, p.track_event.name)
        for p in trace.packet
        if p.HasField("track_event") and p.track_event.type == kind.TYPE_SLICE_BEGIN
    )
    assert pf == begins
    summary = exported["summary"][1]
    assert summary["size"] == exported["perfetto"].stat().st_size and summary["packets"] == len(trace.packet)


def _effective(node: dict[str, Any]) -> int:
    """A call's time as folded stacks count it: its duration, or what is inside it without one."""
    if node["kind"] == "kernel" and node["duration_ns"] is None:
        return 0
    if node["duration_ns"] is not None and node["kind"] != "fault":
        return node["duration_ns"]
    return sum(_effective(c) for c in node["children"])


def test_folded_stacks_read_by_a_flame_graph_tool(exported):
    stackvis = need_tool("stackvis")
    text = exported["folded"].read_text()
    ours = {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        ours[stack] = int(count)
    # stackvis reads the collapsed format and writes it back: the same stacks and counts
    back = subprocess.run(
        [stackvis, "collapsed", "collapsed"], input=text, capture_output=True, text=True, check=True
    )
    theirs = {}
    for line in back.stdout.splitlines():
        stack, _, count = line.rpartition(" ")
        theirs[stack] = theirs.get(stack, 0) + int(count)
    assert theirs == ours
    # and draws the flame graph: its root frame holds the whole total
    svg = subprocess.run(
        [stackvis, "collapsed", "flamegraph-svg"], input=text, capture_output=True, text=True, check=True
    ).stdout
    totals = [int(n.replace(",", "")) for n in re.findall(r"\(([\d,]+) samples, 100", svg)]
    tree = exported["tree"]
    total = sum(_effective(c) for t in tree["threads"] for c in t["calls"])
    assert total > 0 and sum(ours.values()) == total == exported["summary"][2]["total_ns"]
    assert total in totals
    # each top call's frame is as wide as its time, summed over the threads that made it
    per_root: Counter[str] = Counter()
    for t in tree["threads"]:
        for c in t["calls"]:
            per_root[f"{t['comm']};{c['name']}"] += _effective(c)
    folded_root: Counter[str] = Counter()
    for stack, n in ours.items():
        folded_root[";".join(stack.split(";")[:2])] += n
    assert folded_root == +per_root
    # the system calls' kernel paths are there, below the call that entered the kernel
    assert any(";write;" in s or ";futex;" in s or s.count(";") > 4 for s in ours)


def test_folded_to_stdout_equals_the_file(exported):
    result = run_kernlab("dump", "-d", str(exported["rec"]), "--folded", "-")
    assert result.code == 0, result.stderr
    assert result.stdout == exported["folded"].read_text()


def test_dump_json_is_language_independent(exported):
    target = exported["tmp"] / "lang"
    outs = []
    for lang in ("en", "ko"):
        result = run_kernlab(
            "--lang", lang, "dump", "-d", str(exported["rec"]), "--chrome", f"{target}.json",
            "--folded", f"{target}.folded", "--json",
        )  # fmt: skip
        assert result.code == 0, result.stderr
        outs.append(result.stdout)
    assert outs[0] == outs[1]
    assert [set(d) >= {"path", "completeness"} for d in json.loads(outs[0])] == [True, True]


def test_a_recording_without_calls_is_refused_before_writing(tmp_path):
    need_tracing()
    rec = tmp_path / "plain.data"
    assert run_kernlab("record", "-q", "-d", str(rec), "--", "true").code == 0
    result = run_kernlab(
        "dump", "-d", str(rec), "--text", str(tmp_path / "t.txt"), "--chrome", str(tmp_path / "c.json")
    )
    assert result.code == 3 and "record --functions" in result.stderr
    assert not (tmp_path / "c.json").exists() and not (tmp_path / "t.txt").exists()


def test_synthetic_tree_nests_and_folds_exactly():
    """The rules on a tree made by hand: an unfinished call ends with its content; a call whose
    duration leaves out a ptrace stop ends with its content and says its duration; a kernel path
    is zero-length slices; a system call's self time is shared by its kernel paths."""
    from kernlab.reports.exports.folded import fold
    from kernlab.reports.exports.timeline import Timeline, marks
    from kernlab.reports.recording.loss import Loss
    from kernlab.reports.replay import CallNode, ReplayFilters, ReplayReport, ThreadCalls

    k = CallNode("kernel", "vfs_write", 150, None, [CallNode("kernel", "ext4_write", 160, None, [])])
    k2 = CallNode("kernel", "fsnotify", 170, None, [])
    sys = CallNode("syscall", "write", 120, 100, [k, k2])
    stopped = CallNode("function", "spawn", 300, 50, [CallNode("syscall", "clone3", 310, 20, [])])
    late = CallNode("syscall", "futex", 900, 10, [])  # after the stop, still inside spawn's span
    stopped = CallNode("function", "spawn", 300, 50, [*stopped.children, late])
    lost = CallNode("function", "never_returns", 1000, None, [CallNode("function", "leaf", 1010, 5, [])])
    main = CallNode("function", "main", 100, 2000, [sys, stopped, lost])
    tally = Timeline()
    got = [(m.phase, m.node.name, m.ts_ns, m.duration_ns) for m in marks([main], tally)]
    assert got == [
        ("B", "main", 100, None),
        ("B", "write", 120, None),
        ("B", "vfs_write", 150, None),
        ("B", "ext4_write", 150, None),
        ("E", "ext4_write", 150, None),
        ("E", "vfs_write", 150, None),
        ("B", "fsnotify", 170, None),
        ("E", "fsnotify", 170, None),
        ("E", "write", 220, None),
        ("B", "spawn", 300, None),
        ("B", "clone3", 310, None),
        ("E", "clone3", 330, None),
        ("B", "futex", 900, None),
        ("E", "futex", 910, None),
        ("E", "spawn", 910, 50),
        ("B", "never_returns", 1000, None),
        ("B", "leaf", 1010, None),
        ("E", "leaf", 1015, None),
        ("E", "never_returns", 1015, None),
        ("E", "main", 2100, None),
    ]
    assert (tally.slices, tally.kernel_slices, tally.unfinished, tally.moved) == (10, 3, 1, 0)
    report = ReplayReport(
        "d",
        "b",
        ".symtab",
        3,
        [ThreadCalls(1, "prog", [main])],
        4,
        3,
        0,
        0,
        0,
        1,
        0,
        ReplayFilters(),
        Loss(0, 0),
    )
    lines = fold(report).lines
    assert lines == {
        "prog;main": 2000 - 100 - 50 - 5,
        "prog;main;write;vfs_write;ext4_write": 50,
        "prog;main;write;fsnotify": 50,
        "prog;main;spawn": 50 - 20 - 10,
        "prog;main;spawn;clone3": 20,
        "prog;main;spawn;futex": 10,
        "prog;main;never_returns;leaf": 5,
    }
    assert sum(lines.values()) == 2000
