"""`record -K DEPTH`: function_graph chosen by trying, its records made into trees.

On this machine the kernel refuses function_graph (or the files that fence it in): the choice
must fall back to stacks at tracepoints and say why, with the errno the kernel itself answers
now. The record-to-tree step is checked on records whose nesting is known; a raw buffer the
kernel wrote is checked against the kernel's own text of it in tests/vm/test_function_graph.py.
"""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

from kernlab.recording.kernel_paths import SOURCE_TRACEPOINTS, choose_source, read_settings
from kernlab.reports.recording.kernel_paths import GraphRecord, graph_trees, without_interrupts
from kernlab.tracing.function_graph import find_place
from kernlab.tracing.tracefs import available_events
from tests.conftest import run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing

# The top-level files function_graph would change (other workers' instances and probes may come
# and go meanwhile: they are not compared).
GRAPH_FILES = (
    "current_tracer",
    "set_ftrace_pid",
    "max_graph_depth",
    "set_graph_function",
    "trace_clock",
    "tracing_on",
    "options/function-fork",
    "options/funcgraph-irqs",
)


def global_state() -> dict[str, str]:
    out = {}
    for name in GRAPH_FILES:
        try:
            out[name] = (TRACEFS / name).read_text()
        except OSError as exc:
            out[name] = f"({exc.strerror})"
    mine = sorted(
        p.name for p in (TRACEFS / "instances").iterdir() if p.name.startswith(f"kernlab-{os.getpid()}-")
    )
    out["instances"] = " ".join(mine)
    return out


def _kernel_says() -> tuple[str, str]:
    """(why, errno) as this kernel answers the first thing function_graph needs, read directly."""
    try:
        with open(TRACEFS / "available_filter_functions") as fh:
            fh.readline()
    except OSError as exc:
        return "no_filter", errno.errorcode[exc.errno or 0]
    tracers = (TRACEFS / "available_tracers").read_text().split()
    return ("not_offered" if "function_graph" not in tracers else "", "")


def test_choice_falls_back_to_tracepoints_with_the_kernels_reason(tmp_path: Path) -> None:
    root = need_tracing()
    why, code = _kernel_says()
    if not why:
        place = find_place(root)
        assert place.where, place  # offered and listable: it must have been used
        return
    state = global_state()
    source = choose_source(5, available_events(root), root)
    assert source.name == SOURCE_TRACEPOINTS
    settings = source.settings()
    assert (settings.graph_why, settings.graph_errno) == (why, code), settings
    assert global_state() == state  # the tries left nothing behind

    (tmp_path / "a").write_text("x\n")
    result = run_kernlab(
        "record", "-q", "-d", str(tmp_path / "rec"), "-K", "3", "--", "mv", "a", "b", cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    saved = read_settings(tmp_path / "rec")
    assert saved is not None and saved.source == SOURCE_TRACEPOINTS
    assert (saved.graph_why, saved.graph_errno) == (why, code)
    notes = json.loads((tmp_path / "rec" / "meta.json").read_text())["notes"]
    assert any("function_graph not used" in n for n in notes), notes
    assert global_state() == state


def _rec(
    ts: int,
    func: int,
    depth: int,
    *,
    exit: bool = False,
    spent: int | None = None,
    irq: bool = False,
    off: bool = False,
) -> GraphRecord:
    return GraphRecord(ts, 7, exit, func, depth, spent, irq, (0, ts), off)


NAMES = {
    1: "__x64_sys_renameat2",
    2: "do_renameat2",
    3: "vfs_rename",
    4: "ext4_rename2",
    5: "getname",
    6: "irq_enter_rcu",
    7: "idle_cpu",
    8: "spin_lock",
    9: "irq",
}


def _shape(node) -> tuple:
    return (node.name, node.duration, [_shape(c) for c in node.children])


def test_graph_records_nest_by_depth_with_durations() -> None:
    records = [
        _rec(10, 1, 0),
        _rec(11, 2, 1),
        _rec(12, 5, 2),
        _rec(13, 5, 2, exit=True, spent=1),
        _rec(14, 9, 2, irq=True),  # interrupt work: left out
        _rec(15, 3, 2),
        _rec(16, 4, 3),
        _rec(17, 4, 3, exit=True, spent=1),
        _rec(18, 3, 2, exit=True, spent=3),
        _rec(19, 2, 1, exit=True, spent=8),
        _rec(20, 1, 0, exit=True, spent=10),
    ]
    trees = graph_trees(reversed(records), 5, NAMES.__getitem__)  # any order in: time order out
    assert [tid for tid, _ in trees] == [7]
    assert _shape(trees[0][1]) == (
        "__x64_sys_renameat2",
        10,
        [("do_renameat2", 8, [("getname", 1, []), ("vfs_rename", 3, [("ext4_rename2", 1, [])])])],
    )


def test_graph_cut_at_depth_and_lost_exit() -> None:
    records = [
        _rec(10, 1, 0),
        _rec(11, 2, 1),
        _rec(12, 3, 2),  # its exit is lost: no duration, the next call at depth 2 is its sibling
        _rec(14, 5, 2),
        _rec(15, 5, 2, exit=True, spent=1),
        _rec(16, 2, 1, exit=True, spent=6),
        _rec(17, 1, 0, exit=True, spent=8),
        _rec(20, 1, 0),  # a second call: a second root
    ]
    trees = graph_trees(records, 2, NAMES.__getitem__)
    assert [_shape(t) for _, t in trees] == [
        ("__x64_sys_renameat2", 8, [("do_renameat2", 6, [])]),
        ("__x64_sys_renameat2", None, []),
    ]
    deeper = graph_trees(records, 3, NAMES.__getitem__)
    assert _shape(deeper[0][1])[2][0][2] == [("vfs_rename", None, []), ("getname", 1, [])]


def test_an_interrupt_inside_a_call_leaves_no_node() -> None:
    """What Debian's 6.1 wrote when a timer interrupt hit ``vfs_rename`` (funcgraph-irqs off):
    ``irq_enter_rcu`` entered outside the interrupt and returned inside it (hard-IRQ flag on
    its exit), then ``idle_cpu`` ran from ``tick_irq_exit`` with interrupts still off. Neither
    is the call's work; the call's own calls around them keep their places and durations."""
    records = [
        _rec(10, 1, 0),
        _rec(11, 3, 1),
        _rec(12, 5, 2),
        _rec(13, 5, 2, exit=True, spent=1),
        _rec(14, 6, 2, off=True),  # the interrupt enters
        _rec(15, 6, 2, exit=True, spent=1, irq=True, off=True),
        _rec(16, 9, 2, irq=True, off=True),  # soft-IRQ work on the way out
        _rec(17, 9, 2, exit=True, spent=1, irq=True, off=True),
        _rec(18, 7, 2, off=True),  # the tail: hard-IRQ count dropped, interrupts still off
        _rec(19, 7, 2, exit=True, spent=1, off=True),
        _rec(20, 4, 2),  # back in the call
        _rec(21, 4, 2, exit=True, spent=1),
        _rec(22, 3, 1, exit=True, spent=11),
        _rec(23, 1, 0, exit=True, spent=13),
    ]
    kept, left_out = without_interrupts(reversed(records))
    assert left_out == 3  # irq_enter_rcu, the soft-IRQ call, idle_cpu
    assert [r.ts for r in kept[7]] == [10, 11, 12, 13, 20, 21, 22, 23]
    trees = graph_trees(records, 5, NAMES.__getitem__)
    assert [_shape(t) for _, t in trees] == [
        (
            "__x64_sys_renameat2",
            13,
            [("vfs_rename", 11, [("getname", 1, []), ("ext4_rename2", 1, [])])],
        )
    ]


def test_calls_with_interrupts_off_are_kept_outside_an_interrupt() -> None:
    """Interrupts off alone is the call's own work (a spin lock taken with them off): only the
    records right after an interrupt's are its tail."""
    records = [
        _rec(10, 1, 0),
        _rec(11, 8, 1, off=True),
        _rec(12, 8, 1, exit=True, spent=1, off=True),
        _rec(13, 1, 0, exit=True, spent=4),
    ]
    kept, left_out = without_interrupts(records)
    assert left_out == 0 and len(kept[7]) == 4
    assert _shape(graph_trees(records, 5, NAMES.__getitem__)[0][1]) == (
        "__x64_sys_renameat2",
        4,
        [("spin_lock", 1, [])],
    )


def test_top_level_readings_are_values_that_can_be_written_back() -> None:
    """The journal keeps what ``trace_clock`` and ``buffer_size_kb`` must be set back to: the
    clock in brackets and the size, not the whole listing or the "(expanded: N)" remark."""
    from kernlab.tracing.toplevel import read_setting

    root = need_tracing()
    clocks = (root / "trace_clock").read_text().split()
    chosen = [c[1:-1] for c in clocks if c.startswith("[")]
    assert read_setting(root, "trace_clock") == chosen[0]
    assert chosen[0] in [c.strip("[]") for c in clocks]
    reading = (root / "buffer_size_kb").read_text()
    expanded = re.search(r"\(expanded: (\d+)\)", reading)
    # A buffer never used yet gets back the size the kernel would grow it to, not its placeholder.
    size = expanded.group(1) if expanded else reading.split()[0]
    assert read_setting(root, "buffer_size_kb") == size and size.isdigit()
