"""ksrc finds the tree's top from any folder inside it, as git finds .git; outside, one clean error.

The seed searches from inside the tree (``~/git/linux/fs$ ag ext4_rename2``), so a query run in
``fs/ext4`` must answer exactly as one run at the top or with ``--tree``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kernlab.errors import BadInput
from kernlab.source.ksrc.tree import NotAKernelTree, kernel_tree
from tests.conftest import assert_clean_error, run_kernlab
from tests.source.test_ksrc_fixture import FIXTURE


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "linux"
    shutil.copytree(FIXTURE, copy)
    # A subfolder's Makefile sets neither VERSION nor PATCHLEVEL: the walk must pass it by.
    (copy / "fs" / "Makefile").write_text("obj-y += namei.o\nobj-$(CONFIG_EXT4_FS) += ext4/\n")
    return copy


def _env(tree: Path) -> dict[str, str]:
    return {"KERNLAB_CACHE_DIR": str(tree.parent / "cache")}


def test_kernel_tree_walks_up_to_the_top_makefile(tree):
    assert kernel_tree(tree) == tree
    assert kernel_tree(tree / "fs" / "ext4") == tree
    assert kernel_tree(tree / "fs") == tree  # fs/Makefile is not the top one
    assert kernel_tree(tree / "fs" / "ext4" / ".." / "..") == tree / "fs" / "ext4" / ".." / ".."


def test_kernel_tree_outside_any_tree(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "Makefile").write_text("all:\n\techo hi\n")
    with pytest.raises(NotAKernelTree) as caught:
        kernel_tree(tmp_path / "plain")
    assert isinstance(caught.value, BadInput)
    assert caught.value.path == str(tmp_path / "plain")
    with pytest.raises(BadInput):
        kernel_tree(tmp_path / "missing")


def test_queries_from_a_subfolder_answer_as_from_the_top(tree):
    inside = tree / "fs" / "ext4"
    for args in (["ops", "ext4_rename2"], ["syscall", "rename"], ["def", "ext4_check"], ["info"]):
        at_top = run_kernlab("ksrc", "--tree", str(tree), *args, "--json", env=_env(tree))
        from_inside = run_kernlab("ksrc", *args, "--json", env=_env(tree), cwd=inside)
        assert at_top.code == from_inside.code == 0, from_inside.stderr
        top, sub = at_top.json(), from_inside.json()
        # One tree, one index: the same answer, read from the same cached index.
        assert sub["tree"] == str(tree)
        if "index" in top:
            assert sub["index"]["location"] == top["index"]["location"]
            assert sub["index"]["built_now"] is False
            top.pop("index"), sub.pop("index")
        assert sub == top, args


def test_tree_option_may_name_a_subfolder(tree):
    result = run_kernlab("ksrc", "--tree", str(tree / "fs"), "info", "--json", env=_env(tree))
    assert result.code == 0, result.stderr
    assert result.json()["tree"] == str(tree)


def test_human_output_from_a_subfolder(tree):
    result = run_kernlab("ksrc", "ops", "ext4_rename2", env=_env(tree), cwd=tree / "fs" / "ext4")
    assert result.code == 0, result.stderr
    assert "ext4_dir_inode_operations.rename = ext4_rename2" in result.stdout
    assert "→" in result.stdout


def test_outside_any_tree_is_one_clean_line_with_the_bad_input_code(tmp_path):
    env = {"KERNLAB_CACHE_DIR": str(tmp_path / "cache")}
    for args in (["syscall", "rename"], ["info"], ["index"]):
        result = run_kernlab("ksrc", *args, env=env, cwd=tmp_path)
        assert_clean_error(result, code=BadInput.exit_code)
        assert f"{tmp_path} is not inside a kernel source tree" in result.stderr
    assert not (tmp_path / "cache").exists()  # nothing indexed, nothing written
