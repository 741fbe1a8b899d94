"""views.syscall: reports of fixed figures printed for a person, with their sentences."""

from __future__ import annotations

from kernlab import explain
from kernlab.elf.disasm import Disassembly, Instruction, SyscallNote
from kernlab.render.output import Output
from kernlab.render.views import syscall as view
from kernlab.reports.syscall import (
    ArgumentInfo,
    LibcWrapper,
    ListedSyscall,
    Note,
    SyscallDescription,
    SyscallList,
    SyscallWithWrapper,
)
from kernlab.syscalls.errnos import Errno
from kernlab.syscalls.tables import Syscall, TableInfo

RENAME = Syscall("x86_64", 82, "rename", "common", "sys_rename", "__x64_sys_rename")
TABLE = TableInfo("x86_64", "6.1.192", "syscall_64.tbl", "abi common and 64", 2)


def _description(**changes: object) -> SyscallDescription:
    fields: dict[str, object] = {
        "syscall": RENAME,
        "table": TABLE,
        "instruction": "syscall",
        "number_register": "rax",
        "running_kernel": "6.1.0-40-amd64",
        "native": True,
        "in_kallsyms": True,
        "kallsyms_note": None,
        "arguments": [
            ArgumentInfo(0, "rdi", "oldname", "const char *"),
            ArgumentInfo(1, "rsi", "newname", "const char *"),
        ],
        "arguments_note": None,
        "machine": "x86_64",
    }
    fields.update(changes)
    return SyscallDescription(**fields)  # type: ignore[arg-type]


GOLDEN = "".join(
    [
        "rename (x86_64)\n",
        "  Number:            82 (0x52)\n",
        "  ABI:               common\n",
        "  Table entry:       sys_rename\n",
        "  Kernel symbol:     __x64_sys_rename\n",
        "  In /proc/kallsyms: yes\n",
        "  Trap:              syscall, number in %rax\n",
        "  Table source:      Linux 6.1.192: syscall_64.tbl\n",
        "\n",
        "Arguments (events/syscalls/sys_enter_rename/format)\n",
        "\n",
        " #   register   name      type\n",
        " ─────────────────────────────────────\n",
        " 0   rdi        oldname   const char *\n",
        " 1   rsi        newname   const char *\n",
        "\n",
        "→ rename is system call 82 (0x52) on x86_64: a program puts 82 in %rax, its"
        " arguments in rdi, rsi, and executes `syscall`; the kernel runs"
        " __x64_sys_rename, which /proc/kallsyms lists on this kernel.\n",
        "→ The table comes from Linux 6.1.192; the running kernel is 6.1.0-40-amd64.\n",
    ]
)


def test_description_golden(capsys):
    view.show(_description(), Output())
    assert capsys.readouterr().out == GOLDEN


def test_notes_become_text_only_at_render_time(capsys):
    report = _description(
        native=False,
        in_kallsyms=None,
        kallsyms_note=Note.FOREIGN_KERNEL,
        arguments=None,
        arguments_note=Note.UNREADABLE,
        arguments_error="cannot read format: tracefs needs root",
    )
    view.show(report, Output())
    out = capsys.readouterr().out
    assert "In /proc/kallsyms: the running kernel is x86_64: its kallsyms cannot hold these entries" in out
    assert "→ Arguments are not shown: cannot read format: tracefs needs root." in out
    explain.set_language("ko")
    try:
        view.show(report, Output())
    finally:
        explain.set_language("en")
    korean = capsys.readouterr().out
    assert "its kallsyms cannot hold" not in korean and any("\uac00" <= ch <= "\ud7a3" for ch in korean)


def test_list_marks_calls_newer_than_the_table(capsys):
    listing = SyscallList(
        table=TABLE,
        running_kernel="6.12.0",
        native=True,
        syscalls=[
            ListedSyscall(82, "rename", "__x64_sys_rename", True, True),
            ListedSyscall(83, "mkdir", "__x64_sys_mkdir", False, True),
            ListedSyscall(None, "mseal", "__x64_sys_mseal", True, False),
        ],
        tracefs_note=None,
        only_in_running_kernel=["mseal"],
        machine="x86_64",
        missing_here=["mkdir"],
        table_newer=False,
    )
    view.show(listing, Output())
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "x86_64 system calls (Linux 6.1.192)"
    assert ["82", "0x52", "rename", "__x64_sys_rename", "yes"] in [line.split() for line in lines]
    assert any(
        line.split()[:3] == ["mseal", "__x64_sys_mseal", "yes"]
        and "unknown to kernlab's table (newer than Linux 6.1)" in line
        for line in lines
    )
    sentences = [line for line in lines if line.startswith("→")]
    assert sentences == [
        "→ System calls in the x86_64 table of Linux 6.1.192: 2; "
        "entry symbols of them in this kernel's /proc/kallsyms: 1 of 2.",
        "→ 1 call of the table is not in this kernel's /proc/kallsyms: mkdir; this kernel was built "
        "without it, or it was removed or renamed after Linux 6.1.192.",
        "→ The running kernel 6.12.0 has 1 system call whose number is unknown to kernlab's table "
        "(newer than Linux 6.1); its tracefs events name it: mseal.",
    ]


def test_list_with_a_table_newer_than_the_kernel_names_the_calls_it_lacks(capsys):
    """A 7.3 table on a 6.18 kernel: the table's newest calls are not in kallsyms because the
    kernel predates them, not because they were removed."""
    newer = TableInfo("x86_64", "7.3.4", "syscall_64.tbl", "abi common and 64", 3, "Debian", 472)
    listing = SyscallList(
        table=newer,
        running_kernel="6.18.44",
        native=True,
        syscalls=[
            ListedSyscall(82, "rename", "__x64_sys_rename", True, True),
            ListedSyscall(470, "listns", "__x64_sys_listns", False, True),
            ListedSyscall(471, "rseq_slice_yield", "__x64_sys_rseq_slice_yield", False, True),
        ],
        tracefs_note=None,
        only_in_running_kernel=[],
        machine="x86_64",
        missing_here=["listns", "rseq_slice_yield"],
        table_newer=True,
    )
    view.show(listing, Output())
    sentences = [line for line in capsys.readouterr().out.splitlines() if line.startswith("→")]
    assert sentences[1:] == [
        "→ 2 calls of the table are not in this kernel's /proc/kallsyms: listns, rseq_slice_yield; the "
        "table comes from Linux 7.3.4, newer than the running kernel 6.18.44, which predates them or "
        "was built without them.",
        "→ Every system call the running kernel 6.18.44 names in tracefs has its number in kernlab's table.",
    ]


def test_foreign_list_names_the_running_machine(capsys):
    listing = SyscallList(TABLE, "6.12.0", False, [], Note.FOREIGN_KERNEL, [], "aarch64")
    view.show(listing, Output())
    out = capsys.readouterr().out
    assert "this aarch64 kernel does not run x86_64 code natively" in out
    assert "tracefs names the running aarch64 kernel's calls, not x86_64's" in out


def test_libc_wrapper_listing_and_path(capsys):
    note = SyscallNote(82, "rename", "x86_64", 0x58A80)
    load = Instruction(0x58A80, bytes.fromhex("b852000000"), "mov", "$0x52,%eax", loads_syscall_number=True)
    trap = Instruction(0x58A85, bytes.fromhex("0f05"), "syscall", "", syscall=note)
    dis = Disassembly(
        "libc.so.6", "x86_64", "att", "rename@@GLIBC_2.2.5", 0x58A80, 7, ".text", [load, trap], [note]
    )
    wrapper = LibcWrapper(
        libc="/lib/libc.so.6",
        syscall=RENAME,
        function="rename@@GLIBC_2.2.5",
        disassembly=dis,
        trap_function="rename@@GLIBC_2.2.5",
        trap_disassembly=None,
        note=note,
        number_register="eax",
        load=load,
        trap=trap,
        kernel_path=["entry_SYSCALL_64", "do_syscall_64", "sys_call_table", "__x64_sys_rename"],
    )
    view.show(SyscallWithWrapper(_description(), wrapper), Output())
    out = capsys.readouterr().out
    assert out.startswith(GOLDEN)
    rest = out[len(GOLDEN) :].splitlines()
    assert rest[:2] == ["", "libc's wrapper (/lib/libc.so.6)"]
    assert rest[2] == "0000000000058a80 <rename@@GLIBC_2.2.5>:"
    assert rest[-1] == (
        "→ libc's rename loads 0x52 (82) into %eax and executes syscall: the kernel's "
        "entry_SYSCALL_64 → do_syscall_64 → sys_call_table[82] → __x64_sys_rename."
    )


def test_errno(capsys):
    view.show(Errno(2, "ENOENT", (), "No such file or directory", "No such file or directory", -2), Output())
    out = capsys.readouterr().out
    assert "Returned by the kernel: -2 (0xfffffffffffffffe in a 64-bit register)" in " ".join(out.split())
    assert out.splitlines()[-1].startswith("→ A system call that fails with ENOENT returns -2;")
