"""views.ksrc: reports of fixed figures printed as tables and fields, then their sentences."""

from __future__ import annotations

from kernlab.render.output import Output
from kernlab.render.views import ksrc as view
from kernlab.reports.ksrc import (
    DefReport,
    InfoReport,
    OpsReport,
    RefsReport,
    RunningKernelSyscall,
    SyscallReport,
)
from kernlab.source.ksrc.index import IndexInfo
from kernlab.source.ksrc.query import Definition, OpsBinding, Reference, SyscallDefinition

CACHED = IndexInfo("/src/linux", "/cache/ksrc/linux-0123", 2, 5_000_000, 1.5, 2, False)
BUILT = IndexInfo("/src/linux", "/cache/ksrc/linux-0123", 34_567, 1_234_000_000, 61.26, 2, True)


def _syscall(in_kallsyms: bool | None = True, event: bool | None = True) -> SyscallReport:
    definitions = (
        SyscallDefinition(
            "rename", "SYSCALL_DEFINE2", 2, "fs/namei.c", 5040, "SYSCALL_DEFINE2(rename, const char *, old)"
        ),
        SyscallDefinition(
            "rename", "COMPAT_SYSCALL_DEFINE2", 2, "fs/compat.c", 10, "COMPAT_SYSCALL_DEFINE2(…)"
        ),
    )
    running = RunningKernelSyscall(
        "6.1.0-9-amd64", "__x64_sys_rename", in_kallsyms, "syscalls/sys_enter_rename", event
    )
    return SyscallReport("/src/linux", "rename", definitions, running, CACHED)


SYSCALL_GOLDEN = (
    "System call rename in /src/linux\n"
    "\n"
    " file:line         definition\n"
    " " + "─" * 60 + "\n"
    " fs/namei.c:5040   SYSCALL_DEFINE2(rename, const char *, old)\n"
    " fs/compat.c:10    COMPAT_SYSCALL_DEFINE2(…)\n"
    "\n"
    "running kernel 6.1.0-9-amd64: __x64_sys_rename present; syscalls/sys_enter_rename present\n"
    "→ rename is defined 2 time(s) in this tree; the native one is SYSCALL_DEFINE2(rename, …) with"
    " 2 argument(s) at fs/namei.c:5040.\n"
    "→ The running kernel has it too: __x64_sys_rename is in /proc/kallsyms and tracefs offers the"
    " syscalls/sys_enter_rename event, so its calls can be traced.\n"
    "→ Answered from the cached index (.c, .h and .S files: 2), which is rebuilt automatically when one"
    " of them changes.\n"
)


def test_syscall_view_golden(capsys):
    view.show_syscall(_syscall(), Output())
    assert capsys.readouterr().out == SYSCALL_GOLDEN


def test_syscall_view_unknown_and_absent(capsys):
    view.show_syscall(_syscall(in_kallsyms=None, event=None), Output(quiet=True))
    assert (
        "running kernel 6.1.0-9-amd64: __x64_sys_rename unknown (kallsyms unreadable); "
        "syscalls/sys_enter_rename unknown (no tracefs)"
    ) in capsys.readouterr().out
    view.show_syscall(_syscall(in_kallsyms=False, event=False), Output())
    out = capsys.readouterr().out
    assert "→ The running kernel 6.1.0-9-amd64 has no __x64_sys_rename in /proc/kallsyms" in out


def test_ops_view_golden(capsys):
    bindings = (
        OpsBinding(
            "ext4_rename2",
            "ext4_dir_inode_operations",
            "struct inode_operations",
            "rename",
            "fs/ext4/namei.c",
            44,
        ),
    )
    defined = (Definition("ext4_rename2", "function", "fs/ext4/namei.c", 27, "static int ext4_rename2("),)
    view.show_ops(OpsReport("/src/linux", "ext4_rename2", bindings, defined, BUILT), Output())
    assert capsys.readouterr().out == (
        "Tables binding ext4_rename2\n"
        "\n"
        " binding                                           table type                file:line\n"
        " " + "─" * 94 + "\n"
        " ext4_dir_inode_operations.rename = ext4_rename2   struct inode_operations   fs/ext4/namei.c:44\n"
        "\n"
        "→ ext4_rename2 is bound 1 time(s); ext4_dir_inode_operations.rename makes it the rename operation"
        " of a struct inode_operations, so the kernel calls it through that table, not by name (defined at"
        " fs/ext4/namei.c:27).\n"
        "→ Built the index in 61.3 s (.c, .h and .S files: 34,567, 1,234 MB; worker processes: 2); later"
        " queries reuse it until a file changes.\n"
    )


def test_def_view_counts_kinds_and_files(capsys):
    found = (
        Definition("ext4_check", "function", "fs/ext4/a.c", 3, "static int ext4_check(void)"),
        Definition("ext4_check", "function", "fs/ext4/a.c", 9, "static int ext4_check(void)"),
        Definition("ext4_check", "macro", "fs/ext4/b.h", 1, "#define ext4_check 0"),
    )
    view.show_def(DefReport("/src/linux", "ext4_check", found, CACHED), Output())
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Definitions of ext4_check"
    assert " function   fs/ext4/a.c:9   static int ext4_check(void)" in out.splitlines()
    assert "→ ext4_check has 3 definition(s) in 2 file(s): 2 function, 1 macro.\n" in out


def test_refs_view_without_index_has_one_sentence(capsys):
    refs = (Reference("fs/namei.c", 10, "vfs_rename(&rd);"), Reference("fs/namei.c", 12, "x = vfs_rename;"))
    view.show_refs(RefsReport("/src/linux", "vfs_rename", 1, refs), Output())
    out = capsys.readouterr().out
    assert " fs/namei.c:12   x = vfs_rename;" in out.splitlines()
    assert [line for line in out.splitlines() if line.startswith("→")] == [
        "→ vfs_rename is used on 2 line(s) of code in 1 file(s), comments and strings left out."
    ]


def test_info_view_golden(capsys):
    report = InfoReport("/src/linux", "6", "1", "42", "-rc1", "Hurr", "6.1.42-rc1", "6.1.0-9-amd64", True)
    view.show_info(report, Output())
    assert capsys.readouterr().out == (
        "  tree:          /src/linux\n"
        "  VERSION:       6\n"
        "  PATCHLEVEL:    1\n"
        "  SUBLEVEL:      42\n"
        "  EXTRAVERSION:  -rc1\n"
        "  NAME:          Hurr\n"
        "  kernelversion: 6.1.42-rc1\n"
        "  uname -r:      6.1.0-9-amd64\n"
        "→ The tree is 6.1.42-rc1 and this machine runs 6.1.0-9-amd64: the same VERSION.PATCHLEVEL, so this"
        " source describes the running kernel's base.\n"
    )


def test_index_view_golden(capsys):
    view.show_index(BUILT, Output(quiet=True))
    assert capsys.readouterr().out == (
        "  tree:       /src/linux\n"
        "  index:      /cache/ksrc/linux-0123\n"
        "  files:      34,567\n"
        "  source:     1,234 MB\n"
        "  build time: 61.3 s (2 workers)\n"
    )


def test_sentences_speak_korean_at_render_time(capsys):
    from kernlab import explain

    report = _syscall()
    explain.set_language("ko")
    try:
        view.show_syscall(report, Output())
    finally:
        explain.set_language("en")
    sentences = [line for line in capsys.readouterr().out.splitlines() if line.startswith("→")]
    assert len(sentences) == 3
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in s) for s in sentences)


def test_ops_view_says_when_a_name_occurs_nowhere(capsys):
    # Not bound, not defined, used in no file: not "called directly", but absent from the tree.
    view.show_ops(OpsReport("/src/linux", "ext4_filemap_fault", (), (), CACHED, 0), Output())
    out = " ".join(capsys.readouterr().out.split())
    assert "→ ext4_filemap_fault occurs nowhere in this tree's code" in out
    assert "called directly" not in out
    # Used in 3 files but bound in no table: called directly (or bound by a macro).
    view.show_ops(OpsReport("/src/linux", "vfs_rename", (), (), CACHED, 3), Output())
    out = " ".join(capsys.readouterr().out.split())
    assert "occurs nowhere" not in out and "called directly" in out


def test_def_view_tells_undefined_from_nowhere(capsys):
    view.show_def(DefReport("/src/linux", "do_syscall_64", (), CACHED, 1), Output())
    out = " ".join(capsys.readouterr().out.split())
    assert "Nothing in this tree defines do_syscall_64, though its code uses it" in out
    view.show_def(DefReport("/src/linux", "no_such_name", (), CACHED, 0), Output())
    assert "no_such_name occurs nowhere in this tree's code" in " ".join(capsys.readouterr().out.split())


def test_def_view_lists_assembly_and_macro_kinds(capsys):
    found = (
        Definition(
            "entry_SYSCALL_64", "code", "arch/x86/entry/entry_64.S", 87, "SYM_CODE_START(entry_SYSCALL_64)"
        ),
        Definition(
            "asm_load_gs_index",
            "export",
            "arch/x86/entry/entry_64.S",
            805,
            "EXPORT_SYMBOL(asm_load_gs_index)",
        ),
    )
    view.show_def(DefReport("/src/linux", "entry_SYSCALL_64", found, CACHED), Output())
    out = capsys.readouterr().out
    assert " code     arch/x86/entry/entry_64.S:87    SYM_CODE_START(entry_SYSCALL_64)" in out.splitlines()
    assert ": 1 code, 1 export." in out  # the kinds, counted


def test_nowhere_sentences_speak_korean(capsys):
    from kernlab import explain

    explain.set_language("ko")
    try:
        view.show_ops(OpsReport("/src/linux", "ext4_filemap_fault", (), (), CACHED, 0), Output())
        view.show_def(DefReport("/src/linux", "do_syscall_64", (), CACHED, 1), Output())
    finally:
        explain.set_language("en")
    sentences = [line for line in capsys.readouterr().out.splitlines() if line.startswith("→")]
    assert sentences[0].startswith("→ ext4_filemap_fault는 이 트리의 코드 어디에도 없습니다")
    assert "do_syscall_64의 정의가 없지만" in sentences[2]
    assert all("(은)" not in s and "(는)" not in s for s in sentences)
