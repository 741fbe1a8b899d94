"""ksrc on a real kernel tree: Debian's linux-source-6.1, extracted once into the cache.

Slow the first time (extracting ~1.2 GB and indexing it); the tree and its index stay in the
cache (``KERNLAB_CACHE_DIR`` or ~/.cache/kernlab) so later runs only query. The oracles are grep
and make, run on the same tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import need_tool, run_kernlab

TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="session")
def linux_tree() -> Path:
    if not TARBALL.exists():
        pytest.skip(f"{TARBALL} is missing (apt-get install linux-source-6.1)")
    need_tool("tar")
    from kernlab.source.ksrc.index import cache_dir

    base = cache_dir() / "ksrc-src"
    tree = base / "linux-source-6.1"
    if not (tree / "Makefile").exists():
        # Extract beside, then rename: an interrupted run never leaves half a tree behind.
        partial = base / f".extracting-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        subprocess.run(["tar", "-xf", str(TARBALL), "-C", str(partial)], check=True)
        shutil.rmtree(tree, ignore_errors=True)
        (partial / "linux-source-6.1").rename(tree)
        shutil.rmtree(partial, ignore_errors=True)
    result = run_kernlab("ksrc", "--tree", str(tree), "index", "--json", timeout=1500)
    assert result.code == 0, result.stderr
    return tree


def grep_line(tree: Path, path: str, pattern: str) -> list[int]:
    out = subprocess.run(["grep", "-nE", pattern, path], cwd=tree, capture_output=True, text=True).stdout
    return [int(line.split(":", 1)[0]) for line in out.splitlines()]


def test_linux_syscall_rename(linux_tree):
    result = run_kernlab("ksrc", "--tree", str(linux_tree), "syscall", "rename", "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    lines = grep_line(linux_tree, "fs/namei.c", r"^SYSCALL_DEFINE2\(rename,")
    assert [(d["file"], d["line"]) for d in report["definitions"]] == [("fs/namei.c", n) for n in lines]
    assert report["index"]["built_now"] is False


def test_linux_ops_ext4_rename2(linux_tree):
    report = run_kernlab("ksrc", "--tree", str(linux_tree), "ops", "ext4_rename2", "--json").json()
    lines = grep_line(linux_tree, "fs/ext4/namei.c", r"^\s*\.rename\s*=\s*ext4_rename2,")
    found = [(b["table"], b["table_type"], b["file"], b["line"]) for b in report["bindings"]]
    assert ("ext4_dir_inode_operations", "struct inode_operations", "fs/ext4/namei.c", lines[0]) in found
    defined = grep_line(linux_tree, "fs/ext4/namei.c", r"^static int ext4_rename2\(")
    assert [(d["file"], d["line"]) for d in report["definitions"]] == [
        ("fs/ext4/namei.c", n) for n in defined
    ]


def test_linux_info_equals_make_kernelversion(linux_tree):
    need_tool("make")
    made = subprocess.run(
        ["make", "-s", "kernelversion"], cwd=linux_tree, capture_output=True, text=True, check=True
    )
    info = run_kernlab("ksrc", "--tree", str(linux_tree), "info", "--json").json()
    assert info["kernelversion"] == made.stdout.strip()


def test_linux_queries_are_fast_once_indexed(linux_tree):
    # In-process, so interpreter start-up is not counted; the goal is 0.5 s, the bound is loose
    # because CI machines are shared.
    from kernlab.source.ksrc.query import find_definitions, find_ops, find_syscall

    for ask, name in (
        (find_syscall, "openat"),
        (find_ops, "ext4_file_open"),
        (find_definitions, "task_struct"),
    ):
        started = time.perf_counter()
        report = ask(linux_tree, name)
        assert time.perf_counter() - started < 5
        assert report.index.built_now is False
    structs = [d for d in find_definitions(linux_tree, "task_struct").definitions if d.kind == "struct"]
    assert (
        "include/linux/sched.h",
        grep_line(linux_tree, "include/linux/sched.h", r"^struct task_struct \{")[0],
    ) in [(d.file, d.line) for d in structs]


def test_linux_def_entry_syscall_64_in_entry_64_s(linux_tree):
    # The seed's system-call entry point, written in assembly with SYM_CODE_START.
    report = run_kernlab("ksrc", "--tree", str(linux_tree), "def", "entry_SYSCALL_64", "--json").json()
    lines = grep_line(linux_tree, "arch/x86/entry/entry_64.S", r"SYM_CODE_START\(entry_SYSCALL_64\)")
    assert lines
    found = [(d["kind"], d["file"], d["line"]) for d in report["definitions"]]
    assert [("code", "arch/x86/entry/entry_64.S", n) for n in lines] == [
        f for f in found if f[1] == "arch/x86/entry/entry_64.S"
    ]


def test_linux_def_exc_page_fault_at_its_idtentry_macro(linux_tree):
    result = run_kernlab("ksrc", "--tree", str(linux_tree), "def", "exc_page_fault", "--json")
    assert result.code == 0, result.stderr
    lines = grep_line(linux_tree, "arch/x86/mm/fault.c", r"^DEFINE_IDTENTRY_RAW_ERRORCODE\(exc_page_fault\)")
    assert lines
    found = {(d["kind"], d["file"], d["line"]) for d in result.json()["definitions"]}
    assert {("function", "arch/x86/mm/fault.c", n) for n in lines} <= found


def test_linux_definition_macros_and_syscall_symbols(linux_tree):
    # A sample of what the definition macros define, each at the line grep gives.
    for symbol, path, pattern in (
        ("cgroup_mutex", "kernel/cgroup/cgroup.c", r"^DEFINE_MUTEX\(cgroup_mutex\);"),
        ("css_set_lock", "kernel/cgroup/cgroup.c", r"^DEFINE_SPINLOCK\(css_set_lock\);"),
        ("__x64_sys_openat", "fs/open.c", r"^SYSCALL_DEFINE4\(openat,"),
        ("trace_sched_switch", "include/trace/events/sched.h", r"^TRACE_EVENT\(sched_switch,"),
    ):
        report = run_kernlab("ksrc", "--tree", str(linux_tree), "def", symbol, "--json").json()
        lines = grep_line(linux_tree, path, pattern)
        assert lines, symbol
        assert {(path, n) for n in lines} <= {(d["file"], d["line"]) for d in report["definitions"]}, symbol


def test_linux_ops_on_a_name_that_occurs_nowhere(linux_tree):
    # The seed's ext4_filemap_fault is gone from 6.1 (ext4 uses filemap_fault): grep finds nothing.
    name = "ext4_filemap_fault"
    grep = subprocess.run(["grep", "-rqw", "--include=*.[chS]", name, "."], cwd=linux_tree)
    assert grep.returncode == 1
    result = run_kernlab("ksrc", "--tree", str(linux_tree), "ops", name, "--json")
    assert result.code == 8, result.stderr  # an empty answer, as grep's status 1
    assert result.json()["used_in_files"] == 0


def test_linux_one_edited_file_is_reparsed_alone_within_2_s(linux_tree):
    """Issue 15's goal: after editing one file of linux-source-6.1, the next query updates the
    index by parsing that file alone and answers in under 2 s. The file is then put back byte
    for byte with its mtime, and the answers are the original ones again. The shared tree is
    never left edited."""
    from kernlab.source.ksrc.query import find_definitions

    edited = linux_tree / "fs" / "namei.c"
    name = f"kernlab_test_appended_{os.getpid()}"
    ksrc = ("ksrc", "--tree", str(linux_tree))

    def ask(*args: str) -> dict:
        result = run_kernlab(*ksrc, *args, "--json")
        assert result.code in (0, 8), result.stderr  # 8: nothing found, as grep's status 1
        return result.json()

    def answers() -> dict[str, dict]:
        """What the index says of the new name and of names fs/namei.c defines, without the
        index's own facts."""
        out = {}
        for args in (("def", name), ("def", "page_symlink"), ("syscall", "rename"), ("refs", "vfs_rename")):
            report = ask(*args)
            report.pop("index")
            out[" ".join(args)] = report
        return out

    # The index current before the edit (any earlier change to the tree is taken in now).
    assert find_definitions(linux_tree, name).definitions == []
    before = answers()
    assert before[f"def {name}"]["definitions"] == []
    assert ("fs/namei.c", grep_line(linux_tree, "fs/namei.c", r"^int page_symlink\(")[0]) in [
        (d["file"], d["line"]) for d in before["def page_symlink"]["definitions"]
    ]
    original = edited.read_bytes()
    st = edited.stat()
    try:
        with open(edited, "ab") as fh:
            fh.write(f"\nint {name}(void)\n{{\n\treturn 0;\n}}\n".encode())
        line = original.count(b"\n") + 2
        # In-process, so interpreter start-up is not counted: as a whole process the same query
        # takes 0.6-0.7 s here, but over 2 s at times on a loaded CI machine (docs/BENCHMARKS.md).
        # The modules are loaded already, by the query before the edit.
        started = time.perf_counter()
        answer = find_definitions(linux_tree, name)
        wall = time.perf_counter() - started
        index = answer.index
        assert index.reparsed_files == 1 and index.removed_files == 0, index
        assert index.updated is True
        assert [(d.kind, d.file, d.line) for d in answer.definitions] == [("function", "fs/namei.c", line)]
        assert wall < 2.0, f"query after one edited file took {wall:.2f} s (update {index.update_seconds} s)"
        # And as a user runs it, on the index that update wrote: nothing more to parse.
        report = ask("def", name)
        assert report["index"]["reparsed_files"] == 0
        assert [(d["file"], d["line"]) for d in report["definitions"]] == [("fs/namei.c", line)]
    finally:
        edited.write_bytes(original)
        os.utime(edited, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert edited.read_bytes() == original and edited.stat().st_mtime_ns == st.st_mtime_ns
    # The restored file is parsed again (its content is not the one the index last saw) ...
    report = ask("def", name)
    assert report["index"]["reparsed_files"] == 1 and report["definitions"] == []
    # ... and every answer is the original one.
    assert answers() == before
