"""`dump --parquet` of a `record --functions -K 3` recording: the ``functions`` table is the tree
`kernlab replay --json` prints, node for node, on the trace clock the other tables use (its
system calls and faults join the ``syscalls`` and ``faults`` rows); the ``kernel_paths`` table is
the report's kernel-path trees, node for node; every row of every table names the host, kernel
release and recording; and the DuckDB connection `kernlab sql` queries through installs, loads and
reads nothing it was not given."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from kernlab.errors import BadInput
from kernlab.recording.export.parquet import read_manifest, recording_id
from kernlab.recording.reader import open_recording
from tests.conftest import run_kernlab
from tests.recording.rec_util import TRACEFS, need_tracing, record_fn_calls

pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Any]:
    """fn_calls (nested calls, recursion, libc calls, a second thread) recorded with its functions
    and kernel paths 3 deep, exported by `dump --parquet`, and the tree `replay --json` prints."""
    need_tracing()
    tmp = tmp_path_factory.mktemp("pqfn")
    rec = record_fn_calls(tmp, 3)
    assert not [p for p in (TRACEFS / "instances").iterdir() if p.name.startswith(f"kernlab-{os.getpid()}-")]
    out = tmp / "pq"
    dumped = run_kernlab("dump", "--parquet", str(out), "-d", str(rec), "--json")
    assert dumped.code == 0, dumped.stderr
    replayed = run_kernlab("replay", "-d", str(rec), "--json")
    assert replayed.code == 0, replayed.stderr
    tables = {name: pq.read_table(out / f"{name}.parquet").to_pylist() for name in _table_names()}
    return {
        "rec": rec,
        "out": out,
        "summary": json.loads(dumped.stdout),
        "tree": json.loads(replayed.stdout),
        "tables": tables,
    }


def _table_names() -> tuple[str, ...]:
    from kernlab.reports.parquet import TABLES

    return TABLES


def _base(rec: Path) -> int:
    """The trace-clock time replay's ``time_ns`` counts from (the recording's first record)."""
    from kernlab.reports.recording.clock import first_record_ts

    return first_record_ts(open_recording(rec))


def _preorder(tree: dict[str, Any]) -> list[tuple[int, str, int, int | None, dict[str, Any]]]:
    """(tid, comm, depth, parent index, node) of every node of replay's tree, threads in order,
    each thread's calls depth first (a node, then its children), as the table holds them."""
    out: list[tuple[int, str, int, int | None, dict[str, Any]]] = []

    def walk(nodes: list[dict[str, Any]], tid: int, comm: str, depth: int, parent: int | None) -> None:
        for node in nodes:
            out.append((tid, comm, depth, parent, node))
            walk(node["children"], tid, comm, depth + 1, len(out) - 1)

    for thread in tree["threads"]:
        walk(thread["calls"], thread["tid"], thread["comm"], 0, None)
    return out


def test_functions_are_replays_tree_node_for_node(exported):
    rows = exported["tables"]["functions"]
    nodes = _preorder(exported["tree"])
    base = _base(exported["rec"])
    kinds = {n["kind"] for *_, n in nodes}
    assert {"function", "syscall", "fault", "kernel"} <= kinds  # the recording has every kind
    assert len({tid for tid, *_ in nodes}) == 2  # main and the worker thread
    assert len(rows) == len(nodes)
    ids = [row["node_id"] for row in rows]
    for row, (tid, comm, depth, parent, node) in zip(rows, nodes, strict=True):
        got = {k: row[k] for k in ("tid", "comm", "depth", "kind", "name", "library", "duration_ns")}
        assert got == {
            "tid": tid,
            "comm": comm,
            "depth": depth,
            "kind": node["kind"],
            "name": node["name"],
            "library": node["library"] or None,
            "duration_ns": node["duration_ns"],
        }
        assert row["parent_id"] == (None if parent is None else ids[parent])
        # Times on the trace clock, as ts_ns is in every other table; time_s as replay counts it.
        assert row["ts_ns"] == base + node["time_ns"]
        assert row["time_s"] == pytest.approx(node["time_ns"] / 1e9, abs=1e-9)
        # The call ended at time_ns + duration_ns + stopped_ns (kernlab's ptrace stops are left
        # out of the duration, not out of the clock).
        if node["duration_ns"] is None:
            assert row["exit_ts_ns"] is None
        else:
            assert row["exit_ts_ns"] == base + node["time_ns"] + node["duration_ns"] + node["stopped_ns"]
        if node["kind"] == "syscall":
            assert (row["args"], row["ret"]) == (node["args"] or None, node["ret"])
    assert len(set(ids)) == len(ids)


def test_functions_join_the_other_tables(exported):
    """A system call of the tree is a row of ``syscalls`` (same thread, enter and exit), a fault a
    row of ``faults``, a kernel function a node of ``kernel_paths``; pid is the thread's process."""
    tables = exported["tables"]
    calls = {(r["tid"], r["ts_ns"]): r for r in tables["syscalls"]}
    faults = {(r["tid"], r["ts_ns"]) for r in tables["faults"]}
    kernel = {(r["tid"], r["ts_ns"], r["name"]) for r in tables["kernel_paths"]}
    process = {r["tid"]: r["pid"] for r in tables["tasks"]}
    seen = {"syscall": 0, "fault": 0, "kernel": 0}
    for row in tables["functions"]:
        assert row["pid"] == process[row["tid"]] and row["pid"] is not None
        key = (row["tid"], row["ts_ns"])
        if row["kind"] == "syscall":
            call = calls[key]
            assert call["name"] == row["name"]
            assert call["exit_ts_ns"] == row["exit_ts_ns"]
        elif row["kind"] == "fault":
            assert key in faults
        elif row["kind"] == "kernel":
            assert (*key, row["name"]) in kernel
        else:
            continue
        seen[row["kind"]] += 1
    assert all(seen.values()), seen


def _kernel_trees(rows: list[dict[str, Any]]) -> dict[tuple[int, str, int], list[tuple[Any, ...]]]:
    """kernel_paths rows by (tid, origin, origin_ts_ns): (depth, name, ts_ns, source) in order,
    checking each row's parent is the row before it one level up, in the same tree."""
    by_id = {r["node_id"]: r for r in rows}
    trees: dict[tuple[int, str, int], list[tuple[Any, ...]]] = {}
    for row in rows:
        key = (row["tid"], row["origin"], row["origin_ts_ns"])
        if row["parent_id"] is None:
            assert row["depth"] == 0
        else:
            parent = by_id[row["parent_id"]]
            assert parent["node_id"] < row["node_id"] and parent["depth"] == row["depth"] - 1
            assert (parent["tid"], parent["origin"], parent["origin_ts_ns"]) == key
        trees.setdefault(key, []).append((row["depth"], row["name"], row["ts_ns"], row["source"]))
    return trees


def test_kernel_paths_are_the_reports_nodes(exported):
    """Every node of the report's kernel paths (kernlab.reports.recording.kernel_paths, what
    replay and report place beneath calls and faults) from the command's execve on is one row,
    in the same trees, in order (before it, the recorder's child getting ready is not the
    command: no table has its calls and faults)."""
    from kernlab.reports.recording.kernel_paths import read_kernel_paths

    rows = exported["tables"]["kernel_paths"]
    rec = open_recording(exported["rec"])
    paths = read_kernel_paths(rec)
    assert paths is not None and paths.summary.depth == 3
    since = rec.command_start_ts
    assert since > 0
    expected: list[tuple[Any, ...]] = []

    def walk(nodes, tid: int, origin: str, at: int, depth: int) -> None:
        for node in nodes:
            expected.append((tid, origin, at, depth, node.name, node.ts, node.source, node.hits, node.events))
            walk(node.children, tid, origin, at, depth + 1)

    for origin, trees in (("syscall", paths.syscalls), ("fault", paths.faults)):
        for (tid, at), nodes in sorted(trees.items()):
            if at >= since:
                walk(nodes, tid, origin, at, 0)
    assert rows and {r["origin"] for r in rows} == {"syscall", "fault"}
    got = [
        (
            r["tid"],
            r["origin"],
            r["origin_ts_ns"],
            r["depth"],
            r["name"],
            r["ts_ns"],
            r["source"],
            r["hits"],
            tuple(r["events"]),
        )
        for r in rows
    ]
    assert got == expected
    assert max(r["depth"] for r in rows) <= 2  # -K 3: three functions below the call or fault
    _kernel_trees(rows)


def _kernel_below(kids: list[dict[str, Any]], base: int, depth: int = 0) -> list[tuple[Any, ...]]:
    """(depth, name, trace-clock time, source) of the kernel nodes replay shows below a node."""
    out: list[tuple[Any, ...]] = []
    for kid in kids:
        if kid["kind"] == "kernel":
            out.append((depth, kid["name"], base + kid["time_ns"], kid["source"]))
            out += _kernel_below(kid["children"], base, depth + 1)
    return out


def test_kernel_paths_equal_replays_kernel_nodes(exported):
    """The kernel functions replay prints beneath each system call and fault are that origin's
    tree in kernel_paths, node for node (depth, name, time, source); each origin is a row of
    ``syscalls`` or ``faults``."""
    rows = exported["tables"]["kernel_paths"]
    trees = _kernel_trees(rows)
    base = _base(exported["rec"])
    calls = {(r["tid"], r["ts_ns"]) for r in exported["tables"]["syscalls"]}
    faults = {(r["tid"], r["ts_ns"]) for r in exported["tables"]["faults"]}
    for tid, origin, at in trees:
        assert (tid, at) in (calls if origin == "syscall" else faults)
    compared = 0
    for tid, _comm, _depth, _parent, node in _preorder(exported["tree"]):
        if node["kind"] not in ("syscall", "fault"):
            continue
        shown = _kernel_below(node["children"], base)
        key = (tid, node["kind"], base + node["time_ns"])
        assert shown == trees.get(key, []), key
        compared += bool(shown)
    assert compared >= 3


def test_identity_on_every_row_of_every_table(exported):
    rec = open_recording(exported["rec"])
    rid = recording_id(exported["rec"])
    manifest = read_manifest(exported["out"])
    assert manifest is not None
    identity = {
        "recording_id": rid,
        "host": rec.meta.host,
        "kernel_release": rec.meta.kernel_release,
        "machine": rec.meta.machine,
    }
    # Recorded on this machine: its host name and release.
    assert rec.meta.host == socket.gethostname() == os.uname().nodename
    assert rec.meta.kernel_release == os.uname().release
    assert {k: manifest[k] for k in identity} == identity
    assert exported["summary"]["recording_id"] == rid and exported["summary"]["host"] == rec.meta.host
    for name, rows in exported["tables"].items():
        assert rows, f"{name} is empty"
        assert manifest["tables"][name]["rows"] == len(rows)
        for row in rows:
            assert {k: row[k] for k in identity} == identity, name
            assert row["schema_version"] == manifest["schema_version"]


def test_sql_joins_functions_to_syscalls(exported):
    """Through `kernlab sql` (DuckDB over the export): every system call of the call tree finds
    its syscalls row on (tid, ts_ns)."""
    pytest.importorskip("duckdb")
    from kernlab.reports import sql

    report = sql.build(
        "SELECT count(*), count(s.ts_ns) FROM functions f LEFT JOIN syscalls s "
        "ON f.recording_id = s.recording_id AND f.tid = s.tid AND f.ts_ns = s.ts_ns "
        "WHERE f.kind = 'syscall'",
        exports=[exported["out"]],
    )
    total, joined = report.rows[0]
    assert total > 0 and joined == total


def test_duckdb_installs_loads_and_reads_nothing_else(exported):
    """The settings of the connection `kernlab sql` queries through, read by a query through it;
    and they cannot be turned back on."""
    pytest.importorskip("duckdb")
    from kernlab.reports import sql

    names = (
        "autoinstall_known_extensions",
        "autoload_known_extensions",
        "enable_external_access",
        "lock_configuration",
    )
    query = "SELECT " + ", ".join(f"current_setting('{n}')" for n in names)
    for kwargs in ({"exports": [exported["out"]]}, {"recordings": [exported["rec"]]}):
        report = sql.build(query, **kwargs)
        assert dict(zip(names, report.rows[0], strict=True)) == {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "enable_external_access": False,
            "lock_configuration": True,
        }
    for setting in names[:3]:
        with pytest.raises(BadInput):
            sql.build(f"SET {setting} = true", exports=[exported["out"]])
    with pytest.raises(BadInput):
        sql.build("LOAD httpfs", exports=[exported["out"]])
