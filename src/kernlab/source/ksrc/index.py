"""The index of a kernel source tree: built once in parallel, kept in the cache, rebuilt on change.

Layout of ``<cache>/ksrc/<tree name>-<hash of its path>/``::

    meta.json                  format version, tree, file count, build time
    stamp                      touched when the build started: anything changed after it is newer
    files.pickle               the indexed files (relative paths); facts refer to them by number
    layout.pickle              the folders walked, their sources and sub-folders (see .fresh)
    syscalls.pickle            every SYSCALL_DEFINEn / COMPAT_SYSCALL_DEFINEn
    {defs,ops}-W-SS.pickle     worker W's definitions (macros apart) and table bindings, by
                               name, for names whose CRC-32 falls in shard SS
    macros-W-SS.pickle         worker W's #defines, refs-W-S.pickle its identifier uses: flat
                               arrays keyed by CRC-32 (see .store)

Sharding by name keeps a query to reading a few small files (a full kernel has millions of
names); each build worker writes its own shards so no process has to merge them.

The index is stale when a ``.c``/``.h``/``.S`` file or a folder of the tree changed after ``stamp``
(see :mod:`.fresh`, run in a thread beside the query) or when an answer names a file that no
longer exists. A stale index is rebuilt whole.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import queue
import shutil
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from kernlab.errors import BadInput, OSFailure
from kernlab.source.ksrc.fresh import ASSEMBLY_SUFFIX, ChangeCheck, Folder, source_paths, walk_tree
from kernlab.source.ksrc.store import (
    MacroTable,
    RefTable,
    dump_pickle,
    load_pickle,
    macro_candidates,
    ref_candidates,
)

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.sharedctypes import Synchronized

INDEX_FORMAT = 5
"""Raised whenever what the index holds changes, so an older index is rebuilt, never misread
(5: .S files, definition macros such as DEFINE_IDTENTRY and DEFINE_MUTEX, exports)."""
SHARDS = 256
ProgressFn = Callable[[int, int], None]

DefinitionRow = tuple[str, int, int, str]
"""(kind, file number, line, text) of one definition."""
BindingRow = tuple[str, str, str, int, int]
"""(table, table type, field, file number, line) of one ``.field = function``."""
SyscallRow = tuple[str, str, int, int, int, str]
"""(name, macro, arguments, file number, line, signature) of one SYSCALL_DEFINEn."""
Tasks = Union[list[int], "Queue[list[int] | None]"]
"""File numbers to index: a list, or a queue of chunks ended by None (one per worker)."""


def cache_dir() -> Path:
    """kernlab's cache: $KERNLAB_CACHE_DIR, else $XDG_CACHE_HOME/kernlab, else ~/.cache/kernlab."""
    if os.environ.get("KERNLAB_CACHE_DIR"):
        return Path(os.environ["KERNLAB_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kernlab"


def shard_of(name: str | bytes) -> int:
    data = name.encode("latin-1") if isinstance(name, str) else name
    return zlib.crc32(data) % SHARDS


@dataclass(frozen=True)
class IndexInfo:
    """Where an index lives and what it holds."""

    tree: str
    location: str
    files: int
    source_bytes: int
    build_seconds: float
    workers: int
    built_now: bool


def index_location(tree: Path) -> Path:
    resolved = str(tree.resolve())
    digest = hashlib.sha1(resolved.encode()).hexdigest()[:12]
    return cache_dir() / "ksrc" / f"{tree.resolve().name}-{digest}"


def list_sources(tree: Path) -> tuple[list[tuple[str, int]], list[Folder]]:
    """Every .c, .h and .S file under ``tree`` (hidden folders skipped) with its size, and the layout."""
    layout = walk_tree(tree)
    found: list[tuple[str, int]] = []
    for path in source_paths(layout):
        try:
            found.append((path, os.stat(os.path.join(tree, path), follow_symlinks=False).st_size))
        except FileNotFoundError:
            continue  # removed since the walk: the freshness check will see the folder change
    return found, layout


def _chunks(files: list[tuple[str, int]], size: int = 64) -> list[list[int]]:
    """File numbers in chunks, largest files first, for workers to take one at a time.

    Handing out work as it is asked for keeps both CPUs busy to the end: bytes are a poor
    measure of cost (a register header of #defines parses several times faster than C code).
    """
    order = sorted(range(len(files)), key=lambda i: -files[i][1])
    return [order[k : k + size] for k in range(0, len(order), size)]


def _index_part(
    tree: str, files: list[str], tasks: Tasks, out: str, worker: int, counter: Synchronized[int]
) -> list[SyscallRow]:
    """One worker's share: parse its files, write its shards, return its system calls."""
    from kernlab.source.ksrc.parse import parse_assembly, parse_code  # only builds need the parser

    gc.disable()  # millions of small objects and no cycles: the collector would only cost time
    defs: dict[str, list[DefinitionRow]] = defaultdict(list)
    ops: dict[str, list[BindingRow]] = defaultdict(list)
    macros, refs = MacroTable(), RefTable()
    syscalls: list[SyscallRow] = []
    done = 0
    for number in _numbers(tasks):
        try:
            with open(os.path.join(tree, files[number]), "rb") as fh:
                text = fh.read().decode("latin-1")
        except OSError:
            continue  # vanished or unreadable while indexing: the next build will see it
        facts = parse_assembly(text) if files[number].endswith(ASSEMBLY_SUFFIX) else parse_code(text)
        for name, kind, line, where in facts.definitions:
            defs[name].append((kind, number, line, where))
        for func, table, type_name, field, line in facts.bindings:
            ops[func].append((table, type_name, field, number, line))
        for name, macro, nargs, line, signature in facts.syscalls:
            syscalls.append((name, macro, nargs, number, line, signature))
        macros.add(number, *facts.macros)
        refs.add(number, facts.identifiers)
        done += 1
        if done % 200 == 0:
            with counter.get_lock():
                counter.value += 200
    with counter.get_lock():
        counter.value += done % 200
    folder = Path(out)
    # Shards are chosen once per distinct name, at the end, not once per occurrence.
    _write_shards(folder, "defs", worker, defs)
    _write_shards(folder, "ops", worker, ops)
    macros.write(folder, worker)
    refs.write(folder, worker)
    return syscalls


def _write_shards(folder: Path, kind: str, worker: int, by_name: Mapping[str, object]) -> None:
    shards: list[dict[str, object]] = [{} for _ in range(SHARDS)]
    for name, value in by_name.items():
        shards[shard_of(name)][name] = value
    for s in range(SHARDS):
        dump_pickle(folder / f"{kind}-{worker}-{s:02x}.pickle", shards[s])


def _numbers(tasks: Tasks) -> Iterator[int]:
    """File numbers from a list, or from a queue of chunks ended by None."""
    if isinstance(tasks, list):
        yield from tasks
        return
    while (chunk := tasks.get()) is not None:
        yield from chunk


WorkerArgs = tuple[str, list[str], Tasks, str, int, "Synchronized[int]"]


def _worker_main(args: WorkerArgs, results: Queue[tuple[int, list[SyscallRow] | BaseException]]) -> None:
    try:
        results.put((args[4], _index_part(*args)))
    except BaseException as exc:  # the parent reports it; a worker must never hang the build
        results.put((args[4], exc))


def _remove_abandoned_builds(location: Path) -> None:
    """Delete half-built indexes of this tree left by processes that no longer run."""
    if not location.parent.is_dir():
        return
    for folder in location.parent.glob(f"{location.name}.building-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if pid.isdigit() and (int(pid) == os.getpid() or not Path(f"/proc/{pid}").exists()):
            shutil.rmtree(folder, ignore_errors=True)


def build_index(tree: Path, *, workers: int | None = None, progress: ProgressFn | None = None) -> IndexInfo:
    """Index every .c/.h/.S file of ``tree`` into the cache, replacing any older index.

    ``progress`` is called with (files done, files in all) about five times a second.
    """
    import multiprocessing

    step = progress or (lambda done, total: None)
    started = time.perf_counter()
    location = index_location(tree)
    building = location.with_name(location.name + f".building-{os.getpid()}")
    _remove_abandoned_builds(location)
    try:
        building.mkdir(parents=True)
    except OSError as exc:
        raise OSFailure(f"cannot create the index folder {building}: {exc.strerror}", path=building) from exc
    (building / "stamp").touch()  # before reading any file: later changes are newer than it
    files, layout = list_sources(tree)
    if not files:
        raise BadInput(f"{tree} holds no .c, .h or .S files to index")
    names = [path for path, _ in files]
    workers = max(1, min(workers or os.cpu_count() or 1, 8, len(files)))
    context = multiprocessing.get_context("fork")
    counter = context.Value("l", 0)
    results = context.Queue()
    tasks = context.Queue()
    for chunk in _chunks(files):
        tasks.put(chunk)
    for _ in range(workers):
        tasks.put(None)
    procs = [
        context.Process(
            target=_worker_main, args=((str(tree), names, tasks, str(building), w, counter), results)
        )
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    syscalls: list[SyscallRow] = []
    received = 0
    try:
        while received < workers:
            try:
                worker, outcome = results.get(timeout=0.2)
            except queue.Empty:  # nothing yet: report progress and check nobody died
                step(counter.value, len(files))
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise OSFailure("an index worker died (out of memory?)") from None
                continue
            if isinstance(outcome, BaseException):
                raise OSFailure(f"indexing failed in worker {worker}: {outcome}") from outcome
            syscalls.extend(outcome)
            received += 1
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
    step(len(files), len(files))
    syscalls.sort(key=lambda s: (s[0], names[s[3]], s[4]))
    dump_pickle(building / "syscalls.pickle", syscalls)
    dump_pickle(building / "files.pickle", names)
    dump_pickle(building / "layout.pickle", layout)
    seconds = time.perf_counter() - started
    total_bytes = sum(size for _, size in files)
    meta = {
        "format": INDEX_FORMAT,
        "tree": str(tree.resolve()),
        "files": len(files),
        "source_bytes": total_bytes,
        "build_seconds": round(seconds, 2),
        "workers": workers,
        "shards": SHARDS,
    }
    (building / "meta.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(location, ignore_errors=True)
    os.replace(building, location)
    return IndexInfo(str(tree.resolve()), str(location), len(files), total_bytes, seconds, workers, True)


class SourceIndex:
    """Read access to a built index; every lookup loads only the shards it needs."""

    def __init__(self, tree: Path, location: Path, info: IndexInfo, check: ChangeCheck | None = None) -> None:
        self.tree = tree
        self.location = location
        self.info = info
        self._files: list[str] | None = None
        self._workers = info.workers
        self._check = check

    def stale(self) -> bool:
        """Whether a source file changed since the build (False for an index built just now)."""
        return self._check is not None and self._check.changed()

    @property
    def files(self) -> list[str]:
        if self._files is None:
            self._files = load_pickle(self.location / "files.pickle")
        return self._files

    def _shards(self, kind: str, name: str) -> Iterator[dict[str, Any]]:
        s = shard_of(name)
        for w in range(self._workers):
            yield load_pickle(self.location / f"{kind}-{w}-{s:02x}.pickle")

    def definitions(self, name: str) -> list[DefinitionRow]:
        """(kind, file number, line, text) of every definition named ``name``, macros apart."""
        return [d for shard in self._shards("defs", name) for d in shard.get(name, [])]

    def macro_candidates(self, name: str) -> list[tuple[int, int]]:
        """(file number, line) of the ``#define``s that may be ``name`` (see :mod:`.store`)."""
        return macro_candidates(self.location, self._workers, name)

    def bindings(self, func: str) -> list[BindingRow]:
        """(table, table type, field, file number, line) of every ``.field = func``."""
        return [b for shard in self._shards("ops", func) for b in shard.get(func, [])]

    def files_using(self, name: str) -> list[int]:
        """Numbers of the files whose code may contain the identifier (read them to be sure)."""
        # Files defining it as a macro are not in its reference list (see parse.FileFacts).
        numbers = ref_candidates(self.location, self._workers, name)
        numbers.update(number for number, _ in self.macro_candidates(name))
        return sorted(numbers)

    def syscalls(self) -> list[SyscallRow]:
        return load_pickle(self.location / "syscalls.pickle")


def open_index(
    tree: Path, *, rebuild: bool = False, workers: int | None = None, progress: ProgressFn | None = None
) -> SourceIndex:
    """The tree's index: the cached one when it is still current, else a freshly built one."""
    location = index_location(tree)
    meta_path = location / "meta.json"
    if not rebuild and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            meta = {}
        if meta.get("format") == INDEX_FORMAT and meta.get("shards") == SHARDS:
            info = IndexInfo(
                meta["tree"],
                str(location),
                meta["files"],
                meta["source_bytes"],
                meta["build_seconds"],
                meta["workers"],
                False,
            )
            # Answer from it now; the caller asks stale() before trusting the answer.
            try:
                since = (location / "stamp").stat().st_ctime_ns
            except OSError:
                since = -1  # no stamp: every file counts as changed
            check = ChangeCheck(tree, lambda: load_pickle(location / "layout.pickle"), since)
            return SourceIndex(tree, location, info, check)
    info = build_index(tree, workers=workers, progress=progress)
    return SourceIndex(tree, location, info)
