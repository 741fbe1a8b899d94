"""ksrc on a small kernel-like tree (tests/source/fixtures/ksrc_tree) against grep, ctags, cscope, make.

The fixture has the corner cases: SYSCALL_DEFINE text inside a comment and a string, the
SYSCALL_DEFINEn macros' own #defines, COMPAT_ and #if'd system calls, an operations table with a
multi-line binding and #ifdef'd fields, an array of tables, a table-like initialiser inside a
function, #ifdef'd duplicate functions, typedef'd structs and function pointers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_clean_error, need_tool, run_kernlab

FIXTURE = Path(__file__).parent / "fixtures" / "ksrc_tree"


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the fixture shared by the tests that only read it (one index build)."""
    copy = tmp_path_factory.mktemp("ksrc") / "tree"
    shutil.copytree(FIXTURE, copy)
    return copy


@pytest.fixture
def fresh_tree(tmp_path: Path) -> Path:
    """A private copy for a test that changes files; its cache beside it."""
    copy = tmp_path / "tree"
    shutil.copytree(FIXTURE, copy)
    return copy


# Exit status of a query that found nothing (grep's 1; kernlab's 1 is a failure).
EMPTY_ANSWER = 8
# What each query's answer is: empty means the command exits with EMPTY_ANSWER.
ANSWER_FIELD = {"syscall": "definitions", "ops": "bindings", "def": "definitions", "refs": "references"}


def ksrc(tree: Path, *args: str) -> dict:
    """The JSON of a query; its exit status must be 0 for an answer, EMPTY_ANSWER for none."""
    result = run_kernlab("ksrc", "--tree", str(tree), *args, "--json", env=_env(tree))
    report = result.json()
    answer = ANSWER_FIELD.get(args[0])
    empty = answer is not None and not report[answer]
    assert result.code == (EMPTY_ANSWER if empty else 0), result.stderr
    return report  # type: ignore[no-any-return]


def _env(tree: Path) -> dict[str, str]:
    return {"KERNLAB_CACHE_DIR": str(tree.parent / "cache")}


def grep_n(tree: Path, pattern: str, include: tuple[str, ...] = ("*.c", "*.h")) -> list[tuple[str, int]]:
    """(file, line) of every line matching an extended regex, from grep -rnE."""
    out = subprocess.run(
        ["grep", "-rnE", *(f"--include={glob}" for glob in include), pattern, "."],
        cwd=tree,
        capture_output=True,
        text=True,
    ).stdout
    hits = []
    for line in out.splitlines():
        path, number, _ = line.split(":", 2)
        hits.append((path.removeprefix("./"), int(number)))
    return sorted(hits)


# The kernel's definition macros as the kernel writes them (include/linux/mutex.h, percpu-defs.h,
# list.h, workqueue.h, device.h, seq_file.h, arch/x86/include/asm/idtentry.h, filter.h,
# tracepoint.h), reduced to the declaration they expand to: given to ctags with -D, they let it
# see the symbols ksrc must find. The bodies are the kernel's, not ksrc's table.
KERNEL_DEFINES = (
    "DEFINE_MUTEX(mutexname)=struct mutex mutexname",
    "DEFINE_SPINLOCK(x)=spinlock_t x",
    "DEFINE_PER_CPU(type, name)=type name",
    "DEFINE_PER_CPU_READ_MOSTLY(type, name)=type name",
    "LIST_HEAD(name)=struct list_head name",
    "DECLARE_WORK(n, f)=struct work_struct n",
    "DECLARE_BITMAP(name, bits)=unsigned long name[bits]",
    "DEVICE_ATTR_RO(_name)=struct device_attribute dev_attr_##_name",
    "DEFINE_SHOW_ATTRIBUTE(__name)=static int __name##_open(struct inode *inode, struct file *file)"
    " { return 0; } static const struct file_operations __name##_fops = { .open = __name##_open }",
    "DEFINE_IDTENTRY(func)=__visible void func(struct pt_regs *regs)",
    "DEFINE_IDTENTRY_RAW_ERRORCODE(func)=__visible void func(struct pt_regs *regs, unsigned long error_code)",
    "BPF_CALL_2(name, t1, a1, t2, a2)=u64 name(t1 a1, t2 a2)",
    "TP_PROTO(...)=__VA_ARGS__",
    "TRACE_EVENT(name, proto, args, tstruct, assign, print)=static inline void trace_##name(proto) {}",
    "DEFINE_EVENT(template, name, proto, args)=static inline void trace_##name(proto) {}",
)


def ctags_tags(tree: Path, defines: tuple[str, ...] = KERNEL_DEFINES) -> list[tuple[str, str, str, int]]:
    need_tool("ctags")
    out = subprocess.run(
        [
            *("ctags", "-x", "--languages=C", "--langmap=C:.c.h", "-R", "--_xformat=%N\t%K\t%F\t%n"),
            *(f"-D{define}" for define in defines),
            ".",
        ],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tags = []
    for line in out.splitlines():
        name, kind, path, number = line.split("\t")
        tags.append((name, kind, path.removeprefix("./"), int(number)))
    return tags


def test_syscall_rename_is_at_the_line_grep_finds(tree):
    report = ksrc(tree, "syscall", "rename")
    expected = grep_n(tree, r"^SYSCALL_DEFINE2\(rename,")
    assert [(d["file"], d["line"]) for d in report["definitions"]] == expected
    assert report["definitions"][0]["signature"].startswith("SYSCALL_DEFINE2(rename, const char __user *")
    assert report["definitions"][0]["arguments"] == 2
    running = report["running"]
    assert running["tracefs_event"] == "syscalls/sys_enter_rename"
    kallsyms = Path("/proc/kallsyms")
    if kallsyms.exists() and running["in_kallsyms"] is not None:
        text = kallsyms.read_text()
        assert running["in_kallsyms"] == bool(
            re.search(rf" {re.escape(running['entry_symbol'])}$", text, re.M)
        )


def test_syscall_native_compat_and_ifdefd(tree):
    fcntl = ksrc(tree, "syscall", "fcntl")["definitions"]
    expected = grep_n(tree, r"^(COMPAT_)?SYSCALL_DEFINE[0-9]\(fcntl,")
    assert sorted((d["file"], d["line"]) for d in fcntl) == expected
    assert {d["macro"] for d in fcntl} == {"SYSCALL_DEFINE3", "COMPAT_SYSCALL_DEFINE3"}
    assert [d["line"] for d in ksrc(tree, "syscall", "sys_fcntl64")["definitions"]] == [
        n for _, n in grep_n(tree, r"^SYSCALL_DEFINE3\(fcntl64,")
    ]


@pytest.mark.parametrize("name", ["oldrename", "strfake", "name"])
def test_syscall_in_comment_string_or_macro_is_not_a_definition(tree, name):
    # grep does find the text; ksrc must not call it a definition.
    assert grep_n(tree, rf"SYSCALL_DEFINE[0-9]\({name},")
    assert ksrc(tree, "syscall", name)["definitions"] == []


def test_syscalls_match_ctags_outside_comments(tree):
    tags = ctags_tags(tree)
    expected = sorted((p, n) for name, kind, p, n in tags if kind == "function" and "SYSCALL_DEFINE" in name)
    found = []
    for name in ("rename", "renameat2", "fcntl", "fcntl64"):
        found += [(d["file"], d["line"]) for d in ksrc(tree, "syscall", name)["definitions"]]
    assert sorted(found) == expected


def test_ops_binds_ext4_rename2_like_grep(tree):
    report = ksrc(tree, "ops", "ext4_rename2")
    bindings = [(b["table"], b["field"], b["table_type"], b["file"], b["line"]) for b in report["bindings"]]
    one_line = grep_n(tree, r"^\s*\.rename\s*=\s*ext4_rename2,")
    assert ("ext4_dir_inode_operations", "rename", "struct inode_operations", *one_line[0]) in bindings
    # The multi-line binding (".rename =" then the function on the next line) is found too.
    split = grep_n(tree, r"^\s*\.rename\s*=\s*$")
    assert ("ext4_special_inode_operations", "rename", "struct inode_operations", *split[0]) in bindings
    assert len(bindings) == 2
    assert [(d["file"], d["line"]) for d in report["definitions"]] == grep_n(
        tree, r"^static int ext4_rename2\("
    )


def test_ops_ifdefd_fields_arrays_and_function_locals(tree):
    setattr_noacl = ksrc(tree, "ops", "ext4_setattr_noacl")["bindings"]
    assert [(b["table"], b["field"]) for b in setattr_noacl] == [("ext4_dir_inode_operations", "setattr")]
    setattr_acl = ksrc(tree, "ops", "ext4_setattr")["bindings"]
    assert sorted(b["table"] for b in setattr_acl) == [
        "ext4_dir_inode_operations",
        "ext4_special_inode_operations",
    ]
    lookups = ksrc(tree, "ops", "ext4_lookup")["bindings"]
    assert sorted(b["table"] for b in lookups) == ["ext4_dir_inode_operations"] + ["ext4_table_array"] * 2
    # `.pid = 1` inside a function body is not a table binding, and "1" is not a function name.
    assert ksrc(tree, "ops", "arch_setup")["bindings"] == []


def test_def_agrees_with_ctags(tree, monkeypatch):
    from kernlab.source.ksrc.query import find_definitions

    monkeypatch.setenv("KERNLAB_CACHE_DIR", _env(tree)["KERNLAB_CACHE_DIR"])
    kinds = {"function", "struct", "union", "enum", "typedef", "macro"}
    tags = [
        t
        for t in ctags_tags(tree)
        if t[1] in kinds and not t[0].startswith(("SYSCALL_", "COMPAT_", "__anon"))
    ]
    assert len(tags) > 20
    for name in sorted({t[0] for t in tags}):
        found = find_definitions(tree, name).definitions
        got = {(d.kind, d.file, d.line) for d in found}
        want = {(kind, path, line) for n, kind, path, line in tags if n == name}
        if name.startswith("trace_"):  # ctags tags a multi-line invocation at its last line
            want = {(kind, path, line) for kind, path, line in want if path != "include/trace/events/fault.h"}
        assert want <= got, name


def test_def_variables_and_ifdef_duplicates(tree):
    dup = ksrc(tree, "def", "ext4_check")["definitions"]
    assert [(d["file"], d["line"]) for d in dup] == grep_n(tree, r"^static int ext4_check\(")
    table = ksrc(tree, "def", "ext4_dir_inode_operations")["definitions"]
    assert [(d["kind"], d["line"]) for d in table] == [
        ("variable", n) for _, n in grep_n(tree, r"ext4_dir_inode_operations = \{")
    ]


def test_refs_equal_cscope(tree, tmp_path, monkeypatch):
    from kernlab.source.ksrc.query import find_references

    monkeypatch.setenv("KERNLAB_CACHE_DIR", _env(tree)["KERNLAB_CACHE_DIR"])
    cscope = need_tool("cscope")
    db = tmp_path / "cscope.out"
    subprocess.run([cscope, "-b", "-R", "-k", "-f", str(db)], cwd=tree, check=True)
    symbols = ("do_renameat2", "vfs_rename", "ext4_rename2", "RENAME_NOREPLACE", "do_fcntl", "ext4_check")
    for symbol in (*symbols, "ext4_lookup", "inode_operations", "fmode_t", "TASK_RUNNING"):
        out = subprocess.run(
            [cscope, "-d", "-f", str(db), "-L0", symbol], cwd=tree, capture_output=True, text=True, check=True
        ).stdout
        want = {(line.split()[0], int(line.split()[2])) for line in out.splitlines()}
        got = {(r.file, r.line) for r in find_references(tree, symbol).references}
        assert got == want, symbol


def test_refs_leave_out_comments_and_strings(tree):
    refs = ksrc(tree, "refs", "vfs_rename")["references"]
    texts = [r["text"] for r in refs]
    assert not any(t.startswith(("/*", "//")) for t in texts)
    assert "return rd ? 0 : -1; // vfs_rename" not in texts


def test_info_equals_make_kernelversion(tree):
    need_tool("make")
    made = subprocess.run(
        ["make", "-s", "kernelversion"], cwd=tree, capture_output=True, text=True, check=True
    )
    info = ksrc(tree, "info")
    assert info["kernelversion"] == made.stdout.strip()
    assert (
        info["running_release"]
        == subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
    )


def test_index_is_reused_then_rebuilt_when_a_file_changes(fresh_tree):
    tree = fresh_tree
    first = ksrc(tree, "def", "vfs_rename")
    again = ksrc(tree, "def", "vfs_rename")
    assert again["index"]["built_now"] is False
    assert first["index"]["location"] == again["index"]["location"]
    added = tree / "fs" / "added.c"
    added.write_text("int vfs_rename(struct renamedata *rd)\n{\n\treturn 1;\n}\n")
    after = ksrc(tree, "def", "vfs_rename")
    assert after["index"]["built_now"] is True
    assert ("fs/added.c", 1) in {(d["file"], d["line"]) for d in after["definitions"]}
    added.unlink()  # deleted: the answer must not name it any more
    gone = ksrc(tree, "def", "vfs_rename")
    assert "fs/added.c" not in {d["file"] for d in gone["definitions"]}
    # Changed in place (same inode, the folder untouched): still seen.
    with open(tree / "fs" / "namei.c", "a") as fh:
        fh.write("\nint appended_in_place(void)\n{\n\treturn 0;\n}\n")
    edited = ksrc(tree, "def", "appended_in_place")["definitions"]
    assert [(d["file"], d["line"]) for d in edited] == grep_n(tree, r"^int appended_in_place\(")


def test_freshness_new_folder_rename_and_unrelated_files(fresh_tree):
    """The folder check: a new folder's file and a rename are seen; non-sources are not changes."""
    tree = fresh_tree
    assert ksrc(tree, "def", "vfs_rename")["index"]["built_now"] is True
    # Object files (what `make` writes beside sources) and sources in hidden folders are not
    # indexed, so they must not cost a rebuild.
    (tree / "fs" / "namei.o").write_bytes(b"\x7fELF")
    (tree / "fs" / ".pending").mkdir()
    (tree / "fs" / ".pending" / "hidden.c").write_text("int hidden_function(void)\n{\n\treturn 0;\n}\n")
    untouched = ksrc(tree, "def", "vfs_rename")
    assert untouched["index"]["built_now"] is False
    assert ksrc(tree, "def", "hidden_function")["definitions"] == []
    # A file in a folder that did not exist: only its parent folder's entries changed.
    (tree / "fs" / "newdir").mkdir()
    (tree / "fs" / "newdir" / "added.c").write_text("int newly_added(void)\n{\n\treturn 1;\n}\n")
    added = ksrc(tree, "def", "newly_added")
    assert added["index"]["built_now"] is True
    assert [(d["file"], d["line"]) for d in added["definitions"]] == grep_n(tree, r"^int newly_added\(")
    # A rename inside that folder: the old path must not be reported.
    (tree / "fs" / "newdir" / "added.c").rename(tree / "fs" / "newdir" / "renamed.c")
    renamed = ksrc(tree, "def", "newly_added")
    assert [(d["file"], d["line"]) for d in renamed["definitions"]] == grep_n(tree, r"^int newly_added\(")
    assert renamed["definitions"][0]["file"] == "fs/newdir/renamed.c"
    # An in-place edit of a file the answer does not come from still counts (it adds a use).
    before = {(r["file"], r["line"]) for r in ksrc(tree, "refs", "vfs_rename")["references"]}
    with open(tree / "kernel" / "compat_fcntl.c", "a") as fh:
        fh.write("\nint uses_vfs_rename(void)\n{\n\treturn vfs_rename(0);\n}\n")
    after = {(r["file"], r["line"]) for r in ksrc(tree, "refs", "vfs_rename")["references"]}
    assert after - before == set(grep_n(tree, r"return vfs_rename\(0\);"))


def _crc32_twins() -> tuple[str, str]:
    """Two identifiers with the same CRC-32 (the index's key for macros and references)."""
    import hashlib
    import zlib

    seen: dict[int, str] = {}
    for i in range(1_000_000):
        name = "ksrc_" + hashlib.md5(str(i).encode()).hexdigest()[:10]
        twin = seen.setdefault(zlib.crc32(name.encode()), name)
        if twin != name:
            return twin, name
    raise AssertionError("no CRC-32 collision found")


def test_names_sharing_a_key_are_told_apart(fresh_tree):
    """A macro and the uses of another name with the same CRC-32 never answer for each other."""
    tree = fresh_tree
    defined, other = _crc32_twins()
    (tree / "include" / "linux" / "twins.h").write_text(f"#define {defined} 1\n")
    (tree / "fs" / "twins.c").write_text(f"int twin_user(void)\n{{\n\treturn {defined};\n}}\n")
    assert [(d["file"], d["line"]) for d in ksrc(tree, "def", defined)["definitions"]] == grep_n(
        tree, rf"^#define {defined} "
    )
    assert ksrc(tree, "def", other)["definitions"] == []
    uses = {(r["file"], r["line"]) for r in ksrc(tree, "refs", defined)["references"]}
    assert uses == set(grep_n(tree, rf"\b{defined}\b"))
    assert ksrc(tree, "refs", other)["references"] == []


def test_human_output_ends_with_sentences(tree):
    result = run_kernlab("ksrc", "--tree", str(tree), "syscall", "rename", env=_env(tree))
    assert result.code == 0, result.stderr
    line = grep_n(tree, r"^SYSCALL_DEFINE2\(rename,")[0]
    assert f"{line[0]}:{line[1]}" in " ".join(result.stdout.split()).replace(" ", "")
    assert "→" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["syscall", "not-a-name"],
        ["def", "a b"],
        ["refs", "1abc"],
    ],
)
def test_bad_names_are_clean_errors(tree, args):
    assert_clean_error(run_kernlab("ksrc", "--tree", str(tree), *args, env=_env(tree)), code=3)


def test_not_a_kernel_tree_is_a_clean_error(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "Makefile").write_text("all:\n\techo hi\n")
    env = {"KERNLAB_CACHE_DIR": str(tmp_path / "cache")}
    for tree in (tmp_path / "plain", tmp_path / "missing", tmp_path):
        assert_clean_error(run_kernlab("ksrc", "--tree", str(tree), "syscall", "rename", env=env))
        assert_clean_error(run_kernlab("ksrc", "--tree", str(tree), "info", env=env))
