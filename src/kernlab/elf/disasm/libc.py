"""libc.so.6 on this machine, and its wrapper for a system call followed to the trap instruction.

libc.so.6 is located the way the dynamic loader would find it for /bin/sh: through
/etc/ld.so.cache (read by :mod:`kernlab.elf.ldcache`), else the standard multiarch directories.
The wrapper is the exported function named like the call (``rename``) or one of glibc's internal
aliases (``__rename``, ``__libc_rename``, ``rename64``); when it does not execute the trap
itself, the functions it calls or jumps to are followed.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from dataclasses import dataclass, field

from kernlab.elf.disasm.decode import disassemble_function
from kernlab.elf.disasm.model import Disassembly, Instruction, SyscallNote
from kernlab.elf.ldcache import LD_SO_CACHE, read_ld_cache
from kernlab.errors import BadInput, KernlabError, NotSupported
from kernlab.syscalls.tables import Syscall, lookup, normalize_arch

__all__ = ["MULTIARCH", "WRAPPER_NAMES", "WrapperCode", "find_libc", "find_wrapper", "wrapper_candidates"]

# Multiarch directory names per architecture (Debian's layout), tried after ld.so.cache.
MULTIARCH: dict[str, str] = {
    "x86_64": "x86_64-linux-gnu",
    "aarch64": "aarch64-linux-gnu",
    "i386": "i386-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
    "arm": "arm-linux-gnueabihf",
}

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


@dataclass(frozen=True)
class WrapperCode:
    """libc's function for one system call, disassembled, with where the number is loaded."""

    libc: str  # path of libc.so.6
    syscall: Syscall
    function: str  # the symbol disassembled first (rename@@GLIBC_2.2.5)
    disassembly: Disassembly
    trap_function: str | None  # the function that executes the trap (may be a callee)
    trap_disassembly: Disassembly | None  # that function, when it is not the wrapper itself
    note: SyscallNote | None  # the trap whose number is known
    number_register: str | None  # the register the number is loaded into (eax)
    load: Instruction | None  # the instruction loading the number
    trap: Instruction | None  # the syscall/svc instruction
    entered_as: Syscall | None = None  # the call the trap really makes, when not ``syscall``
    callees: list[str] = field(default_factory=list)  # functions followed when the wrapper calls


def _cached_libc_paths() -> list[str]:
    try:
        cache = read_ld_cache()
    except KernlabError:
        return []  # a damaged cache: ld.so falls back to the default directories too
    if cache is None:
        return []
    return [e.path for e in cache.entries if os.path.basename(e.path) == "libc.so.6"]


def find_libc(arch: str | None = None) -> str:
    """Path of the libc.so.6 that /bin/sh loads on this machine."""
    from kernlab.elf.reader import open_elf

    arch = normalize_arch(arch or platform.machine())
    wide = _shell_is_64bit() if arch == normalize_arch(platform.machine()) else None
    candidates = _cached_libc_paths()
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
    raise NotSupported(
        f"no {arch} libc.so.6 found in {LD_SO_CACHE} or the standard library directories",
        key="errors.elf.no_libc",
        fields={"arch": arch, "cache": LD_SO_CACHE},
    )


def _shell_is_64bit() -> bool | None:
    """The ELF class of /bin/sh, whose libc is the one wanted."""
    from kernlab.elf.reader import open_elf

    try:
        return open_elf(os.path.realpath("/bin/sh")).is_64bit
    except (KernlabError, OSError):
        return None


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


def _register_of(load: Instruction | None) -> str | None:
    if load is None:
        return None
    last = load.operands.split(",")[-1].strip() if "," in load.operands else load.operands.split(",")[0]
    # AT&T puts the destination last (%eax); AArch64 first (w8).
    if last.startswith("%"):
        return last.lstrip("%")
    return load.operands.split(",")[0].strip()


def find_wrapper(call: Syscall, libc: str) -> WrapperCode:
    """libc's wrapper for system call ``call``, disassembled and followed to its trap."""
    dis: Disassembly | None = None
    for candidate in wrapper_candidates(call.name):
        try:
            dis = disassemble_function(libc, candidate)
            break
        except BadInput:
            continue
    if dis is None:
        tried = ", ".join(wrapper_candidates(call.name))
        raise BadInput(
            f"{libc} exports no wrapper for {call.name} (tried {tried})",
            key="errors.elf.no_wrapper",
            fields={"path": libc, "name": call.name, "tried": tried},
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
            entered = lookup(note.number, call.arch)
        except BadInput:
            entered = None
    return WrapperCode(
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
    )
