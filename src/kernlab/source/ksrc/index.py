"""The index of a kernel source tree: built once in parallel, kept in the cache, updated per file.

Layout of ``<cache>/ksrc/<tree name>-<hash of its path>/``::

    meta.json                  format version, tree, build id and time, workers, shards
    state.pickle               what changes between builds (see IndexState): the files and
                               their numbers, the layout with every file's identity and git blob
                               id, and the facts of the files parsed again since the build
    syscalls.pickle            every SYSCALL_DEFINEn / COMPAT_SYSCALL_DEFINEn of the build
    {defs,ops}-W-SS.pickle     worker W's definitions (macros apart) and table bindings, by
                               name, for names whose CRC-32 falls in shard SS
    macros-W-SS.pickle         worker W's #defines, refs-W-S.pickle its identifier uses: flat
                               arrays keyed by CRC-32 (see .store)

Sharding by name keeps a query to reading a few small files (a full kernel has millions of
names); each build worker writes its own shards so no process has to merge them.

The shards are never rewritten after the build. A file that changes afterwards is parsed again
and its facts kept in ``state.pickle`` (the *overlay*); its number is marked *dead* so the
shards' facts for it are skipped. A new file gets the next number, a removed one is dead, a
renamed one is both. Every lookup is the shards' answer minus the dead numbers plus the
overlay's, which is what a full build would answer: results are sorted by file (in the walk's
order) and line, and one file's facts come from one parse either way. Once the overlay holds
many files (a checkout of another version), the next update builds the index whole again,
which is faster in parallel than parsing file by file.

Which files changed is found by :func:`.fresh.scan`, run in a thread beside the first lookup.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import json
import os
import queue
import shutil
import time
import zlib
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from kernlab.errors import BadInput, OSFailure
from kernlab.source.ksrc.fresh import (
    ASSEMBLY_SUFFIX,
    UNSURE,
    ChangeCheck,
    Folder,
    Scan,
    scan,
    walk_key,
)
from kernlab.source.ksrc.store import (
    MacroTable,
    RefTable,
    dump_pickle,
    hit_indexes,
    load_pickle,
    macro_candidates,
    name_key,
    ref_candidates,
)

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.sharedctypes import Synchronized

INDEX_FORMAT = 6
"""Raised whenever what the index holds changes, so an older index is rebuilt, never misread
(5: .S files, definition macros such as DEFINE_IDTENTRY and DEFINE_MUTEX, exports;
6: per-file identities and blob ids, updated file by file)."""
SHARDS = 256
BLOB = 20
"""Bytes of a git blob id (SHA-1)."""
PARALLEL_FROM = 200
"""An update parsing at least this many files uses worker processes."""
ProgressFn = Callable[[int, int], None]

DefinitionRow = tuple[str, int, int, str]
"""(kind, file number, line, text) of one definition."""
BindingRow = tuple[str, str, str, int, int]
"""(table, table type, field, file number, line) of one ``.field = function``."""
SyscallRow = tuple[str, str, int, int, int, str]
"""(name, macro, arguments, file number, line, signature) of one SYSCALL_DEFINEn."""
Tasks = Union[list[int], "Queue[list[int] | None]"]
"""File numbers to index: a list, or a queue of chunks ended by None (one per worker)."""


@dataclass(frozen=True)
class FileRows:
    """The facts of one file parsed after the build (the same facts the shards hold)."""

    definitions: list[tuple[str, str, int, str]]
    """(name, kind, line, text)."""
    bindings: list[tuple[str, str, str, str, int]]
    """(function, table, table type, field, line)."""
    syscalls: list[tuple[str, str, int, int, str]]
    """(name, macro, arguments, line, signature)."""
    macro_keys: bytes
    """``array('I')`` of the CRC-32s of its #defines' names, parallel to macro_lines."""
    macro_lines: bytes
    ref_keys: bytes
    """Sorted ``array('I')`` of the CRC-32s of the identifiers its code uses."""


@dataclass
class IndexState:
    """The part of an index that an update rewrites (one file, replaced atomically)."""

    build_id: str
    """The build this state belongs to (meta.json has the same): a rebuild starts afresh."""
    files: list[str]
    """Path of every file number ("" for a number whose file is gone)."""
    blobs: bytearray
    """The git blob id of every file number as it was parsed (BLOB bytes each; zeros: unknown)."""
    layout: list[Folder]
    base_files: int
    """File numbers below this have facts in the shards."""
    dead: set[int] = field(default_factory=set)
    """Numbers below base_files whose shard facts no longer hold (changed or gone)."""
    overlay: dict[int, FileRows] = field(default_factory=dict)
    generation: int = 0

    def live_files(self) -> int:
        return sum(len(f.sources) for f in self.layout)

    def source_bytes(self) -> int:
        return sum(identity[0] for f in self.layout for identity in f.identities)


def cache_dir() -> Path:
    """kernlab's cache: $KERNLAB_CACHE_DIR, else $XDG_CACHE_HOME/kernlab, else ~/.cache/kernlab."""
    if os.environ.get("KERNLAB_CACHE_DIR"):
        return Path(os.environ["KERNLAB_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kernlab"


def shard_of(name: str | bytes) -> int:
    data = name.encode("latin-1") if isinstance(name, str) else name
    return zlib.crc32(data) % SHARDS


def git_blob_id(data: bytes) -> bytes:
    """The id git gives a file of this content (``git hash-object``), as 20 bytes."""
    digest = hashlib.sha1(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.digest()


@dataclass(frozen=True)
class IndexInfo:
    """Where an index lives and what it holds."""

    tree: str
    location: str
    files: int
    source_bytes: int
    build_seconds: float
    """How long the last whole build took."""
    workers: int
    built_now: bool
    """Whether the index was written for this answer: built whole, or brought up to date
    (``reparsed_files`` and ``removed_files`` say how much changed)."""
    reparsed_files: int = 0
    """Files parsed for this answer: every file for a whole build, the changed and added ones for
    an update, 0 when the cached index was current."""
    removed_files: int = 0
    """Files an update dropped (deleted, or renamed away)."""
    update_seconds: float = 0.0
    """How long the update took (0 without one)."""
    updated: bool = False
    """Whether this answer's index was brought up to date file by file (not built whole)."""


def index_location(tree: Path) -> Path:
    resolved = str(tree.resolve())
    digest = hashlib.sha1(resolved.encode()).hexdigest()[:12]
    return cache_dir() / "ksrc" / f"{tree.resolve().name}-{digest}"


@contextmanager
def _locked(location: Path) -> Iterator[None]:
    """Only one process at a time updates or replaces this index (readers need no lock)."""
    location.parent.mkdir(parents=True, exist_ok=True)
    with open(location.with_name(location.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _numbered(found: Scan) -> tuple[list[Folder], list[str], list[int]]:
    """A fresh scan's layout with every file numbered in walk order, the paths, the sizes."""
    layout: list[Folder] = []
    files: list[str] = []
    sizes: list[int] = []
    for folder in found.layout:
        first = len(files)
        files.extend(os.path.join(folder.path, n) if folder.path else n for n in folder.sources)
        sizes.extend(identity[0] for identity in folder.identities)
        layout.append(folder._replace(numbers=tuple(range(first, len(files)))))
    return layout, files, sizes


def list_sources(tree: Path) -> tuple[list[tuple[str, int]], list[Folder]]:
    """Every .c, .h and .S file under ``tree`` (hidden folders skipped) with its size, and the layout."""
    layout, files, sizes = _numbered(scan(tree))
    return list(zip(files, sizes, strict=True)), layout


def _chunks(sizes: list[int], size: int = 64) -> list[list[int]]:
    """File numbers in chunks, largest files first, for workers to take one at a time.

    Handing out work as it is asked for keeps both CPUs busy to the end: bytes are a poor
    measure of cost (a register header of #defines parses several times faster than C code).
    """
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    return [order[k : k + size] for k in range(0, len(order), size)]


def _parse(path: str, data: bytes) -> Any:
    from kernlab.source.ksrc.parse import parse_assembly, parse_code  # only builds need the parser

    text = data.decode("latin-1")
    return parse_assembly(text) if path.endswith(ASSEMBLY_SUFFIX) else parse_code(text)


WorkerResult = tuple[list[SyscallRow], list[tuple[int, bytes]]]


def _index_part(
    tree: str, files: list[str], tasks: Tasks, out: str, worker: int, counter: Synchronized[int]
) -> WorkerResult:
    """One worker's share: parse its files, write its shards, return its system calls and blob ids."""
    gc.disable()  # millions of small objects and no cycles: the collector would only cost time
    defs: dict[str, list[DefinitionRow]] = defaultdict(list)
    ops: dict[str, list[BindingRow]] = defaultdict(list)
    macros, refs = MacroTable(), RefTable()
    syscalls: list[SyscallRow] = []
    blobs: list[tuple[int, bytes]] = []
    done = 0
    for number in _numbers(tasks):
        try:
            with open(os.path.join(tree, files[number]), "rb") as fh:
                data = fh.read()
        except OSError:
            continue  # vanished or unreadable while indexing: no blob id, so the next scan re-reads it
        blobs.append((number, git_blob_id(data)))
        facts = _parse(files[number], data)
        for name, kind, line, where in facts.definitions:
            defs[name].append((kind, number, line, where))
        for func, table, type_name, field_name, line in facts.bindings:
            ops[func].append((table, type_name, field_name, number, line))
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
    return syscalls, blobs


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


def _worker_main(args: WorkerArgs, results: Queue[tuple[int, WorkerResult | BaseException]]) -> None:
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


def _write_state(location: Path, state: IndexState) -> None:
    """Replace state.pickle in one step: a reader sees the old state or the new, never half."""
    partial = location / f"state.pickle.{os.getpid()}"
    dump_pickle(partial, state)
    os.replace(partial, location / "state.pickle")


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
        raise OSFailure(
            f"cannot create the index folder {building}: {exc.strerror}",
            path=building,
            key="errors.source.cannot_create_index",
            fields={"path": str(building), "reason": exc.strerror},
        ) from exc
    # Every identity is taken before its file is read: a later change shows as a new identity.
    layout, names, sizes = _numbered(scan(tree))
    if not names:
        raise BadInput(
            f"{tree} holds no .c, .h or .S files to index",
            path=tree,
            key="errors.source.nothing_to_index",
            fields={"path": str(tree)},
        )
    workers = max(1, min(workers or os.cpu_count() or 1, 8, len(names)))
    context = multiprocessing.get_context("fork")
    counter = context.Value("l", 0)
    results = context.Queue()
    tasks = context.Queue()
    for chunk in _chunks(sizes):
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
    blobs = bytearray(BLOB * len(names))
    received = 0
    try:
        while received < workers:
            try:
                worker, outcome = results.get(timeout=0.2)
            except queue.Empty:  # nothing yet: report progress and check nobody died
                step(counter.value, len(names))
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise OSFailure(
                        "an index worker died (out of memory?)", key="errors.source.index_worker_died"
                    ) from None
                continue
            if isinstance(outcome, BaseException):
                raise OSFailure(
                    f"indexing failed in worker {worker}: {outcome}",
                    key="errors.source.index_worker_failed",
                    fields={"worker": worker, "reason": str(outcome)},
                ) from outcome
            syscalls.extend(outcome[0])
            for number, blob in outcome[1]:
                blobs[number * BLOB : (number + 1) * BLOB] = blob
            received += 1
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
    step(len(names), len(names))
    # A file that could not be read has no blob id: make the next scan look at it again.
    unread = {n for n in range(len(names)) if blobs[n * BLOB : (n + 1) * BLOB] == bytes(BLOB)}
    if unread:
        layout = [_unsure(folder, unread) for folder in layout]
    syscalls.sort(key=lambda s: (s[0], names[s[3]], s[4]))
    dump_pickle(building / "syscalls.pickle", syscalls)
    build_id = f"{time.time_ns():x}-{os.getpid()}"
    state = IndexState(build_id, names, blobs, layout, len(names))
    dump_pickle(building / "state.pickle", state)
    seconds = time.perf_counter() - started
    meta = {
        "format": INDEX_FORMAT,
        "tree": str(tree.resolve()),
        "build_id": build_id,
        "build_seconds": round(seconds, 2),
        "workers": workers,
        "shards": SHARDS,
    }
    (building / "meta.json").write_text(json.dumps(meta, indent=1))
    with _locked(location):
        shutil.rmtree(location, ignore_errors=True)
        os.replace(building, location)
    return IndexInfo(
        str(tree.resolve()),
        str(location),
        state.live_files(),
        state.source_bytes(),
        seconds,
        workers,
        True,
        reparsed_files=len(names) - len(unread),
    )


def _unsure(folder: Folder, numbers: set[int]) -> Folder:
    if not numbers.intersection(folder.numbers):
        return folder
    identities = tuple(
        (i[0], i[1], i[2], UNSURE) if n in numbers else i
        for n, i in zip(folder.numbers, folder.identities, strict=True)
    )
    return folder._replace(identities=identities)


def file_rows(path: str, data: bytes) -> FileRows:
    """The facts of one file, as the overlay keeps them."""
    facts = _parse(path, data)
    names, lines = facts.macros
    return FileRows(
        list(facts.definitions),
        list(facts.bindings),
        list(facts.syscalls),
        array("I", map(zlib.crc32, names)).tobytes(),
        array("I", lines).tobytes(),
        array("I", sorted(set(map(zlib.crc32, facts.identifiers)))).tobytes(),
    )


Refreshed = tuple[bytes, FileRows | None] | None
"""A file's blob id and its facts (None when the blob id is the stored one), or None: unreadable."""


def _refresh_one(tree: str, path: str, old_blob: bytes) -> Refreshed:
    """Read one file; parse it only when its content is not the one already indexed."""
    try:
        with open(os.path.join(tree, path), "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    blob = git_blob_id(data)
    return blob, (None if blob == old_blob else file_rows(path, data))


def _refresh_star(args: tuple[str, str, bytes]) -> Refreshed:
    return _refresh_one(*args)


def _refresh_all(tree: Path, work: list[tuple[str, bytes]], progress: ProgressFn | None) -> list[Refreshed]:
    step = progress or (lambda done, total: None)
    items = [(str(tree), path, blob) for path, blob in work]
    if len(items) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        out = []
        for done, item in enumerate(items):
            out.append(_refresh_star(item))
            if done % 100 == 0:
                step(done, len(items))
        return out
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(min(os.cpu_count() or 2, 8)) as pool:
        out = []
        for done, result in enumerate(pool.imap(_refresh_star, items, chunksize=16)):
            out.append(result)
            if done % 100 == 0:
                step(done, len(items))
        return out


@dataclass(frozen=True)
class Update:
    """What applying a scan to an index did."""

    state: IndexState
    reparsed: int
    removed: int
    added: int
    seconds: float

    @property
    def facts_changed(self) -> bool:
        return bool(self.reparsed or self.removed or self.added)


def too_many(state: IndexState, changed: int) -> bool:
    """Whether parsing ``changed`` more files one by one would cost more than a whole build."""
    return len(state.overlay) + changed > max(4000, state.base_files // 4)


def apply_scan(
    tree: Path, state: IndexState, found: Scan, progress: ProgressFn | None = None
) -> Update | None:
    """The state once ``found`` is applied (parsing changed and added files), None if too much."""
    started = time.perf_counter()
    if too_many(state, len(found.candidates) + len(found.added)):
        return None
    files = list(state.files)
    blobs = bytearray(state.blobs)
    dead = set(state.dead)
    overlay = dict(state.overlay)
    work = [(path, bytes(blobs[n * BLOB : (n + 1) * BLOB])) for n, path, _ in found.candidates]
    work += [(path, b"") for path, _ in found.added]
    results = _refresh_all(tree, work, progress)
    reparsed = removed = added = 0
    gone: set[int] = set()
    for (number, _, _), result in zip(found.candidates, results[: len(found.candidates)], strict=True):
        if result is None:  # removed since the walk: drop it now, the folder's ctime says so later
            gone.add(number)
            continue
        blob, rows = result
        if rows is None:
            continue  # same content (touched, or checked out again): only its identity changes
        reparsed += 1
        blobs[number * BLOB : (number + 1) * BLOB] = blob
        overlay[number] = rows
        if number < state.base_files:
            dead.add(number)
    numbers: dict[str, int] = {}
    for (path, _), result in zip(found.added, results[len(found.candidates) :], strict=True):
        if result is None:
            continue
        blob, rows = result
        assert rows is not None  # an added file has no stored blob id to match
        number = len(files)
        files.append(path)
        blobs += blob
        overlay[number] = rows
        numbers[path] = number
        added += 1
        reparsed += 1
    for number in [*found.removed, *gone]:
        files[number] = ""
        overlay.pop(number, None)
        if number < state.base_files:
            dead.add(number)
        removed += 1
    layout = []
    for folder in found.layout:
        keep = [
            (name, numbers.get(_join(folder.path, name), number), identity)
            for name, number, identity in zip(folder.sources, folder.numbers, folder.identities, strict=True)
        ]
        keep = [row for row in keep if row[1] >= 0 and row[1] not in gone]
        layout.append(
            folder._replace(
                ctime=UNSURE if len(keep) != len(folder.sources) else folder.ctime,
                sources=tuple(r[0] for r in keep),
                numbers=tuple(r[1] for r in keep),
                identities=tuple(r[2] for r in keep),
            )
        )
    new = IndexState(
        state.build_id, files, blobs, layout, state.base_files, dead, overlay, state.generation + 1
    )
    return Update(new, reparsed, removed, added, time.perf_counter() - started)


def _join(folder: str, name: str) -> str:
    return os.path.join(folder, name) if folder else name


class SourceIndex:
    """Read access to an index; every lookup loads only the shards it needs."""

    def __init__(
        self,
        tree: Path,
        location: Path,
        info: IndexInfo,
        state: IndexState,
        check: ChangeCheck | None = None,
    ) -> None:
        self.tree = tree
        self.location = location
        self.info = info
        self.state = state
        self._workers = info.workers
        self._check = check

    @property
    def files(self) -> list[str]:
        return self.state.files

    def refreshed(self, progress: ProgressFn | None = None) -> tuple[SourceIndex, bool]:
        """The index brought up to date with the tree, and whether any file's facts changed.

        Waits for the scan started with the index; applies what it found (parsing the changed
        and added files) and stores it, or builds the index whole when that is cheaper.
        """
        if self._check is None:
            return self, False
        found = self._check.result()
        if not found.layout_changed:
            return self, False
        with _locked(self.location):
            try:
                meta = json.loads((self.location / "meta.json").read_text())
                current: IndexState = load_pickle(self.location / "state.pickle")
            except (OSError, ValueError, OSFailure):
                meta, current = {}, self.state
            if meta.get("build_id") != self.state.build_id or current.build_id != self.state.build_id:
                # Rebuilt by another process meanwhile: start again from that index.
                return open_index(self.tree, progress=progress).refreshed(progress)[0], True
            if current.generation != self.state.generation:
                # Updated by another process since this one read it: scan against that state.
                found = scan(self.tree, {f.path: f for f in current.layout})
            update = apply_scan(self.tree, current, found, progress)
            if update is not None:
                _write_state(self.location, update.state)
        if update is None:  # outside the lock: the build takes it to put the new index in place
            info = build_index(self.tree, workers=self.info.workers, progress=progress)
            return SourceIndex(self.tree, self.location, info, _load_state(self.location)), True
        changed = update.facts_changed or current.generation != self.state.generation
        info = replace(
            self.info,
            files=update.state.live_files(),
            source_bytes=update.state.source_bytes(),
            built_now=changed,
            reparsed_files=update.reparsed,
            removed_files=update.removed,
            update_seconds=update.seconds,
            updated=changed,
        )
        return SourceIndex(self.tree, self.location, info, update.state), changed

    def _shards(self, kind: str, name: str) -> Iterator[dict[str, Any]]:
        s = shard_of(name)
        for w in range(self._workers):
            yield load_pickle(self.location / f"{kind}-{w}-{s:02x}.pickle")

    def definitions(self, name: str) -> list[DefinitionRow]:
        """(kind, file number, line, text) of every definition named ``name``, macros apart."""
        dead = self.state.dead
        found = [d for shard in self._shards("defs", name) for d in shard.get(name, []) if d[1] not in dead]
        for number, rows in self.state.overlay.items():
            found.extend((kind, number, line, text) for n, kind, line, text in rows.definitions if n == name)
        return found

    def macro_candidates(self, name: str) -> list[tuple[int, int]]:
        """(file number, line) of the ``#define``s that may be ``name`` (see :mod:`.store`)."""
        dead = self.state.dead
        found = [c for c in macro_candidates(self.location, self._workers, name) if c[0] not in dead]
        key = name_key(name)
        for number, rows in self.state.overlay.items():
            hits = hit_indexes(rows.macro_keys, key)
            if hits:
                lines = array("I")
                lines.frombytes(rows.macro_lines)
                found.extend((number, lines[i]) for i in hits)
        return found

    def bindings(self, func: str) -> list[BindingRow]:
        """(table, table type, field, file number, line) of every ``.field = func``."""
        dead = self.state.dead
        found = [b for shard in self._shards("ops", func) for b in shard.get(func, []) if b[3] not in dead]
        for number, rows in self.state.overlay.items():
            found.extend((t, tt, fl, number, line) for f, t, tt, fl, line in rows.bindings if f == func)
        return found

    def files_using(self, name: str) -> list[int]:
        """Numbers of the files whose code may contain the identifier (read them to be sure),
        in the walk's order (the order a whole build numbers them in)."""
        # Files defining it as a macro are not in its reference list (see parse.FileFacts).
        numbers = ref_candidates(self.location, self._workers, name) - self.state.dead
        key = name_key(name)
        for number, rows in self.state.overlay.items():
            keys = array("I")
            keys.frombytes(rows.ref_keys)
            at = bisect_left(keys, key)
            if at < len(keys) and keys[at] == key:
                numbers.add(number)
        numbers.update(number for number, _ in self.macro_candidates(name))
        if not self.state.overlay:
            return sorted(numbers)
        files = self.state.files
        return sorted(numbers, key=lambda n: walk_key(files[n]))

    def syscalls(self) -> list[SyscallRow]:
        dead = self.state.dead
        rows: list[SyscallRow] = [
            r for r in load_pickle(self.location / "syscalls.pickle") if r[3] not in dead
        ]
        if self.state.overlay:
            for number, facts in self.state.overlay.items():
                rows.extend((n, m, a, number, line, s) for n, m, a, line, s in facts.syscalls)
            files = self.state.files
            rows.sort(key=lambda s: (s[0], files[s[3]], s[4]))
        return rows


def _load_state(location: Path) -> IndexState:
    state = load_pickle(location / "state.pickle")
    if not isinstance(state, IndexState):
        raise OSFailure(
            f"the source index at {location} is damaged; delete it to rebuild",
            path=location,
            key="errors.source.index_damaged",
            fields={"path": str(location)},
        )
    return state


def index_status(tree: Path) -> int | None:
    """The format of the tree's cached index (INDEX_FORMAT when current), None when there is none."""
    try:
        meta = json.loads((index_location(tree) / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    found = meta.get("format")
    return found if isinstance(found, int) else 0


def open_index(
    tree: Path, *, rebuild: bool = False, workers: int | None = None, progress: ProgressFn | None = None
) -> SourceIndex:
    """The tree's index: the cached one (its scan of the tree started), else a freshly built one.

    Ask :meth:`SourceIndex.refreshed` before trusting an answer from a cached index.
    """
    location = index_location(tree)
    meta_path = location / "meta.json"
    if not rebuild and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            meta = {}
        if meta.get("format") == INDEX_FORMAT and meta.get("shards") == SHARDS:
            try:
                state = _load_state(location)
            except OSFailure:
                state = None  # damaged: rebuilt below
            if state is not None and state.build_id == meta.get("build_id"):
                info = IndexInfo(
                    meta["tree"],
                    str(location),
                    state.live_files(),
                    state.source_bytes(),
                    meta["build_seconds"],
                    meta["workers"],
                    False,
                )
                # Answer from it now; the scan runs beside the lookup.
                check = ChangeCheck(tree, lambda: {f.path: f for f in state.layout})
                return SourceIndex(tree, location, info, state, check)
    info = build_index(tree, workers=workers, progress=progress)
    return SourceIndex(tree, location, info, _load_state(location))
