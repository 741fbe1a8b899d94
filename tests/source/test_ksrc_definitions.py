"""ksrc on what C declarations do not spell out: assembly entry points and definition macros.

The fixture (tests/source/fixtures/ksrc_tree) has a cut-down arch/x86/entry/entry_64.S (the
SYM_* macros of include/linux/linkage.h), an older-style .S (ENTRY, GLOBAL, plain labels made
global by .globl/.weak), and arch/x86/mm/fault.c with DEFINE_IDTENTRY_RAW_ERRORCODE,
DEFINE_MUTEX, DEFINE_PER_CPU, DECLARE_WORK, DEVICE_ATTR_RO, DEFINE_SHOW_ATTRIBUTE, BPF_CALL_2,
EXPORT_SYMBOL_GPL, plus the same macros in a comment, a string, a struct member and a function
body (none of which defines anything). Oracles: grep -n for the lines, universal-ctags for the
assembly labels and, given the kernel's own macro bodies with -D, for the macro-defined symbols.
Also: names that occur nowhere, the exit status of an empty answer, the index format, progress.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_tool, run_kernlab, run_on_a_terminal
from tests.source.test_ksrc_fixture import (
    EMPTY_ANSWER,
    FIXTURE,
    _env,
    ctags_tags,
    grep_n,
    ksrc,
)

ASM = ("*.S",)
ENTRY_MACROS = (
    r"SYM_(TYPED_)?FUNC_START\w*|SYM_FUNC_ALIAS\w*|SYM_CODE_START\w*|SYM_INNER_LABEL\w*"
    r"|SYM_DATA_START\w*|ENTRY|GLOBAL"
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("ksrc-defs") / "tree"
    shutil.copytree(FIXTURE, copy)
    return copy


def where(report: dict) -> set[tuple[str, int]]:
    return {(d["file"], d["line"]) for d in report["definitions"]}


def test_entry_syscall_64_is_found_at_the_line_grep_gives(tree):
    # The seed's entry point: an assembly symbol that was "not defined" when .S files were not read.
    report = ksrc(tree, "def", "entry_SYSCALL_64")
    assert where(report) == set(grep_n(tree, r"SYM_CODE_START\(entry_SYSCALL_64\)", ASM))
    assert [d["kind"] for d in report["definitions"]] == ["code"]


def test_every_assembly_entry_macro_defines_its_name(tree):
    out = subprocess.run(
        ["grep", "-rnoE", "--include=*.S", rf"^\s*({ENTRY_MACROS})\(\s*[A-Za-z_]\w*", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected: dict[str, set[tuple[str, int]]] = {}
    for line in out.splitlines():
        path, number, text = line.split(":", 2)
        name = text.rsplit("(", 1)[1].strip()
        expected.setdefault(name, set()).add((path.removeprefix("./"), int(number)))
    assert len(expected) >= 8
    for name, lines in expected.items():
        got = {
            (d["file"], d["line"]) for d in ksrc(tree, "def", name)["definitions"] if d["kind"] != "export"
        }
        assert got == lines, name


def test_plain_global_labels_agree_with_ctags(tree):
    need_tool("ctags")
    out = subprocess.run(
        ["ctags", "-x", "--languages=Asm", "-R", "--_xformat=%N\t%K\t%F\t%n", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    labels = [line.split("\t") for line in out.splitlines() if line.split("\t")[1] == "label"]
    globals_ = {
        name.strip()
        for _, text in _grep_text(tree, r"^\s*\.(globl|global|weak)\s", ASM)
        for name in text.split(None, 1)[1].split(",")
    }
    made_global = [(n, f.removeprefix("./"), int(line)) for n, _, f, line in labels if n in globals_]
    assert len(made_global) >= 3
    for name, path, line in made_global:
        assert ("label", path, line) in {
            (d["kind"], d["file"], d["line"]) for d in ksrc(tree, "def", name)["definitions"]
        }
    # A label nothing makes global is local to its file, like a numbered or .L label.
    local = [n for n, _, _, _ in labels if n not in globals_]
    assert "not_global" in local
    for name in local:
        if re.fullmatch(r"[A-Za-z_]\w*", name):
            assert ksrc(tree, "def", name)["definitions"] == [], name


def _grep_text(tree: Path, pattern: str, include: tuple[str, ...]) -> list[tuple[str, str]]:
    out = subprocess.run(
        ["grep", "-rhE", *(f"--include={g}" for g in include), pattern, "."],
        cwd=tree,
        capture_output=True,
        text=True,
    ).stdout
    return [("", line.strip()) for line in out.splitlines()]


def test_assembly_in_comments_and_macro_bodies_defines_nothing(tree):
    assert grep_n(tree, r"SYM_FUNC_START\(in_a_comment\)", ASM)
    assert ksrc(tree, "def", "in_a_comment")["definitions"] == []
    # `#define DEFINE_STUB(name) SYM_FUNC_START(name)…` and `SYM_CODE_START(\asmsym)` in a .macro
    assert ksrc(tree, "def", "name")["definitions"] == []
    assert ksrc(tree, "def", "asmsym")["definitions"] == []


def test_exc_page_fault_is_found_at_its_definition_macro(tree):
    report = ksrc(tree, "def", "exc_page_fault")
    assert where(report) == set(grep_n(tree, r"^DEFINE_IDTENTRY_RAW_ERRORCODE\(exc_page_fault\)"))
    assert [d["kind"] for d in report["definitions"]] == ["function"]
    # The macro itself is a macro (its #define), not a function defined in fault.c.
    assert {d["kind"] for d in ksrc(tree, "def", "DEFINE_IDTENTRY_RAW_ERRORCODE")["definitions"]} == {"macro"}


def test_macro_defined_symbols_equal_ctags_given_the_kernels_macros(tree, monkeypatch):
    """Both ways: every symbol ctags sees once the macros are expanded, and nothing else.

    (A global without an initialiser, `const char *fault_name = "…";`, is a variable to ctags
    but not to ksrc, which lists initialised tables: hence only the macro-made symbols.)
    """
    from kernlab.source.ksrc.query import find_definitions

    monkeypatch.setenv("KERNLAB_CACHE_DIR", _env(tree)["KERNLAB_CACHE_DIR"])
    path = "arch/x86/mm/fault.c"
    tags = {(n, k, line) for n, k, p, line in ctags_tags(tree) if p == path and k in ("function", "variable")}
    plain = {(n, k, line) for n, k, p, line in ctags_tags(tree, ()) if p == path}
    by_macro = {t for t in tags if t[0] not in {p[0] for p in plain}}
    assert {t[0] for t in by_macro} >= {
        "exc_page_fault",
        "fault_mutex",
        "fault_count",
        "dev_attr_fault_stats",
    }
    for name, kind, line in by_macro:
        got = {(d.kind, d.line) for d in find_definitions(tree, name).definitions if d.file == path}
        assert (kind, line) in got, name
    # Conversely, everything ksrc says fault.c defines, exports apart, ctags sees too.
    names = {t[0] for t in tags} | {"local_list", "pending", "in_a_comment", "in_a_string", "mutexname"}
    for name in names:
        for d in find_definitions(tree, name).definitions:
            if d.file == path and d.kind != "export":
                assert (name, d.kind, d.line) in tags, (name, d)
    assert not find_definitions(tree, "local_list").definitions  # a local: ctags leaves it out too


def test_tracepoints_and_exports(tree):
    for name, pattern in (
        ("trace_page_fault_user", r"^TRACE_EVENT\(page_fault_user,"),
        ("trace_page_fault_kernel", r"^DEFINE_EVENT\(fault_class, page_fault_kernel,"),
    ):
        report = ksrc(tree, "def", name)
        assert where(report) == set(grep_n(tree, pattern)), name
        assert {d["kind"] for d in report["definitions"]} == {"tracepoint"}
    exported = ksrc(tree, "def", "fault_count")["definitions"]
    assert {(d["file"], d["line"]) for d in exported if d["kind"] == "export"} == set(
        grep_n(tree, r"^EXPORT_SYMBOL_GPL\(fault_count\)")
    )
    asm_export = ksrc(tree, "def", "asm_load_gs_index")["definitions"]
    assert {(d["kind"], d["file"], d["line"]) for d in asm_export} == {
        ("function", *grep_n(tree, r"^SYM_FUNC_START\(asm_load_gs_index\)", ASM)[0]),
        ("export", *grep_n(tree, r"^EXPORT_SYMBOL\(asm_load_gs_index\)", ASM)[0]),
    }


@pytest.mark.parametrize(
    ("symbol", "pattern"),
    [
        ("__x64_sys_rename", r"^SYSCALL_DEFINE2\(rename,"),
        ("__do_sys_rename", r"^SYSCALL_DEFINE2\(rename,"),
        ("sys_rename", r"^SYSCALL_DEFINE2\(rename,"),
        ("rename", r"^SYSCALL_DEFINE2\(rename,"),
        ("sys_fcntl", r"^SYSCALL_DEFINE3\(fcntl,"),
        ("compat_sys_fcntl", r"^COMPAT_SYSCALL_DEFINE3\(fcntl,"),
        ("__ia32_compat_sys_fcntl", r"^COMPAT_SYSCALL_DEFINE3\(fcntl,"),
    ],
)
def test_syscall_symbols_are_defined_by_their_syscall_define(tree, symbol, pattern):
    report = ksrc(tree, "def", symbol)
    assert {(d["file"], d["line"]) for d in report["definitions"] if d["kind"] == "syscall"} == set(
        grep_n(tree, pattern)
    )


def test_ops_on_a_name_that_occurs_nowhere_says_so(tree):
    name = "ext4_filemap_fault"
    assert subprocess.run(["grep", "-rqw", name, "."], cwd=tree).returncode == 1  # grep: nowhere
    result = run_kernlab("ksrc", "--tree", str(tree), "ops", name, env=_env(tree))
    assert result.code == EMPTY_ANSWER, result.stderr
    text = " ".join(result.stdout.split())
    assert f"{name} occurs nowhere in this tree's code" in text
    assert "called directly" not in text
    report = ksrc(tree, "ops", name)
    assert report["used_in_files"] == 0 and report["definitions"] == []


def test_ops_on_an_unbound_function_counts_the_files_using_it(tree):
    # vfs_rename is defined and called but bound in no table: "called directly" is right here.
    refs = ksrc(tree, "refs", "vfs_rename")["references"]
    report = ksrc(tree, "ops", "vfs_rename")
    assert report["bindings"] == []
    assert report["used_in_files"] == len({r["file"] for r in refs}) > 0
    result = run_kernlab("ksrc", "--tree", str(tree), "ops", "vfs_rename", env=_env(tree))
    assert result.code == EMPTY_ANSWER
    assert "called directly" in " ".join(result.stdout.split())


def test_def_tells_used_but_undefined_from_nowhere(tree):
    # `call do_syscall_64` in entry_64.S uses a function this cut-down tree does not define.
    users = subprocess.run(["grep", "-rlw", "do_syscall_64", "."], cwd=tree, capture_output=True, text=True)
    used = ksrc(tree, "def", "do_syscall_64")
    assert used["definitions"] == [] and used["used_in_files"] == len(users.stdout.split()) == 1
    nowhere = ksrc(tree, "def", "no_such_symbol_anywhere")
    assert nowhere["used_in_files"] == 0
    said = run_kernlab("ksrc", "--tree", str(tree), "def", "do_syscall_64", env=_env(tree))
    assert "occurs nowhere" not in said.stdout and "Nothing in this tree defines" in " ".join(
        said.stdout.split()
    )


@pytest.mark.parametrize(
    ("args", "found"),
    [
        (["def", "exc_page_fault"], True),
        (["def", "no_such_symbol_anywhere"], False),
        (["ops", "ext4_rename2"], True),
        (["ops", "ext4_filemap_fault"], False),
        (["syscall", "rename"], True),
        (["syscall", "oldrename"], False),
        (["refs", "vfs_rename"], True),
        (["refs", "no_such_symbol_anywhere"], False),
    ],
)
def test_an_empty_answer_exits_with_its_own_status(tree, args, found):
    # Like grep: 0 with an answer, a distinct status without one, in both output modes; errors
    # keep their own codes (a bad name is 3).
    for extra in ([], ["--json"]):
        result = run_kernlab("ksrc", "--tree", str(tree), *args, *extra, env=_env(tree))
        assert result.code == (0 if found else EMPTY_ANSWER), result.stderr
        assert result.stderr == ""
    assert EMPTY_ANSWER not in (0, 1, 2, 3, 4, 5, 6, 7, 130)


def test_an_index_of_an_older_format_is_rebuilt(tmp_path, monkeypatch):
    from kernlab.source.ksrc.index import INDEX_FORMAT, index_location

    copy = tmp_path / "tree"
    shutil.copytree(FIXTURE, copy)
    assert ksrc(copy, "def", "vfs_rename")["index"]["built_now"] is True
    monkeypatch.setenv("KERNLAB_CACHE_DIR", _env(copy)["KERNLAB_CACHE_DIR"])
    meta = index_location(copy) / "meta.json"
    # What an index written before .S files and definition macros were indexed looks like.
    data = json.loads(meta.read_text())
    assert data["format"] == INDEX_FORMAT
    data["format"] = INDEX_FORMAT - 1
    meta.write_text(json.dumps(data))
    again = ksrc(copy, "def", "entry_SYSCALL_64")
    assert again["index"]["built_now"] is True
    assert where(again) == set(grep_n(copy, r"SYM_CODE_START\(entry_SYSCALL_64\)", ASM))


def test_index_counts_assembly_files(tree):
    info = ksrc(tree, "index")
    sources = [p for p in tree.rglob("*") if p.is_file() and p.suffix in (".c", ".h", ".S")]
    assert info["files"] == len(sources)
    assert info["source_bytes"] == sum(p.stat().st_size for p in sources)
    assert any(p.suffix == ".S" for p in sources)


def _big_tree(root: Path, files: int, functions: int) -> Path:
    """A kernel-like tree whose index takes seconds to build."""
    shutil.copytree(FIXTURE, root)
    body = "".join(
        f"static int gen_{{n}}_{i}(struct inode *inode, int mode)\n{{\n"
        f"\tif (mode > {i})\n\t\treturn gen_helper(inode, mode - {i});\n\treturn 0;\n}}\n\n"
        for i in range(functions)
    )
    folder = root / "drivers" / "generated"
    folder.mkdir(parents=True)
    for n in range(files):
        (folder / f"gen{n}.c").write_text(body.replace("{n}", str(n)))
    return root


def test_first_query_shows_indexing_progress_on_a_terminal(tmp_path):
    """The index build reports files done; the CLI draws it on stderr, on a terminal, after 1 s."""
    tree = _big_tree(tmp_path / "big", files=400, functions=300)
    # The bar waits 0.2 s here instead of 1 s, so a fast machine still builds long enough to see it.
    env = {"KERNLAB_CACHE_DIR": str(tmp_path / "cache"), "KERNLAB_PROGRESS_DELAY": "0.2"}
    status, stdout, terminal = run_on_a_terminal(["ksrc", "--tree", str(tree), "def", "gen_7_7"], env)
    assert status == 0, terminal
    build = json.loads(
        run_kernlab("ksrc", "--tree", str(tree), "index", "--json", env=env).stdout
    )  # the cached index: how long the build took
    assert build["built_now"] is False
    assert build["build_seconds"] > 0.5, "the generated tree indexed too fast to test the bar"
    shown = terminal.decode(errors="replace")
    assert "Indexing the source tree" in shown
    # The bar counts files done: a count of files indexed (up to all of them) appears on it.
    counts = {int(c.replace(",", "")) for c in re.findall(r"\b(\d[\d,]*)\b", shown)}
    assert any(0 < c <= build["files"] for c in counts), shown[-500:]
    assert b"Indexing" not in stdout  # stdout stays clean for pipes
    # Answered from the index: a quick query draws nothing at all.
    status, _, quick = run_on_a_terminal(["ksrc", "--tree", str(tree), "def", "gen_7_7"], env)
    assert status == 0 and b"Indexing" not in quick
    # Not a terminal: no bar, even for a build (stderr stays empty).
    shutil.rmtree(tmp_path / "cache")
    piped = run_kernlab("ksrc", "--tree", str(tree), "def", "gen_7_7", env=env, timeout=300)
    assert piped.code == 0 and piped.stderr == ""


def test_build_index_reports_files_done_through_its_callback(tmp_path, monkeypatch):
    from kernlab.source.ksrc.index import build_index, list_sources

    tree = _big_tree(tmp_path / "big", files=60, functions=200)
    monkeypatch.setenv("KERNLAB_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[tuple[int, int]] = []
    info = build_index(tree, progress=lambda done, total: calls.append((done, total)))
    total = len(list_sources(tree)[0])
    assert info.files == total
    assert calls and calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)  # never goes back
