"""Errors of the readers (disasm, kernel, struct, ksrc, replay, maps, stat, BTF, event formats,
tracefs instances, page flags, git), said in the language asked for, exit codes unchanged.

CLI cases run the real command on a bad input a learner can give: a PLT entry or symbol the
file lacks, an address in no section or in a data section, a data symbol, a system call libc
has no wrapper for, a kallsyms file that is not there, a structure BTF does not have, a folder
outside any kernel tree, a bad ``-t`` for replay, a recording made without --functions. The
figures the English line names (a section and its flags, a symbol's type and section, a BTF
type id) are checked against readelf and the kernel's own BTF.

In-process cases check, for readers the CLI reaches only with damaged or unusual input, that the
English catalog sentence filled with the error's fields is word for word ``str(error)`` and the
Korean line is Korean (tests/cli/test_errors_ko_recording.py's contract).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from kernlab.errors import BadInput, KernlabError, NotSupported
from tests.cli.test_errors_ko import HANGUL, _check, english_runs
from tests.cli.test_errors_ko_recording import _raised, _said, _same_in_both
from tests.conftest import run_kernlab

TRUE = shutil.which("true") or "/bin/true"
VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")


def _readelf(*args: str) -> str:
    if shutil.which("readelf") is None:
        pytest.skip("readelf (binutils) is not installed")
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, check=True).stdout


def _sections(path: str) -> dict[str, tuple[int, str]]:
    """name -> (address, flags) as readelf -S prints them."""
    found = {}
    for line in _readelf("-S", path).splitlines():
        match = re.match(
            r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+([A-Za-z]*)\s+\d", line
        )
        if match:
            found[match.group(1)] = (int(match.group(2), 16), match.group(3))
    return found


def _same_around_reason(error: KernlabError) -> None:
    """_same_in_both for an error whose reason is the OS's or a tool's own English (strerror,
    git's message): the sentence around it is Korean, the reason is kept as it was said."""
    english, korean = _said(error)
    assert english == str(error)
    reason = str(error.fields["reason"])
    assert reason in korean and HANGUL.search(korean.replace(reason, "")), korean
    assert english_runs(korean.replace(reason, "")) == [], korean


# --------------------------------------------------------------------------- disasm, syscall --libc


def test_disasm_a_plt_entry_the_file_lacks():
    _check(
        ["disasm", TRUE, "nosuchfunction@plt"], BadInput.exit_code, "no PLT entry named nosuchfunction@plt"
    )


def test_disasm_an_address_in_no_section():
    sections = _sections(TRUE)
    assert sections, "readelf -S listed no section"
    assert all(address != 0 or flags == "" for address, flags in sections.values() if "A" in flags)
    _check(["disasm", TRUE, "--address", "0x0"], BadInput.exit_code, "is not inside any section of the file")


def test_disasm_an_address_in_a_data_section():
    sections = _sections(TRUE)
    name = next((n for n in (".rodata", ".data", ".dynsym") if n in sections and sections[n][0]), None)
    if name is None:
        pytest.skip(f"{TRUE} has no .rodata, .data or .dynsym at an address")
    address, flags = sections[name]
    assert "X" not in flags
    _check(
        ["disasm", TRUE, "--address", hex(address)],
        BadInput.exit_code,
        f"address {address:#x} is in {name}, which is not code (section flags {flags}, no X)",
    )


def test_disasm_a_data_symbol_of_libc():
    from kernlab.elf.disasm.libc import find_libc

    libc = find_libc()
    symbols = _readelf("-s", "--dyn-syms", libc)
    row = next(
        (
            s
            for s in (line.split() for line in symbols.splitlines())
            if len(s) >= 8 and s[7].split("@")[0] == "environ"
        ),
        None,
    )
    if row is None or row[3] != "OBJECT":
        pytest.skip(f"{libc} exports no OBJECT symbol environ")
    index = int(row[6])
    section = next(
        line.split()[1] for line in _readelf("-S", libc).splitlines() if re.match(rf"\s*\[\s*{index}\]", line)
    )
    _check(
        ["disasm", libc, "environ"],
        BadInput.exit_code,
        f"environ is a data symbol (type OBJECT) in {section}, not code",
    )


def test_syscall_libc_has_no_wrapper_for():
    # glibc wraps kexec_load but not kexec_file_load (it is called through syscall(2)).
    from kernlab.elf.disasm.libc import find_libc

    if "kexec_file_load" in _readelf("-s", "--dyn-syms", find_libc()):
        pytest.skip("this libc exports kexec_file_load")
    _check(
        ["syscall", "kexec_file_load", "--libc"], BadInput.exit_code, "exports no wrapper for kexec_file_load"
    )


# --------------------------------------------------------------------------- kernel, struct, ksrc


def test_kernel_with_a_kallsyms_file_that_is_not_there(tmp_path):
    missing = tmp_path / "kallsyms"
    _check(["kernel", "--kallsyms", str(missing)], NotSupported.exit_code, f"{missing} does not exist")


@pytest.fixture(scope="module")
def btf_ids() -> dict[str, list[int]]:
    """The type ids of a few structs in the kernel's BTF, as bpftool (or kernlab's reader) has them."""
    if not VMLINUX_BTF.exists():
        pytest.skip(f"{VMLINUX_BTF} is missing (kernel built without CONFIG_DEBUG_INFO_BTF)")
    from kernlab.source.btf import load_btf

    btf = load_btf()
    return {name: [t.id for t in btf.find_all(name, "STRUCT")] for name in ("task_struct",)}


def test_struct_that_btf_does_not_have(btf_ids):
    _check(
        ["struct", "nosuchstructkernlab"],
        BadInput.exit_code,
        "no struct or union named 'nosuchstructkernlab'",
    )


def test_struct_with_an_id_that_is_not_its_definition(btf_ids):
    ids = btf_ids["task_struct"]
    assert ids, "the kernel's BTF has no struct task_struct"
    if shutil.which("bpftool"):
        listed = subprocess.run(
            ["bpftool", "btf", "dump", "file", str(VMLINUX_BTF)], capture_output=True, text=True
        ).stdout
        assert re.findall(r"^\[(\d+)\] STRUCT 'task_struct'", listed, re.M) == [str(i) for i in ids]
    wrong = 1 if 1 not in ids else max(ids) + 1
    _check(
        ["struct", "task_struct", "--id", str(wrong)],
        BadInput.exit_code,
        f"type id {wrong} is not a definition of 'task_struct' in {VMLINUX_BTF} (those: "
        + ", ".join(map(str, ids)),
    )


def test_ksrc_outside_a_kernel_tree(tmp_path):
    _check(
        ["ksrc", "--tree", str(tmp_path), "syscall", "openat"],
        BadInput.exit_code,
        f"{tmp_path} is not inside a kernel source tree",
    )


# --------------------------------------------------------------------------- replay


def test_replay_with_a_time_that_is_no_time(tmp_path):
    _check(
        ["replay", "-d", str(tmp_path), "-t", "soon"], BadInput.exit_code, "-t 'soon': give a time such as"
    )


def test_replay_of_a_recording_without_functions(tmp_path):
    from tests.recording.rec_util import need_tracing

    need_tracing()
    directory = tmp_path / "rec"
    result = run_kernlab("record", "-d", str(directory), "--", "true", timeout=300)
    assert result.code == 0, result
    _check(["replay", "-d", str(directory)], BadInput.exit_code, "was recorded without --functions")


# --------------------------------------------------------------------------- in process


def test_maps_and_stat_lines_that_are_not():
    from kernlab.proc.maps import parse_maps
    from kernlab.proc.process import _effective_uid, parse_stat

    real = Path("/proc/self/maps").read_text().splitlines()[0]
    for text in ("garbage", real.replace("-", "+", 1), real.replace(real.split()[1], "rw", 1)):
        error = _raised(parse_maps, text + "\n")
        assert str(error).startswith("line 1 is not a maps line: ")
        _same_in_both(error)
    _same_in_both(_raised(parse_maps, f"{real}\nNoColonHere\n"))
    _same_in_both(_raised(parse_maps, "Rss: 4 kB\n"))
    stat = Path("/proc/self/stat").read_text()
    for text in ("no parentheses", stat[: stat.rfind(")") + 4], stat.replace(" ", " x", 1)):
        _same_in_both(_raised(parse_stat, text))
    _same_in_both(_raised(_effective_uid, b"Name:\tx\n"))


def _btf_header(type_len: int, str_len: int) -> bytes:
    return struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, type_len, type_len, str_len)


def test_damaged_btf():
    from kernlab.source.btf import VMLINUX_BTF as DEFAULT_BTF
    from kernlab.source.btf import _btf_missing, parse_btf

    _same_in_both(_raised(parse_btf, _btf_header(400, 0) + b"\0" * 8, "/x/btf"))  # header past the end
    one_int = struct.pack("<III", 0, 1 << 24, 4) + struct.pack("<I", 32)  # an INT: 3 + 1 words
    _same_in_both(_raised(parse_btf, _btf_header(8, 1) + one_int[:8] + b"\0", "/x/btf"))
    unknown = struct.pack("<III", 0, 31 << 24, 0)
    error = _raised(parse_btf, _btf_header(12, 1) + unknown + b"\0", "/x/btf")
    assert "unknown BTF kind 31 at byte 0" in str(error)
    _same_in_both(error)
    _same_in_both(_raised(parse_btf, _btf_header(12, 1) + one_int[:12] + b"\0", "/x/btf"))
    btf = parse_btf(_btf_header(16, 1) + one_int + b"\0", "/x/btf")
    _same_in_both(_raised(btf.type, 2))
    assert isinstance(_btf_missing(DEFAULT_BTF), NotSupported)
    _same_in_both(_btf_missing(DEFAULT_BTF))
    _same_in_both(_btf_missing("/x/module.btf"))


@pytest.fixture(scope="module")
def sched_switch() -> str:
    path = Path("/sys/kernel/tracing/events/sched/sched_switch/format")
    try:
        return path.read_text()
    except OSError:
        pytest.skip(f"cannot read {path} (tracefs needs root)")


def test_event_format_errors(sched_switch):
    from kernlab.tracing.formats import compile_unpacker, parse_format, parse_header_page

    fmt = parse_format(sched_switch, "sched")
    error = _raised(fmt.field, "nosuchfield")
    # The fields it lists are the format file's own, in its order.
    listed = re.findall(r"field:[^;]*?(\w+)(?:\[[^\]]*\])?;", sched_switch)
    assert str(error).endswith(f"(fields: {', '.join(listed)})")
    _same_in_both(error)
    prev_comm = fmt.field("prev_comm")
    assert prev_comm.element_size == 1 and prev_comm.array_len == 16
    _same_in_both(_raised(parse_format, sched_switch.replace("ID: ", "ID: x", 1)))
    lines = [line for line in sched_switch.splitlines() if "field:" in line]
    _same_in_both(_raised(parse_format, sched_switch.replace(lines[0], "\tfield:nonsense", 1)))
    _same_in_both(_raised(parse_format, "\tfield:nonsense\n"))  # before any name: line
    _same_in_both(_raised(parse_header_page, "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"))
    flexible = parse_format("name: x\nID: 1\n\tfield:char buf[];\toffset:8;\tsize:0;\tsigned:0;\n")
    _same_in_both(_raised(compile_unpacker, list(flexible.fields)))
    odd = parse_format("name: x\nID: 1\n\tfield:char c[3];\toffset:8;\tsize:3;\tsigned:0;\n")
    three = [f for f in odd.fields if f.name == "c"]
    if three and three[0].element_size not in (1, 2, 4, 8):
        _same_in_both(_raised(compile_unpacker, three))


def test_buffer_size_the_kernel_refuses(tmp_path):
    """buffer_size_kb refused at open or at write: the kernel's refusal and the likely cause."""
    from kernlab.tracing.instance import Instance

    (tmp_path / "buffer_size_kb").mkdir()  # open(O_WRONLY) of a directory: EISDIR
    error = _raised(Instance(tmp_path).set_buffer_size_kb, 1 << 30)
    assert "not enough memory for 1073741824 KiB per CPU" in str(error)
    assert error.fields["reason"] == os.strerror(errno.EISDIR)
    _same_around_reason(error)
    full = tmp_path / "full"
    full.mkdir()
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full to refuse a write")
    (full / "buffer_size_kb").symlink_to("/dev/full")  # write(2): ENOSPC
    error = _raised(Instance(full).set_buffer_size_kb, 4096)
    assert str(error).startswith(f"cannot write '4096' to {full}/buffer_size_kb: ")
    assert error.fields["reason"] == os.strerror(errno.ENOSPC)
    _same_around_reason(error)


def test_fault_code_and_page_flags():
    from kernlab.mm.fault_codes import _decode_arm64

    error = _raised(_decode_arm64, 0x56000000, "aarch64")  # EC 0x15: an SVC, not an abort
    assert "exception class 0x15" in str(error)
    _same_in_both(error)
    if os.geteuid() != 0 or not Path("/proc/kpageflags").exists():
        pytest.skip("/proc/kpageflags needs root and CONFIG_PROC_PAGE_MONITOR")
    from kernlab.mm.kpageflags import page_flags

    # PFN 2^40 is 4 PiB of 4 KiB pages: past the last frame of any machine.
    error = _raised(page_flags, 1 << 40)
    assert str(error) == "PFN 0x10000000000 is beyond the end of /proc/kpageflags"
    _same_in_both(error)


def test_git_and_folders(tmp_path):
    from kernlab.source.churn import list_entries
    from kernlab.source.git_history import run_git

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    error = _raised(run_git, tmp_path, ["log"])
    # git's own first error line, as `git -C DIR log` prints it.
    said = subprocess.run(
        ["git", "-C", str(tmp_path), "log"], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
    )
    assert said.returncode != 0
    assert str(error) == f"git log failed in {tmp_path}: {said.stderr.splitlines()[0]}"
    _same_around_reason(error)
    _same_around_reason(_raised(list_entries, tmp_path / "missing"))


def test_source_index_errors(tmp_path):
    from kernlab.source.ksrc.store import load_pickle

    garbage = tmp_path / "state.pickle"
    garbage.write_bytes(b"not a pickle")
    _same_around_reason(_raised(load_pickle, garbage))


def test_kallsyms_missing_in_both():
    """/proc/kallsyms missing (a kernel without CONFIG_KALLSYMS) cannot be met here: made directly."""
    from kernlab.kernel.kallsyms import KALLSYMS, _kallsyms_missing

    for error in (_kallsyms_missing(KALLSYMS), _kallsyms_missing("/x/kallsyms")):
        _same_in_both(error)
    english, korean = _said(_kallsyms_missing(KALLSYMS))
    assert "CONFIG_KALLSYMS" in korean and english.endswith("(kernel built without CONFIG_KALLSYMS?)")
    assert isinstance(_kallsyms_missing(KALLSYMS), KernlabError)
