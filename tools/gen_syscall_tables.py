#!/usr/bin/env python3
"""Generate kernlab's system-call tables from the kernel's own table files.

Reads a kernel source tree (a directory) or a source tarball (default
/usr/src/linux-source-7.3.tar.xz, Debian's ``linux-source-7.3``) and writes
``src/kernlab/syscalls/data/<arch>.json``:

* x86_64, x32 and i386 from ``arch/x86/entry/syscalls/syscall_{64,32}.tbl``;
* arm (32-bit) from ``arch/arm/tools/syscall.tbl``;
* aarch64 and riscv64 from ``include/uapi/asm-generic/unistd.h`` as included by the
  architecture's ``uapi/asm/unistd.h`` -- which decides, through ``__ARCH_WANT_*`` defines and
  ``#if``/``#ifdef`` blocks, which calls exist -- or, on kernels from 6.11 on, from
  ``scripts/syscall.tbl`` with the ABIs the architecture's ``Makefile.syscalls`` selects.

and ``errno.json`` from ``include/uapi/asm-generic/errno-base.h`` and ``errno.h``. Each file
records the kernel version (from the tree's Makefile), the files it came from (a tarball by its
file name: where it sat on the generating machine says nothing) and, with ``--origin``, where
that source came from (the package and its version).

    python tools/gen_syscall_tables.py [--source PATH] [--out DIR] [--origin TEXT]
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SOURCE = "/usr/src/linux-source-7.3.tar.xz"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "kernlab" / "syscalls" / "data"

# Files wanted from the tree, relative to its top directory.
WANTED = (
    "Makefile",
    "arch/x86/entry/syscalls/syscall_64.tbl",
    "arch/x86/entry/syscalls/syscall_32.tbl",
    "arch/arm/tools/syscall.tbl",
    "include/uapi/asm-generic/unistd.h",
    "arch/arm64/include/uapi/asm/unistd.h",
    "arch/riscv/include/uapi/asm/unistd.h",
    "scripts/syscall.tbl",
    "arch/arm64/tools/syscall_64.tbl",
    "arch/arm64/kernel/Makefile.syscalls",
    "arch/riscv/kernel/Makefile.syscalls",
    "include/uapi/asm-generic/errno-base.h",
    "include/uapi/asm-generic/errno.h",
)

# x32 numbers carry this bit (arch/x86/include/uapi/asm/unistd.h: __X32_SYSCALL_BIT).
X32_SYSCALL_BIT = 0x40000000


@dataclass
class Row:
    number: int
    name: str
    abi: str
    entry: str | None  # the C function the table points at (sys_rename), None when unimplemented
    symbol: str | None  # the symbol the kernel image holds for it (__x64_sys_rename)


# --------------------------------------------------------------------------- reading the source


class Tree:
    """Files of a kernel tree, from a directory or a tarball (read once, in one pass)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.files: dict[str, str] = {}
        path = Path(source)
        # A tree is named as given; a tarball by its file name, the same on every machine.
        self.label = source if path.is_dir() else path.name
        if path.is_dir():
            for rel in WANTED:
                if (path / rel).is_file():
                    self.files[rel] = (path / rel).read_text(errors="replace")
        else:
            # Streaming mode: a .tar.xz of the whole kernel is read once, front to back.
            links: dict[str, str] = {}
            with tarfile.open(source, mode="r|*") as tar:
                for member in tar:
                    rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
                    if rel in WANTED and member.isfile():
                        handle = tar.extractfile(member)
                        if handle is not None:
                            self.files[rel] = handle.read().decode(errors="replace")
                    elif rel in WANTED and member.issym():
                        links[rel] = posixpath.normpath(
                            posixpath.join(posixpath.dirname(rel), member.linkname)
                        )
            # A symbolic link (arm64's tools/syscall_64.tbl -> scripts/syscall.tbl) reads as its
            # target, which the stream may have passed before or after it.
            for rel, target in links.items():
                if target in self.files:
                    self.files[rel] = self.files[target]
        if "Makefile" not in self.files:
            raise SystemExit(f"{source}: no top-level Makefile; is this a kernel source tree?")

    def get(self, rel: str) -> str | None:
        return self.files.get(rel)

    def where(self, rel: str) -> str:
        return f"{self.label}:{rel}"

    def version(self) -> str:
        fields = dict(
            re.findall(
                r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)[ \t]*=[ \t]*(\S*)",
                self.get("Makefile") or "",
                re.M,
            )
        )
        version = f"{fields.get('VERSION', '?')}.{fields.get('PATCHLEVEL', '?')}"
        if fields.get("SUBLEVEL"):
            version += f".{fields['SUBLEVEL']}"
        return version + fields.get("EXTRAVERSION", "")


# --------------------------------------------------------------------------- .tbl files


def parse_tbl(text: str) -> list[tuple[int, str, str, list[str]]]:
    """Rows of a syscall.tbl: number, abi, name, the remaining columns ("-" means none)."""
    rows = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        cols = line.split()
        rest = [c for c in cols[3:] if c != "-"]
        rows.append((int(cols[0], 0), cols[1], cols[2], rest))
    return rows


def entry_of(cols: list[str], index: int) -> str | None:
    """The entry-point column, ignoring trailing keywords such as ``noreturn``."""
    names = [c for c in cols if c.startswith(("sys_", "compat_sys_", "__sys_", "ptregs_")) or "_sys_" in c]
    return names[index] if len(names) > index else None


def implemented(entry: str | None) -> str | None:
    """``entry``, or None for a slot the table fills with ``sys_ni_syscall`` (a number kept, its
    call removed: lookup_dcookie), as for a row with no entry at all: both answer -ENOSYS."""
    return None if entry == "sys_ni_syscall" else entry


def x86_64_rows(tree: Tree, want_abis: set[str], number_bit: int = 0) -> list[Row]:
    rows = []
    for number, abi, name, rest in parse_tbl(tree.get("arch/x86/entry/syscalls/syscall_64.tbl") or ""):
        if abi not in want_abis:
            continue
        entry = implemented(entry_of(rest, 0))
        # x86 builds a pt_regs wrapper for every sys_*: __x64_sys_*, or __x32_compat_sys_* for x32.
        if entry is None:
            symbol = None
        elif entry.startswith("compat_sys_"):
            symbol = f"__x32_{entry}"
        else:
            symbol = f"__x64_{entry}"
        rows.append(Row(number | number_bit, name, abi, entry, symbol))
    return rows


def i386_rows(tree: Tree) -> list[Row]:
    rows = []
    for number, abi, name, rest in parse_tbl(tree.get("arch/x86/entry/syscalls/syscall_32.tbl") or ""):
        native, compat = entry_of(rest, 0), entry_of(rest, 1)
        # A 64-bit kernel runs 32-bit programs through the compat entry when there is one
        # (IA32_EMULATION); its wrappers are named __ia32_*. A compat column of sys_ni_syscall
        # (vm86) means a 64-bit kernel answers -ENOSYS even though a 32-bit one has the call.
        used = implemented(compat if compat is not None else native)
        rows.append(Row(number, name, abi, implemented(native), f"__ia32_{used}" if used else None))
    return rows


def arm_rows(tree: Tree) -> list[Row]:
    rows = []
    for number, abi, name, rest in parse_tbl(tree.get("arch/arm/tools/syscall.tbl") or ""):
        if abi == "oabi":
            continue
        entry = implemented(entry_of(rest, 0))
        # 32-bit ARM has no pt_regs wrappers: the table points at sys_* directly.
        rows.append(Row(number, name, abi, entry, entry))
    return rows


# --------------------------------------------------------------------------- asm-generic unistd.h


class Preprocessor:
    """Just enough of cpp to walk asm-generic/unistd.h: #define, #undef, #if/#ifdef/#elif/#else,
    #include of asm-generic/unistd.h, and the __SYSCALL/__SC_* table macros."""

    def __init__(self, defines: dict[str, str], include: Callable[[str], str | None]) -> None:
        self.defines = dict(defines)
        self.include = include
        self.calls: list[tuple[str, str]] = []  # (__NR_ macro, function)

    # -- expressions in #if
    def _expand(self, expr: str) -> str:
        expr = re.sub(r"defined\s*\(\s*(\w+)\s*\)", lambda m: "1" if m[1] in self.defines else "0", expr)
        expr = re.sub(r"defined\s+(\w+)", lambda m: "1" if m[1] in self.defines else "0", expr)
        for _ in range(10):
            new = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: self.defines.get(m[0], "0") or "1", expr)
            if new == expr:
                break
            expr = new
        return expr

    def evaluate(self, expr: str) -> int:
        tokens = re.findall(r"0x[0-9a-fA-F]+|\d+|\|\||&&|==|!=|<=|>=|[()!<>+\-*]", self._expand(expr))
        return _ExprParser(tokens).parse()

    def value_of(self, name: str) -> int:
        return self.evaluate(name)

    # -- the walk
    def run(self, text: str) -> None:
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = text.replace("\\\n", " ")
        stack: list[tuple[bool, bool]] = []  # (this branch active, some branch already taken)

        def active() -> bool:
            return all(s[0] for s in stack)

        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                directive = line[1:].strip()
                word, _, arg = directive.partition(" ")
                arg = arg.strip()
                if word in ("if", "ifdef", "ifndef"):
                    if not active():
                        stack.append((False, True))
                        continue
                    if word == "if":
                        ok = bool(self.evaluate(arg))
                    elif word == "ifdef":
                        ok = arg in self.defines
                    else:
                        ok = arg not in self.defines
                    stack.append((ok, ok))
                elif word == "elif":
                    _, taken = stack.pop()
                    parent = active()
                    ok = parent and not taken and bool(self.evaluate(arg))
                    stack.append((ok, taken or ok))
                elif word == "else":
                    _, taken = stack.pop()
                    stack.append((not taken, True))
                elif word == "endif":
                    stack.pop()
                elif not active():
                    continue
                elif word == "define":
                    name, _, value = arg.partition(" ")
                    if "(" not in name:  # function-like macros are the table macros, handled below
                        self.defines[name] = value.strip()
                elif word == "undef":
                    self.defines.pop(arg, None)
                elif word == "include" and "asm-generic/unistd.h" in arg:
                    included = self.include("include/uapi/asm-generic/unistd.h")
                    if included:
                        self.run(included)
                continue
            if not active():
                continue
            self._table_macro(line)

    def _table_macro(self, line: str) -> None:
        match = re.match(r"(__SYSCALL|__SC_COMP_3264|__SC_COMP|__SC_3264)\s*\((.*)\)", line)
        if not match:
            return
        macro, args = match[1], [a.strip() for a in match[2].split(",")]
        compat = "__SYSCALL_COMPAT" in self.defines
        bits32 = self.value_of("__BITS_PER_LONG") == 32
        if macro == "__SYSCALL":
            func = args[1]
        elif macro == "__SC_COMP":
            func = args[2] if compat else args[1]
        elif macro == "__SC_3264":
            func = args[1] if (bits32 or compat) else args[2]
        else:  # __SC_COMP_3264(nr, _32, _64, _comp)
            func = args[3] if compat else (args[1] if bits32 else args[2])
        self.calls.append((args[0], func))


class _ExprParser:
    """Integer expressions of #if lines: || && ! == != < > <= >= + - * and parentheses."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> int:
        return self._binary(0)

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*",))

    def _binary(self, level: int) -> int:
        if level == len(self._LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while self._peek() in self._LEVELS[level]:
            op = self._take()
            right = self._binary(level + 1)
            left = {
                "||": lambda a, b: int(bool(a) or bool(b)),
                "&&": lambda a, b: int(bool(a) and bool(b)),
                "==": lambda a, b: int(a == b),
                "!=": lambda a, b: int(a != b),
                "<": lambda a, b: int(a < b),
                ">": lambda a, b: int(a > b),
                "<=": lambda a, b: int(a <= b),
                ">=": lambda a, b: int(a >= b),
                "+": lambda a, b: a + b,
                "-": lambda a, b: a - b,
                "*": lambda a, b: a * b,
            }[op](left, right)
        return left

    def _unary(self) -> int:
        tok = self._take()
        if tok == "!":
            return int(not self._unary())
        if tok == "-":
            return -self._unary()
        if tok == "(":
            value = self._binary(0)
            self._take()  # ")"
            return value
        return int(tok, 0)


def generic_rows(tree: Tree, arch_dir: str, prefix: str, defines: dict[str, str]) -> tuple[list[Row], str]:
    """Rows for an asm-generic architecture, from the 6.11+ table or the older header."""
    makefile = tree.get(f"arch/{arch_dir}/kernel/Makefile.syscalls") or ""
    # The architecture may name its own table (arm64 from 6.15: syscalltbl =
    # arch/arm64/tools/syscall_%.tbl, % being 32 or 64); otherwise scripts/syscall.tbl.
    own = re.search(r"^syscalltbl\s*:?=\s*(\S+)", makefile, re.M)
    table_path = own[1].replace("%", "64") if own else "scripts/syscall.tbl"
    table = tree.get(table_path)
    if own and table is None:
        raise SystemExit(
            f"{tree.source}: {table_path} (named by arch/{arch_dir}/kernel/Makefile.syscalls) is missing"
        )
    if table is not None:
        abis = {"common", "64"}
        for m in re.finditer(r"^syscall_abis_64\s*\+?=\s*(.*)$", makefile, re.M):
            abis.update(m[1].split())
        rows = []
        for number, abi, name, rest in parse_tbl(table):
            if abi in abis:
                entry = implemented(entry_of(rest, 0))
                rows.append(Row(number, name, abi, entry, f"{prefix}{entry}" if entry else None))
        return rows, tree.where(table_path)

    arch_header = f"arch/{arch_dir}/include/uapi/asm/unistd.h"
    pre = Preprocessor(defines, tree.get)
    pre.run(tree.get(arch_header) or "")
    rows = []
    for macro, func in pre.calls:
        number = pre.value_of(macro)
        # __NR3264_fcntl and friends are later aliased as __NR_fcntl on 64-bit; find the alias.
        name = macro.removeprefix("__NR_")
        if macro.startswith("__NR3264_"):
            aliases = [k for k, v in pre.defines.items() if v == macro and k.startswith("__NR_")]
            name = aliases[0].removeprefix("__NR_") if aliases else macro.removeprefix("__NR3264_")
        entry = implemented(func)
        rows.append(
            Row(
                number,
                name,
                "common",
                entry,
                f"{prefix}{entry}" if entry else None,
            )
        )
    return rows, tree.where(arch_header) + " + " + tree.where("include/uapi/asm-generic/unistd.h")


# --------------------------------------------------------------------------- errno


def errno_rows(tree: Tree) -> list[dict[str, object]]:
    """Error names and numbers of asm-generic (used by x86, arm64, riscv, arm): ``#define EXXX N``
    with its comment, and aliases such as ``#define EWOULDBLOCK EAGAIN``."""
    defines: dict[str, tuple[str, str]] = {}
    for rel in ("include/uapi/asm-generic/errno-base.h", "include/uapi/asm-generic/errno.h"):
        text = tree.get(rel) or ""
        for name, value, comment in re.findall(
            r"^#define\s+(E\w+)\s+(\w+)\s*(?:/\*\s*(.*?)\s*\*/)?", text, re.M
        ):
            defines[name] = (value, comment)
    rows = []
    for name, (value, comment) in defines.items():
        target = value
        while not target.isdigit() and target in defines:
            target = defines[target][0]
        if target.isdigit():
            rows.append(
                {
                    "name": name,
                    "number": int(target),
                    "alias_of": None if value.isdigit() else value,
                    "comment": comment,
                }
            )
    return sorted(rows, key=lambda r: (r["number"], r["alias_of"] is not None))


# --------------------------------------------------------------------------- output


def write_table(
    out: Path, arch: str, tree: Tree, rows: list[Row], source: str, how: str, origin: str | None
) -> None:
    rows = sorted(rows, key=lambda r: r.number)
    doc = {
        "arch": arch,
        "kernel_version": tree.version(),
        "source": source,
        "origin": origin,
        "how": how,
        "generated_by": "tools/gen_syscall_tables.py",
        "syscalls": [
            {"number": r.number, "name": r.name, "abi": r.abi, "entry": r.entry, "symbol": r.symbol}
            for r in rows
        ],
    }
    path = out / f"{arch}.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{path}: {len(rows)} system calls from {source}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=DEFAULT_SOURCE, help="kernel source tree or tarball")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for <arch>.json")
    parser.add_argument(
        "--origin",
        default=None,
        help='where the source came from, recorded in each file ("Debian linux-source-7.3 7.3.4-1~bpo13+1")',
    )
    args = parser.parse_args(argv)
    tree = Tree(args.source)
    args.out.mkdir(parents=True, exist_ok=True)

    tbl64 = tree.where("arch/x86/entry/syscalls/syscall_64.tbl")
    write_table(
        args.out, "x86_64", tree, x86_64_rows(tree, {"common", "64"}), tbl64, "abi common and 64", args.origin
    )
    write_table(
        args.out,
        "x32",
        tree,
        x86_64_rows(tree, {"common", "x32"}, X32_SYSCALL_BIT),
        tbl64,
        "abi common and x32, numbers with __X32_SYSCALL_BIT (0x40000000)",
        args.origin,
    )
    write_table(
        args.out,
        "i386",
        tree,
        i386_rows(tree),
        tree.where("arch/x86/entry/syscalls/syscall_32.tbl"),
        "abi i386",
        args.origin,
    )
    if tree.get("arch/arm/tools/syscall.tbl"):
        write_table(
            args.out,
            "arm",
            tree,
            arm_rows(tree),
            tree.where("arch/arm/tools/syscall.tbl"),
            "abi common and eabi",
            args.origin,
        )
    rows, source = generic_rows(tree, "arm64", "__arm64_", {"__BITS_PER_LONG": "64"})
    write_table(
        args.out,
        "aarch64",
        tree,
        rows,
        source,
        "asm-generic, __BITS_PER_LONG 64, no __SYSCALL_COMPAT",
        args.origin,
    )
    if tree.get("arch/riscv/include/uapi/asm/unistd.h") or tree.get("scripts/syscall.tbl"):
        rows, source = generic_rows(tree, "riscv", "__riscv_", {"__BITS_PER_LONG": "64", "__LP64__": "1"})
        write_table(
            args.out, "riscv64", tree, rows, source, "asm-generic, __BITS_PER_LONG 64, __LP64__", args.origin
        )
    errnos = errno_rows(tree)
    if errnos:
        doc = {
            "kernel_version": tree.version(),
            "origin": args.origin,
            "source": tree.where("include/uapi/asm-generic/errno-base.h")
            + " + "
            + tree.where("include/uapi/asm-generic/errno.h"),
            "generated_by": "tools/gen_syscall_tables.py",
            "errors": errnos,
        }
        (args.out / "errno.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(f"{args.out / 'errno.json'}: {len(errnos)} error names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
