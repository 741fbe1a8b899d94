"""Write tables of a recording as a directory of Parquet files, whole or not at all.

One file per table (``syscalls.parquet``, ``faults.parquet`` ...) plus ``manifest.json``, in a
hidden directory beside the target that replaces it only once every file is written and synced
(the rule of :mod:`.atomic`, for a directory): an interrupted export leaves the former export, or
nothing, never a file that looks whole and is not. Rows arrive as Arrow record batches (columns,
never a Python object per row) and go out in row groups of at most :data:`ROW_GROUP_ROWS`.

pyarrow is imported when a table is written, not before: ``kernlab --help`` must not pay for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernlab.errors import BadInput, NotSupported
from kernlab.recording import layout
from kernlab.recording.state import DiskFull, is_disk_full

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "MANIFEST",
    "METADATA_PREFIX",
    "ROW_GROUP_ROWS",
    "WrittenTable",
    "import_pyarrow",
    "read_manifest",
    "recording_id",
    "write_tables",
]

MANIFEST = "manifest.json"
"""What the export holds: schema version, recording id, tables and their row counts."""
METADATA_PREFIX = "kernlab."
"""Keys of the Parquet key-value metadata kernlab writes (``kernlab.schema_version`` ...)."""
ROW_GROUP_ROWS = 1 << 17
"""Rows per row group: ~128 Ki rows keeps a group of the widest table at a few MiB (engines
read a file a group at a time and skip groups by their min/max statistics)."""


def import_pyarrow() -> Any:
    """pyarrow and pyarrow.parquet, or NotSupported saying how to install them."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise NotSupported(
            "Parquet export needs pyarrow: pip install 'kernlab[fleet]' (or pyarrow)",
            key="errors.export.needs_pyarrow",
        ) from None
    return pyarrow


def recording_id(root: Path) -> str:
    """A name for the recording that is the same on every export of it and differs between
    recordings: the first 16 hex digits of the SHA-256 of its meta.json (which holds the
    instance name, the start times and the command)."""
    try:
        data = (Path(root) / layout.META).read_bytes()
    except OSError as exc:
        raise BadInput(
            f"cannot read {Path(root) / layout.META}: {exc.strerror or exc}",
            key="errors.recording.cannot_read",
            fields={"path": str(Path(root) / layout.META), "reason": exc.strerror or str(exc)},
        ) from exc
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class WrittenTable:
    """One Parquet file of an export."""

    name: str
    path: str
    rows: int
    row_groups: int
    bytes: int


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of an export in ``directory``; None when there is none (or it is damaged)."""
    try:
        data = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """The same rows in batches of at most ``rows`` (each becomes one row group)."""
    for batch in batches:
        for start in range(0, max(batch.num_rows, 1), rows):
            piece = batch.slice(start, rows)
            if piece.num_rows:
                yield piece


def write_tables(
    target: Path,
    tables: Mapping[str, tuple[pa.Schema, Iterable[pa.RecordBatch]]],
    metadata: dict[str, str],
    manifest: dict[str, Any],
) -> list[WrittenTable]:
    """Write each table to ``target/<name>.parquet`` and the manifest, then put the directory
    in place of ``target`` at once.

    ``target`` must be absent, empty, or an earlier kernlab export (it has a manifest): any
    other directory is refused rather than emptied. ``metadata`` goes into every file's
    key-value metadata under :data:`METADATA_PREFIX`. BadInput when the target cannot be
    written, DiskFull when the disk fills; the partial directory is removed either way.
    """
    pa = import_pyarrow()
    pq = pa.parquet
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise BadInput(
            f"{target} exists and is not a directory; give a directory for the Parquet files",
            key="errors.export.parquet_not_directory",
            fields={"path": str(target)},
        )
    if target.is_dir() and any(target.iterdir()) and read_manifest(target) is None:
        raise BadInput(
            f"{target} is a directory that is not a kernlab Parquet export; give a new or empty one",
            key="errors.export.parquet_not_export",
            fields={"path": str(target)},
        )
    tmp = target.with_name(f".{target.name}.kernlab-{os.getpid()}.tmp")
    old = target.with_name(f".{target.name}.kernlab-{os.getpid()}.old")
    written: list[WrittenTable] = []
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, (schema, batches) in tables.items():
            meta = {
                **(schema.metadata or {}),
                **{f"{METADATA_PREFIX}{k}".encode(): v.encode() for k, v in metadata.items()},
            }
            schema = schema.with_metadata(meta)
            path = tmp / f"{name}.parquet"
            rows = groups = 0
            # Statistics (min/max per group) let engines skip groups; dictionary encoding makes the
            # repeated host/kernel/recording columns nearly free.
            with pq.ParquetWriter(path, schema, compression="zstd") as writer:
                for batch in _rebatch(batches, ROW_GROUP_ROWS):
                    writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)
                    rows += batch.num_rows
                    groups += 1
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
            written.append(WrittenTable(name, str(target / path.name), rows, groups, path.stat().st_size))
        document = {
            **manifest,
            "tables": {t.name: {"file": Path(t.path).name, "rows": t.rows} for t in written},
        }
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(document, indent=2) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        # A former export is moved aside first, so the new one appears in one rename and the old
        # one is removed only after it.
        if target.exists():
            os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not target.exists():
            with contextlib.suppress(OSError):
                os.rename(old, target)
        if is_disk_full(exc):
            raise DiskFull(
                f"the disk holding {target} is full: the Parquet files were not written ({exc.strerror}); "
                "the partial directory was removed",
                path=target,
                key="errors.export.parquet_disk_full",
                fields={"path": str(target), "reason": exc.strerror},
            ) from exc
        raise BadInput(
            f"cannot write {target}: {exc.strerror or exc}",
            path=target,
            key="errors.export.cannot_write",
            fields={"path": str(target), "reason": exc.strerror or str(exc)},
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return written
