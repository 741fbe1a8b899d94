"""The index of a kernel source tree: built once in parallel, kept in the cache, rebuilt on change.

Layout of ``<cache>/ksrc/<tree name>-<hash of its path>/``::

    meta.json                  format version, tree, file count, build time
    stamp                      touched when the build started: anything changed after it is newer
    files.pickle               the indexed files (relative paths); facts refer to them by number
    syscalls.pickle            every SYSCALL_DEFINEn / COMPAT_SYSCALL_DEFINEn
    {defs,ops,refs}-W-SS.pickle  worker W's facts for names whose CRC-32 falls in shard SS

Sharding by name keeps a query to reading a few small files (a full kernel has millions of
names); each build worker writes its own shards so no process has to merge them.

The index is stale when a ``.c``/``.h`` file of the tree changed status (ctime: content, rename,
creation; ctime cannot be set back like mtime) after ``stamp`` -- one ``find -cnewer … -quit``,
which stops at the first such file -- or when an answer names a file that no longer exists.
A stale index is rebuilt whole.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import time
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import BadInput, KernlabError, PermissionNeeded
from kernlab.source.ksrc.parse import parse_code

INDEX_FORMAT = 2
SHARDS = 256
SOURCE_SUFFIXES = (".c", ".h")
ProgressFn = Callable[[int, int], None]


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


def list_sources(tree: Path) -> list[tuple[str, int]]:
    """Every .c and .h file under ``tree`` (hidden folders skipped): (relative path, size)."""
    found: list[tuple[str, int]] = []
    stack = [tree]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if not entry.name.startswith("."):
                            stack.append(Path(entry.path))
                    elif entry.name.endswith(SOURCE_SUFFIXES) and entry.is_file(follow_symlinks=False):
                        found.append(
                            (os.path.relpath(entry.path, tree), entry.stat(follow_symlinks=False).st_size)
                        )
        except PermissionError:
            raise PermissionNeeded(f"cannot read {folder}: permission denied") from None
    found.sort()
    return found


def _chunks(files: list[tuple[str, int]], size: int = 64) -> list[list[int]]:
    """File numbers in chunks, largest files first, for workers to take one at a time.

    Handing out work as it is asked for keeps both CPUs busy to the end: bytes are a poor
    measure of cost (a register header of #defines parses several times faster than C code).
    """
    order = sorted(range(len(files)), key=lambda i: -files[i][1])
    return [order[k : k + size] for k in range(0, len(order), size)]


def _dump(path: Path, obj: object) -> None:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _index_part(tree: str, files: list[str], tasks, out: str, worker: int, counter) -> list:  # type: ignore[no-untyped-def]
    """One worker's share: parse its files, write its shards, return its system calls."""
    gc.disable()  # millions of small objects and no cycles: the collector would only cost time
    defs: dict[str, list] = defaultdict(list)
    ops: dict[str, list] = defaultdict(list)
    refs: dict[bytes, array] = {}
    syscalls = []
    done = 0
    for number in _numbers(tasks):
        try:
            with open(os.path.join(tree, files[number]), "rb") as fh:
                text = fh.read().decode("latin-1")
        except OSError:
            continue  # vanished or unreadable while indexing: the next build will see it
        facts = parse_code(text)
        for name, kind, line, where in facts.definitions:
            defs[name].append((kind, number, line, where))
        for func, table, type_name, field, line in facts.bindings:
            ops[func].append((table, type_name, field, number, line))
        for name, macro, nargs, line, signature in facts.syscalls:
            syscalls.append((name, macro, nargs, number, line, signature))
        for ident in facts.identifiers:
            posting = refs.get(ident)
            if posting is None:
                refs[ident] = array("I", [number])
            else:
                posting.append(number)
        done += 1
        if done % 200 == 0:
            with counter.get_lock():
                counter.value += 200
    with counter.get_lock():
        counter.value += done % 200
    folder = Path(out)
    # Shards are chosen once per distinct name, at the end, not once per occurrence.
    for kind, table in (("defs", defs), ("ops", ops), ("refs", refs)):
        shards: list[dict] = [{} for _ in range(SHARDS)]
        for name, value in table.items():
            shards[shard_of(name)][name] = value.tobytes() if kind == "refs" else value
        for s in range(SHARDS):
            _dump(folder / f"{kind}-{worker}-{s:02x}.pickle", shards[s])
    return syscalls


def _numbers(tasks) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """File numbers from a list, or from a queue of chunks ended by None."""
    if isinstance(tasks, list):
        yield from tasks
        return
    while (chunk := tasks.get()) is not None:
        yield from chunk


def _worker_main(args: tuple, results) -> None:  # type: ignore[no-untyped-def]
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
    """Index every .c/.h file of ``tree`` into the cache, replacing any older index."""
    import multiprocessing

    step = progress or (lambda done, total: None)
    started = time.perf_counter()
    location = index_location(tree)
    building = location.with_name(location.name + f".building-{os.getpid()}")
    _remove_abandoned_builds(location)
    try:
        building.mkdir(parents=True)
    except OSError as exc:
        raise KernlabError(f"cannot create the index folder {building}: {exc.strerror}") from None
    (building / "stamp").touch()  # before reading any file: later changes are newer than it
    files = list_sources(tree)
    if not files:
        raise BadInput(f"{tree} holds no .c or .h files to index")
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
    syscalls: list = []
    received = 0
    try:
        while received < workers:
            try:
                worker, outcome = results.get(timeout=0.2)
            except Exception:  # queue.Empty: report progress and check nobody died
                step(counter.value, len(files))
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise KernlabError("an index worker died (out of memory?)") from None
                continue
            if isinstance(outcome, BaseException):
                raise KernlabError(f"indexing failed in worker {worker}: {outcome}")
            syscalls.extend(outcome)
            received += 1
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
    step(len(files), len(files))
    syscalls.sort(key=lambda s: (s[0], names[s[3]], s[4]))
    _dump(building / "syscalls.pickle", syscalls)
    _dump(building / "files.pickle", names)
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


class ChangeCheck:
    """Whether any .c/.h file of the tree changed status after the index's stamp.

    Started when the index is opened and read when the answer is ready, so the check (a walk
    over every file's inode: a few tenths of a second on a full tree) overlaps the query.
    """

    def __init__(self, tree: Path, stamp: Path) -> None:
        self._tree, self._stamp = tree, stamp
        self._proc: subprocess.Popen[bytes] | None = None
        find = shutil.which("find")
        if find is not None:
            sources = ["(", "-name", "*.c", "-o", "-name", "*.h", ")"]
            self._proc = subprocess.Popen(
                [find, str(tree), "-type", "f", *sources, "-cnewer", str(stamp), "-print", "-quit"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )

    def changed(self) -> bool:
        if self._proc is None:  # no findutils: compare in Python (slower, same answer)
            limit = self._stamp.stat().st_ctime_ns
            return any((self._tree / p).stat().st_ctime_ns > limit for p, _ in list_sources(self._tree))
        out, _ = self._proc.communicate()
        return bool(out.strip())


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
            self._files = _load(self.location / "files.pickle")
        return self._files

    def _shards(self, kind: str, name: str) -> Iterator[dict]:
        s = shard_of(name)
        for w in range(self._workers):
            yield _load(self.location / f"{kind}-{w}-{s:02x}.pickle")

    def definitions(self, name: str) -> list[tuple]:
        """(kind, file number, line, text) of every definition named ``name``."""
        return [d for shard in self._shards("defs", name) for d in shard.get(name, [])]

    def bindings(self, func: str) -> list[tuple]:
        """(table, table type, field, file number, line) of every ``.field = func``."""
        return [b for shard in self._shards("ops", func) for b in shard.get(func, [])]

    def files_using(self, name: str) -> list[int]:
        """Numbers of the files whose code (not comments or strings) contains the identifier."""
        key = name.encode("latin-1", errors="replace")
        # Files defining it as a macro are not in its reference list (see parse.FileFacts).
        numbers: list[int] = [number for kind, number, _, _ in self.definitions(name) if kind == "macro"]
        for shard in self._shards("refs", name):
            raw = shard.get(key)
            if raw:
                posting = array("I")
                posting.frombytes(raw)
                numbers.extend(posting)
        return sorted(set(numbers))

    def syscalls(self) -> list[tuple]:
        return _load(self.location / "syscalls.pickle")


def _load(path: Path):  # type: ignore[no-untyped-def]
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise KernlabError(
            f"the source index at {path.parent} is damaged ({exc}); delete it to rebuild"
        ) from None


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
            return SourceIndex(tree, location, info, ChangeCheck(tree, location / "stamp"))
    info = build_index(tree, workers=workers, progress=progress)
    return SourceIndex(tree, location, info)
