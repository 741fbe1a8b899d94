"""reports.ksrc on the fixture tree, against grep, make kernelversion, uname and /proc/kallsyms."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kernlab.reports import ksrc
from tests.conftest import need_tool
from tests.source.test_ksrc_fixture import FIXTURE, grep_n


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("ksrc-report") / "tree"
    shutil.copytree(FIXTURE, copy)
    return copy


@pytest.fixture(autouse=True)
def cache(tree, monkeypatch):
    monkeypatch.setenv("KERNLAB_CACHE_DIR", str(tree.parent / "cache"))


def test_index_is_built_once_then_reused(tree):
    first = ksrc.build_index(tree)
    again = ksrc.build_index(tree)
    sources = [p for p in tree.rglob("*") if p.suffix in (".c", ".h", ".S")]  # assembly too
    assert again.files == first.files == len(sources)
    assert again.source_bytes == sum(p.stat().st_size for p in sources)
    assert again.built_now is False and again.location == first.location


def test_syscall_definitions_and_the_running_kernel(tree):
    report = ksrc.build_syscall(tree, "sys_fcntl")  # the sys_ prefix is optional
    assert report.name == "fcntl"
    expected = grep_n(tree, r"^(COMPAT_)?SYSCALL_DEFINE[0-9]\(fcntl,")
    assert sorted((d.file, d.line) for d in report.definitions) == expected
    assert report.native is not None and not report.native.macro.startswith("COMPAT")
    running = report.running
    assert running.release == os.uname().release
    assert running.tracefs_event == "syscalls/sys_enter_fcntl"
    if running.in_kallsyms is not None:
        text = Path("/proc/kallsyms").read_text()
        assert running.in_kallsyms == bool(re.search(rf" {re.escape(running.entry_symbol)}$", text, re.M))


def test_ops_def_and_refs(tree):
    ops = ksrc.build_ops(tree, "ext4_rename2")
    assert [(b.file, b.line) for b in ops.bindings if b.table == "ext4_dir_inode_operations"] == grep_n(
        tree, r"^\s*\.rename\s*=\s*ext4_rename2,"
    )
    assert [(d.file, d.line) for d in ops.definitions] == grep_n(tree, r"^static int ext4_rename2\(")
    defs = ksrc.build_def(tree, "ext4_check")
    assert [(d.file, d.line) for d in defs.definitions] == grep_n(tree, r"^static int ext4_check\(")
    assert defs.kinds == [("function", len(defs.definitions))]
    assert defs.files == len({d.file for d in defs.definitions})
    refs = ksrc.build_refs(tree, "vfs_rename", limit=1)
    assert len(refs.references) == 1 and refs.files == 1


def test_info_equals_make_kernelversion_and_uname(tree):
    need_tool("make")
    made = subprocess.run(
        ["make", "-s", "kernelversion"], cwd=tree, capture_output=True, text=True, check=True
    )
    info = ksrc.build_info(tree)
    assert info.tree == str(tree)
    assert info.kernelversion == made.stdout.strip()
    release = os.uname().release
    assert info.running_release == release
    assert info.same_base == (release.split(".")[:2] == [info.version, info.patchlevel])


def test_every_build_finds_the_top_from_a_subfolder(tree):
    inside = tree / "fs" / "ext4"
    assert ksrc.build_info(inside).tree == str(tree)
    assert ksrc.build_def(inside, "ext4_check").definitions == ksrc.build_def(tree, "ext4_check").definitions
    assert ksrc.build_index(inside).location == ksrc.build_index(tree).location


def test_ops_and_def_say_whether_the_name_occurs_at_all(tree):
    # grep -rlw is the oracle for "used in how many files" here (the fixture's uses are all code).
    def grep_files(name: str) -> int:
        out = subprocess.run(["grep", "-rlw", name, "."], cwd=tree, capture_output=True, text=True).stdout
        return len(out.split())

    nowhere = ksrc.build_ops(tree, "ext4_filemap_fault")
    assert (
        not nowhere.found
        and nowhere.nowhere
        and nowhere.used_in_files == grep_files("ext4_filemap_fault") == 0
    )
    bound = ksrc.build_ops(tree, "ext4_rename2")
    assert bound.found and not bound.nowhere and bound.used_in_files is None
    undefined = ksrc.build_def(tree, "do_syscall_64")
    assert not undefined.found and undefined.used_in_files == grep_files("do_syscall_64") == 1
    assert ksrc.build_def(tree, "exc_page_fault").found
    assert not ksrc.build_syscall(tree, "oldrename").found
    assert not ksrc.build_refs(tree, "ext4_filemap_fault").found


def test_index_format_says_which_index_the_next_query_finds(tmp_path, monkeypatch):
    # The CLI names a whole rebuild for a new index format on its progress bar from this.
    import json

    from kernlab.source.ksrc.index import INDEX_FORMAT, index_location

    copy = tmp_path / "tree"
    shutil.copytree(FIXTURE, copy)
    monkeypatch.setenv("KERNLAB_CACHE_DIR", str(tmp_path / "cache"))
    assert ksrc.index_format(copy) == (None, INDEX_FORMAT)
    ksrc.build_index(copy)
    assert ksrc.index_format(copy / "fs") == (INDEX_FORMAT, INDEX_FORMAT)
    meta = index_location(copy) / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "format": INDEX_FORMAT - 1}))
    assert ksrc.index_format(copy) == (INDEX_FORMAT - 1, INDEX_FORMAT)
    rebuilt = ksrc.build_index(copy)
    assert rebuilt.built_now and not rebuilt.updated and rebuilt.reparsed_files == rebuilt.files
    assert ksrc.index_format(copy) == (INDEX_FORMAT, INDEX_FORMAT)
    assert ksrc.index_format(tmp_path) == (None, INDEX_FORMAT)  # not a tree: no index, no error
