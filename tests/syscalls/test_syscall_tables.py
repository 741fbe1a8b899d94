"""The shipped system-call tables against the kernel headers installed on this machine, and the
generator against the C preprocessor on a crafted asm-generic header.

The tables come from a newer kernel than the installed headers (linux-libc-dev), so every call the
headers number must have the same number in the table, and the table may hold more."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernlab.errors import BadInput
from kernlab.syscalls.tables import UnknownNumber, lookup, table, table_info

REPO = Path(__file__).parents[2]
GENERATOR = REPO / "tools" / "gen_syscall_tables.py"
X86_HEADER_DIR = Path("/usr/include/x86_64-linux-gnu/asm")
AARCH64_HEADER = Path("/usr/aarch64-linux-gnu/include/asm/unistd.h")
# The source the shipped tables were generated from: Debian's linux-source-7.3 (see
# docs/syscalls.md); KERNLAB_LINUX_SOURCE names another copy of the same tarball.
KERNEL_TARBALL = Path(os.environ.get("KERNLAB_LINUX_SOURCE", "/usr/src/linux-source-7.3.tar.xz"))


def header_numbers(path: Path, offset_macro: str | None = None, offset: int = 0) -> dict[str, int]:
    """``__NR_name N`` (or ``(OFFSET + N)``) pairs of a generated unistd_*.h."""
    if not path.exists():
        pytest.skip(f"{path} is missing (linux-libc-dev provides it)")
    out = {}
    for name, value in re.findall(r"^#define __NR_(\w+)\s+(.+)$", path.read_text(), re.M):
        value = value.strip()
        if offset_macro and offset_macro in value:
            value = value.replace(offset_macro, str(offset))
        out[name] = eval(value, {"__builtins__": {}})  # header values are integer expressions
    return out


def preprocessor_macros(header: Path, target: str, include: Path) -> dict[str, str]:
    """``#define`` lines cpp ends up with after including ``header`` for ``target``."""
    cross_cpp = shutil.which(f"{target}-cpp")
    if cross_cpp:
        cmd = [cross_cpp, "-dM", f"-I{include}", str(header)]
    elif shutil.which("clang"):
        cmd = ["clang", f"--target={target}", "-E", "-dM", "-nostdinc", f"-I{include}", str(header)]
    else:
        pytest.skip("needs clang or a cross cpp to preprocess the header")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(re.findall(r"^#define (\w+) (.*)$", proc.stdout, re.M))


def evaluate_nr(macros: dict[str, str]) -> dict[str, int]:
    def value(text: str, depth: int = 0) -> int:
        expanded = re.sub(r"\b__NR\w+\b", lambda m: f"({value(macros[m[0]], depth + 1)})", text)
        return eval(expanded, {"__builtins__": {}})

    skip = {"__NR_syscalls", "__NR_arch_specific_syscall"}
    return {
        k.removeprefix("__NR_"): value(v)
        for k, v in macros.items()
        if k.startswith("__NR_") and k not in skip
    }


def assert_table_extends(ours: dict[str, int], expected: dict[str, int]) -> None:
    """Every call the header numbers has that number in the table (a call is never renumbered);
    the table, from a kernel at least as new, may hold later calls."""
    assert {name: ours.get(name) for name in expected} == expected
    assert len(ours) >= len(expected)


def test_x86_64_table_extends_unistd_64_h():
    expected = header_numbers(X86_HEADER_DIR / "unistd_64.h")
    assert_table_extends({s.name: s.number for s in table("x86_64")}, expected)


def test_i386_table_extends_unistd_32_h():
    expected = header_numbers(X86_HEADER_DIR / "unistd_32.h")
    assert_table_extends({s.name: s.number for s in table("i386")}, expected)


def test_x32_table_extends_unistd_x32_h():
    expected = header_numbers(X86_HEADER_DIR / "unistd_x32.h", "__X32_SYSCALL_BIT", 0x40000000)
    assert_table_extends({s.name: s.number for s in table("x32")}, expected)


def test_aarch64_table_equals_the_preprocessed_header():
    if not AARCH64_HEADER.exists():
        pytest.skip(f"{AARCH64_HEADER} is missing (linux-libc-dev-arm64-cross provides it)")
    macros = preprocessor_macros(AARCH64_HEADER, "aarch64-linux-gnu", AARCH64_HEADER.parents[1])
    expected = evaluate_nr(macros)
    assert_table_extends({s.name: s.number for s in table("aarch64")}, expected)


def test_entries_follow_the_x86_wrapper_naming():
    for call in table("x86_64"):
        if call.entry is None:
            assert call.symbol is None
        elif call.entry.startswith("sys_"):
            assert call.symbol == f"__x64_{call.entry}"
    for call in table("aarch64"):
        if call.entry:
            assert call.symbol == f"__arm64_{call.entry}"


def test_tables_record_where_they_came_from():
    """One source for every architecture: the same kernel version and origin in each file."""
    infos = [table_info(arch) for arch in ("x86_64", "x32", "i386", "aarch64", "riscv64", "arm")]
    for arch, info in zip(("x86_64", "x32", "i386", "aarch64", "riscv64", "arm"), infos, strict=True):
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?\S*", info.kernel_version), info
        assert info.source and info.count == len(table(arch))
        assert info.origin and info.kernel_version.split(".")[0] in info.origin
        assert info.last_number == max(s.number for s in table(arch))
    assert len({(i.kernel_version, i.origin) for i in infos}) == 1


def test_a_number_past_the_table_is_unknown_and_says_the_tables_version():
    info = table_info("x86_64")
    with pytest.raises(UnknownNumber) as caught:
        lookup(info.last_number + 1, "x86_64")
    assert f"unknown to kernlab's x86_64 table (newer than Linux {info.series})" in str(caught.value)
    # A hole inside the table (x86_64 skips 335..423 partly) is unassigned, not unknown.
    numbers = {s.number for s in table("x86_64")}
    hole = next(n for n in range(info.last_number) if n not in numbers)
    with pytest.raises(BadInput) as caught_hole:
        lookup(hole, "x86_64")
    assert not isinstance(caught_hole.value, UnknownNumber)


@pytest.mark.parametrize("key", ["rename", "82", "0x52", "sys_rename", "__x64_sys_rename", 82])
def test_lookup_by_name_number_and_symbol(key):
    expected = header_numbers(X86_HEADER_DIR / "unistd_64.h")["rename"]
    call = lookup(key, "x86_64")
    assert call.name == "rename" and call.number == expected and call.hex == f"{expected:#x}"


def test_lookup_rejects_unknown_names_numbers_and_arches():
    with pytest.raises(BadInput):
        lookup("no_such_call", "x86_64")
    with pytest.raises(BadInput):
        lookup(99999, "x86_64")
    with pytest.raises(BadInput):
        lookup("read", "vax")


# A header with the constructs the generator must understand, checked against cpp itself.
CRAFTED_GENERIC = """\
#include <asm/bitsperlong.h>
#ifndef __SYSCALL
#define __SYSCALL(x, y)
#endif
#if __BITS_PER_LONG == 32 || defined(__SYSCALL_COMPAT)
#define __SC_3264(_nr, _32, _64) __SYSCALL(_nr, _32)
#else
#define __SC_3264(_nr, _32, _64) __SYSCALL(_nr, _64)
#endif
#ifdef __SYSCALL_COMPAT
#define __SC_COMP(_nr, _sys, _comp) __SYSCALL(_nr, _comp)
#define __SC_COMP_3264(_nr, _32, _64, _comp) __SYSCALL(_nr, _comp)
#else
#define __SC_COMP(_nr, _sys, _comp) __SYSCALL(_nr, _sys)
#define __SC_COMP_3264(_nr, _32, _64, _comp) __SC_3264(_nr, _32, _64)
#endif
#define __NR_io_setup 0
__SC_COMP(__NR_io_setup, sys_io_setup, compat_sys_io_setup)
#if defined(__ARCH_WANT_TIME32_SYSCALLS) || __BITS_PER_LONG != 32
#define __NR_io_getevents 4
__SC_3264(__NR_io_getevents, sys_io_getevents_time32, sys_io_getevents)
#endif
#ifdef __ARCH_WANT_RENAMEAT
#define __NR_renameat 38
__SYSCALL(__NR_renameat, sys_renameat)
#endif /* __ARCH_WANT_RENAMEAT */
#ifdef __ARCH_WANT_NOT_WANTED
#define __NR_unwanted 39
__SYSCALL(__NR_unwanted, sys_unwanted)
#endif
#define __NR3264_fcntl 25
__SC_COMP_3264(__NR3264_fcntl, sys_fcntl64, sys_fcntl, \\
    compat_sys_fcntl64)
#define __NR_nfsservctl 42
__SYSCALL(__NR_nfsservctl, sys_ni_syscall)
#if defined(__SYSCALL_COMPAT) || __BITS_PER_LONG == 32
#define __NR_clock_gettime64 403
__SYSCALL(__NR_clock_gettime64, sys_clock_gettime)
#endif
#define __NR_arch_specific_syscall 244
#undef __NR_syscalls
#define __NR_syscalls 451
#if __BITS_PER_LONG == 64 && !defined(__SYSCALL_COMPAT)
#define __NR_fcntl __NR3264_fcntl
#else
#define __NR_fcntl64 __NR3264_fcntl
#endif
"""

CRAFTED_ARCH = """\
#define __ARCH_WANT_RENAMEAT
#include <asm-generic/unistd.h>
#ifndef __NR_special_flush
#define __NR_special_flush (__NR_arch_specific_syscall + 15)
#endif
__SYSCALL(__NR_special_flush, sys_special_flush)
"""


def _crafted_tree(root: Path) -> Path:
    (root / "include/uapi/asm-generic").mkdir(parents=True)
    (root / "include/uapi/asm-generic/unistd.h").write_text(CRAFTED_GENERIC)
    for arch in ("arm64", "riscv"):
        (root / f"arch/{arch}/include/uapi/asm").mkdir(parents=True)
        (root / f"arch/{arch}/include/uapi/asm/unistd.h").write_text(CRAFTED_ARCH)
    x86 = root / "arch/x86/entry/syscalls"
    x86.mkdir(parents=True)
    (x86 / "syscall_64.tbl").write_text(
        "# comment\n0\tcommon\tread\t\t\tsys_read\n13\t64\trt_sigaction\tsys_rt_sigaction\n"
        "134\t64\tuselib\n512\tx32\trt_sigaction\tcompat_sys_rt_sigaction\n"
    )
    (x86 / "syscall_32.tbl").write_text(
        "5\ti386\topen\tsys_open\tcompat_sys_open\n6\ti386\tclose\tsys_close\n"
    )
    (root / "Makefile").write_text(
        "VERSION = 9\nPATCHLEVEL = 8\nSUBLEVEL = 7\nEXTRAVERSION = -rc1\nNAME = Test\n"
    )
    (root / "include/asm").mkdir(parents=True)
    (root / "include/asm/bitsperlong.h").write_text("#define __BITS_PER_LONG 64\n")
    return root


def test_generator_agrees_with_cpp_on_a_crafted_tree(tmp_path):
    tree = _crafted_tree(tmp_path / "linux")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--source", str(tree), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "aarch64.json").read_text())
    assert doc["kernel_version"] == "9.8.7-rc1"
    ours = {s["name"]: s["number"] for s in doc["syscalls"]}
    header = tree / "arch/arm64/include/uapi/asm/unistd.h"
    include = tree / "include/uapi"
    if not shutil.which("clang"):
        pytest.skip("clang is not installed")
    cmd = [
        "clang",
        "--target=aarch64-linux-gnu",
        "-E",
        "-dM",
        "-nostdinc",
        f"-I{include}",
        f"-I{tree / 'include'}",
    ]
    macros = dict(
        re.findall(
            r"^#define (\w+) (.*)$",
            subprocess.run([*cmd, str(header)], capture_output=True, text=True, check=True).stdout,
            re.M,
        )
    )
    assert ours == evaluate_nr(macros)
    by_name = {s["name"]: s for s in doc["syscalls"]}
    assert by_name["nfsservctl"]["symbol"] is None  # sys_ni_syscall: a number without a handler
    assert by_name["fcntl"]["symbol"] == "__arm64_sys_fcntl"
    assert by_name["special_flush"]["number"] == 244 + 15

    x86 = {s["name"]: s for s in json.loads((out / "x86_64.json").read_text())["syscalls"]}
    assert set(x86) == {"read", "rt_sigaction", "uselib"}  # the x32 row belongs to x32.json
    assert x86["uselib"]["symbol"] is None
    x32 = {s["name"]: s for s in json.loads((out / "x32.json").read_text())["syscalls"]}
    assert x32["rt_sigaction"]["number"] == 0x40000000 | 512
    i386 = {s["name"]: s for s in json.loads((out / "i386.json").read_text())["syscalls"]}
    assert i386["open"]["symbol"] == "__ia32_compat_sys_open"
    assert i386["close"]["symbol"] == "__ia32_sys_close"


@pytest.mark.slow
def test_shipped_tables_regenerate_identically(tmp_path):
    if not KERNEL_TARBALL.exists():
        pytest.skip(f"{KERNEL_TARBALL} is missing (Debian's linux-source-7.3 provides it)")
    shipped = REPO / "src" / "kernlab" / "syscalls" / "data"
    origin = json.loads((shipped / "x86_64.json").read_text())["origin"]
    proc = subprocess.run(
        [
            sys.executable,
            str(GENERATOR),
            "--source",
            str(KERNEL_TARBALL),
            "--out",
            str(tmp_path),
            "--origin",
            origin,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for path in sorted(tmp_path.glob("*.json")):
        assert json.loads(path.read_text()) == json.loads((shipped / path.name).read_text()), path.name


CRAFTED_GENERIC_TBL = """\
# <number> <abi> <name> <entry point> [<compat entry point>]
0\tcommon\tio_setup\t\t\tsys_io_setup\t\t\tcompat_sys_io_setup
25\t32\tfcntl64\t\t\tsys_fcntl64\t\t\tcompat_sys_fcntl64
25\t64\tfcntl\t\t\tsys_fcntl
38\trenameat\trenameat\t\tsys_renameat
42\tcommon\tnfsservctl
79\tstat64\tfstatat64\t\tsys_fstatat64
79\t64\tnewfstatat\t\tsys_newfstatat
447\tmemfd_secret\tmemfd_secret\t\tsys_memfd_secret
"""


def test_generator_reads_the_unified_table_of_newer_kernels(tmp_path):
    """Kernels from 6.11 generate asm-generic's numbers from scripts/syscall.tbl, filtered by the
    ABIs the architecture's Makefile.syscalls adds to "common" and "64"."""
    tree = _crafted_tree(tmp_path / "linux")
    (tree / "scripts").mkdir()
    (tree / "scripts/syscall.tbl").write_text(CRAFTED_GENERIC_TBL)
    (tree / "arch/arm64/kernel").mkdir(parents=True)
    (tree / "arch/arm64/kernel/Makefile.syscalls").write_text("syscall_abis_64 += renameat rlimit\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(GENERATOR), "--source", str(tree), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "aarch64.json").read_text())
    rows = [line.split() for line in CRAFTED_GENERIC_TBL.splitlines() if line and not line.startswith("#")]
    wanted = {"common", "64", "renameat", "rlimit"}
    expected = {r[2]: int(r[0]) for r in rows if r[1] in wanted}
    assert {s["name"]: s["number"] for s in doc["syscalls"]} == expected
    assert doc["source"].endswith("scripts/syscall.tbl")
    by_name = {s["name"]: s for s in doc["syscalls"]}
    assert by_name["nfsservctl"]["symbol"] is None
    assert by_name["newfstatat"]["symbol"] == "__arm64_sys_newfstatat"
