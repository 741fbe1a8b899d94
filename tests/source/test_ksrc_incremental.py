"""The ksrc index kept up to date file by file: its answers equal a whole rebuild's.

On a copy of the fixture tree (SYSCALL_DEFINE, DEFINE_IDTENTRY, SYM_FUNC_START, operations
tables, #defines), files are edited, added, deleted and renamed; every query kind is asked of
the index updated in place and of an index built afresh in another cache, and the answers must
be the same. The index's own counters say how many files each update parsed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from kernlab.source.ksrc import query
from kernlab.source.ksrc.index import INDEX_FORMAT, index_location, open_index
from tests.conftest import run_kernlab
from tests.source.test_ksrc_fixture import FIXTURE, grep_n

SYSCALLS = ["rename", "renameat2", "fcntl", "fcntl64", "incr_call"]
SYMBOLS = [
    "vfs_rename",
    "ext4_rename2",
    "exc_page_fault",
    "exc_divide_error",
    "exc_divide_errxr",
    "exc_incr",
    "entry_SYSCALL_64",
    "__switch_to_asm",
    "incr_asm_entry",
    "fault_mutex",
    "DEFINE_MUTEX",
    "SYSCALL_DEFINE2",
    "inode_operations",
    "incr_edit_fn",
    "incr_fops",
    "incr_macro",
    "__x64_sys_incr_call",
]


def answers(tree: Path) -> dict[str, Any]:
    """Every query kind over the names above, without the index's own facts."""

    def plain(answer: Any) -> Any:
        data = dataclasses.asdict(answer)
        data.pop("index", None)
        return data

    out: dict[str, Any] = {}
    for name in SYSCALLS:
        out[f"syscall {name}"] = plain(query.find_syscall(tree, name))
    for name in SYMBOLS:
        out[f"def {name}"] = plain(query.find_definitions(tree, name))
        out[f"ops {name}"] = plain(query.find_ops(tree, name))
        out[f"refs {name}"] = plain(query.find_references(tree, name))
    return out


def rebuilt_answers(tree: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The answers of an index built whole, in a cache of its own (the other one is left as is)."""
    with monkeypatch.context() as patch:
        patch.setenv("KERNLAB_CACHE_DIR", str(cache))
        assert open_index(tree, rebuild=True).info.built_now
        return answers(tree)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(FIXTURE, copy)
    monkeypatch.setenv("KERNLAB_CACHE_DIR", str(tmp_path / "cache"))
    return copy


def info_after_query(tree: Path) -> Any:
    return query.find_definitions(tree, "vfs_rename").index


def test_unchanged_tree_reparses_nothing_and_one_edit_reparses_one_file(tree):
    built = info_after_query(tree)
    assert built.built_now and built.reparsed_files == built.files
    for _ in range(2):
        again = info_after_query(tree)
        assert (again.built_now, again.reparsed_files, again.removed_files) == (False, 0, 0)
    with open(tree / "fs" / "ext4" / "namei.c", "a") as fh:
        fh.write("\nint incr_edit_fn(void)\n{\n\treturn vfs_rename(0);\n}\n")
    edited = query.find_definitions(tree, "incr_edit_fn")
    assert (edited.index.reparsed_files, edited.index.removed_files) == (1, 0)
    assert edited.index.built_now  # brought up to date for this answer, not built whole
    assert [(d.file, d.line) for d in edited.definitions] == grep_n(tree, r"^int incr_edit_fn\(")
    assert info_after_query(tree).reparsed_files == 0
    # Same content written again (touch, or a checkout that puts it back): read, not parsed.
    os.utime(tree / "fs" / "namei.c")
    (tree / "include" / "linux" / "fs.h").write_bytes((tree / "include" / "linux" / "fs.h").read_bytes())
    touched = info_after_query(tree)
    assert (touched.reparsed_files, touched.built_now) == (0, False)


def edit_add_delete_rename(tree: Path) -> None:
    # Edited: a function and an operations table appended to a file already indexed.
    with open(tree / "fs" / "ext4" / "namei.c", "a") as fh:
        fh.write(
            "\nint incr_edit_fn(struct inode *inode)\n{\n\treturn vfs_rename(0);\n}\n\n"
            "const struct file_operations incr_fops = {\n\t.open\t\t= incr_edit_fn,\n"
            "\t.rename\t\t= ext4_rename2,\n};\n"
        )
    # Edited in place to the same size: only the ctime and mtime tell.
    fault = tree / "arch" / "x86" / "mm" / "fault.c"
    text = fault.read_text()
    assert "exc_divide_error" in text
    fault.write_text(text.replace("exc_divide_error", "exc_divide_errxr"))
    # Added: an assembly file, and a folder that sorts before the others with a C file in it.
    (tree / "arch" / "x86" / "entry" / "added.S").write_text(
        "#include <linux/linkage.h>\n\nSYM_FUNC_START(incr_asm_entry)\n\tcall vfs_rename\n\tret\n"
        "SYM_FUNC_END(incr_asm_entry)\n"
    )
    (tree / "arch" / "aaa").mkdir()
    (tree / "arch" / "aaa" / "new.c").write_text(
        "#define incr_macro(x) ((x) + 1)\n\n"
        "SYSCALL_DEFINE2(incr_call, int, a, int, b)\n{\n\treturn vfs_rename(incr_macro(a));\n}\n\n"
        "DEFINE_IDTENTRY(exc_incr)\n{\n\tvfs_rename(0);\n}\n\n"
        "static DEFINE_MUTEX(fault_mutex);\n"
    )
    # Deleted: the file of the fcntl system calls.
    (tree / "kernel" / "compat_fcntl.c").unlink()
    # Renamed: the file of rename and renameat2, to a name later in the walk.
    (tree / "fs" / "namei.c").rename(tree / "fs" / "zz_namei.c")
    # Touched only: no parse.
    os.utime(tree / "include" / "linux" / "fs.h")


def test_edits_additions_deletions_and_renames_answer_as_a_rebuild(tree, tmp_path, monkeypatch):
    before = answers(tree)
    assert before["syscall fcntl"]["definitions"] and not before["syscall incr_call"]["definitions"]
    assert info_after_query(tree).reparsed_files == 0
    edit_add_delete_rename(tree)
    info = info_after_query(tree)
    # Parsed: the two edited files, the two added ones and the renamed one; dropped: the
    # deleted file and the renamed one's old name.
    assert (info.reparsed_files, info.removed_files) == (5, 2)
    sources = [p for p in tree.rglob("*") if p.is_file() and p.suffix in (".c", ".h", ".S")]
    assert info.files == len(sources)
    assert info.source_bytes == sum(p.stat().st_size for p in sources)
    updated = answers(tree)
    assert info_after_query(tree).reparsed_files == 0
    rebuilt = rebuilt_answers(tree, tmp_path / "other-cache", monkeypatch)
    assert updated.keys() == rebuilt.keys()
    for key in updated:
        assert updated[key] == rebuilt[key], key
    # And the answers did change, the way grep says.
    assert [(d["file"], d["line"]) for d in updated["syscall incr_call"]["definitions"]] == grep_n(
        tree, r"^SYSCALL_DEFINE2\(incr_call,"
    )
    assert updated["syscall fcntl"]["definitions"] == []
    assert {d["file"] for d in updated["syscall rename"]["definitions"]} == {"fs/zz_namei.c"}
    assert [(d["file"], d["line"]) for d in updated["def exc_divide_errxr"]["definitions"]] == grep_n(
        tree, r"^DEFINE_IDTENTRY\(exc_divide_errxr\)"
    )
    assert updated["def exc_divide_error"]["definitions"] == []
    refs = [r["file"] for r in updated["refs vfs_rename"]["references"]]
    assert refs[0] == "arch/aaa/new.c"  # the walk's order, as a rebuild numbers the files
    assert "arch/x86/entry/added.S" in refs and "fs/zz_namei.c" in refs


def test_a_second_round_of_changes_on_an_updated_index(tree, tmp_path, monkeypatch):
    """Files parsed by one update, changed or removed by the next (the overlay replaced)."""
    answers(tree)
    edit_add_delete_rename(tree)
    assert info_after_query(tree).reparsed_files == 5
    (tree / "arch" / "aaa" / "new.c").rename(tree / "arch" / "aaa" / "newer.c")
    (tree / "arch" / "x86" / "entry" / "added.S").unlink()
    with open(tree / "fs" / "ext4" / "namei.c", "a") as fh:
        fh.write("\nstatic int incr_macro_user(void)\n{\n\treturn incr_macro(2);\n}\n")
    shutil.rmtree(tree / "include" / "trace")  # a whole folder gone
    info = info_after_query(tree)
    assert (info.reparsed_files, info.removed_files) == (2, 3)
    updated = answers(tree)
    assert updated == rebuilt_answers(tree, tmp_path / "other-cache", monkeypatch)


def test_an_answer_naming_a_removed_file_is_updated_not_rebuilt(tree):
    assert query.find_syscall(tree, "fcntl").definitions
    (tree / "kernel" / "compat_fcntl.c").unlink()
    gone = query.find_syscall(tree, "fcntl")
    assert gone.definitions == []
    assert (gone.index.built_now, gone.index.reparsed_files, gone.index.removed_files) == (True, 0, 1)


def test_cli_reports_the_update_counters_and_an_old_format_is_rebuilt(tree):
    env = {"KERNLAB_CACHE_DIR": os.environ["KERNLAB_CACHE_DIR"]}
    first = run_kernlab("ksrc", "--tree", str(tree), "index", "--json", env=env)
    assert first.code == 0, first.stderr
    (tree / "fs" / "added.c").write_text("int incr_cli(void)\n{\n\treturn 0;\n}\n")
    result = run_kernlab("ksrc", "--tree", str(tree), "def", "incr_cli", "--json", env=env)
    assert result.code == 0, result.stderr
    index = result.json()["index"]
    assert (index["built_now"], index["reparsed_files"], index["removed_files"]) == (True, 1, 0)
    # An index of the previous format is built whole once, then updated as usual.
    meta = index_location(tree) / "meta.json"
    data = json.loads(meta.read_text())
    assert data["format"] == INDEX_FORMAT
    data["format"] = INDEX_FORMAT - 1
    meta.write_text(json.dumps(data))
    again = run_kernlab("ksrc", "--tree", str(tree), "def", "incr_cli", "--json", env=env).json()
    assert again["index"]["built_now"] and again["index"]["reparsed_files"] == again["index"]["files"]
    after = run_kernlab("ksrc", "--tree", str(tree), "def", "incr_cli", "--json", env=env).json()
    assert (after["index"]["built_now"], after["index"]["reparsed_files"]) == (False, 0)


def test_many_changed_files_are_parsed_by_worker_processes(tree, tmp_path, monkeypatch):
    """The same answers when an update parses its files in a pool (a checkout of many files)."""
    from kernlab.source.ksrc import index

    answers(tree)
    monkeypatch.setattr(index, "PARALLEL_FROM", 1)
    edit_add_delete_rename(tree)
    info = info_after_query(tree)
    assert (info.updated, info.reparsed_files, info.removed_files) == (True, 5, 2)
    assert answers(tree) == rebuilt_answers(tree, tmp_path / "other-cache", monkeypatch)


def test_too_many_changes_build_the_index_whole(tree, monkeypatch):
    from kernlab.source.ksrc import index

    answers(tree)
    edit_add_delete_rename(tree)
    with monkeypatch.context() as patch:
        patch.setattr(index, "too_many", lambda state, changed: True)
        info = info_after_query(tree)
    assert info.built_now and not info.updated and info.reparsed_files == info.files
    assert info_after_query(tree).reparsed_files == 0
