"""`kernlab ksrc`: answers about a kernel source tree, one report per subcommand.

Every query first finds the tree's top from the folder given (or the current one), as git finds
``.git``, then answers from the tree's index, building or refreshing it when needed. A query
report's ``found`` says whether the answer is empty, which the command's exit status tells.
"""

from __future__ import annotations

import os
import platform
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import KernlabError
from kernlab.source.ksrc.git import LastCommit, last_commits
from kernlab.source.ksrc.index import INDEX_FORMAT, IndexInfo, ProgressFn, index_status, open_index
from kernlab.source.ksrc.query import (
    Definition,
    OpsBinding,
    Reference,
    SyscallDefinition,
    find_definitions,
    find_ops,
    find_references,
    find_syscall,
)
from kernlab.source.ksrc.tree import kernel_tree, tree_version

__all__ = [
    "SYSCALL_SYMBOL_PREFIX",
    "DefReport",
    "IndexReport",
    "InfoReport",
    "LastCommit",
    "OpsReport",
    "RefsReport",
    "RunningKernelSyscall",
    "SyscallReport",
    "build_def",
    "build_index",
    "build_info",
    "build_ops",
    "build_refs",
    "build_syscall",
    "index_format",
    "running_syscall",
]

Tree = Path | str | None
"""A folder in the tree (None: the current folder)."""


class _LastCommits:
    """``last_commits``: in a git checkout, the last commit of each file the answer names."""

    last_commits: tuple[LastCommit, ...]

    def last_commit(self, file: str) -> LastCommit | None:
        """What ``git log -1 -- FILE`` shows for one of the answer's files (None: no git, untracked)."""
        return next((c for c in self.last_commits if c.file == file), None)


# The prefix the syscall wrappers of each architecture get (arch/*/include/asm/syscall_wrapper.h).
SYSCALL_SYMBOL_PREFIX: dict[str, str] = {
    "x86_64": "__x64_sys_",
    "aarch64": "__arm64_sys_",
    "riscv64": "__riscv_sys_",
    "s390x": "__s390x_sys_",
}


@dataclass(frozen=True)
class RunningKernelSyscall:
    """Whether the running kernel has the system call's entry symbol and tracefs event."""

    release: str
    entry_symbol: str
    in_kallsyms: bool | None
    """None when /proc/kallsyms cannot be read."""
    tracefs_event: str
    event_exists: bool | None
    """None when tracefs is not available."""


@dataclass(frozen=True)
class SyscallReport(_LastCommits):
    """`ksrc syscall`: the tree's definitions of a system call, and the running kernel's entry."""

    tree: str
    name: str
    definitions: tuple[SyscallDefinition, ...]
    running: RunningKernelSyscall
    index: IndexInfo
    last_commits: tuple[LastCommit, ...] = ()
    """In a git checkout: the last commit of each file named above, in order (see git.py)."""

    @property
    def native(self) -> SyscallDefinition | None:
        """The definition to name first: the first native one, else the first compat one."""
        native = [d for d in self.definitions if not d.macro.startswith("COMPAT")]
        first = native or self.definitions
        return first[0] if first else None

    @property
    def found(self) -> bool:
        """Whether the answer is not empty (the command exits with EMPTY_ANSWER otherwise)."""
        return bool(self.definitions)


@dataclass(frozen=True)
class OpsReport(_LastCommits):
    """`ksrc ops`: the initialised tables binding a function, and where it is defined."""

    tree: str
    function: str
    bindings: tuple[OpsBinding, ...]
    definitions: tuple[Definition, ...]
    index: IndexInfo
    used_in_files: int | None = None
    """When no table binds the function: the files whose code uses its name (0: none at all)."""
    last_commits: tuple[LastCommit, ...] = ()
    """In a git checkout: the last commit of each file named above, in order (see git.py)."""

    @property
    def found(self) -> bool:
        return bool(self.bindings)

    @property
    def nowhere(self) -> bool:
        """The name occurs nowhere in the tree's code: no binding, no definition, no use."""
        return not self.bindings and not self.definitions and self.used_in_files == 0


@dataclass(frozen=True)
class DefReport(_LastCommits):
    """`ksrc def`: every definition of a name."""

    tree: str
    symbol: str
    definitions: tuple[Definition, ...]
    index: IndexInfo
    used_in_files: int | None = None
    """When nothing defines the name: the files whose code uses it (0: it occurs nowhere)."""
    last_commits: tuple[LastCommit, ...] = ()
    """In a git checkout: the last commit of each file named above, in order (see git.py)."""

    @property
    def found(self) -> bool:
        return bool(self.definitions)

    @property
    def kinds(self) -> list[tuple[str, int]]:
        """(kind, definitions of that kind), most frequent first."""
        return Counter(d.kind for d in self.definitions).most_common()

    @property
    def files(self) -> int:
        return len({d.file for d in self.definitions})


@dataclass(frozen=True)
class RefsReport(_LastCommits):
    """`ksrc refs`: the lines of code that use a name."""

    tree: str
    symbol: str
    files: int
    references: tuple[Reference, ...] = ()
    index: IndexInfo | None = None
    last_commits: tuple[LastCommit, ...] = ()
    """In a git checkout: the last commit of each file named above, in order (see git.py)."""

    @property
    def found(self) -> bool:
        return bool(self.references)


@dataclass(frozen=True)
class InfoReport:
    """`ksrc info`: the tree's version as ``make kernelversion`` prints it, beside ``uname -r``."""

    tree: str
    version: str
    patchlevel: str
    sublevel: str
    extraversion: str
    name: str
    kernelversion: str
    running_release: str
    same_base: bool
    """Whether the running release starts with the tree's VERSION.PATCHLEVEL."""


IndexReport = IndexInfo
"""`ksrc index`: where the index is and what it holds; the index's own facts are the whole result."""


def running_syscall(name: str) -> RunningKernelSyscall:
    """Look for the syscall's wrapper in /proc/kallsyms and its sys_enter event in tracefs."""
    from kernlab.kernel.kallsyms import lookup_kallsyms
    from kernlab.tracing.tracefs import tracefs_root

    symbol = f"{SYSCALL_SYMBOL_PREFIX.get(platform.machine(), 'sys_')}{name}"
    try:
        in_kallsyms: bool | None = lookup_kallsyms([symbol])[symbol] is not None
    except (KernlabError, OSError):
        in_kallsyms = None
    event = f"syscalls/sys_enter_{name}"
    try:
        exists: bool | None = (tracefs_root() / "events" / event).is_dir()
    except (KernlabError, OSError):
        exists = None
    return RunningKernelSyscall(os.uname().release, symbol, in_kallsyms, event, exists)


def _commits(tree: str, files: Iterable[str], index: IndexInfo | None) -> tuple[LastCommit, ...]:
    """The last commit of each file, when the tree is a git checkout (cached beside the index)."""
    cache = Path(index.location) if index is not None else None
    found = last_commits(Path(tree), files, cache)
    return tuple(found.values())


def build_syscall(tree: Tree, name: str, progress: ProgressFn | None = None) -> SyscallReport:
    answer = find_syscall(tree, name, progress)
    running = running_syscall(answer.name)
    commits = _commits(answer.tree, (d.file for d in answer.definitions), answer.index)
    return SyscallReport(answer.tree, answer.name, tuple(answer.definitions), running, answer.index, commits)


def build_ops(tree: Tree, function: str, progress: ProgressFn | None = None) -> OpsReport:
    answer = find_ops(tree, function, progress)
    files = [b.file for b in answer.bindings] + [d.file for d in answer.definitions]
    return OpsReport(
        answer.tree,
        answer.function,
        tuple(answer.bindings),
        tuple(answer.definitions),
        answer.index,
        answer.used_in_files,
        _commits(answer.tree, files, answer.index),
    )


def build_def(tree: Tree, symbol: str, progress: ProgressFn | None = None) -> DefReport:
    answer = find_definitions(tree, symbol, progress)
    return DefReport(
        answer.tree,
        answer.symbol,
        tuple(answer.definitions),
        answer.index,
        answer.used_in_files,
        _commits(answer.tree, (d.file for d in answer.definitions), answer.index),
    )


def build_refs(tree: Tree, symbol: str, progress: ProgressFn | None = None, *, limit: int = 0) -> RefsReport:
    answer = find_references(tree, symbol, progress, limit=limit)
    commits = _commits(answer.tree, (r.file for r in answer.references), answer.index)
    return RefsReport(
        answer.tree, answer.symbol, answer.files, tuple(answer.references), answer.index, commits
    )


def build_info(tree: Tree) -> InfoReport:
    version = tree_version(kernel_tree(tree))
    running = os.uname().release
    base = f"{version.version}.{version.patchlevel}"
    return InfoReport(
        version.tree,
        version.version,
        version.patchlevel,
        version.sublevel,
        version.extraversion,
        version.name,
        version.kernelversion,
        running,
        running.startswith(f"{base}.") or running == base,
    )


def build_index(
    tree: Tree, *, rebuild: bool = False, workers: int | None = None, progress: ProgressFn | None = None
) -> IndexReport:
    """Build the tree's index, or bring the cached one up to date (parsing only the files changed)."""
    root = kernel_tree(tree)
    index = open_index(root, rebuild=rebuild, workers=workers, progress=progress)
    return index.refreshed(progress)[0].info


def index_format(tree: Tree) -> tuple[int | None, int]:
    """(format of the tree's cached index or None when there is none, the format this version
    writes): a differing one is built whole again by the next query."""
    try:
        return index_status(kernel_tree(tree)), INDEX_FORMAT
    except KernlabError:
        return None, INDEX_FORMAT  # not a tree: the build reports that, with its own error
