"""`kernlab sql`: SQL over the Parquet tables of one or many recordings, with DuckDB embedded.

Each recording directory is exported once to ``DIR/parquet`` (the tables of
:mod:`kernlab.reports.parquet`) and reused while it is current: same schema version, same
recording (its id is the hash of meta.json). The cache lives inside the recording so that it
travels with it (copy or archive the directory, and its Parquet comes along for Spark or
Trino), disappears with it, and kernlab writes nowhere else; a recording directory that cannot
be written is exported into memory instead. ``--parquet OUT_DIR`` reads exports made by
``kernlab dump --parquet`` as they are.

Each table is one view over every source's file (``union_by_name``: a column added by a later
schema version reads as NULL in older files). DuckDB never installs or loads an extension
(``autoinstall_known_extensions``/``autoload_known_extensions`` off; Parquet is built in), and
once the views exist it may read only the sources' directories and write nothing
(``allowed_directories``, ``enable_external_access=false``, ``lock_configuration``): a query
reads the recordings, not the machine.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernlab.errors import BadInput, DiskFull, NotSupported
from kernlab.recording.export.parquet import read_manifest, recording_id
from kernlab.recording.layout import DEFAULT_DIR
from kernlab.recording.reader import Recording, open_recording
from kernlab.recording.state import completeness
from kernlab.reports import parquet

__all__ = ["CACHE_DIR", "SqlReport", "SqlSource", "build", "connect", "to_value"]

CACHE_DIR = "parquet"
"""The export of a recording queried by `kernlab sql`, inside the recording directory."""


@dataclass(frozen=True)
class SqlSource:
    """One recording (or export) the views read."""

    directory: str
    """The recording directory, or the ``--parquet`` export directory."""
    parquet: str | None
    """Where its Parquet files are; None when it was exported into memory (directory not writable)."""
    recording_id: str
    schema_version: int
    exported: bool
    """Exported by this run (False: a current cache, or a ``--parquet`` export)."""
    complete: bool = True
    """False when the recording was cut short: its tables hold only what was recorded before it
    stopped (an export made before kernlab wrote this into manifest.json counts as complete)."""
    cause: str | None = None
    """Why it is not complete (state.CAUSES); None when complete."""
    damaged_files: list[str] = field(default_factory=list)
    """Raw files of the recording that could not be read whole (their rows are missing)."""

    @property
    def whole(self) -> bool:
        """Complete and undamaged: nothing to warn about."""
        return self.complete and not self.damaged_files


@dataclass(frozen=True)
class SqlReport:
    """The query's result: column names and types as DuckDB gives them, and the rows."""

    query: str
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    sources: list[SqlSource] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    """The views the query could use."""
    incomplete: list[str] = field(default_factory=list)
    """The ``directory`` of each source cut short or damaged (each said on stderr too)."""


def duckdb_module() -> Any:
    try:
        import duckdb
    except ImportError:
        raise NotSupported(
            "kernlab sql needs DuckDB: pip install 'kernlab[fleet]' (or duckdb pyarrow)",
            key="errors.report.needs_duckdb",
        ) from None
    return duckdb


def to_value(value: Any) -> Any:
    """A DuckDB result value as JSON has it: HUGEINT sums stay ints, DECIMAL becomes an int
    or float, times become ISO text, blobs hex, UUIDs text; lists and structs recursively."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_value(v) for v in value]
    return str(value)


def _damaged_files(manifest: dict[str, Any]) -> list[str]:
    """The files manifest.json says could not be read whole."""
    damage = manifest.get("damage")
    if not isinstance(damage, list):
        return []
    return [str(d.get("file", "?")) for d in damage if isinstance(d, dict)]


def _truth(rec: Recording, manifest: dict[str, Any] | None) -> tuple[bool, str | None, list[str]]:
    """(complete, cause, damaged files) of a recording. A current cache's manifest says what was
    damaged when its tables were made (decoding again would cost what the cache saves); the
    state file is read each time, as a recorder still at work may have ended since."""
    if manifest is not None and "damage" in manifest:
        state = completeness(rec.root, rec.meta)
        return state.complete, state.cause, _damaged_files(manifest)
    state = rec.completeness()
    return state.complete, state.cause, [d.file for d in rec.damage()]


def _cached_export(directory: Path) -> tuple[SqlSource, Any]:
    """The recording's Parquet directory (exported now unless a current one exists), or, when
    the directory cannot be written, its tables in memory."""
    rec = open_recording(directory)
    rid = recording_id(rec.root)
    cache = rec.root / CACHE_DIR
    manifest = read_manifest(cache)
    if (
        manifest
        and manifest.get("recording_id") == rid
        and manifest.get("schema_version") == parquet.SCHEMA_VERSION
    ):
        truth = _truth(rec, manifest)
        return SqlSource(str(directory), str(cache), rid, parquet.SCHEMA_VERSION, False, *truth), None
    try:
        parquet.build(rec, out_dir=cache)
    except (BadInput, DiskFull):
        # A recording on read-only media (or a full disk): query it from memory, write nothing.
        tables = {name: batch for name, _schema, batch in parquet.arrow_tables(rec)}
        truth = _truth(rec, None)
        return SqlSource(str(directory), None, rid, parquet.SCHEMA_VERSION, True, *truth), tables
    truth = _truth(rec, None)  # the events are decoded already: no second pass
    return SqlSource(str(directory), str(cache), rid, parquet.SCHEMA_VERSION, True, *truth), None


def _export_dir(directory: Path) -> SqlSource:
    manifest = read_manifest(directory)
    if manifest is None or manifest.get("format") != "kernlab-parquet":
        raise BadInput(
            f"{directory} is not a kernlab Parquet export (no {directory}/manifest.json): "
            "make one with `kernlab dump --parquet DIR`",
            key="errors.report.not_parquet_export",
            fields={"path": str(directory)},
        )
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > parquet.SCHEMA_VERSION:
        raise BadInput(
            f"{directory} has Parquet schema version {version}; "
            f"this kernlab reads up to {parquet.SCHEMA_VERSION}",
            key="errors.report.parquet_too_new",
            fields={"path": str(directory), "version": version, "most": parquet.SCHEMA_VERSION},
        )
    complete = manifest.get("complete") is not False
    cause = None if complete else str(manifest.get("cause") or "unknown")
    rid = str(manifest.get("recording_id", ""))
    return SqlSource(
        str(directory), str(directory), rid, version, False, complete, cause, _damaged_files(manifest)
    )


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def connect(sources: list[SqlSource], memory: list[dict[str, Any]]) -> Any:
    """A DuckDB connection with one view per table over ``sources``, then locked down."""
    duckdb = duckdb_module()
    con = duckdb.connect(
        ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    dirs = [s.parquet for s in sources if s.parquet is not None]
    for name in parquet.TABLES:
        parts = []
        files = [str(Path(d) / f"{name}.parquet") for d in dirs if (Path(d) / f"{name}.parquet").is_file()]
        if files:
            parts.append(f"SELECT * FROM read_parquet([{', '.join(map(_quote, files))}], union_by_name=true)")
        for k, tables in enumerate(memory):
            if name in tables:
                con.register(f"_kernlab_{name}_{k}", tables[name])
                parts.append(f"SELECT * FROM _kernlab_{name}_{k}")
        if not parts:
            schema = parquet.schemas()[name]
            con.register(f"_kernlab_{name}_empty", schema.empty_table())
            parts.append(f"SELECT * FROM _kernlab_{name}_empty")
        con.execute(f"CREATE VIEW {name} AS " + " UNION ALL BY NAME ".join(parts))
    allowed = ", ".join(_quote(str(Path(d).resolve()) + "/") for d in dirs)
    con.execute(f"SET allowed_directories=[{allowed}]")
    con.execute("SET enable_external_access=false")
    con.execute("SET lock_configuration=true")
    return con


def build(
    query: str,
    recordings: list[Path] | None = None,
    exports: list[Path] | None = None,
) -> SqlReport:
    """Run ``query`` over the recordings (exported or cached first) and the Parquet exports.

    With neither, the recording in ./kernlab.data. BadInput for a query DuckDB refuses (its
    message says where) and for a directory that is neither a recording nor an export."""
    recordings = list(recordings or [])
    exports = list(exports or [])
    if not recordings and not exports:
        recordings = [Path(DEFAULT_DIR)]
    duckdb = duckdb_module()
    sources: list[SqlSource] = []
    memory: list[dict[str, Any]] = []
    for directory in recordings:
        source, tables = _cached_export(Path(directory))
        sources.append(source)
        if tables is not None:
            memory.append(tables)
    sources += [_export_dir(Path(d)) for d in exports]
    incomplete = [s.directory for s in sources if not s.whole]
    con = connect(sources, memory)
    try:
        cursor = con.execute(query)
        if cursor.description is None:
            return SqlReport(query, [], [], [], sources, list(parquet.TABLES), incomplete)
        columns = [d[0] for d in cursor.description]
        types = [str(d[1]) for d in cursor.description]
        rows = [[to_value(v) for v in row] for row in cursor.fetchall()]
    except duckdb.Error as exc:
        raise BadInput(
            f"the query failed: {exc}", key="errors.report.query_failed", fields={"reason": str(exc)}
        ) from None
    finally:
        con.close()
    return SqlReport(query, columns, types, rows, sources, list(parquet.TABLES), incomplete)
