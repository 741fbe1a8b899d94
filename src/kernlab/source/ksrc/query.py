"""Answers about a kernel tree from its index: syscall, ops, def, refs; each a typed answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from kernlab.errors import BadInput, KernlabError
from kernlab.source.ksrc.index import IndexInfo, ProgressFn, SourceIndex, open_index
from kernlab.source.ksrc.lexer import strip_comments_and_literals
from kernlab.source.ksrc.tree import kernel_tree

_NAME = re.compile(r"^[A-Za-z_]\w*$")
# The symbols SYSCALL_DEFINEn(name, …) makes: sys_name (generic), __x64_sys_name, __ia32_sys_name,
# __arm64_sys_name … (arch/*/include/asm/syscall_wrapper.h), __se_sys_name and __do_sys_name
# (include/linux/syscalls.h); compat_ in each for COMPAT_SYSCALL_DEFINEn.
_SYSCALL_SYMBOL = re.compile(r"^(?:__[a-z0-9]+_)?(compat_)?sys_(\w+)$")


class StaleIndex(KernlabError):
    """An answer named a file that is gone: the index must be rebuilt."""


@dataclass(frozen=True)
class SyscallDefinition:
    """One ``SYSCALL_DEFINEn(name, …)`` or ``COMPAT_SYSCALL_DEFINEn(name, …)`` of the tree."""

    name: str
    macro: str
    arguments: int
    file: str
    line: int
    signature: str


@dataclass(frozen=True)
class SyscallAnswer:
    """The tree's definitions of one system call."""

    tree: str
    name: str
    definitions: list[SyscallDefinition]
    index: IndexInfo


@dataclass(frozen=True)
class OpsBinding:
    """``table.field = function`` inside an initialised table (``.field = function,``)."""

    function: str
    table: str
    table_type: str
    field: str
    file: str
    line: int


@dataclass(frozen=True)
class Definition:
    """Where a name is defined, like one line of ``ctags -x``."""

    name: str
    kind: str
    file: str
    line: int
    text: str


@dataclass(frozen=True)
class OpsAnswer:
    """The initialised tables binding one function, and where the function is defined."""

    tree: str
    function: str
    bindings: list[OpsBinding]
    definitions: list[Definition]
    index: IndexInfo
    used_in_files: int | None = None
    """When no table binds it: how many files' code uses the name (0: it occurs nowhere)."""


@dataclass(frozen=True)
class DefAnswer:
    """Every definition of one name."""

    tree: str
    symbol: str
    definitions: list[Definition]
    index: IndexInfo
    used_in_files: int | None = None
    """When nothing defines it: how many files' code uses the name (0: it occurs nowhere)."""


@dataclass(frozen=True)
class Reference:
    """A line of code (comments and strings left out) that uses the symbol."""

    file: str
    line: int
    text: str


@dataclass(frozen=True)
class RefsAnswer:
    """Every line of code that uses one name."""

    tree: str
    symbol: str
    files: int
    references: list[Reference] = field(default_factory=list)
    index: IndexInfo | None = None


def _check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise BadInput(
            f"{name!r} is not a C identifier ({what} names are letters, digits and _)",
            key="errors.source.not_identifier",
            fields={"value": repr(name), "what_key": "errors.source.identifier." + what.replace(" ", "_")},
        )
    return name


def _existing(index: SourceIndex, number: int) -> str:
    path = index.files[number]
    if not path or not (index.tree / path).exists():
        raise StaleIndex(
            f"{path} is in the index but no longer in the tree",
            key="errors.source.gone_from_tree",
            fields={"path": path},
        )
    return path


R = TypeVar("R")


def with_index(
    tree: Path | str | None, ask: Callable[[SourceIndex], R], progress: ProgressFn | None = None
) -> R:
    """Run ``ask`` on the tree's index brought up to date with the tree.

    The cached index answers at once while its scan of the tree runs beside; when the scan finds
    files changed, only those are parsed again and ``ask`` runs once more on the updated index.
    An answer naming a file that is gone after that means the index is damaged: built whole.
    """
    root = kernel_tree(tree)
    index = open_index(root, progress=progress)
    try:
        answer: R | None = ask(index)
    except StaleIndex:
        answer = None
    fresh, changed = index.refreshed(progress)
    if answer is not None and not changed:
        return answer
    try:
        return ask(fresh)
    except StaleIndex:
        return ask(open_index(root, rebuild=True, progress=progress))


def find_syscall(tree: Path | str | None, name: str, progress: ProgressFn | None = None) -> SyscallAnswer:
    """Every SYSCALL_DEFINEn/COMPAT_SYSCALL_DEFINEn of ``name`` (``sys_`` prefix optional)."""
    name = _check_name(name.removeprefix("sys_"), "system call")

    def ask(index: SourceIndex) -> SyscallAnswer:
        found = [
            SyscallDefinition(n, macro, nargs, _existing(index, number), line, signature)
            for n, macro, nargs, number, line, signature in index.syscalls()
            if n == name
        ]
        found.sort(key=lambda d: (d.macro.startswith("COMPAT"), d.file, d.line))
        return SyscallAnswer(str(index.tree), name, found, index.info)

    return with_index(tree, ask, progress)


def _source_line(index: SourceIndex, path: str, line: int) -> str:
    """The text of one line of a tree file (the index keeps no text for macros)."""
    try:
        with open(index.tree / path, "rb") as fh:
            for number, text in enumerate(fh, start=1):
                if number == line:
                    return " ".join(text.decode("latin-1").split())[:200]
    except OSError as exc:
        raise StaleIndex(
            f"{path} cannot be read any more", key="errors.source.unreadable_now", fields={"path": path}
        ) from exc
    return ""


def _syscall_definitions(index: SourceIndex, name: str) -> list[Definition]:
    """The system calls ``name`` is a symbol of (``__x64_sys_openat``, ``sys_openat``, ``openat``)."""
    symbol = _SYSCALL_SYMBOL.match(name)
    rows = index.syscalls()
    if symbol is not None:
        compat, call = symbol.group(1) is not None, symbol.group(2)
        chosen = [r for r in rows if r[0] == call and r[1].startswith("COMPAT") == compat]
    else:
        chosen = [r for r in rows if r[0] == name]
    return [
        Definition(name, "syscall", _existing(index, number), line, signature)
        for _, _, _, number, line, signature in chosen
    ]


def _definitions(index: SourceIndex, name: str) -> list[Definition]:
    found = _syscall_definitions(index, name)
    for kind, number, line, text in index.definitions(name):
        path = _existing(index, number)
        found.append(Definition(name, kind, path, line, text))
    # Macros are stored by the CRC-32 of their name: the line itself says whether it is this one.
    define = re.compile(rf"#\s*define\s+{re.escape(name)}(?![\w])")
    for number, line in index.macro_candidates(name):
        path = _existing(index, number)
        text = _source_line(index, path, line)
        if define.match(strip_comments_and_literals(text).lstrip()):
            found.append(Definition(name, "macro", path, line, text))
    return sorted(found, key=lambda d: (d.file, d.line))


def find_ops(tree: Path | str | None, function: str, progress: ProgressFn | None = None) -> OpsAnswer:
    """The initialised tables that bind ``function`` to a field, and where it is defined."""
    _check_name(function, "function")

    def ask(index: SourceIndex) -> OpsAnswer:
        bindings = [
            OpsBinding(function, table, type_name, field_name, _existing(index, number), line)
            for table, type_name, field_name, number, line in index.bindings(function)
        ]
        bindings.sort(key=lambda b: (b.file, b.line))
        defs = [d for d in _definitions(index, function) if d.kind == "function"]
        # Unbound: whether the name is used at all tells "called directly" from "not here".
        used = None if bindings else files_using(index, function)
        return OpsAnswer(str(index.tree), function, bindings, defs, index.info, used)

    return with_index(tree, ask, progress)


def find_definitions(tree: Path | str | None, symbol: str, progress: ProgressFn | None = None) -> DefAnswer:
    """Every definition of ``symbol``: function, struct/union/enum, typedef, variable, macro,
    one made by a definition macro (variable, tracepoint, export), a system call's symbol, or an
    assembly entry (function, code, label, data)."""
    _check_name(symbol, "symbol")

    def ask(index: SourceIndex) -> DefAnswer:
        found = _definitions(index, symbol)
        used = None if found else files_using(index, symbol)
        return DefAnswer(str(index.tree), symbol, found, index.info, used)

    return with_index(tree, ask, progress)


def _word(symbol: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w]){re.escape(symbol)}(?![\w])")


def _read(index: SourceIndex, path: str) -> str:
    try:
        with open(index.tree / path, "rb") as fh:
            return fh.read().decode("latin-1")
    except OSError as exc:
        raise StaleIndex(
            f"{path} cannot be read any more", key="errors.source.unreadable_now", fields={"path": path}
        ) from exc


def files_using(index: SourceIndex, symbol: str) -> int:
    """How many files' code (comments and strings left out) contains ``symbol`` as a word."""
    word = _word(symbol)
    count = 0
    for number in index.files_using(symbol):
        text = _read(index, _existing(index, number))
        if symbol in text and word.search(strip_comments_and_literals(text)):
            count += 1
    return count


def find_references(
    tree: Path | str | None, symbol: str, progress: ProgressFn | None = None, limit: int = 0
) -> RefsAnswer:
    """Every line of code using ``symbol`` (cscope's "find this C symbol"), comments excluded.

    The index says which files use the name; only those are read again, to find the lines.
    ``limit`` stops after that many references (0: all).
    """
    _check_name(symbol, "symbol")
    word = _word(symbol)

    def ask(index: SourceIndex) -> RefsAnswer:
        numbers = index.files_using(symbol)
        refs: list[Reference] = []
        for done, number in enumerate(numbers):
            path = _existing(index, number)
            text = _read(index, path)
            if symbol not in text:  # a name sharing the symbol's CRC-32 (see .store)
                continue
            code = strip_comments_and_literals(text)
            lines = text.split("\n")
            line, last = 1, 0
            for match in word.finditer(code):
                line += code.count("\n", last, match.start())
                last = match.start()
                if refs and refs[-1].file == path and refs[-1].line == line:
                    continue  # one entry per line, like grep -n
                refs.append(Reference(path, line, lines[line - 1].strip() if line <= len(lines) else ""))
            if progress and done % 50 == 0:
                progress(done, len(numbers))
            if limit and len(refs) >= limit:
                refs = refs[:limit]
                break
        using = len({r.file for r in refs})
        return RefsAnswer(str(index.tree), symbol, using, refs, index.info)

    return with_index(tree, ask, progress)
