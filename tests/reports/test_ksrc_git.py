"""ksrc answers in a git checkout name each file's last commit, as `git log -1 -- FILE` does.

The fixture tree is committed to a temporary repository in several commits by different
authors; every report's last commits are checked against git itself, file by file, with a line
history and with a merge (where git simplifies history per path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kernlab.reports import ksrc
from tests.conftest import need_tool, run_kernlab
from tests.source.test_ksrc_fixture import FIXTURE

FORMAT = "%H%x00%an%x00%aI%x00%s"


def git(repo: Path, *args: str, author: str = "Ann Author") -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME=author,
        GIT_AUTHOR_EMAIL="a@example.org",
        GIT_COMMITTER_NAME=author,
        GIT_COMMITTER_EMAIL="a@example.org",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
    )
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout


def expected(repo: Path, file: str) -> tuple[str, str, str, str] | None:
    """What git says: `git log -1 --format=%H%x00%an%x00%aI%x00%s -- FILE`."""
    out = git(repo, "log", "-1", f"--format={FORMAT}", "--", file).rstrip("\n")
    if not out:
        return None
    commit, author, date, subject = out.split("\0")
    return commit, author, date, subject


def assert_like_git(
    repo: Path,
    report: ksrc.DefReport | ksrc.OpsReport | ksrc.RefsReport | ksrc.SyscallReport,
    files: set[str],
) -> None:
    assert files, "the answer names no file: nothing to compare"
    for file in files:
        found = report.last_commit(file)
        want = expected(repo, file)
        got = None if found is None else (found.commit, found.author, found.date, found.subject)
        assert got == want, file
    assert {c.file for c in report.last_commits} == {f for f in files if expected(repo, f) is not None}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    need_tool("git")
    tree = tmp_path / "linux"
    shutil.copytree(FIXTURE, tree)
    monkeypatch.setenv("KERNLAB_CACHE_DIR", str(tmp_path / "cache"))
    git(tree, "init", "-q", "-b", "master")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "Import the tree")
    with open(tree / "fs" / "namei.c", "a") as fh:
        fh.write("\nint vfs_rename_helper(void)\n{\n\treturn vfs_rename(0);\n}\n")
    git(tree, "commit", "-q", "-am", "fs: add vfs_rename_helper", author="Bob Builder")
    with open(tree / "fs" / "ext4" / "namei.c", "a") as fh:
        fh.write("\n/* ext4: a comment */\n")
    git(tree, "commit", "-q", "-am", "ext4: note — ünïcode subject", author="Chloé Écrit")
    return tree


def reports(tree: Path) -> list[tuple[object, set[str]]]:
    syscall = ksrc.build_syscall(tree, "rename")
    ops = ksrc.build_ops(tree, "ext4_rename2")
    definition = ksrc.build_def(tree, "vfs_rename")
    refs = ksrc.build_refs(tree, "vfs_rename")
    return [
        (syscall, {d.file for d in syscall.definitions}),
        (ops, {b.file for b in ops.bindings} | {d.file for d in ops.definitions}),
        (definition, {d.file for d in definition.definitions}),
        (refs, {r.file for r in refs.references}),
    ]


def test_last_commits_equal_git_log_in_a_line_of_commits(repo):
    for report, files in reports(repo):
        assert_like_git(repo, report, files)  # type: ignore[arg-type]
    refs = ksrc.build_refs(repo, "vfs_rename")
    helper = refs.last_commit("fs/namei.c")
    assert helper is not None and helper.subject == "fs: add vfs_rename_helper"
    assert helper.author == "Bob Builder"
    # Edited but not committed: still its last commit. Untracked: none.
    with open(repo / "fs" / "namei.c", "a") as fh:
        fh.write("\n/* not committed */\n")
    (repo / "fs" / "untracked.c").write_text("int vfs_rename(struct renamedata *rd);\n")
    refs = ksrc.build_refs(repo, "vfs_rename")
    assert refs.last_commit("fs/namei.c") == helper
    assert "fs/untracked.c" in {r.file for r in refs.references}
    assert refs.last_commit("fs/untracked.c") is None


def test_last_commits_equal_git_log_after_a_merge(repo):
    git(repo, "checkout", "-q", "-b", "side", "HEAD~2")
    with open(repo / "fs" / "ext4" / "namei.c", "a") as fh:
        fh.write("\n/* side branch */\n")
    git(repo, "commit", "-q", "-am", "ext4: side change", author="Dora Side")
    with open(repo / "kernel" / "compat_fcntl.c", "a") as fh:
        fh.write("\n/* side: fcntl */\n")
    git(repo, "commit", "-q", "-am", "fcntl: side change", author="Dora Side")
    git(repo, "checkout", "-q", "master")
    # Both sides changed ext4/namei.c: resolve by taking master's version (a merge git's
    # history simplification treats per path).
    done = subprocess.run(["git", "-C", str(repo), "merge", "-q", "--no-edit", "side"], capture_output=True)
    if done.returncode != 0:
        git(repo, "checkout", "--ours", "fs/ext4/namei.c")
        git(repo, "add", "fs/ext4/namei.c")
        git(repo, "commit", "-q", "--no-edit")
    assert git(repo, "rev-list", "--merges", "HEAD").strip()
    for report, files in reports(repo):
        assert_like_git(repo, report, files)  # type: ignore[arg-type]
    syscall = ksrc.build_syscall(repo, "fcntl")
    assert_like_git(repo, syscall, {d.file for d in syscall.definitions})
    assert syscall.last_commits[0].subject == "fcntl: side change"


def test_json_carries_last_commits_and_a_plain_tree_has_none(repo, tmp_path):
    env = {"KERNLAB_CACHE_DIR": os.environ["KERNLAB_CACHE_DIR"]}
    result = run_kernlab("ksrc", "--tree", str(repo), "def", "vfs_rename", "--json", env=env)
    assert result.code == 0, result.stderr
    data = result.json()
    commits = {c["file"]: c for c in data["last_commits"]}
    for definition in data["definitions"]:
        want = expected(repo, definition["file"])
        got = commits[definition["file"]]
        assert (got["commit"], got["author"], got["date"], got["subject"]) == want
    plain = tmp_path / "plain"
    shutil.copytree(FIXTURE, plain)
    assert ksrc.build_def(plain, "vfs_rename").last_commits == ()
