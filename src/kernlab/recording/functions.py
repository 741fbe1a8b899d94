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
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kernlab.errors import BadInput, KernlabError
from kernlab.recording import layout
from kernlab.tracing.uprobes import ProbeSpec, UprobeGroup

__all__ = [
    "DATA_FILE",
    "DEFAULT_MAX_FUNCTIONS",
    "RUNTIME_FUNCTIONS",
    "FunctionFilters",
    "FunctionProbes",
    "FunctionTable",
    "ProbedFunction",
    "choose_functions",
    "compile_filters",
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


def compile_filters(patterns: Iterable[str], option: str) -> list[re.Pattern[str]]:
    out = []
    for pattern in patterns:
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            raise BadInput(f"{option} {pattern!r} is not a regular expression: {exc}") from exc
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


def _reachable(image: Any, functions: dict[int, tuple[str, int]], roots: set[int]) -> set[int]:
    """Addresses of the functions reached from ``roots`` by direct calls, plus every function
    whose address the code or the data takes (a pointer to it may be called from anywhere)."""
    import capstone
    from capstone import x86

    from kernlab.elf.disasm.decode import CAPSTONE_MODES

    arch = image.arch
    if arch not in CAPSTONE_MODES:
        return set(functions)  # no disassembler for it: probe everything rather than miss calls
    arch_name, mode_name = CAPSTONE_MODES[arch]
    md = capstone.Cs(getattr(capstone, arch_name), getattr(capstone, mode_name))
    md.detail = True
    is_x86 = arch in ("x86_64", "i386")
    edges: dict[int, set[int]] = {}
    taken: set[int] = set()
    for address, (_name, size) in functions.items():
        if size <= 0:
            continue
        try:
            code = image.read(address, size)
        except KernlabError:
            continue
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
    compile_filters(filters.exclude, "-N")
    image = open_elf(path)
    table, rows = _symbol_functions(image)
    pie = bool(image.header.type.startswith("DYN"))
    if not rows:
        return FunctionTable(path, pie, "", group, [], filters, missing="symbols")
    by_address = _one_per_address(rows)
    runtime = {a for a, (n, _) in by_address.items() if n in RUNTIME_FUNCTIONS}
    candidates = {a: v for a, v in by_address.items() if a not in runtime}
    chosen = set(candidates)
    if include:
        roots = {a for a, (n, _) in candidates.items() if any(p.search(n) for p in include)}
        if not roots:
            raise BadInput(
                f"-F {' '.join(filters.include)}: no function of {path} matches "
                f"({len(candidates)} in its {table})"
            )
        chosen = _reachable(image, candidates, roots) & set(candidates)
    if len(chosen) > filters.max_functions:
        raise BadInput(
            f"{path} has {len(chosen)} functions to probe, more than --max-functions "
            f"{filters.max_functions} (two probes each, a trap per call): narrow them with "
            "-F REGEX (these functions and what they call) or -N REGEX, or raise --max-functions"
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
    )


class FunctionProbes:
    """The probes of one recording: defined before the command is released, enabled in the
    recording's instance, removed (:meth:`remove`) on every way out of the session."""

    def __init__(self, root: Path, path: str, filters: FunctionFilters) -> None:
        self.probes = UprobeGroup(root)
        self.table = choose_functions(path, filters, self.probes.group)

    @property
    def note(self) -> str | None:
        """The note a recording of a file with no function names gets (None otherwise)."""
        if self.table.missing != "symbols":
            return None
        return (
            f"--functions: {self.table.binary} is stripped (no .symtab, no function in .dynsym): "
            "its functions cannot be named, so none was probed; system calls, page faults and "
            "scheduling are recorded as usual"
        )

    def define(self, directory: Path) -> None:
        """Define every probe, save the formats of their events and ``functions.json``."""
        specs = []
        for f in self.table.functions:
            specs.append(ProbeSpec(f.entry_event.split(":", 1)[1], self.table.binary, f.offset))
            specs.append(ProbeSpec(f.exit_event.split(":", 1)[1], self.table.binary, f.offset, True))
        if specs:
            self.probes.define(specs)
            for spec in specs:
                target = layout.format_path(directory, self.probes.group, spec.event)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(self.probes.format_text(spec.event))
        target = directory / layout.FORMATS_DIR / self.probes.group / DATA_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(asdict(self.table), indent=1) + "\n")

    def enable(self, instance: Any) -> None:
        """Enable the group's events in the recording's instance only, and keep the return
        probes' own ``uretprobe`` system call (x86-64, Linux 6.11+: one per probed return) out
        of ``raw_syscalls``: two records per call that say nothing about the program."""
        if not self.table.functions:
            return
        instance.enable_event(self.probes.group)
        from kernlab.recording.syscall_names import syscall_namer

        numbers = [nr for nr, name in syscall_namer(os.uname().machine).items() if name == "uretprobe"]
        for event in ("sys_enter", "sys_exit"):
            if numbers and instance.file(f"events/raw_syscalls/{event}/filter").exists():
                with contextlib.suppress(KernlabError):
                    instance.write(f"events/raw_syscalls/{event}/filter", f"id != {numbers[0]}")

    def disable(self, instance: Any) -> None:
        """Disable them there (a probe enabled anywhere cannot be removed)."""
        if self.table.functions and instance is not None:
            with contextlib.suppress(KernlabError):
                instance.write(f"events/{self.probes.group}/enable", "0")

    def remove(self) -> list[str]:
        return self.probes.remove()


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
        raise BadInput(f"cannot read {path}: {exc}") from exc
