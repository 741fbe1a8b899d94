"""`kernlab tour`: the course's day, step by step, on this machine.

Each step is a small function that builds its result from the other commands' reports (kernel,
elf, disasm, ldd, ps, syscall, report, maps, mem, vtop, pagecache, ksrc) and returns a typed,
frozen result of figures and keys. What the steps need that the machine does not hold still —
a hello program compiled here, a live process to look at, a file to read, a folder for `mv a b`
— lives in a :class:`Workspace` (a temporary folder and the children it started), closed at the
end. Whether a step runs is decided here too (root, tracing), as a key the explanation words.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernlab.elf import tiny
from kernlab.errors import BadInput, KernlabError, OSFailure
from kernlab.reports import disasm as disasm_reports
from kernlab.reports import elf as elf_reports
from kernlab.reports import kernel as kernel_reports
from kernlab.reports import ksrc as ksrc_reports
from kernlab.reports import ldd as ldd_reports
from kernlab.reports import maps as maps_reports
from kernlab.reports import mem as mem_reports
from kernlab.reports import pagecache as pagecache_reports
from kernlab.reports import ps as ps_reports
from kernlab.reports import replay as replay_reports
from kernlab.reports import report as report_reports
from kernlab.reports import syscall as syscall_reports
from kernlab.reports import vtop as vtop_reports
from kernlab.reports.disasm import DisasmReport
from kernlab.reports.elf import ElfReport
from kernlab.reports.kernel import KernelReport
from kernlab.reports.ksrc import DefReport, InfoReport, SyscallReport
from kernlab.reports.labs import mmap_read as mmap_read_lab
from kernlab.reports.labs.mmap_read import MmapReadReport
from kernlab.reports.ldd import LddReport
from kernlab.reports.maps import MapsReport
from kernlab.reports.mem import MemReport
from kernlab.reports.pagecache import PageCacheReport
from kernlab.reports.ps import KthreadsReport, PsReport
from kernlab.reports.replay import CallNode, ReplayReport
from kernlab.reports.report import RecordingReport
from kernlab.reports.syscall import SyscallWithWrapper
from kernlab.reports.vtop import AddressReport
from kernlab.source.ksrc.trees import kernel_trees

if TYPE_CHECKING:
    from kernlab.recording.recorder import RecordResult

__all__ = [
    "FALLBACK_PROGRAM",
    "HELLO_SOURCE",
    "KERNEL_DEPTH",
    "LAZY_MIB",
    "MMAP_MIB",
    "PAGECACHE_MIB",
    "STEPS",
    "FreeStep",
    "HelloStep",
    "KernelStep",
    "KsrcStep",
    "KthreadsStep",
    "LazyStep",
    "LibrariesStep",
    "MapsStep",
    "MmapStep",
    "PagecacheStep",
    "RecordStep",
    "RenameTree",
    "StepInfo",
    "StepResult",
    "SyscallStep",
    "TourReport",
    "VszRssStep",
    "VtopStep",
    "Workspace",
    "run_step",
    "select_steps",
    "tour_report",
]

HELLO_SOURCE = '#include <stdio.h>\n\nint main(void)\n{\n\tprintf("hello\\n");\n\treturn 0;\n}\n'
"""The course's hello.c (with ``int main``, so that it compiles without a warning)."""
COMPILERS = ("cc", "gcc", "clang")
FALLBACK_PROGRAM = "/bin/true"
"""What the hello step looks at with no compiler where kernlab cannot write its own hello
(:mod:`kernlab.elf.tiny` is x86-64 only): a program already on the machine."""
LAZY_MIB = 64
"""The live process maps this many MiB and the lazy-allocation step touches half of them."""
PAGECACHE_MIB = 8
"""Size of the file the page-cache step evicts and reads back."""
MMAP_MIB = 8
"""Size of the file the mmap-vs-read step reads and maps, cold and warm (the lab's default is
64 MiB; 8 keeps the four recorded runs near three seconds)."""
RENAME_CALLS = ("rename", "renameat", "renameat2")
KERNEL_DEPTH = 5
"""The record step's ``-K``: the course's ``uftrace record -K 5 /bin/mv reallinux rlinux``."""
FS_PREFIXES: dict[str, tuple[str, ...]] = {
    "tmpfs": ("shmem_",),
    "ext2": ("ext2_", "ext4_"),
    "ext3": ("ext3_", "ext4_"),
}
"""Where a filesystem's functions are not named after its type (tmpfs is mm/shmem.c; an ext2 or
ext3 mount is served by the ext4 driver on most kernels); any other type: ``<fstype>_``."""


@dataclass(frozen=True)
class StepInfo:
    """One step of the day: its number, name (``--step NAME``), and what it needs."""

    number: int
    name: str
    needs_root: bool = False
    traces: bool = False  # needs tracing: skipped with --no-trace and as a user
    may_trace: bool = False  # traces when it can (root, no --no-trace); measures without otherwise


@dataclass(frozen=True)
class KernelStep:
    kernel: KernelReport


@dataclass(frozen=True)
class HelloStep:
    """hello.c compiled here, its ELF layout and first code. Without a compiler: kernlab's own
    static hello (:mod:`kernlab.elf.tiny`, x86-64), else a program already on the machine."""

    compiler: str | None  # the compiler that built it; None: no compiler, a shipped program instead
    source: str | None  # the C text compiled (None with no compiler)
    program: str
    output: str | None  # what running it printed
    elf: ElfReport
    entry: int
    start: DisasmReport | None  # _start, None when the file has no such symbol (stripped)
    main: DisasmReport | None
    entry_is_start: bool
    interpreter: str | None
    load_flags: tuple[str, ...]  # the flags of each LOAD segment, in file order ("R", "R E", "RW")
    origin: str = "compiler"  # "compiler"; "kernlab": written by elf.tiny; "system": FALLBACK_PROGRAM
    size: int = 0  # bytes of the file


@dataclass(frozen=True)
class LibrariesStep:
    program: str
    ldd: LddReport
    libraries: int  # objects found as files (the vDSO and the loader apart)


@dataclass(frozen=True)
class KthreadsStep:
    kthreads: KthreadsReport
    longer_than_comm: int  # names longer than the 15 characters of ps's COMMAND (TASK_COMM_LEN - 1)
    comm_limit: int


@dataclass(frozen=True)
class SyscallStep:
    call: SyscallWithWrapper


@dataclass(frozen=True)
class RenameTree:
    """The program's rename-family call with everything beneath it, as `kernlab replay` nests it:
    the library call it made (``rename("a", "b")`` at its PLT stub), the system call inside it
    with its decoded arguments, and the kernel functions beneath that (``-K``)."""

    tid: int
    comm: str
    call: CallNode
    """The library call (kind ``function``) — or the system call itself when no function was
    recorded or the program made it without a library wrapper."""
    syscall: CallNode | None
    """The rename-family system call (``call`` itself when that is one); None when none was seen."""
    kernel_path: tuple[str, ...]
    """The way down beneath the system call: at each level the kernel function with the most
    below it (the filesystem's first), until the functions below are all leaves."""
    below: tuple[str, ...]
    """The kernel functions the last one of ``kernel_path`` called (leaves), in time order."""
    kernel_functions: tuple[str, ...]
    """Every kernel function beneath the system call, once each, in tree order."""
    fs_functions: tuple[str, ...]
    """Those of the folder's filesystem (``ext4_*`` on ext4; see :data:`FS_PREFIXES`)."""
    sources: tuple[tuple[str, int], ...]
    """How the kernel functions were seen (``tracepoints``, ``function_graph``, ``sampled``):
    nodes per source, most first (a function called twice is two nodes)."""


@dataclass(frozen=True)
class RecordStep:
    """`mv a b` recorded in a temporary folder, as the course's ``uftrace record -K 5 /bin/mv``:
    its library calls (probed at its PLT stubs), system calls, page faults and the kernel
    functions beneath them, with the call tree `kernlab replay` shows."""

    command: tuple[str, ...]
    exit_code: int | None
    report: RecordingReport
    syscalls: int
    kinds: int  # distinct system calls
    renames: tuple[tuple[str, int], ...]  # (rename-family call, calls), in RENAME_CALLS order
    faults: int
    major_faults: int | None
    renamed: bool  # b exists and a does not after the run
    functions: bool = False  # its library calls were recorded (record --functions)
    functions_error: str | None = None  # why they were not (kernlab's English message), None: they were
    kernel_depth: int | None = None  # -K
    fstype: str | None = None  # the filesystem of the folder (mountinfo)
    mount_point: str | None = None
    replay: ReplayReport | None = None  # the whole call tree (`kernlab replay`); None without one
    rename: RenameTree | None = None  # the part of it around the rename


@dataclass(frozen=True)
class MapsStep:
    """The VMAs of a live process, and the anonymous area it mapped without touching it."""

    maps: MapsReport
    region_address: int
    region_bytes: int
    region_rss_kib: int | None  # smaps Rss of that VMA


@dataclass(frozen=True)
class VszRssStep:
    ps: PsReport
    pid: int
    vsz_kib: int
    rss_kib: int
    region_bytes: int


@dataclass(frozen=True)
class FreeStep:
    mem: MemReport
    buffers_kib: int
    cached_kib: int


@dataclass(frozen=True)
class VtopStep:
    """A page-table walk of an address the live process wrote ("hello\\n")."""

    vtop: AddressReport
    pid: int
    address: int


@dataclass(frozen=True)
class LazyStep:
    """A region mapped, then half of it touched: RSS and faults before and after, measured."""

    pid: int
    region_address: int
    region_bytes: int
    touched_bytes: int
    page_size: int
    huge_pages_off: bool  # MADV_NOHUGEPAGE was applied, so the region fills 4 KiB at a time
    vsz_before_kib: int
    vsz_after_kib: int
    rss_before_kib: int
    rss_after_kib: int
    region_rss_before_kib: int | None  # smaps Rss of the region's VMA
    region_rss_after_kib: int | None
    minflt_before: int
    minflt_after: int

    @property
    def rss_growth_kib(self) -> int:
        return self.rss_after_kib - self.rss_before_kib

    @property
    def faults(self) -> int:
        return self.minflt_after - self.minflt_before


@dataclass(frozen=True)
class PagecacheStep:
    """A file evicted from the page cache, then read: residency before and after each."""

    path: str
    size: int
    evicted: PageCacheReport
    loaded: PageCacheReport


@dataclass(frozen=True)
class MmapStep:
    """The lab `kernlab lab mmap-vs-read` on a small file: read() and mmap touches, each cold
    (just evicted) and warm, recorded when root and tracing works, else from getrusage and mincore."""

    lab: MmapReadReport
    trace_error: str | None = None  # why the recording failed (then the runs are untraced)


@dataclass(frozen=True)
class KsrcStep:
    """Where the kernel's source defines rename and do_renameat2, in a tree found on this machine."""

    info: InfoReport
    syscall: SyscallReport
    definition: DefReport


StepData = (
    KernelStep
    | HelloStep
    | LibrariesStep
    | KthreadsStep
    | SyscallStep
    | RecordStep
    | MapsStep
    | VszRssStep
    | FreeStep
    | VtopStep
    | LazyStep
    | MmapStep
    | PagecacheStep
    | KsrcStep
)


@dataclass(frozen=True)
class StepResult:
    """A step that ran (``data``), or why it did not (``skipped``: a key) or failed (``error``)."""

    step: StepInfo
    status: str  # "ran", "skipped" or "failed"
    data: StepData | None = None
    skipped: str | None = None  # needs_root, no_trace, no_tree, no_index
    error: str | None = None  # the failure's message (kernlab's errors are English, as on stderr)
    detail: str | None = None  # what the skip is about (the tree without an index)


@dataclass(frozen=True)
class TourReport:
    euid: int
    steps: tuple[StepResult, ...] = field(default_factory=tuple)


STEPS: tuple[StepInfo, ...] = (
    StepInfo(1, "kernel"),
    StepInfo(2, "hello"),
    StepInfo(3, "libraries"),
    StepInfo(4, "kthreads"),
    StepInfo(5, "syscall"),
    StepInfo(6, "record", needs_root=True, traces=True),
    StepInfo(7, "maps"),
    StepInfo(8, "vsz_rss"),
    StepInfo(9, "free"),
    StepInfo(10, "vtop"),
    StepInfo(11, "lazy"),
    StepInfo(12, "mmap_vs_read", may_trace=True),
    StepInfo(13, "pagecache"),
    StepInfo(14, "source"),
)


def select_steps(which: tuple[str, ...] = ()) -> tuple[StepInfo, ...]:
    """The steps named or numbered in ``which`` (every step when empty), in the day's order."""
    if not which:
        return STEPS
    chosen: set[int] = set()
    for item in which:
        for part in item.split(","):
            key = part.strip().lower().replace("-", "_")
            if not key:
                continue
            found = next((s for s in STEPS if key in (s.name, str(s.number))), None)
            if found is None:
                names = ", ".join(f"{s.number} {s.name}" for s in STEPS)
                raise BadInput(
                    f"no step {part.strip()!r}; the steps are {names}",
                    key="errors.report.no_tour_step",
                    fields={"value": repr(part.strip()), "choices": names},
                )
            chosen.add(found.number)
    return tuple(s for s in STEPS if s.number in chosen)


# --------------------------------------------------------------------------- the workspace

# The live process: Python (always at hand where kernlab runs), mapping an area it does not touch
# and one page it writes "hello\n" into; it touches the first N bytes of the area when told.
_SPECIMEN = r"""
import ctypes, mmap, sys
size = int(sys.argv[1])
region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
try:
    region.madvise(mmap.MADV_NOHUGEPAGE)
    thp_off = 1
except (AttributeError, OSError):
    thp_off = 0
page = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
page[:6] = b"hello\n"
where = lambda m: ctypes.addressof(ctypes.c_char.from_buffer(m))
print(where(region), where(page), thp_off, flush=True)
for line in sys.stdin:
    n = int(line)
    for offset in range(0, n, mmap.PAGESIZE):
        region[offset] = 1
    print("done", flush=True)
"""


@dataclass
class Specimen:
    """A live child process kernlab started to look at."""

    process: subprocess.Popen[str]
    region_address: int
    region_bytes: int
    page_address: int
    huge_pages_off: bool

    @property
    def pid(self) -> int:
        return self.process.pid

    def touch(self, nbytes: int) -> None:
        """Have the child write one byte in each page of the first ``nbytes`` of its area."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{nbytes}\n")
        self.process.stdin.flush()
        if self.process.stdout.readline().strip() != "done":
            raise OSFailure(
                f"the live process (PID {self.pid}) stopped before touching its memory",
                key="errors.report.specimen_stopped",
                fields={"pid": self.pid},
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def _scratch_parent() -> str | None:
    """/var/tmp when it is writable: /tmp may be tmpfs, whose pages never leave the page cache."""
    return "/var/tmp" if os.access("/var/tmp", os.W_OK | os.X_OK) else None


class Workspace:
    """A temporary folder and the processes the steps start; everything goes at :meth:`close`."""

    def __init__(self, *, tree: str | None = None, build_index: bool = False) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kernlab-tour-", dir=_scratch_parent()))
        self.tree = tree
        self.build_index = build_index
        self._hello: tuple[str | None, str] | None = None
        self._specimens: list[Specimen] = []
        self._shared: Specimen | None = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for specimen in self._specimens:
            specimen.stop()
        self._specimens.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    def hello(self) -> tuple[str | None, str]:
        """(compiler, program): hello.c built here; with no compiler, (None, kernlab's own static
        hello) on x86-64 and (None, /bin/true) elsewhere."""
        if self._hello is None:
            compiler = next((found for name in COMPILERS if (found := shutil.which(name))), None)
            if compiler is None and tiny.supported():
                self._hello = (None, str(tiny.write_tiny_hello(self.folder / "hello")))
            elif compiler is None:
                self._hello = (None, FALLBACK_PROGRAM)
            else:
                source = self.folder / "hello.c"
                source.write_text(HELLO_SOURCE)
                program = self.folder / "hello"
                done = subprocess.run(
                    [compiler, "-o", str(program), str(source)], capture_output=True, text=True, check=False
                )
                if done.returncode != 0:
                    raise OSFailure(
                        f"{compiler} could not build hello.c: {done.stderr.strip()}",
                        key="errors.report.cannot_build_hello",
                        fields={"compiler": compiler, "reason": done.stderr.strip()},
                    )
                self._hello = (compiler, str(program))
        return self._hello

    def start_specimen(self, size: int = LAZY_MIB << 20) -> Specimen:
        """A new live process with ``size`` bytes mapped and untouched."""
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _SPECIMEN, str(size)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if len(line) != 3:
            process.kill()
            process.wait()
            raise OSFailure(
                "the live process kernlab started did not report its addresses",
                key="errors.report.specimen_silent",
            )
        specimen = Specimen(process, int(line[0]), size, int(line[1]), line[2] == "1")
        self._specimens.append(specimen)
        return specimen

    def specimen(self) -> Specimen:
        """The live process the maps, VSZ/RSS and page-table steps share."""
        if self._shared is None:
            self._shared = self.start_specimen()
        return self._shared


# --------------------------------------------------------------------------- the steps


def kernel_step(ws: Workspace) -> KernelStep:
    return KernelStep(kernel_reports.build())


def _disasm(program: str, symbol: str) -> DisasmReport | None:
    try:
        return disasm_reports.build(program, symbol)
    except BadInput:
        return None  # no such symbol: a stripped program


def hello_step(ws: Workspace) -> HelloStep:
    compiler, program = ws.hello()
    run = subprocess.run([program], capture_output=True, text=True, timeout=10, check=False)
    elf = elf_reports.build(program, ("header", "segments"))
    assert elf.header is not None and elf.segments is not None
    start = _disasm(program, "_start")
    main = _disasm(program, "main")
    interp = next((s.interpreter for s in elf.segments if s.type == "INTERP"), None)
    return HelloStep(
        compiler=None if compiler is None else os.path.basename(compiler),
        source=HELLO_SOURCE if compiler else None,
        program=program,
        output=run.stdout if run.returncode == 0 else None,
        elf=elf,
        entry=elf.header.entry,
        start=start,
        main=main,
        entry_is_start=start is not None and start.start == elf.header.entry,
        interpreter=interp,
        load_flags=tuple(s.flags.strip() for s in elf.segments if s.type == "LOAD"),
        origin="compiler" if compiler else "system" if program == FALLBACK_PROGRAM else "kernlab",
        size=os.path.getsize(program),
    )


def libraries_step(ws: Workspace) -> LibrariesStep:
    program = shutil.which("mv") or "/bin/mv"
    report = ldd_reports.build(program)
    files = sum(1 for o in report.objects if o.status == "found")
    return LibrariesStep(program, report, files)


COMM_LIMIT = 15
"""ps prints a task's comm cut to TASK_COMM_LEN - 1 characters; /proc/PID/comm of a kworker is longer."""


def kthreads_step(ws: Workspace) -> KthreadsStep:
    report = ps_reports.build_kthreads()
    longer = sum(1 for f in report.families for name in f.names if len(name) > COMM_LIMIT)
    return KthreadsStep(report, longer, COMM_LIMIT)


def syscall_step(ws: Workspace) -> SyscallStep:
    result = syscall_reports.build("rename", show_libc=True)
    assert isinstance(result, SyscallWithWrapper)
    return SyscallStep(result)


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """Work in ``folder`` for a while (the command recorded inherits it)."""
    try:
        here = os.getcwd()
    except OSError:
        here = "/"  # the folder kernlab was started in is gone
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)


def _record_mv(folder: Path, command: tuple[str, ...]) -> tuple[RecordResult, str | None]:
    """`kernlab record --functions -K 5 -- mv a b` in ``folder`` (what cli/record_cmd.py makes of
    those options); where the library calls cannot be probed (a kernel without uprobes), the
    same without them. Returns the result and why the functions were left out (None: they were not)."""
    from kernlab.recording.functions import DEFAULT_MAX_FUNCTIONS, FunctionFilters
    from kernlab.recording.recorder import RecordOptions, record

    def options(functions: FunctionFilters | None) -> RecordOptions:
        return RecordOptions(
            output=folder / "kernlab.data",
            command=list(command),
            functions=functions,
            kernel_depth=KERNEL_DEPTH,
        )

    with _inside(folder):
        try:
            filters = FunctionFilters(max_functions=DEFAULT_MAX_FUNCTIONS, libcalls=True)
            return record(options(filters), background_removal=True), None
        except KernlabError as exc:
            if (folder / "b").exists():  # mv ran before the failure: the same rename again
                (folder / "b").rename(folder / "a")
            return record(options(None), background_removal=True), str(exc)


def record_step(ws: Workspace) -> RecordStep:
    from kernlab.recording.reader import open_recording

    folder = ws.folder / "mv"
    folder.mkdir(exist_ok=True)
    (folder / "a").write_text("hello\n")
    # Run in the folder, as the course's `mv reallinux rlinux`: the tree says rename("a", "b").
    result, functions_error = _record_mv(folder, (shutil.which("mv") or "/bin/mv", "a", "b"))
    try:
        rec = open_recording(result.directory)
        report = report_reports.build(rec, per_process=False)
        replay: ReplayReport | None = None
        with contextlib.suppress(BadInput):  # neither functions nor kernel paths recorded: no tree
            replay = replay_reports.build(rec)
    finally:
        result.finish_cleanup()
    rows = report.syscalls.combined.by_name() if report.syscalls else {}
    faults = report.faults
    mount = _mount_of(folder)
    fstype = mount[0] if mount else None
    return RecordStep(
        command=("mv", "a", "b"),
        exit_code=result.meta.exit_code,
        report=report,
        syscalls=report.syscalls.combined.calls if report.syscalls else 0,
        kinds=len(rows),
        renames=tuple((name, rows[name].calls) for name in RENAME_CALLS if name in rows),
        faults=faults.total if faults else 0,
        major_faults=faults.major.count if faults else None,
        renamed=(folder / "b").exists() and not (folder / "a").exists(),
        functions=functions_error is None,
        functions_error=functions_error,
        kernel_depth=KERNEL_DEPTH,
        fstype=fstype,
        mount_point=mount[1] if mount else None,
        replay=replay,
        rename=rename_tree(replay, fstype) if replay is not None else None,
    )


def _mount_of(folder: Path) -> tuple[str, str] | None:
    """(fstype, mount point) of the folder, as findmnt -T finds them."""
    from kernlab.mm.mounts import mount_of

    try:
        found = mount_of(str(folder), os.stat(folder).st_dev)
    except (OSError, KernlabError):
        return None
    return None if found is None else (found.fstype, found.mount_point)


def fs_function(name: str, fstype: str | None) -> bool:
    """Whether a kernel function is the filesystem's own code (``__ext4_find_entry`` on ext4)."""
    if not fstype:
        return False
    bare = name.lstrip("_")
    return any(bare.startswith(p) for p in FS_PREFIXES.get(fstype, (fstype + "_",)))


def _kernel_kids(node: CallNode) -> list[CallNode]:
    return [c for c in node.children if c.kind == replay_reports.KERNEL]


def _kernel_nodes(node: CallNode) -> list[CallNode]:
    """The kernel functions beneath ``node``, in tree order; a fault's own path is not the call's."""
    out: list[CallNode] = []
    for kid in _kernel_kids(node):
        out.append(kid)
        out.extend(_kernel_nodes(kid))
    return out


def _find_rename(calls: list[CallNode]) -> CallNode | None:
    """The first library call of the rename family that made a rename-family system call; else
    the first such library call; else the first such system call (tree order)."""
    functions: list[CallNode] = []
    syscalls: list[CallNode] = []
    todo = list(reversed(calls))
    while todo:
        node = todo.pop()
        if node.name in RENAME_CALLS:
            if node.kind == replay_reports.FUNCTION:
                functions.append(node)
            elif node.kind == replay_reports.SYSCALL:
                syscalls.append(node)
        todo.extend(reversed(node.children))
    with_call = [f for f in functions if _rename_syscall(f) is not None]
    return next(iter(with_call or functions or syscalls), None)


def _rename_syscall(node: CallNode) -> CallNode | None:
    if node.kind == replay_reports.SYSCALL:
        return node
    return next(
        (c for c in node.children if c.kind == replay_reports.SYSCALL and c.name in RENAME_CALLS), None
    )


def _weight(node: CallNode, fstype: str | None) -> tuple[bool, int]:
    """Which child the way down follows: the one leading to the filesystem, then the biggest."""
    under = _kernel_nodes(node)
    return (any(fs_function(n.name, fstype) for n in [node, *under]), len(under))


def rename_tree(replay: ReplayReport, fstype: str | None) -> RenameTree | None:
    """The part of the call tree around the rename (see :class:`RenameTree`); None without one."""
    for thread in replay.threads:
        call = _find_rename(thread.calls)
        if call is None:
            continue
        syscall = _rename_syscall(call)
        nodes = _kernel_nodes(syscall) if syscall is not None else []
        path: list[str] = []
        below: tuple[str, ...] = ()
        here = syscall
        while here is not None:
            kids = _kernel_kids(here)
            if not kids:
                break
            if len(kids) > 1 and not any(k.children for k in kids):
                below = tuple(k.name for k in kids)
                break
            here = max(kids, key=lambda k: _weight(k, fstype))  # the first of equals
            path.append(here.name)
        sources: dict[str, int] = {}
        for n in nodes:
            sources[n.source] = sources.get(n.source, 0) + 1
        names = tuple(dict.fromkeys(n.name for n in nodes))
        return RenameTree(
            tid=thread.tid,
            comm=thread.comm,
            call=call,
            syscall=syscall,
            kernel_path=tuple(path),
            below=below,
            kernel_functions=names,
            fs_functions=tuple(n for n in names if fs_function(n, fstype)),
            sources=tuple(sorted(sources.items(), key=lambda kv: -kv[1])),
        )
    return None


def _vma_rss(maps: MapsReport, address: int) -> int | None:
    vma = next((v for v in maps.vmas if v.start <= address < v.end), None)
    return None if vma is None else vma.rss


def maps_step(ws: Workspace) -> MapsStep:
    specimen = ws.specimen()
    report = maps_reports.build(specimen.pid)
    return MapsStep(
        report, specimen.region_address, specimen.region_bytes, _vma_rss(report, specimen.region_address)
    )


def vsz_rss_step(ws: Workspace) -> VszRssStep:
    specimen = ws.specimen()
    report = ps_reports.build([specimen.pid])
    proc = report.processes[0]
    return VszRssStep(report, specimen.pid, proc.vsz, proc.rss, specimen.region_bytes)


def free_step(ws: Workspace) -> FreeStep:
    report = mem_reports.build(with_meminfo=True)
    values = {m.name: m.value for m in report.meminfo or ()}
    return FreeStep(report, values.get("Buffers", 0), values.get("Cached", 0))


def vtop_step(ws: Workspace) -> VtopStep:
    specimen = ws.specimen()
    return VtopStep(
        vtop_reports.build(specimen.pid, specimen.page_address), specimen.pid, specimen.page_address
    )


def lazy_step(ws: Workspace) -> LazyStep:
    specimen = ws.start_specimen()
    touched = specimen.region_bytes // 2
    before_ps = ps_reports.build([specimen.pid]).processes[0]
    before_maps = maps_reports.build(specimen.pid)
    specimen.touch(touched)
    after_ps = ps_reports.build([specimen.pid]).processes[0]
    after_maps = maps_reports.build(specimen.pid)
    specimen.stop()
    return LazyStep(
        pid=specimen.pid,
        region_address=specimen.region_address,
        region_bytes=specimen.region_bytes,
        touched_bytes=touched,
        page_size=os.sysconf("SC_PAGE_SIZE"),
        huge_pages_off=specimen.huge_pages_off,
        vsz_before_kib=before_ps.vsz,
        vsz_after_kib=after_ps.vsz,
        rss_before_kib=before_ps.rss,
        rss_after_kib=after_ps.rss,
        region_rss_before_kib=_vma_rss(before_maps, specimen.region_address),
        region_rss_after_kib=_vma_rss(after_maps, specimen.region_address),
        minflt_before=before_ps.min_flt,
        minflt_after=after_ps.min_flt,
    )


def pagecache_step(ws: Workspace) -> PagecacheStep:
    path = ws.folder / "pagecache.bin"
    size = PAGECACHE_MIB << 20
    with open(path, "wb") as fh:
        chunk = os.urandom(1 << 20)
        for _ in range(PAGECACHE_MIB):
            fh.write(chunk)
    evicted = pagecache_reports.build([str(path)], "evict")
    loaded = pagecache_reports.build([str(path)], "load")
    return PagecacheStep(str(path), size, evicted, loaded)


def mmap_step(ws: Workspace, *, trace: bool = True) -> MmapStep:
    """The lab's four runs on a :data:`MMAP_MIB` file (without its hello_mmap write): recorded as
    root unless ``trace`` is off; a recording that fails here (no tracefs, a locked-down kernel)
    leaves the runs measured without it, and the step says why."""
    size = MMAP_MIB << 20
    try:
        return MmapStep(mmap_read_lab.build(size=size, no_trace=not trace, shared_write=False))
    except KernlabError as exc:
        if not trace or os.geteuid() != 0:
            raise
        error = str(exc)
    lab = mmap_read_lab.build(size=size, no_trace=True, shared_write=False)
    return MmapStep(dataclasses.replace(lab, trace_note=None), trace_error=error)


class SkipStep(Exception):
    """A step that cannot run here, and why (a key the explanation words)."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def source_step(ws: Workspace) -> KsrcStep:
    from kernlab.source.ksrc.index import index_location

    trees = kernel_trees(ws.tree)
    if not trees:
        raise SkipStep("no_tree")
    # A tree whose index is built answers in a second; building one takes about a minute.
    indexed = [t for t in trees if (index_location(t) / "meta.json").exists()]
    if not indexed and not (ws.build_index or ws.tree):
        raise SkipStep("no_index", str(trees[0]))
    tree = (indexed or trees)[0]
    return KsrcStep(
        ksrc_reports.build_info(tree),
        ksrc_reports.build_syscall(tree, "rename"),
        ksrc_reports.build_def(tree, "do_renameat2"),
    )


_RUNNERS: dict[str, Callable[..., Any]] = {
    "kernel": kernel_step,
    "hello": hello_step,
    "libraries": libraries_step,
    "kthreads": kthreads_step,
    "syscall": syscall_step,
    "record": record_step,
    "maps": maps_step,
    "vsz_rss": vsz_rss_step,
    "free": free_step,
    "vtop": vtop_step,
    "lazy": lazy_step,
    "mmap_vs_read": mmap_step,
    "pagecache": pagecache_step,
    "source": source_step,
}


def run_step(step: StepInfo, ws: Workspace, *, trace: bool = True) -> StepResult:
    """Run one step; a step this user or these options cannot run is skipped with its reason."""
    if step.traces and not trace:
        return StepResult(step, "skipped", skipped="no_trace")
    if step.needs_root and os.geteuid() != 0:
        return StepResult(step, "skipped", skipped="needs_root")
    try:
        runner = _RUNNERS[step.name]
        data = runner(ws, trace=trace) if step.may_trace else runner(ws)
    except SkipStep as skip:
        return StepResult(step, "skipped", skipped=skip.reason, detail=skip.detail)
    except KernlabError as exc:
        return StepResult(step, "failed", error=str(exc))
    return StepResult(step, "ran", data=data)


def tour_report(results: list[StepResult]) -> TourReport:
    """The whole tour as one result (--json), with the user it ran as."""
    return TourReport(os.geteuid(), tuple(results))
