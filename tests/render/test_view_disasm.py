"""views.disasm: a listing of fixed instructions printed as objdump -d prints it, with sentences."""

from __future__ import annotations

from kernlab import explain
from kernlab.elf.disasm import Instruction, SyscallNote
from kernlab.render.output import Output
from kernlab.render.views import disasm as view
from kernlab.reports.disasm import DisasmReport, SyscallSite

NOTE = SyscallNote(39, "getpid", "x86_64", 0x1180)


def _report() -> DisasmReport:
    instructions = [
        Instruction(0x1180, bytes.fromhex("b827000000"), "mov", "$0x27,%eax", loads_syscall_number=True),
        Instruction(0x1185, bytes.fromhex("0f05"), "syscall", "", syscall=NOTE),
        Instruction(0x1187, bytes.fromhex("e8a4feffff"), "call", "1030 <puts@plt>", 0x1030, "puts@plt"),
        Instruction(
            0x118C,
            bytes.fromhex("8b05862e0000"),
            "mov",
            "0x2e86(%rip),%eax",
            0x4018,
            "counter",
            "# 4018 <counter>",
        ),
        Instruction(0x1192, bytes.fromhex("c3"), "ret", ""),
    ]
    return DisasmReport(
        path="prog",
        arch="x86_64",
        syntax="att",
        function="raw_getpid",
        start=0x1180,
        size=19,
        section=".text",
        instructions=instructions,
        syscalls=[NOTE],
        address_bits=64,
        calls=("puts@plt",),
        syscall_sites=(SyscallSite(39, "getpid", "x86_64", 1),),
        plt_calls=("puts@plt",),
    )


GOLDEN = "".join(
    [
        "prog: x86_64, section .text, 19 bytes, AT&T syntax\n",
        "0000000000001180 <raw_getpid>:\n",
        "      1180:     b8 27 00 00 00          mov    $0x27,%eax\n",
        "      1185:     0f 05                   syscall   → getpid(2), nr 39 = 0x27\n",
        "      1187:     e8 a4 fe ff ff          call   1030 <puts@plt>\n",
        "      118c:     8b 05 86 2e 00 00       mov    0x2e86(%rip),%eax        # 4018 <counter>\n",
        "      1192:     c3                      ret\n",
        "→ 5 instructions in 19 bytes of raw_getpid; it calls 1 other function by name.\n",
        "→ Calls go to: puts@plt.\n",
        "→ A name@plt target (puts@plt) is a PLT stub: it jumps through its GOT slot into a"
        " shared library.\n",
        "→ Here the program enters the kernel once: getpid is system call 39 (0x27) on"
        " x86_64, loaded into the number register before the trap instruction.\n",
    ]
)


def test_view_prints_objdumps_listing_and_the_sentences(capsys):
    view.show(_report(), Output())
    # rich expands objdump's tabs to 8-column stops, as a terminal would.
    assert capsys.readouterr().out == GOLDEN


def test_view_quiet_keeps_the_listing_only(capsys):
    view.show(_report(), Output(quiet=True))
    out = capsys.readouterr().out
    assert "→ getpid(2)" in out
    assert not [line for line in out.splitlines() if line.startswith("→")]


def test_unknown_call_at_several_places_and_no_calls(capsys):
    report = _report()
    other = DisasmReport(
        **{
            **report.__dict__,
            "calls": (),
            "plt_calls": (),
            "syscall_sites": (SyscallSite(999, None, "x86_64", 2),),
        }
    )
    view.show(other, Output())
    out = capsys.readouterr().out
    assert "it calls no other function by name" in out and "Calls go to" not in out
    assert "PLT stub" not in out
    assert "enters the kernel at 2 places: an unknown call is system call 999 (0x3e7)" in out


def test_view_speaks_korean_at_render_time(capsys):
    report = _report()
    explain.set_language("ko")
    try:
        view.show(report, Output())
    finally:
        explain.set_language("en")
    out = capsys.readouterr().out
    assert "0000000000001180 <raw_getpid>:" in out
    assert "instructions in" not in out and any("\uac00" <= ch <= "\ud7a3" for ch in out)


def test_got_call_is_said_for_what_it_is(capsys):
    from kernlab.reports.disasm import GotCall

    report = _report()
    other = DisasmReport(
        **{
            **report.__dict__,
            "calls": (),
            "plt_calls": (),
            "got_calls": (GotCall(0x3FC0, "__libc_start_main@GLIBC_2.34"),),
        }
    )
    view.show(other, Output())
    out = " ".join(capsys.readouterr().out.split())
    assert "__libc_start_main@GLIBC_2.34 is called indirectly through the GOT slot at 0x3fc0" in out
    assert "ld.so fills when it loads the program" in out and "name@plt" not in out


def test_file_listing_is_objdumps_layout(capsys):
    """A whole-file report: objdump's header, section line, label, padded address and raw
    column, a continuation line for the 8th byte on, `...` for zeros, and the trap's note."""
    from kernlab.elf.disasm.whole import Block, CodeSection
    from kernlab.reports.disasm import FileDisasmReport, FileTally

    rows = [
        (0x1180, bytes.fromhex("b827000000"), "mov    $0x27,%eax", None),
        (0x1185, bytes.fromhex("0f05"), "syscall", NOTE),
        (0x1187, bytes.fromhex("66662e0f1f840000000000"), "data16 cs nopw 0x0(%rax,%rax,1)", None),
        (0x1192, b"", "...", None),
    ]
    block = Block(".text", 0x1180, "raw_getpid", rows, frozenset({0x1180}))
    report = FileDisasmReport(
        "prog",
        "x86_64",
        "att",
        "elf64-x86-64",
        64,
        (CodeSection(".text", 0x1180, 0x20, 8),),
        FileTally(),
        (block,),
    )
    view.show_file(report, Output(quiet=True))
    assert capsys.readouterr().out == (
        "\nprog:     file format elf64-x86-64\n\n"
        "\nDisassembly of section .text:\n"
        "\n0000000000001180 <raw_getpid>:\n"
        "    1180:\tb8 27 00 00 00       \tmov    $0x27,%eax\n"
        "    1185:\t0f 05                \tsyscall   → getpid(2), nr 39 = 0x27\n"
        "    1187:\t66 66 2e 0f 1f 84 00 \tdata16 cs nopw 0x0(%rax,%rax,1)\n"
        "    118e:\t00 00 00 00 \n"
        "\t...\n"
    )
    assert report.tally.instructions == 3 and report.tally.syscalls == {"getpid": 1}
