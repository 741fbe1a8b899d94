"""`record -K DEPTH` traced by function_graph on Debian's stock 6.1, against uftrace in the same guest.

The seed's exercise on a file of an ext4 image in the guest: `kernlab record --functions -K 5
-- /bin/mv a b`, then `uftrace record --force -K 5 /bin/mv a b` + `uftrace replay`
(tests/vm/guest_function_graph.sh). On the host: kernlab's kernel tree beneath renameat2 has the
same functions and nesting as uftrace's (interrupt noise aside), each node with a duration, its
source ``function_graph``; and the top-level files function_graph used are as they were.

The session's stock 6.1 guest (tests/vm/conftest.py) runs the guest script in its boot; only if
that left no result is one more 6.1 guest booted for this module.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vm.guest import missing_tools, run_in_guest, stock_release

pytestmark = [pytest.mark.vm, pytest.mark.slow, pytest.mark.timeout(900)]

SCRIPT = Path(__file__).parent / "guest_function_graph.sh"
RENAMES = ("rename", "renameat", "renameat2")
# The system call's own function: the entry code above it (x64_sys_call) is not the call's work.
SYSCALL_FUNCTION = re.compile(r"^__x64_sys_rename(at2?)?$")
# Interrupt work that lands inside a traced call (uftrace's users hide it with -N ...@kernel):
# idle_cpu is the interrupt's tail (irq_exit_rcu -> tick_irq_exit), beside its irq_enter_rcu.
NOISE = re.compile(r"irq|interrupt|sysvec|apic|softirq|^asm_|tick|hrtimer|^idle_cpu$")

Tree = list[tuple[str, "Tree"]]


@pytest.fixture(scope="module")
def guest(stock_guests: dict[tuple[str, bool], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared = stock_guests[("6.1", True)]  # the session's 6.1 boot runs the script too (guest_checks.sh)
    if (shared / "fg_done").exists():
        return shared
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    release = stock_release("6.1")
    if release is None:
        pytest.skip("Debian's stock 6.1 kernel is not installed (.ci/run installs it)")
    out = tmp_path_factory.mktemp("guest-fg-6.1")
    run = run_in_guest(release, f"bash {SCRIPT} {out} {sys.executable}\n", shared_dir=out)
    if run.code is None:  # qemu sometimes exits at once with no output on a loaded host
        run = run_in_guest(release, f"bash {SCRIPT} {out} {sys.executable}\n", shared_dir=out)
    (out / "console.txt").write_text(run.output)
    assert run.code == 0 and (out / "fg_done").exists(), run.output[-3000:]
    return out


def _uftrace_tree(text: str) -> Tree:
    """uftrace replay's function column as a tree (two spaces a level)."""
    roots: Tree = []
    stack: list[Tree] = [roots]
    for line in text.splitlines():
        if "|" not in line or line.startswith("#"):
            continue
        column = line.split("|", 1)[1][1:]
        body = column.lstrip(" ")
        level = (len(column) - len(body)) // 2
        if body.startswith("}"):
            continue
        match = re.match(r"([\w.$@]+)\(.*?\)\s*(?:=.*?)?\s*(\{|;)", body)
        if not match:
            continue
        del stack[level + 1 :]
        kids: Tree = []
        stack[min(level, len(stack) - 1)].append((match.group(1), kids))
        if match.group(2) == "{":
            stack.append(kids)
    return roots


def _find(tree: Tree, pattern: re.Pattern[str]) -> Iterator[tuple[str, Tree]]:
    for name, kids in tree:
        if pattern.match(name):
            yield name, kids
        yield from _find(kids, pattern)


def _paths(tree: Tree, depth: int, above: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every root-to-node path of names, ``depth`` levels deep, interrupt subtrees left out."""
    out: set[tuple[str, ...]] = set()
    if depth <= 0:
        return out
    for name, kids in tree:
        if NOISE.search(name):
            continue
        path = (*above, name)
        out.add(path)
        out |= _paths(kids, depth - 1, path)
    return out


def _depth(tree: Tree) -> int:
    return max((1 + _depth(kids) for _, kids in tree), default=0)


def _kernlab_rename(out: Path):  # -> CallNode of the renameat2 system call
    from kernlab.reports import replay
    from kernlab.reports.replay import SYSCALL

    report = replay.build(out / "fgrec")
    found = []

    def walk(nodes):
        for node in nodes:
            if node.kind == SYSCALL and node.name in RENAMES:
                found.append(node)
            walk(node.children)

    for thread in report.threads:
        walk(thread.calls)
    assert len(found) == 1, [n.name for n in found]
    return report, found[0]


def _as_tree(nodes) -> Tree:
    return [(n.name, _as_tree(n.children)) for n in nodes]


def test_function_graph_tree_equals_uftrace(guest: Path) -> None:
    assert (guest / "fg_record.code").read_text().strip() == "0", (guest / "fg_record.err").read_text()
    assert (guest / "uftrace_record.code").read_text().strip() == "0", (
        guest / "uftrace_record.out"
    ).read_text()
    report, call = _kernlab_rename(guest)
    paths = report.kernel_paths
    assert paths is not None and paths.source == "function_graph", paths
    # 6.1 offers function_graph at the top level only: kernlab says it traced there, and why.
    if "function_graph" not in (guest / "fg_instance_tracers.txt").read_text().split():
        assert (paths.graph_place, paths.graph_why) == ("top_level", "top_level"), paths

    uftrace = _uftrace_tree((guest / "uftrace_replay.txt").read_text())
    theirs = list(_find(uftrace, SYSCALL_FUNCTION))
    assert len(theirs) == 1, (guest / "uftrace_replay.txt").read_text()[-3000:]
    ours = [(n.name, _as_tree(n.children)) for n in call.children if SYSCALL_FUNCTION.match(n.name)]
    assert len(ours) == 1, _as_tree(call.children)
    # uftrace's -K 5 counts from x64_sys_call, kernlab's from the system call's own function:
    # compare as deep as uftrace went.
    depth = _depth([theirs[0]])
    assert depth >= 4, theirs
    expected, got = _paths([theirs[0]], depth), _paths(ours, depth)
    assert got == expected, {"only kernlab": sorted(got - expected), "only uftrace": sorted(expected - got)}
    chain = ("do_renameat2", "vfs_rename", "ext4_rename2")
    assert any(p[1:4] == chain for p in got), sorted(got)


def test_function_graph_nodes_have_durations(guest: Path) -> None:
    _, call = _kernlab_rename(guest)

    def walk(nodes, parent_ns):
        for node in nodes:
            assert node.source == "function_graph", node
            assert node.duration_ns is not None and node.duration_ns > 0, node.name
            if parent_ns is not None:
                assert node.duration_ns <= parent_ns, node.name
            walk(node.children, node.duration_ns)

    kernel = [n for n in call.children if n.kind == "kernel"]
    assert kernel
    walk(kernel, call.duration_ns)


def test_function_graph_settings_are_restored(guest: Path) -> None:
    before = (guest / "fg_before.txt").read_text()
    after = (guest / "fg_after.txt").read_text()
    assert after == before
    assert re.search(r"== current_tracer\nnop\n", after), after
