"""Find libc's wrapper for a system call and the instructions that enter the kernel.

libc.so.6 is located the way the dynamic loader would find it for /bin/sh: through
/etc/ld.so.cache (the ``glibc-ld.so.cache1.1`` format written by ldconfig), else the standard
multiarch directories. The wrapper is the exported function named like the call (``rename``) or
one of glibc's internal aliases (``__rename``, ``__libc_rename``, ``rename64``); when it does not
execute the trap itself, the functions it calls or jumps to are followed one level.
"""

from __future__ import annotations

import os
import platform
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from kernlab.elf.disasm import Disassembly, Instruction, SyscallNote, disassemble_function
from kernlab.errors import BadInput, KernlabError, NotSupported
from kernlab.kernel.kallsyms import lookup_kallsyms
from kernlab.syscalls.describe import SyscallReport
from kernlab.syscalls.tables import Syscall, lookup, normalize_arch

LD_SO_CACHE = "/etc/ld.so.cache"
CACHE_MAGIC = b"glibc-ld.so.cache1.1"
OLD_CACHE_MAGIC = b"ld.so-1.7.0"

# Multiarch directory names per architecture (Debian's layout), tried after ld.so.cache.
MULTIARCH: dict[str, str] = {
    "x86_64": "x86_64-linux-gnu",
    "aarch64": "aarch64-linux-gnu",
    "i386": "i386-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
    "arm": "arm-linux-gnueabihf",
}

# How each architecture's kernel dispatches a system call, for the closing sentence.
ENTRY_PATHS: dict[str, tuple[str, ...]] = {
    "x86_64": ("entry_SYSCALL_64", "do_syscall_64"),
    "aarch64": ("el0_svc", "invoke_syscall"),
    "i386": ("entry_INT80_32", "do_int80_syscall_32"),
}


@dataclass(frozen=True)
class LibcWrapper:
    """libc's function for one system call, disassembled, with where the number is loaded."""

    libc: str  # path of libc.so.6
    syscall: Syscall
    function: str  # the symbol disassembled first (rename@@GLIBC_2.2.5)
    disassembly: Disassembly
    trap_function: str | None  # the function that executes the trap (may be a callee)
    trap_disassembly: Disassembly | None
    note: SyscallNote | None  # the trap whose number is known
    number_register: str | None  # the register the number is loaded into (eax)
    load: Instruction | None  # the instruction loading the number
    trap: Instruction | None  # the syscall/svc instruction
    entered_as: Syscall | None = None  # the call the trap really makes, when not ``syscall``
    callees: list[str] = field(default_factory=list)  # functions followed when the wrapper calls
    kernel_path: list[str] = field(default_factory=list)  # entry symbols in the running kernel


def _ld_so_cache_entries(path: str = LD_SO_CACHE) -> list[str]:
    """Library paths listed in ld.so.cache (new format, possibly after the old one)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return []
    start = data.find(CACHE_MAGIC)
    if start < 0:
        return []
    header = struct.Struct("<20sII")
    if len(data) < start + 48:
        return []
    _magic, nlibs, _strlen = header.unpack_from(data, start)
    entry = struct.Struct("<iIIIQ")
    out = []
    for i in range(nlibs):
        at = start + 48 + i * entry.size
        if at + entry.size > len(data):
            break
        _flags, _key, value, _os, _hwcap = entry.unpack_from(data, at)
        # String offsets of the new format count from the start of the new-format header.
        base = start if start else 0
        end = data.find(b"\0", base + value)
        if end > 0:
            out.append(data[base + value : end].decode(errors="replace"))
    return out


def find_libc(arch: str | None = None) -> str:
    """Path of the libc.so.6 that /bin/sh loads on this machine."""
    from kernlab.elf.reader import open_elf

    arch = normalize_arch(arch or platform.machine())
    wide = _shell_is_64bit() if arch == normalize_arch(platform.machine()) else None
    candidates = [p for p in _ld_so_cache_entries() if os.path.basename(p) == "libc.so.6"]
    triple = MULTIARCH.get(arch)
    if triple:
        candidates += [f"/lib/{triple}/libc.so.6", f"/usr/lib/{triple}/libc.so.6"]
    candidates += ["/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/lib/libc.so.6", "/usr/lib/libc.so.6"]
    for path in candidates:
        if not os.path.isfile(path):
            continue
        try:
            image = open_elf(path)
        except KernlabError:
            continue
        # x32's libc is EM_X86_64 too: the ELF class tells them apart.
        if image.arch == arch and (wide is None or image.is_64bit == wide):
            return os.path.realpath(path)
    raise NotSupported(f"no {arch} libc.so.6 found in {LD_SO_CACHE} or the standard library directories")


def _shell_is_64bit() -> bool | None:
    """The ELF class of /bin/sh, whose libc is the one wanted."""
    from kernlab.elf.reader import open_elf

    try:
        return open_elf(os.path.realpath("/bin/sh")).is_64bit
    except (KernlabError, OSError):
        return None


# System calls whose glibc function has another name (the POSIX name of an rt_ call, _exit).
WRAPPER_NAMES: dict[str, tuple[str, ...]] = {
    "exit_group": ("_exit", "_Exit"),
    "newfstatat": ("fstatat64", "fstatat"),
    "rt_sigaction": ("__libc_sigaction", "sigaction"),
    "rt_sigprocmask": ("sigprocmask",),
    "rt_sigsuspend": ("sigsuspend",),
    "rt_sigpending": ("sigpending",),
    "rt_sigtimedwait": ("sigtimedwait",),
    "rt_sigqueueinfo": ("sigqueue",),
    "fadvise64": ("posix_fadvise",),
    "umount2": ("umount2", "umount"),
    "getdents64": ("getdents64",),
}


def wrapper_candidates(name: str) -> list[str]:
    """Names glibc gives the wrapper of system call ``name``, most specific first."""
    base = name.removesuffix("64")
    names = [*WRAPPER_NAMES.get(name, ()), name, f"__{name}", f"__libc_{name}"]
    names += [f"{name}64", f"__{name}64", f"__libc_{name}64"]
    if base != name:
        names += [base, f"__{base}", f"__libc_{base}"]
    return list(dict.fromkeys(names))


def _wrapper_and_callees(
    libc: str, dis: Disassembly, callees: list[str], depth: int = 2
) -> Iterator[Disassembly]:
    """The wrapper, then the functions it calls or jumps to (``depth`` levels), each once."""
    yield dis
    if depth == 0:
        return
    for ins in dis.instructions:
        name = ins.target_name
        if ins.target is None or name is None or ins.comment or "+" in name or "-" in name:
            continue
        if ins.mnemonic.split()[-1] not in ("call", "jmp", "bl", "b") or name.endswith("@plt"):
            continue
        if name in callees or name.startswith("__stack_chk_fail"):
            continue
        callees.append(name)
        try:
            inner = disassemble_function(libc, name)
        except KernlabError:
            continue
        yield from _wrapper_and_callees(libc, inner, callees, depth - 1)


def _trap_for(
    dis: Disassembly, number: int | None
) -> tuple[SyscallNote | None, Instruction | None, Instruction | None]:
    """The first trap loading ``number`` (any number when None) and the loading instruction."""
    by_address = {i.address: i for i in dis.instructions}
    for ins in dis.instructions:
        if ins.syscall is not None and (number is None or ins.syscall.number == number):
            return ins.syscall, by_address.get(ins.syscall.loaded_at), ins
    return None, None, None


@dataclass(frozen=True)
class SyscallWithWrapper:
    """``kernlab syscall NAME --libc``: the call, and libc's code that makes it."""

    syscall: SyscallReport
    libc: LibcWrapper


def _register_of(load: Instruction | None) -> str | None:
    if load is None:
        return None
    last = load.operands.split(",")[-1].strip() if "," in load.operands else load.operands.split(",")[0]
    # AT&T puts the destination last (%eax); AArch64 first (w8).
    if last.startswith("%"):
        return last.lstrip("%")
    return load.operands.split(",")[0].strip()


def libc_wrapper(name: str, libc: str | None = None, arch: str | None = None) -> LibcWrapper:
    """libc's wrapper for system call ``name`` (or number), disassembled."""
    arch = normalize_arch(arch or platform.machine())
    call = lookup(name, arch)
    libc = libc or find_libc(arch)
    dis: Disassembly | None = None
    for candidate in wrapper_candidates(call.name):
        try:
            dis = disassemble_function(libc, candidate)
            break
        except BadInput:
            continue
    if dis is None:
        raise BadInput(
            f"{libc} exports no wrapper for {call.name} (tried {', '.join(wrapper_candidates(call.name))})"
        )

    # The wrapper may hand over to an internal function (fork -> _Fork, stat -> fstatat) and may
    # enter the kernel through another call (glibc's open uses openat): look for the exact
    # number first, in the wrapper then in what it calls, else take the first trap found.
    found: list[tuple[Disassembly, SyscallNote | None, Instruction | None, Instruction | None]] = []
    callees: list[str] = []
    for current in _wrapper_and_callees(libc, dis, callees):
        note, load, trap = _trap_for(current, call.number)
        if note is not None:
            found.insert(0, (current, note, load, trap))
            break
        note, load, trap = _trap_for(current, None)
        if note is not None:
            found.append((current, note, load, trap))
    trap_dis, note, load, trap = found[0] if found else (None, None, None, None)
    entered = None
    if note is not None and note.number != call.number:
        try:
            entered = lookup(note.number, arch)
        except BadInput:
            entered = None
    return LibcWrapper(
        libc=libc,
        syscall=call,
        function=dis.function or call.name,
        disassembly=dis,
        trap_function=trap_dis.function if trap_dis else None,
        trap_disassembly=trap_dis if trap_dis is not dis else None,
        entered_as=entered,
        note=note,
        number_register=_register_of(load),
        load=load,
        trap=trap,
        callees=callees,
        kernel_path=_kernel_path(arch, call),
    )


def _kernel_path(arch: str, call: Syscall) -> list[str]:
    """Entry symbols of the running kernel a call of ``call`` passes, as found in kallsyms."""
    if arch != normalize_arch(platform.machine()):
        return []
    names = [*ENTRY_PATHS.get(arch, ()), "x64_sys_call", "sys_call_table"]
    if call.symbol:
        names.append(call.symbol)
    try:
        found = lookup_kallsyms(names)
    except KernlabError:
        return []
    return [n for n in names if found.get(n) is not None]
