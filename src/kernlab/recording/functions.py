"""``record --functions``: the main executable's functions probed at entry and return.

Which functions: the ``FUNC`` symbols of ``.symtab`` (``.dynsym`` when the file is stripped)
defined in the file, one per address (aliases share a probe; the global name is kept), minus
the C runtime's own start-up and tear-down code (:data:`RUNTIME_FUNCTIONS`, which uftrace does
not show either: it is not built with ``-pg`` and ``uftrace -P .`` skips it). A probe goes at the
function's *file offset*, which the program headers give for its address (PT_LOAD: ``offset +
(address - vaddr)``), so PIE and non-PIE files are alike to the kernel.

Filters, as uftrace's: ``-F REGEX`` keeps the functions whose name matches and what they call;
``-N REGEX`` drops the matches and what they call; ``-D DEPTH`` keeps calls up to that depth. A
uprobe cannot look at the stack, so ``-N`` and ``-D`` act when the tree is built (the recording
keeps them) and ``-F`` also narrows what is probed: the matches, every function they reach by a
direct call (the static call graph, from the disassembly), and every function whose address is
taken (a function pointer may lead anywhere) — so an ``-F`` tree misses nothing. More functions
than ``--max-functions`` (default :data:`DEFAULT_MAX_FUNCTIONS`) are refused with one line naming
the filter to add.

The probe table (name, address, offset, the entry and return events) is
``formats/<group>/functions.json``, beside the formats of the group's events
(``formats/<group>/<event>/format``, like any event's): the group's directory says what its events
are, and a recording directory keeps only the entries every recording has (see
recording/directory.py's KNOWN_ENTRIES, which decides what ``DIR.old`` may hold).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from kernlab.errors import BadInput, KernlabError, TracingError
from kernlab.recording import layout
from kernlab.recording.notes import Note, note
from kernlab.tracing.uprobes import ProbeSpec, UprobeGroup

__all__ = [
    "DATA_FILE",
    "DEFAULT_MAX_FUNCTIONS",
    "LIBC_PROTOTYPES",
    "NO_RETURN",
    "RETURN_TYPES",
    "RUNTIME_FUNCTIONS",
    "FunctionFilters",
    "FunctionProbes",
    "FunctionTable",
    "ProbedFunction",
    "SharedProbes",
    "choose_functions",
    "choose_library_calls",
    "choose_program_calls",
    "compile_filters",
    "entry_fetch",
    "library_scope",
    "process_environment",
    "read_function_table",
]

DATA_FILE = "functions.json"
DEFAULT_MAX_FUNCTIONS = 2000
"""Two probes each: every probe is a breakpoint trap per call (~1-3 µs on this machine)."""

RUNTIME_FUNCTIONS = frozenset(
    {
        "_start",
        "_init",
        "_fini",
        "__libc_csu_init",
        "__libc_csu_fini",
        "frame_dummy",
        "register_tm_clones",
        "deregister_tm_clones",
        "__do_global_dtors_aux",
        "_dl_relocate_static_pie",
        "__x86.get_pc_thunk.bx",
    }
)
"""crt1.o/crti.o/crtbegin.o code linked into every C program: not the program's own functions."""


@dataclass(frozen=True)
class FunctionFilters:
    """``-F``/``-N`` (regular expressions, searched in the name as uftrace does) and ``-D``."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    depth: int | None = None
    max_functions: int = DEFAULT_MAX_FUNCTIONS
    libcalls: bool = True
    """Probe the calls the program makes to the functions it imports (uftrace's default), at the
    program's own PLT stubs and call sites; ``--no-libcall`` leaves them out."""
    nest_libcall: bool = False
    """``--nest-libcall``: keep library calls made inside libraries too, not only the program's."""
    libs: list[str] = field(default_factory=list)
    """``--lib LIB:F1,F2``: named functions of a loaded library, probed whoever calls them."""


def compile_filters(patterns: Iterable[str], option: str) -> list[re.Pattern[str]]:
    out = []
    for pattern in patterns:
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            raise BadInput(
                f"{option} {pattern!r} is not a regular expression: {exc}",
                key="errors.record.not_a_regex",
                fields={"option": option, "pattern": repr(pattern), "reason": str(exc)},
            ) from exc
    return out


@dataclass(frozen=True)
class ProbedFunction:
    """One probed function of the main executable."""

    name: str
    address: int
    """Its address in the file (st_value; the load bias of a PIE is added at run time)."""
    offset: int
    """File offset of its first instruction: where the probes go."""
    size: int
    entry_event: str
    """``group:event`` of the entry probe."""
    exit_event: str
    """``group:event`` of the return probe."""
    library: str = ""
    """The library file the function is defined in ("" for the main executable's own)."""
    args: list[str] = field(default_factory=list)
    """Types of the arguments fetched at entry (:data:`LIBC_PROTOTYPES`): ``str``, ``int``,
    ``uint``, ``long``, ``size``, ``ptr``; empty when none is known."""
    ret: str = ""
    """Type of the return value fetched (``int``, ``long``, ``size``, ``ptr``), ``void``,
    ``noreturn``, or "" when not known."""
    explicit: bool = False
    """Named with ``--lib``: shown whoever calls it (not only calls from the program)."""
    probe: str = ""
    """Where a library call is probed: ``plt`` (uprobe + uretprobe on the program's PLT stub),
    ``call`` (at each ``call *slot(%rip)`` of the program and at the instruction after it),
    ``tail`` (at each ``jmp *slot(%rip)``: uprobe + uretprobe there), or "" (the program's own
    function, or a library function probed at its definition: ``--nest-libcall``, ``--lib``)."""
    sites: list[list[int]] = field(default_factory=list)
    """``call``/``tail``: [entry offset, exit offset] of each site (exit -1: no exit probe, the
    function does not return there); all sites of a function share its two events."""


@dataclass
class FunctionTable:
    """What ``--functions`` probed (``functions.json``)."""

    binary: str
    pie: bool
    symbol_table: str
    """``.symtab``, ``.dynsym``, or "" when the file has neither (stripped)."""
    group: str
    functions: list[ProbedFunction]
    filters: FunctionFilters
    runtime_left_out: int = 0
    """C runtime functions (RUNTIME_FUNCTIONS) not probed."""
    filtered_out: int = 0
    """Functions ``-F`` left unprobed (unreachable from its matches)."""
    missing: str = ""
    """``symbols`` when the file names no function at all (stripped)."""
    segments: list[list[int]] = field(default_factory=list)
    """[vaddr, memsz] of each PT_LOAD of the main executable: where a return address must lie
    (after the load bias) for a library call to be the program's."""
    first_load_page: int = 0
    """The first PT_LOAD's address rounded down to its page: the file offset 0 mapping's start
    minus the load bias."""
    caller_known: bool = False
    """The library probes fetch the return address (``caller``), so calls made inside libraries
    can be told from the program's (x86-64, AArch64)."""
    libraries: list[str] = field(default_factory=list)
    """The libraries probed (files), in ld.so's lookup order."""
    unresolved: list[str] = field(default_factory=list)
    """Imported functions not probed: no definition found in the libraries, no stub or call site
    the program calls them through (only their address is taken), or, probed in the libraries,
    an IFUNC or a function a return probe would break (:data:`UNSAFE_RETURNS`)."""
    libcall_side: str = ""
    """``program``: library calls probed in the main executable only (its PLT stubs and call
    sites: no other process traps); ``library``: at their definitions in the libraries
    (``--nest-libcall``: every process mapping them traps); "" when none is probed."""
    shared: dict[str, list[list[int]]] = field(default_factory=dict)
    """Events holding the probes of many functions (``group:event`` -> [[address, function
    index, 1 at the function's end / 0 at its entry], ...]): the probes of one file whose fetch
    arguments are the same share one event (Linux 5.7+), since the kernel ends each event's
    disabling with one RCU grace period (~40 ms here) — 280 events took 12 s to disable. A record
    of one is told by its probe's address (``__probe_ip``; ``__probe_func`` of a return probe)
    less the load bias (:class:`SharedProbes`). Empty when the kernel refused to add a probe to
    an event: one event per function, as ``entry_event``/``exit_event`` say."""
    buffer: str = ""
    """``functions``: the probes' events went to their own instance, with no pid filter
    (recording/probe_buffer.py): read from ``cpus/functions/``, keeping the traced tasks'
    records only. "": in the recording's own buffer."""
    buffer_page_size: int = 0
    """Ring-buffer page size of that instance."""
    traced_at_start: list[int] = field(default_factory=list)
    """Thread ids traced from the start (the command's first task, or every thread of a ``-p``
    process): with the children ``sched_process_fork`` names, the tasks whose probe records
    count."""

    def only_in_program(self) -> bool:
        """Every probe is in the main executable (its functions, PLT stubs and call sites): only
        the processes running it can hit them."""
        return all(not f.library or f.probe for f in self.functions)


def _symbol_functions(image: Any) -> tuple[str, list[tuple[str, int, int, str]]]:
    """(table, [(name, address, size, bind)]) of the defined functions of the best table."""
    for table in (".symtab", ".dynsym"):
        rows = [
            (s.name, s.value, s.size, s.bind)
            for s in image.symbols(table)
            if s.type in ("FUNC", "IFUNC") and s.shndx not in ("UND", "ABS", "COM") and s.value and s.name
        ]
        if rows:
            return table, rows
    return "", []


_BIND_RANK = {"GLOBAL": 0, "WEAK": 1, "LOCAL": 2}


def _one_per_address(rows: list[tuple[str, int, int, str]]) -> dict[int, tuple[str, int]]:
    """address -> (name, size): aliases of one address give one probe, named by its global name."""
    best: dict[int, tuple[int, str, int]] = {}
    for name, address, size, bind in rows:
        rank = (_BIND_RANK.get(bind, 3), name.startswith("_"), name)
        old = best.get(address)
        if old is None or rank < (old[0], old[1].startswith("_"), old[1]):
            best[address] = (rank[0], name, size)
    return {a: (n, s) for a, (_, n, s) in best.items()}


def _disassembler(image: Any) -> Any:
    """A capstone decoder with details for the image's architecture; None when it has none."""
    import capstone

    from kernlab.elf.disasm.decode import CAPSTONE_MODES

    if image.arch not in CAPSTONE_MODES:
        return None
    arch_name, mode_name = CAPSTONE_MODES[image.arch]
    md = capstone.Cs(getattr(capstone, arch_name), getattr(capstone, mode_name))
    md.detail = True
    return md


def _function_code(
    image: Any, functions: dict[int, tuple[str, int]], addresses: Iterable[int]
) -> Iterator[tuple[int, int, bytes]]:
    """(address, size, code) of each of ``addresses`` that has a size and readable bytes."""
    for address in addresses:
        size = functions[address][1]
        if size <= 0:
            continue
        try:
            code = image.read(address, size)
        except KernlabError:
            continue
        yield address, size, code


def _leaves(image: Any, functions: dict[int, tuple[str, int]], addresses: set[int]) -> set[int]:
    """Those of ``addresses`` whose code calls nothing: no call, no system call or trap, no jump
    out of the function (a tail call) and no indirect jump. Such a function is its whole subtree,
    so ``-N`` can leave its probes out and show what hiding it would (a hot leaf then costs
    nothing); a function that may call others stays probed, for replay to hide what it calls."""
    import capstone

    md = _disassembler(image)
    if md is None:
        return set()
    out: set[int] = set()
    for address, size, code in _function_code(image, functions, addresses):
        leaf, seen = True, 0
        for insn in md.disasm(code, address):
            seen += insn.size
            if insn.group(capstone.CS_GRP_CALL) or insn.group(capstone.CS_GRP_INT):
                leaf = False
            elif insn.group(capstone.CS_GRP_JUMP) or insn.group(capstone.CS_GRP_BRANCH_RELATIVE):
                targets = [op.imm for op in insn.operands if op.type == capstone.CS_OP_IMM]
                leaf = bool(targets) and all(address <= a < address + size for a in targets)
            if not leaf:
                break
        if leaf and seen == size:  # decoded to its end: nothing hidden in undecodable bytes
            out.add(address)
    return out


def _reachable(image: Any, functions: dict[int, tuple[str, int]], roots: set[int]) -> set[int]:
    """Addresses of the functions reached from ``roots`` by direct calls, plus every function
    whose address the code or the data takes (a pointer to it may be called from anywhere)."""
    import capstone
    from capstone import x86

    md = _disassembler(image)
    if md is None:
        return set(functions)  # no disassembler for it: probe everything rather than miss calls
    is_x86 = image.arch in ("x86_64", "i386")
    edges: dict[int, set[int]] = {}
    taken: set[int] = set()
    for address, _size, code in _function_code(image, functions, functions):
        targets: set[int] = set()
        for insn in md.disasm(code, address):
            for op in insn.operands:
                value = None
                if op.type == capstone.CS_OP_IMM:  # call/jmp targets, mov $func
                    value = op.imm
                elif is_x86 and op.type == capstone.CS_OP_MEM and op.mem.base == x86.X86_REG_RIP:
                    value = insn.address + insn.size + op.mem.disp  # lea func(%rip)
                if value in functions:
                    if insn.group(capstone.CS_GRP_CALL) or insn.group(capstone.CS_GRP_JUMP):  # or a tail call
                        targets.add(value)
                    else:
                        taken.add(value)
        edges[address] = targets
    taken |= _data_pointers(image, functions)
    seen: set[int] = set()
    todo = list(roots | taken)
    while todo:
        a = todo.pop()
        if a in seen:
            continue
        seen.add(a)
        todo.extend(edges.get(a, ()))
    return seen


def _data_pointers(image: Any, functions: dict[int, tuple[str, int]]) -> set[int]:
    """Function addresses stored in data: words of the data sections (non-PIE) and the addends
    of relative relocations (PIE, where the word itself is 0 until ld.so fills it)."""
    found: set[int] = set()
    word = 8 if image.is_64bit else 4
    fmt = ("<" if image.is_little_endian else ">") + ("Q" if word == 8 else "I")
    for sec in image.sections:
        if not sec.is_alloc or sec.is_nobits or sec.flags_value & 0x4:  # SHF_EXECINSTR
            continue
        with contextlib.suppress(KernlabError):
            data = bytes(image.section_data(sec))
            usable = len(data) // word * word
            found.update(v for (v,) in struct.iter_unpack(fmt, data[:usable]) if v in functions)
    for rel in image.relocation_sections():
        with contextlib.suppress(KernlabError):
            for r in image.relocations(rel.name):
                if r.addend in functions:
                    found.add(r.addend)
                elif r.symbol_value in functions:
                    found.add(r.symbol_value)
    return found


def choose_functions(path: str, filters: FunctionFilters, group: str) -> FunctionTable:
    """The functions of ``path`` to probe under ``filters``; BadInput past the cap."""
    from kernlab.elf.reader import open_elf

    include = compile_filters(filters.include, "-F")
    exclude = compile_filters(filters.exclude, "-N")
    image = open_elf(path)
    table, rows = _symbol_functions(image)
    pie = bool(image.header.type.startswith("DYN"))
    loads = [p for p in image.segments if p.type == "LOAD"]
    segments = [[p.vaddr, p.memsz] for p in loads]
    first_page = min((p.vaddr for p in loads), default=0) & ~(os.sysconf("SC_PAGE_SIZE") - 1)
    if not rows:
        return FunctionTable(
            path,
            pie,
            "",
            group,
            [],
            filters,
            missing="symbols",
            segments=segments,
            first_load_page=first_page,
        )
    by_address = _one_per_address(rows)
    runtime = {a for a, (n, _) in by_address.items() if n in RUNTIME_FUNCTIONS}
    candidates = {a: v for a, v in by_address.items() if a not in runtime}
    chosen = set(candidates)
    if include:
        roots = {a for a, (n, _) in candidates.items() if any(p.search(n) for p in include)}
        if not roots:
            raise BadInput(
                f"-F {' '.join(filters.include)}: no function of {path} matches "
                f"({len(candidates)} in its {table})",
                key="errors.record.no_function_matches",
                fields={
                    "patterns": " ".join(filters.include),
                    "path": str(path),
                    "total": len(candidates),
                    "table": table,
                },
            )
        chosen = _reachable(image, candidates, roots) & set(candidates)
    if exclude:
        named = {a for a in chosen if any(p.search(candidates[a][0]) for p in exclude)}
        chosen -= _leaves(image, candidates, named)
    if len(chosen) > filters.max_functions:
        raise BadInput(
            f"{path}: functions to probe: {len(chosen)}, more than --max-functions "
            f"{filters.max_functions} (two probes each, a trap per call): narrow them with "
            "-F REGEX (these functions and what they call) or -N REGEX, or raise --max-functions",
            key="errors.record.too_many_functions",
            fields={"path": str(path), "chosen": len(chosen), "most": filters.max_functions},
        )
    functions = []
    for i, address in enumerate(sorted(chosen)):
        name, size = candidates[address]
        offset = image.offset_for_vaddr(address)
        if offset is None:
            continue
        functions.append(ProbedFunction(name, address, offset, size, f"{group}:e{i}", f"{group}:r{i}"))
    return FunctionTable(
        path,
        pie,
        table,
        group,
        functions,
        filters,
        runtime_left_out=len(runtime),
        filtered_out=len(candidates) - len(chosen),
        segments=segments,
        first_load_page=first_page,
    )


# --- library calls ----------------------------------------------------------------------------

LIBC_PROTOTYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "rename": (("str", "str"), "int"),
    "renameat": (("int", "str", "int", "str"), "int"),
    "renameat2": (("int", "str", "int", "str", "uint"), "int"),
    "open": (("str", "int"), "int"),
    "open64": (("str", "int"), "int"),
    "openat": (("int", "str", "int"), "int"),
    "openat64": (("int", "str", "int"), "int"),
    "close": (("int",), "int"),
    "read": (("int", "ptr", "size"), "long"),
    "write": (("int", "ptr", "size"), "long"),
    "unlink": (("str",), "int"),
    "unlinkat": (("int", "str", "int"), "int"),
    "puts": (("str",), "int"),
    "printf": (("str",), "int"),
    "fprintf": (("ptr", "str"), "int"),
    "sprintf": (("ptr", "str"), "int"),
    "snprintf": (("ptr", "size", "str"), "int"),
    "malloc": (("size",), "ptr"),
    "free": (("ptr",), "void"),
    "calloc": (("size", "size"), "ptr"),
    "realloc": (("ptr", "size"), "ptr"),
    "mmap": (("ptr", "size", "int", "int", "int", "long"), "ptr"),
    "mmap64": (("ptr", "size", "int", "int", "int", "long"), "ptr"),
    "munmap": (("ptr", "size"), "int"),
    "strlen": (("str",), "size"),
    "fopen": (("str", "str"), "ptr"),
    "fopen64": (("str", "str"), "ptr"),
    "fclose": (("ptr",), "int"),
    "getenv": (("str",), "ptr"),
    "exit": (("int",), "noreturn"),
    "_exit": (("int",), "noreturn"),
}
"""The libc calls whose arguments and return value are fetched: name -> (argument types, return
type), as uftrace's ``--auto-args`` shows its own curated list. Applied to these names in a C
library (``libc.so.*``) only: another library's ``open`` may take anything."""

RUNTIME_IMPORTS = frozenset({"__libc_start_main", "__cxa_finalize", "__gmon_start__"})
"""Imports called by the C runtime's code (``_start``, ``__do_global_dtors_aux``, ``_init``),
not by the program: ``__libc_start_main`` would otherwise wrap ``main`` itself."""

UNSAFE_RETURNS = re.compile(
    r"^(_?_?(sig)?setjmp|_?_?(sig)?longjmp|__longjmp_chk|vfork|__vfork|clone3?|getcontext|setcontext|"
    r"swapcontext|makecontext|_Unwind_.*|__cxa_(throw|rethrow|begin_catch|end_catch)|dl(open|mopen|sym|vsym|"
    r"addr1?|info|close|error|iterate_phdr)|__tls_get_addr|backtrace.*|pthread_exit|__libc_.*)$"
)
"""Functions never probed: a return probe replaces the return address on the stack with the
kernel's trampoline — in EVERY process that maps the library, since a tracefs uprobe is not
limited to the traced process — and these return twice (setjmp, vfork, clone), never return
normally (longjmp, unwinding), or read their caller's address (dlopen, dlsym: the caller's
namespace), as uftrace's plthook special-cases them."""


_ARG_REGISTERS = {
    "x86_64": ("%di", "%si", "%dx", "%cx", "%r8", "%r9"),
    "aarch64": ("%x0", "%x1", "%x2", "%x3", "%x4", "%x5"),
}
"""Where the System V (x86-64) and AAPCS64 calling conventions put the first six arguments."""

_CALLER_FETCH = {"x86_64": "caller=+0($stack):u64", "aarch64": "caller=%x30:u64"}
"""The return address at a function's first instruction: the word on top of the stack (``call``
pushed it) on x86-64, the link register on AArch64."""

_RETURN_REGISTER = {"x86_64": "%ax", "aarch64": "%x0"}
"""Where a function's value is after its call returned (a call site's exit probe: no uretprobe,
so no ``$retval``)."""

_FETCH_TYPE = {"int": "s32", "uint": "u32", "long": "s64", "size": "u64", "ptr": "x64"}
RETURN_TYPES = frozenset({"int", "uint", "long", "size", "ptr"})
"""Return types whose value is fetched (``ret=$retval:s64``)."""


def entry_fetch(function: ProbedFunction, arch: str, caller: bool = True) -> str:
    """The fetch arguments of a library function's entry probe: ``caller`` (unless a probe in
    the program itself, where every call is the program's) and its arguments (a string as its
    pointer ``aNp`` and its text ``aN``, so NULL stays NULL)."""
    parts = [_CALLER_FETCH[arch]] if caller and arch in _CALLER_FETCH else []
    registers = _ARG_REGISTERS.get(arch, ())
    for k, kind in enumerate(function.args[: len(registers)]):
        reg = registers[k]
        if kind == "str":
            parts += [f"a{k}p={reg}:x64", f"a{k}=+0({reg}):ustring"]
        else:
            parts.append(f"a{k}={reg}:{_FETCH_TYPE[kind]}")
    return " ".join(parts)


def _own_mappings() -> list[tuple[int, int, int, int, str]]:
    """(start, end, file offset, inode, path) of this process's file mappings."""
    out = []
    with contextlib.suppress(OSError), open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].startswith("/"):
                lo, _, hi = parts[0].partition("-")
                out.append(
                    (int(lo, 16), int(hi, 16), int(parts[2], 16), int(parts[4]), parts[5].rstrip("\n"))
                )
    return out


def _ifunc_choice(library: str, name: str, version: str | None) -> tuple[str, int] | None:
    """(file, offset) of the function an IFUNC resolver picks on this machine, or None.

    The resolver runs in ld.so at relocation time and picks by CPU features, so its choice is
    not in the file. kernlab asks its own dynamic loader (``dlvsym`` runs the resolver) — but only
    for a library this process has already mapped (``RTLD_NOLOAD``: nothing of the file's world
    is loaded or run), which covers the C library. Same CPU, same library file: same choice
    (unless GLIBC_TUNABLES differs between kernlab and the command).
    """
    import ctypes

    try:
        inode = os.stat(library).st_ino
    except OSError:
        return None
    mapped = _own_mappings()
    if not any(path == library and ino == inode for _lo, _hi, _off, ino, path in mapped):
        return None
    try:
        handle = ctypes.CDLL(library, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        if version:
            dlvsym = ctypes.CDLL(None).dlvsym
            dlvsym.restype = ctypes.c_void_p
            dlvsym.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
            address = dlvsym(handle._handle, name.encode(), version.encode())
        else:
            address = ctypes.cast(getattr(handle, name), ctypes.c_void_p).value
    except (OSError, AttributeError):
        return None
    for lo, hi, off, _ino, path in mapped:
        if address and lo <= address < hi:
            return path, off + address - lo
    return None


def _split_env(value: str | None) -> list[str]:
    return [p for p in re.split(r"[:\s]+", value or "") if p]


def process_environment(pid: int | None) -> dict[str, str]:
    """LD_LIBRARY_PATH and LD_PRELOAD as the program's ld.so saw them: the running process's own
    (``/proc/PID/environ``) with ``-p``, else kernlab's, which the command inherits."""
    if pid is None:
        return {k: os.environ[k] for k in ("LD_LIBRARY_PATH", "LD_PRELOAD") if k in os.environ}
    out: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            key, _, value = item.decode(errors="replace").partition("=")
            if key in ("LD_LIBRARY_PATH", "LD_PRELOAD"):
                out[key] = value
    return out


def library_scope(path: str, env: dict[str, str]) -> list[str]:
    """The files ld.so looks a symbol up in, in its order (after the program itself): the
    preloaded libraries, then the DT_NEEDED tree breadth-first (kernlab.elf.ldd's resolution)."""
    from kernlab.elf.ldd import resolve_libraries

    out = [os.path.realpath(p) for p in _split_env(env.get("LD_PRELOAD")) if os.path.isfile(p)]
    resolution = resolve_libraries(path, ld_library_path=env.get("LD_LIBRARY_PATH"))
    for obj in resolution.objects:
        if obj.status in ("found", "interpreter") and obj.path:
            out.append(os.path.realpath(obj.path))
    return list(dict.fromkeys(out))


class _Library:
    """The defined, exported functions of one library's ``.dynsym``, by name."""

    def __init__(self, path: str) -> None:
        from kernlab.elf.reader import open_elf

        self.path = path
        self.image = open_elf(path)
        self.soname = self.image.soname or os.path.basename(path)
        self.by_name: dict[str, list[Any]] = {}
        for sym in self.image.symbols(".dynsym"):
            if (
                sym.type in ("FUNC", "IFUNC")
                and sym.shndx not in ("UND", "ABS", "COM")
                and sym.bind in ("GLOBAL", "WEAK")
                and sym.visibility in ("DEFAULT", "PROTECTED")
                and sym.name
            ):
                self.by_name.setdefault(sym.name, []).append(sym)

    def definition(self, name: str, version: str | None) -> Any | None:
        """The symbol ld.so binds ``name`` (needing ``version``) to here: that version, else the
        default (``@@``) or unversioned definition; None when this library has neither."""
        found = self.by_name.get(name, [])
        exact = [s for s in found if version and s.version == version]
        default = [s for s in found if not s.version_hidden]
        best = exact or default
        return best[0] if best else None

    @property
    def is_c_library(self) -> bool:
        return bool(re.match(r"libc\.so(\.|$)", self.soname))


def _parse_lib_options(specs: list[str]) -> list[tuple[str, list[str]]]:
    out = []
    for spec in specs:
        lib, sep, names = spec.partition(":")
        functions = [n for n in names.split(",") if n]
        if not sep or not lib or not functions:
            raise BadInput(
                f"--lib {spec!r}: give LIBRARY:FUNCTION[,FUNCTION…], e.g. --lib libc:rename,puts",
                key="errors.record.lib_spec",
                fields={"spec": repr(spec)},
            )
        out.append((lib, functions))
    return out


def _matches_library(spec: str, lib: _Library) -> bool:
    """``libc`` names libc.so.6, ``libc.so.6`` too, and a path names that file."""
    if "/" in spec:
        return os.path.realpath(spec) == lib.path
    base = os.path.basename(lib.path)
    return any(n == spec or n.startswith(spec + ".") or n.startswith(spec + "-") for n in (lib.soname, base))


def choose_library_calls(
    path: str, filters: FunctionFilters, group: str, env: dict[str, str], arch: str
) -> tuple[list[ProbedFunction], list[str], list[str]]:
    """(the library functions to probe, the libraries they are in, the imports left unprobed).

    Each function the program imports (an undefined FUNC of its ``.dynsym``: what its PLT/GOT
    slots are bound to) is resolved as ld.so would — the first library of the lookup scope that
    defines it, with the version the program needs — and probed at its definition's file offset
    (the library's ``.dynsym`` value through its program headers; for an IFUNC, the
    implementation the resolver picks on this machine). ``--lib`` adds named functions of a
    library the program loads.
    """
    from kernlab.elf.reader import open_elf

    wanted: dict[str, str | None] = {}
    exclude = compile_filters(filters.exclude, "-N")
    if filters.libcalls:
        for sym in open_elf(path).symbols(".dynsym"):
            imported = sym.shndx == "UND" and sym.type in ("FUNC", "IFUNC")
            if imported and sym.name not in RUNTIME_IMPORTS and not any(p.search(sym.name) for p in exclude):
                wanted.setdefault(sym.name, sym.version)
    explicit = _parse_lib_options(filters.libs)
    if not wanted and not explicit:
        return [], [], []
    libraries = [_Library(p) for p in library_scope(path, env)]
    chosen: dict[tuple[str, int], ProbedFunction] = {}
    unresolved: list[str] = []

    def add(lib: _Library, name: str, version: str | None, named: bool) -> bool:
        sym = lib.definition(name, version)
        if sym is None:
            return False
        where: tuple[str, int] | None = None
        if UNSAFE_RETURNS.match(name) or (sym.type == "IFUNC" and not named):
            # An IFUNC's implementations (the string and memory functions) are also entered by
            # jumps from glibc's own code; probing them system-wide broke other processes here.
            unresolved.append(name)
            return True
        if sym.type == "IFUNC":
            where = _ifunc_choice(lib.path, name, version)
        else:
            offset = lib.image.offset_for_vaddr(sym.value)
            where = (lib.path, offset) if offset is not None else None
        if where is None:
            unresolved.append(name)
            return True
        key = where
        if key in chosen:  # an alias (open/open64) or two IFUNCs with one choice: one probe
            if named:
                chosen[key] = replace(chosen[key], explicit=True)
            return True
        args, ret = LIBC_PROTOTYPES.get(name, ((), "")) if lib.is_c_library else ((), "")
        j = len(chosen)
        chosen[key] = ProbedFunction(
            name, sym.value, where[1], sym.size, f"{group}:l{j}", f"{group}:x{j}",
            library=where[0], args=list(args), ret=ret, explicit=named,
        )  # fmt: skip
        return True

    for name, version in wanted.items():
        if not any(add(lib, name, version, False) for lib in libraries):
            unresolved.append(name)
    for spec, names in explicit:
        matching = [lib for lib in libraries if _matches_library(spec, lib)]
        if not matching:
            loaded = ", ".join(os.path.basename(lib.path) for lib in libraries) or "none"
            raise BadInput(
                f"--lib {spec}: {path} loads no such library (it loads: {loaded})",
                key="errors.record.lib_not_loaded",
                fields={"spec": spec, "path": str(path), "loaded": loaded},
            )
        for name in names:
            if not add(matching[0], name, None, True):
                raise BadInput(
                    f"--lib {spec}: {matching[0].path} defines no function {name!r}",
                    key="errors.record.lib_no_function",
                    fields={"spec": spec, "library": matching[0].path, "name": repr(name)},
                )
    functions = list(chosen.values())
    used = list(dict.fromkeys(f.library for f in functions))
    return functions, used, sorted(set(unresolved))


NO_RETURN = frozenset(
    {
        "exit", "_exit", "_Exit", "quick_exit", "abort", "__stack_chk_fail", "__fortify_fail",
        "__assert_fail", "__assert_perror_fail", "__chk_fail", "err", "errx", "verr", "verrx",
        "longjmp", "_longjmp", "siglongjmp", "__longjmp_chk", "pthread_exit", "__cxa_throw",
        "__cxa_rethrow", "_Unwind_Resume", "__cxa_bad_cast", "__cxa_bad_typeid",
        "__cxa_throw_bad_array_new_length", "__cxa_pure_virtual",
    }
)  # fmt: skip
"""Functions that never return to their caller: a call site of one gets no exit probe (the
instruction after it may belong to the next function)."""


def _imports(path: str) -> dict[str, str | None]:
    """name -> version of the functions the program imports (its undefined ``FUNC`` symbols),
    the C runtime's own imports left out."""
    from kernlab.elf.reader import open_elf

    wanted: dict[str, str | None] = {}
    for sym in open_elf(path).symbols(".dynsym"):
        if sym.shndx == "UND" and sym.type in ("FUNC", "IFUNC") and sym.name not in RUNTIME_IMPORTS:
            wanted.setdefault(sym.name, sym.version)
    return wanted


def choose_program_calls(
    path: str, group: str, env: dict[str, str], first: int = 0, exclude: Sequence[re.Pattern[str]] = ()
) -> tuple[list[ProbedFunction], list[str], list[str]]:
    """(the program's library calls to probe, the libraries defining them, the imports left
    unprobed), every probe in the main executable ``path`` itself.

    A call the program makes to an import goes through its PLT stub (``puts@plt``: ``.plt``,
    ``.plt.sec`` with IBT, ``.plt.got``) — probed with a uprobe and a uretprobe, so the
    function's argument registers are there at entry and its return value at the return — or,
    built with ``-fno-plt``, through its GOT slot (``call *puts@GOTPCREL(%rip)``): probed at each
    such call and at the instruction after it (a ``jmp`` tail call: uprobe + uretprobe there).
    A uprobe in a file traps only in the processes that map that file, so no other process is
    touched, and the calls counted are exactly the program's own (uftrace's default libcall
    semantics). Functions that return twice or read their return address
    (:data:`UNSAFE_RETURNS`) get no uretprobe: they are probed at their call sites.
    The defining library (ld.so's lookup order) is found only to name it and to know which calls
    are the C library's (whose arguments are fetched). Imports ``exclude`` (``-N``) matches are
    not probed: a library call is a leaf of the program's tree, so leaving its probes out is
    exactly what hiding it would show, for two traps a call less.
    """
    from kernlab.elf.callsites import CALL, got_call_sites
    from kernlab.elf.plt import plt_entries
    from kernlab.elf.reader import open_elf

    wanted = {n: v for n, v in _imports(path).items() if not any(p.search(n) for p in exclude)}
    if not wanted:
        return [], [], []
    image = open_elf(path)
    libraries = [_Library(p) for p in library_scope(path, env)]
    defined: dict[str, _Library] = {}
    for name, version in wanted.items():
        lib = next((lib for lib in libraries if lib.definition(name, version) is not None), None)
        if lib is not None:
            defined[name] = lib
    stubs: dict[str, list[int]] = {}
    for stub in plt_entries(image):
        bare = stub.name[: -len("@plt")]
        if bare in defined:
            stubs.setdefault(bare, []).append(stub.address)
    unsafe_stubs = {a: n for n, addrs in stubs.items() if UNSAFE_RETURNS.match(n) for a in addrs}
    sites = got_call_sites(image, set(defined), unsafe_stubs or None)
    by_kind: dict[tuple[str, str], list[list[int]]] = {}
    for site in sites:
        if UNSAFE_RETURNS.match(site.name) and site.kind != CALL:
            continue  # a tail call of setjmp/vfork: no safe place for its exit
        at = image.offset_for_vaddr(site.address)
        if at is None:
            continue
        exit_offset = -1
        if site.kind != CALL:
            exit_offset = at  # uretprobe at the jmp: the word on the stack is the caller's
        elif site.name not in NO_RETURN and (not site.function_end or site.next_address < site.function_end):
            exit_offset = image.offset_for_vaddr(site.next_address) or -1
        by_kind.setdefault((site.name, site.kind), []).append([at, exit_offset])
    out: list[ProbedFunction] = []
    unprobed: list[str] = []

    def add(name: str, probe: str, address: int, places: list[list[int]]) -> None:
        lib = defined[name]
        args, ret = LIBC_PROTOTYPES.get(name, ((), "")) if lib.is_c_library else ((), "")
        j = first + len(out)
        out.append(
            ProbedFunction(
                name, address, places[0][0], 0, f"{group}:l{j}", f"{group}:x{j}", library=lib.path,
                args=list(args), ret=ret, probe=probe, sites=places if probe != "plt" else [],
            )
        )  # fmt: skip

    for name in wanted:
        if name not in defined:
            unprobed.append(name)
            continue
        before = len(out)
        if not UNSAFE_RETURNS.match(name):
            for address in stubs.get(name, []):
                offset = image.offset_for_vaddr(address)
                if offset is not None:
                    add(name, "plt", address, [[offset, offset]])
        for kind in ("call", "tail"):
            places = by_kind.get((name, kind))
            if places:
                vaddr = image.vaddr_for_offset(places[0][0]) or 0
                add(name, kind, vaddr, places)
        if len(out) == before:
            unprobed.append(name)
    used = list(dict.fromkeys(f.library for f in out))
    return out, used, sorted(set(unprobed))


class FunctionProbes:
    """The probes of one recording: defined before the command is released, enabled in the
    recording's instance, removed (:meth:`remove`) on every way out of the session."""

    def __init__(self, root: Path, path: str, filters: FunctionFilters, pid: int | None = None) -> None:
        self.probes = UprobeGroup(root)
        self.arch = os.uname().machine
        self.table = choose_functions(path, filters, self.probes.group)
        env = process_environment(pid)
        if filters.libcalls and not filters.nest_libcall:
            # The program's side only; --lib's named functions still go in their library.
            exclude = compile_filters(filters.exclude, "-N")
            calls, libraries, unresolved = choose_program_calls(path, self.probes.group, env, exclude=exclude)
            named, named_libs, _ = choose_library_calls(
                path, replace(filters, libcalls=False), self.probes.group, env, self.arch
            )
            for k, f in enumerate(named):
                j = len(calls) + k
                calls.append(
                    replace(
                        f, entry_event=f"{self.probes.group}:l{j}", exit_event=f"{self.probes.group}:x{j}"
                    )
                )
            libraries = list(dict.fromkeys(libraries + named_libs))
        else:
            calls, libraries, unresolved = choose_library_calls(
                path, filters, self.probes.group, env, self.arch
            )
        own = len(self.table.functions)
        if own + len(calls) > filters.max_functions:
            raise BadInput(
                f"{path}: functions to probe: {own} in the program and {len(calls)} in its libraries, more "
                f"than --max-functions {filters.max_functions} (two probes each, a trap per call): "
                "narrow them with -F REGEX or -N REGEX, leave the library calls out (--no-libcall), "
                "or raise --max-functions",
                key="errors.record.too_many_with_libraries",
                fields={"path": str(path), "own": own, "calls": len(calls), "most": filters.max_functions},
            )
        self.table.functions.extend(calls)
        self.table.libraries = libraries
        self.table.unresolved = unresolved
        self.table.caller_known = self.arch in _CALLER_FETCH
        if calls:
            self.table.libcall_side = "program" if all(f.probe for f in calls) else "library"

    @property
    def note(self) -> Note | None:
        """The note a recording of a file with no function names gets (None otherwise)."""
        if self.table.missing != "symbols":
            return None
        calls = sum(1 for f in self.table.functions if f.library)
        if calls == 1:
            return note(
                "record.note.stripped.one",
                "--functions: {binary} is stripped (no .symtab, no function in .dynsym): its own functions "
                "cannot be named, so none was probed; its library calls ({n} function probed), system "
                "calls, page faults and scheduling are recorded as usual",
                binary=self.table.binary,
                n=calls,
            )
        return note(
            "record.note.stripped.many",
            "--functions: {binary} is stripped (no .symtab, no function in .dynsym): its own functions "
            "cannot be named, so none was probed; its library calls ({n} functions probed), system "
            "calls, page faults and scheduling are recorded as usual",
            binary=self.table.binary,
            n=calls,
        )

    def _rows(self) -> list[tuple[int, bool, ProbeSpec]]:
        """(function index, whether the probe marks the function's end, the probe in the
        function's own event): two per function, or two per call site (a call site's probes are
        added to its function's two events: one event, many probes)."""
        rows: list[tuple[int, bool, ProbeSpec]] = []
        for i, f in enumerate(self.table.functions):
            entry, exit_ = f.entry_event.split(":", 1)[1], f.exit_event.split(":", 1)[1]
            if f.probe:
                fetch = entry_fetch(f, self.arch, caller=False)
                valued = f.ret in RETURN_TYPES and self.arch in _RETURN_REGISTER
                for at, back in f.sites or [[f.offset, f.offset]]:
                    rows.append((i, False, ProbeSpec(entry, self.table.binary, at, fetch=fetch)))
                    if back < 0:
                        continue
                    if f.probe == "call":  # a plain probe on the instruction the call returns to
                        ret = f"ret={_RETURN_REGISTER[self.arch]}:s64" if valued else ""
                        rows.append((i, True, ProbeSpec(exit_, self.table.binary, back, fetch=ret)))
                    else:
                        ret = "ret=$retval:s64" if valued else ""
                        rows.append((i, True, ProbeSpec(exit_, self.table.binary, back, True, fetch=ret)))
                continue
            path = f.library or self.table.binary
            fetch = entry_fetch(f, self.arch) if f.library else ""
            value = "ret=$retval:s64" if f.library and f.ret in RETURN_TYPES else ""
            rows.append((i, False, ProbeSpec(entry, path, f.offset, fetch=fetch)))
            rows.append((i, True, ProbeSpec(exit_, path, f.offset, True, fetch=value)))
        return rows

    def _share(self, rows: list[tuple[int, bool, ProbeSpec]]) -> list[ProbeSpec]:
        """The probes regrouped: one event per (file, kind, entry or end, fetch arguments) —
        a second event of the kind only for a probe whose place the first already holds (the
        kernel refuses the same place twice in one event: a ``call`` site just after another
        call's site) — with the map from each probe's address to its function."""
        from kernlab.elf.reader import open_elf

        group = self.probes.group
        events: dict[tuple[str, bool, bool, str], list[set[int]]] = {}
        names: dict[tuple[tuple[str, bool, bool, str], int], str] = {}
        images: dict[str, Any] = {}
        specs: list[ProbeSpec] = []
        shared: dict[str, list[list[int]]] = {}
        firsts: dict[tuple[int, bool], str] = {}
        for fn, is_end, spec in rows:
            image = images.get(spec.path) or images.setdefault(spec.path, open_elf(spec.path))
            vaddr = image.vaddr_for_offset(spec.offset)
            if vaddr is None:  # no address to tell it by: its own event, as without sharing
                specs.append(spec)
                continue
            kind = (spec.path, spec.is_return, is_end, spec.fetch)
            slots = events.setdefault(kind, [])
            k = next((n for n, held in enumerate(slots) if spec.offset not in held), len(slots))
            if k == len(slots):
                slots.append(set())
                names[(kind, k)] = f"s{len(names)}"
            slots[k].add(spec.offset)
            event = names[(kind, k)]
            specs.append(replace(spec, event=event))
            shared.setdefault(f"{group}:{event}", []).append([vaddr, fn, int(is_end)])
            firsts.setdefault((fn, is_end), f"{group}:{event}")
        self.table.functions = [
            replace(
                f,
                entry_event=firsts.get((i, False), f.entry_event),
                exit_event=firsts.get((i, True), f.exit_event),
            )
            for i, f in enumerate(self.table.functions)
        ]
        self.table.shared = shared
        return specs

    def _split_sites(self) -> None:
        """One row per call site (its own events), for a kernel without multi-probe events."""
        rows: list[ProbedFunction] = []
        for f in self.table.functions:
            if len(f.sites) <= 1:
                rows.append(f)
                continue
            for k, site in enumerate(f.sites):
                suffix = f"_{k}" if k else ""
                rows.append(
                    replace(f, offset=site[0], sites=[site], entry_event=f.entry_event + suffix,
                            exit_event=f.exit_event + suffix)
                )  # fmt: skip
        self.table.functions = rows

    def define(self, directory: Path) -> None:
        """Define every probe, save the formats of their events and ``functions.json``."""
        rows = self._rows()
        places: dict[str, set[int]] = {}
        for _fn, _end, spec in rows:
            places.setdefault(spec.path, set()).add(spec.offset)
        trial = next(((p, sorted(held)[:2]) for p, held in places.items() if len(held) > 1), None)
        own = list(self.table.functions)
        specs: list[ProbeSpec] = []
        shared = False
        if trial and self.probes.can_append(trial[0], *trial[1]):
            specs = self._share(rows)
            try:
                self.probes.define(specs)
                shared = True
            except TracingError:
                # Refused at some size or place the trial did not show: one event per function.
                if self.probes.remove():
                    raise
                self.table.functions, self.table.shared = own, {}
        if not shared:
            if any(len(f.sites) > 1 for f in self.table.functions):
                self._split_sites()
            specs = [spec for _fn, _end, spec in self._rows()]
            if specs:
                self.probes.define(specs)
        if specs:
            for event in dict.fromkeys(spec.event for spec in specs):
                target = layout.format_path(directory, self.probes.group, event)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(self.probes.format_text(event))
        target = directory / layout.FORMATS_DIR / self.probes.group / DATA_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(asdict(self.table), indent=1) + "\n")

    def enable(self, instance: Any, syscalls: Any = None) -> None:
        """Enable the group's events in ``instance`` only (the recording's, or the probes' own:
        recording/probe_buffer.py), and keep the return probes' own ``uretprobe`` system call
        (x86-64, Linux 6.11+: one per probed return) out of ``raw_syscalls`` in ``syscalls``
        (the recording's instance; ``instance`` when None): two records per call that say
        nothing about the program."""
        if not self.table.functions:
            return
        instance.enable_event(self.probes.group)
        from kernlab.recording.syscall_names import syscall_namer

        syscalls = syscalls if syscalls is not None else instance
        numbers = [nr for nr, name in syscall_namer(os.uname().machine).items() if name == "uretprobe"]
        for event in ("sys_enter", "sys_exit"):
            if numbers and syscalls.file(f"events/raw_syscalls/{event}/filter").exists():
                with contextlib.suppress(KernlabError):
                    syscalls.write(f"events/raw_syscalls/{event}/filter", f"id != {numbers[0]}")

    def disable(self, instance: Any) -> None:
        """Disable them there (a probe enabled anywhere cannot be removed)."""
        if self.table.functions and instance is not None:
            with contextlib.suppress(KernlabError):
                instance.write(f"events/{self.probes.group}/enable", "0")

    def remove(self) -> list[str]:
        return self.probes.remove()


_BIAS_STEP = 4096
"""A load bias is a whole number of pages, and every page size Linux uses is a multiple of 4 KiB."""


class SharedProbes:
    """Which function a record of a shared event (:attr:`FunctionTable.shared`) belongs to.

    The record holds its probe's run-time address; the table holds the address in the file. They
    differ by the load bias of the file in the process (0 for a non-PIE executable), found from
    the records themselves: the bias, a multiple of 4 KiB, under which the most of a thread's
    addresses (of that file) are probe addresses of the file — one probe address is enough when
    no other probe lies at the same place in a page, and a thread whose few addresses leave a
    choice takes the bias its process's other threads showed."""

    def __init__(self, table: FunctionTable) -> None:
        self.events: dict[str, dict[int, tuple[int, bool]]] = {
            event: {vaddr: (fn, bool(end)) for vaddr, fn, end in rows} for event, rows in table.shared.items()
        }
        self._fixed = not table.pie
        self._file: dict[str, str] = {}
        self._addresses: dict[str, set[int]] = {}
        for event, rows in table.shared.items():
            f = table.functions[rows[0][1]]
            path = f.library if f.library and not f.probe else table.binary
            self._file[event] = path
            self._addresses.setdefault(path, set()).update(vaddr for vaddr, _fn, _end in rows)
        self._fixed_files = {path for path in self._addresses if path == table.binary and self._fixed}

    def resolve(self, hits: list[tuple[str, int, int]]) -> list[tuple[int, bool] | None]:
        """(function index, whether at its end) of each (event, thread, probe address) — None
        for an address no probe of the event has under its thread's bias."""
        seen: dict[tuple[int, str], set[int]] = {}
        for event, tid, address in hits:
            seen.setdefault((tid, self._file.get(event, "")), set()).add(address)
        biases: dict[tuple[int, str], int] = {}
        chosen: dict[str, list[int]] = {}
        for key in sorted(seen, key=lambda k: -len(seen[k])):
            path = key[1]
            if path in self._fixed_files:
                biases[key] = 0
                continue
            bias = self._bias(seen[key], self._addresses.get(path, set()), chosen.get(path, []))
            if bias is not None:
                biases[key] = bias
                chosen.setdefault(path, []).append(bias)
        out: list[tuple[int, bool] | None] = []
        for event, tid, address in hits:
            bias = biases.get((tid, self._file.get(event, "")))
            out.append(None if bias is None else self.events.get(event, {}).get(address - bias))
        return out

    @staticmethod
    def _bias(seen: set[int], probes: set[int], before: list[int]) -> int | None:
        by_page_place: dict[int, list[int]] = {}
        for vaddr in probes:
            by_page_place.setdefault(vaddr % _BIAS_STEP, []).append(vaddr)
        votes: dict[int, int] = {}
        for address in seen:
            for vaddr in by_page_place.get(address % _BIAS_STEP, []):
                votes[address - vaddr] = votes.get(address - vaddr, 0) + 1
        if not votes:
            return None
        most = max(votes.values())
        best = [b for b, n in votes.items() if n == most]
        return next((b for b in before if b in best), min(best))


def read_function_table(root: Path) -> FunctionTable | None:
    """``formats/<group>/functions.json`` of a recording; None when it was made without
    ``--functions``."""
    found = sorted((Path(root) / layout.FORMATS_DIR).glob(f"kernlab_*/{DATA_FILE}"))
    if not found:
        return None
    path = found[0]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        filters = FunctionFilters(**data.pop("filters"))
        functions = [ProbedFunction(**f) for f in data.pop("functions")]
        return FunctionTable(functions=functions, filters=filters, **data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BadInput(
            f"cannot read {path}: {exc}",
            key="errors.recording.cannot_read",
            fields={"path": str(path), "reason": str(exc)},
        ) from exc
