"""`kernlab lab syscall-path NAME`: one system call from libc's wrapper to the file system.

The way down, each part from this machine: libc's wrapper disassembled with the number it loads
(reports.syscall.with_libc); the trap and the register convention; the kernel's entry symbols
in kallsyms (entry_SYSCALL_64, do_syscall_64, the x64_sys_call switch of Linux 6.9+ or the
older sys_call_table, __x64_sys_NAME); then one call made live by a child under a recording
with a kernel stack on every event, so the stack at sys_enter shows the entry as this kernel
took it and the events inside the call show where it went; for calls on a path, the mount
that served it; and the source (SYSCALL_DEFINE, the file system's ops table) when a kernel
tree with an index is at hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kernlab.errors import KernlabError
from kernlab.reports.labs.common import can_trace, remove_folder, run_child, scratch_folder, work_window
from kernlab.reports.syscall import CONVENTIONS, ENTRY_PATHS, SyscallDescription, SyscallWithWrapper

__all__ = [
    "RECIPES",
    "STAGES",
    "KernelSymbol",
    "LiveCall",
    "MountFacts",
    "SourceFacts",
    "StackAt",
    "SyscallPathReport",
    "build",
]

STAGES = 4  # wrapper, kallsyms, live call, source
STACK_DEPTH = 24
INSIDE_KEEP = 8  # distinct events inside the call kept with their stacks

# How the child makes one call of NAME with libc's syscall(): arguments built from a scratch
# folder ``d`` with a 4 KiB file ``f``; True: the call works on a path (its mount is shown).
_PREPARE = r"""
import ctypes, sys, mmap
out, d, nr, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
AT = -100  # AT_FDCWD
f = os.path.join(d, "file")
f2 = os.path.join(d, "renamed")
new = os.path.join(d, "newdir")
empty = os.path.join(d, "emptydir")
os.mkdir(empty)
with open(f, "wb") as fh:
    fh.write(b"a" * 4096)
buf = ctypes.create_string_buffer(4096)
B = lambda s: s.encode()
"""
RECIPES: dict[str, tuple[str, bool]] = {
    "read": ("args = [os.open(f, os.O_RDONLY), buf, 4096]", True),
    "pread64": ("args = [os.open(f, os.O_RDONLY), buf, 4096, 0]", True),
    "write": ("args = [os.open(f, os.O_WRONLY), buf, 4096]", True),
    "pwrite64": ("args = [os.open(f, os.O_WRONLY), buf, 4096, 0]", True),
    "openat": ("args = [AT, B(f), os.O_RDONLY, 0]", True),
    "open": ("args = [B(f), os.O_RDONLY, 0]", True),
    "close": ("args = [os.open(f, os.O_RDONLY)]", True),
    "newfstatat": ("args = [AT, B(f), buf, 0]", True),
    "stat": ("args = [B(f), buf]", True),
    "lstat": ("args = [B(f), buf]", True),
    "fstat": ("args = [os.open(f, os.O_RDONLY), buf]", True),
    "statx": ("args = [AT, B(f), 0, 0xFFF, buf]", True),
    "rename": ("args = [B(f), B(f2)]", True),
    "renameat": ("args = [AT, B(f), AT, B(f2)]", True),
    "renameat2": ("args = [AT, B(f), AT, B(f2), 0]", True),
    "unlink": ("args = [B(f)]", True),
    "unlinkat": ("args = [AT, B(f), 0]", True),
    "mkdir": ("args = [B(new), 0o755]", True),
    "mkdirat": ("args = [AT, B(new), 0o755]", True),
    "rmdir": ("args = [B(empty)]", True),
    "chdir": ("args = [B(d)]", True),
    "access": ("args = [B(f), 0]", True),
    "faccessat": ("args = [AT, B(f), 0]", True),
    "truncate": ("args = [B(f), 0]", True),
    "ftruncate": ("args = [os.open(f, os.O_WRONLY), 0]", True),
    "fsync": ("fd = os.open(f, os.O_WRONLY); os.write(fd, b'b' * 4096); args = [fd]", True),
    "fdatasync": ("fd = os.open(f, os.O_WRONLY); os.write(fd, b'b' * 4096); args = [fd]", True),
    "lseek": ("args = [os.open(f, os.O_RDONLY), 0, 2]", True),
    "getcwd": ("args = [buf, 4096]", False),
    "uname": ("args = [buf]", False),
    "getpid": ("args = []", False),
    "getppid": ("args = []", False),
    "gettid": ("args = []", False),
    "getuid": ("args = []", False),
    "geteuid": ("args = []", False),
    "getgid": ("args = []", False),
    "sched_yield": ("args = []", False),
    "brk": ("args = [0]", False),
    "mmap": ("args = [0, 4096, mmap.PROT_READ, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0]", False),
    "munmap": (
        "args = [libc.mmap(None, 4096, mmap.PROT_READ, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0), 4096]",
        False,
    ),
}
_CALL = r"""
args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
mark(BEGIN)
ret = libc.syscall(nr, *args)
err = ctypes.get_errno() if ret == -1 else 0
mark(END)
with open(out, "w") as fh:
    json.dump({"pid": os.getpid(), "ret": ret, "errno": err}, fh)
"""
SYS_ENTER = "raw_syscalls:sys_enter"
SYS_EXIT = "raw_syscalls:sys_exit"


@dataclass(frozen=True)
class KernelSymbol:
    name: str
    address: int | None  # None: not in /proc/kallsyms; 0 when the kernel hides addresses
    type: str | None


@dataclass(frozen=True)
class StackAt:
    """One event of the call with the kernel stack recorded at it (outermost first)."""

    event: str
    offset_ns: int  # after the call's sys_enter
    stack: tuple[str, ...]


@dataclass(frozen=True)
class LiveCall:
    """One call of NAME made by a child under a recording."""

    pid: int
    ret: int
    errno: int
    duration_ns: int | None  # sys_enter to sys_exit in the recording
    entry: StackAt | None  # the stack at sys_enter: the entry path this kernel took
    inside: tuple[StackAt, ...]  # events that fired during the call, first of each kind
    exit: StackAt | None
    fs_functions: tuple[str, ...]  # functions of the stacks named after the file system
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MountFacts:
    path: str
    fstype: str
    mount_point: str
    source: str


@dataclass(frozen=True)
class SourceFacts:
    """Where a kernel tree at hand defines the call and binds the file system's function."""

    tree: str
    macro: str | None  # SYSCALL_DEFINE3 …
    file: str | None
    line: int | None
    ops_function: str | None  # the file system's function the live path passed through
    ops_table: str | None  # the table binding it (ext4_file_operations)
    ops_field: str | None  # .read_iter
    ops_file: str | None
    ops_line: int | None
    same_version: bool


@dataclass(frozen=True)
class SyscallPathReport:
    name: str
    number: int
    arch: str
    description: SyscallDescription
    wrapper: SyscallWithWrapper | None
    wrapper_error: str | None
    """Why libc's wrapper was not found, in English (its key and fields are at the end)."""
    instruction: str
    number_register: str
    argument_registers: tuple[str, ...]
    symbols: tuple[KernelSymbol, ...]  # entry, do_syscall, dispatch, __x64_sys_NAME, in path order
    dispatch: str | None  # "switch" (x64_sys_call), "table" (sys_call_table) or None
    entry_symbol: str | None  # __x64_sys_NAME
    live: LiveCall | None
    live_skipped: str | None  # "not_root", "no_trace", "no_recipe", "foreign"
    mount: MountFacts | None
    source: SourceFacts | None
    source_skipped: str | None  # "no_tree", "no_index"
    source_tree: str | None = None  # the tree looked at (the one without an index, too)
    notes: tuple[str, ...] = field(default_factory=tuple)
    wrapper_error_key: str | None = None
    wrapper_error_fields: dict[str, object] = field(default_factory=dict)


def _symbols(names: list[str]) -> dict[str, KernelSymbol]:
    from kernlab.kernel.kallsyms import lookup_kallsyms

    try:
        found = lookup_kallsyms(names)
    except KernlabError:
        found = {}
    out = {}
    for name in names:
        entry = found.get(name)
        out[name] = KernelSymbol(name, entry.address if entry else None, entry.type if entry else None)
    return out


def _stack(event: str, offset: int, stack: list[str] | None) -> StackAt | None:
    if not stack:
        return None
    return StackAt(event, offset, tuple(reversed(stack[:STACK_DEPTH])))


def _live(name: str, number: int, folder: Path, fstype: str | None) -> LiveCall:
    from kernlab.recording.kallsyms import KernelSymbols
    from kernlab.reports.recording.kstacks import StackKey, event_stacks
    from kernlab.tracing.tracefs import available_events

    recipe, _path = RECIPES[name]
    groups = ["pagecache"]
    available = available_events()
    if fstype and fstype in available:
        groups.append(fstype)  # the file system's own events (ext4:*, xfs:* …) fire inside the call
    child = run_child(
        _PREPARE + recipe + "\n" + _CALL,
        [str(folder), str(number), name],
        folder,
        f"call-{name}",
        trace=True,
        groups=groups,
        kstack=["all"],
    )
    rec = child.recording
    assert rec is not None
    try:
        ret, err = int(child.result["ret"]), int(child.result["errno"])
        window = work_window(rec, child.pid)
        if window is None:
            return LiveCall(child.pid, ret, err, None, None, (), None, (), ("lab.note.no_window",))
        stacks = event_stacks(rec, set(rec.by_name), KernelSymbols(rec.kallsyms_path))
        entered = None
        entry = exit_ = None
        inside: dict[str, StackAt] = {}
        duration = None
        for event in rec.iter_events():
            if event.pid != child.pid or not window.begin < event.ts < window.end:
                continue
            if event.name == "ftrace:kernel_stack":
                continue
            stack = stacks.get(StackKey(event.cpu, event.ts))
            if entered is None:
                if event.name == SYS_ENTER and event.fields.get("id") == number:
                    entered = event.ts
                    entry = _stack(event.name, 0, stack)
                continue
            if event.name == SYS_EXIT and event.fields.get("id") == number:
                duration = event.ts - entered
                exit_ = _stack(event.name, duration, stack)
                break
            if event.name not in inside and len(inside) < INSIDE_KEEP:
                at = _stack(event.name, event.ts - entered, stack)
                if at is not None:
                    inside[event.name] = at
        fs_functions: list[str] = []
        if fstype:
            prefix = fstype + "_"
            for at in inside.values():
                for fn in at.stack:
                    if fn.startswith(prefix) and fn not in fs_functions:
                        fs_functions.append(fn)
        notes = () if entered is not None else ("lab.note.no_call",)
        return LiveCall(
            child.pid, ret, err, duration, entry, tuple(inside.values()), exit_, tuple(fs_functions), notes
        )
    finally:
        if child.directory is not None:
            remove_folder(child.directory)


def _mount(folder: Path) -> MountFacts | None:
    from kernlab.mm.mounts import mount_of

    try:
        st = os.stat(folder)
    except OSError:
        return None
    found = mount_of(str(folder), st.st_dev)
    if found is None:
        return None
    return MountFacts(str(folder), found.fstype, found.mount_point, found.source)


def _source(
    name: str, tree_given: str | None, build_index: bool, ops_function: str | None
) -> tuple[SourceFacts | None, str | None, str | None]:
    from kernlab.reports import ksrc as ksrc_reports
    from kernlab.source.ksrc.index import index_location
    from kernlab.source.ksrc.trees import kernel_trees

    trees = kernel_trees(tree_given)
    if not trees:
        return None, "no_tree", None
    indexed = [t for t in trees if (index_location(t) / "meta.json").exists()]
    if not indexed and not (build_index or tree_given):
        return None, "no_index", str(trees[0])
    tree = (indexed or trees)[0]
    info = ksrc_reports.build_info(tree)
    found = ksrc_reports.build_syscall(tree, name).native
    binding = None
    if ops_function:
        ops = ksrc_reports.build_ops(tree, ops_function)
        binding = ops.bindings[0] if ops.bindings else None
    return (
        SourceFacts(
            tree=str(tree),
            macro=found.macro if found else None,
            file=found.file if found else None,
            line=found.line if found else None,
            ops_function=ops_function if binding else None,
            ops_table=binding.table if binding else None,
            ops_field=binding.field if binding else None,
            ops_file=binding.file if binding else None,
            ops_line=binding.line if binding else None,
            same_version=info.same_base,
        ),
        None,
        str(tree),
    )


def build(
    name: str,
    *,
    no_trace: bool = False,
    tree: str | None = None,
    build_index: bool = False,
    advance: Callable[[], None] | None = None,
) -> SyscallPathReport:
    """The path of one system call on this machine, from libc to the file system."""
    from kernlab.reports import syscall as syscall_reports

    step = advance or (lambda: None)
    description = syscall_reports.describe(name)
    call = description.syscall
    arch = call.arch
    wrapper = None
    wrapper_error = None
    wrapper_error_key: str | None = None
    wrapper_error_fields: dict[str, object] = {}
    try:
        wrapper = syscall_reports.with_libc(description)
    except KernlabError as exc:
        wrapper_error, wrapper_error_key, wrapper_error_fields = str(exc), exc.key, dict(exc.fields)
    step()
    instruction, number_register, registers = CONVENTIONS.get(arch, ("?", "?", ()))
    names = list(ENTRY_PATHS.get(arch, ()))
    extra = ["x64_sys_call", "sys_call_table"] if arch == "x86_64" else []
    wanted = names + extra + ([call.symbol] if call.symbol else [])
    found = _symbols(wanted) if description.native else {n: KernelSymbol(n, None, None) for n in wanted}
    dispatch = None
    if found.get("x64_sys_call") and found["x64_sys_call"].address is not None:
        dispatch = "switch"
    elif found.get("sys_call_table") and found["sys_call_table"].address is not None:
        dispatch = "table"
    order = names + (["x64_sys_call"] if dispatch == "switch" else ["sys_call_table"] if dispatch else [])
    order += [call.symbol] if call.symbol else []
    symbols = tuple(found[n] for n in order if n in found)
    step()
    folder = scratch_folder("kernlab-lab-")
    try:
        path_call = RECIPES.get(call.name, ("", False))[1]
        mount = _mount(folder) if path_call else None
        live = None
        skipped = None
        if not description.native:
            skipped = "foreign"
        elif call.name not in RECIPES:
            skipped = "no_recipe"
        elif not can_trace(no_trace):
            skipped = "no_trace" if no_trace else "not_root"
        else:
            live = _live(call.name, call.number, folder, mount.fstype if mount else None)
        step()
        ops_function = live.fs_functions[0] if live and live.fs_functions else None
        source, source_skipped, source_tree = _source(
            call.function or call.name, tree, build_index, ops_function
        )
        step()
    finally:
        remove_folder(folder)
    return SyscallPathReport(
        name=call.name,
        number=call.number,
        arch=arch,
        description=description,
        wrapper=wrapper,
        wrapper_error=wrapper_error,
        wrapper_error_key=wrapper_error_key,
        wrapper_error_fields=wrapper_error_fields,
        instruction=instruction,
        number_register=number_register,
        argument_registers=tuple(registers),
        symbols=symbols,
        dispatch=dispatch,
        entry_symbol=call.symbol,
        live=live,
        live_skipped=skipped,
        mount=mount,
        source=source,
        source_skipped=source_skipped,
        source_tree=source_tree,
    )
